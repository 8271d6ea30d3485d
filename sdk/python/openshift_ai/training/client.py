"""The blocking client: :class:`MPIJobClient` and the :class:`MPIJob` job
handle it returns."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Union

from . import _requests as rq
from .api import HTTPTransport, Request, RetryPolicy, Stream
from .config import ClientConfig, resolve_config
from .errors import (
    ConnectionError,
    JobFailedError,
    NotFoundError,
    ServiceUnavailableError,
    TimeoutError,
    TrainingError,
    ValidationError,
)
from .models import (
    AccessReview,
    Capacity,
    Event,
    JobMetrics,
    JobStatus,
    JobTemplate,
    LogLine,
    MPIJobSpec,
    ObjectMeta,
    Transition,
    Version,
)

__all__ = ["MPIJobClient", "MPIJob", "WatchEvent", "Monitor"]

log = logging.getLogger("openshift_ai.training")

StatusCallback = Callable[[JobStatus], Any]
TransitionCallback = Callable[[Transition], Any]


class _JobBase:
    """A job's data: metadata, spec and latest status.

    ``status`` is refreshed by :meth:`refresh`, :meth:`monitor` and
    :meth:`wait_for_completion`; ``warnings`` holds what the server said
    when the job was created (e.g. "image is ignored by the local engine")."""

    def __init__(
        self,
        metadata: Optional[ObjectMeta] = None,
        spec: Optional[MPIJobSpec] = None,
        status: Optional[JobStatus] = None,
        client: Any = None,
        api_version: str = "",
        kind: str = "",
        warnings: Optional[List[str]] = None,
    ) -> None:
        self.metadata = metadata or ObjectMeta()
        self.spec = spec or MPIJobSpec()
        self.status = status or JobStatus()
        self.api_version = api_version
        self.kind = kind
        self.warnings: List[str] = list(warnings or [])
        self.deleted = False
        self._client = client

    # -- data ---------------------------------------------------------------
    @property
    def name(self) -> str:
        """The job's name."""
        return self.metadata.name

    @property
    def namespace(self) -> str:
        """The job's namespace."""
        return self.metadata.namespace

    @property
    def uid(self) -> str:
        """The server-assigned unique id."""
        return self.metadata.uid

    @property
    def creator(self) -> str:
        """The user who created the job."""
        return self.metadata.creator

    @property
    def phase(self) -> str:
        """Shortcut for ``status.phase``."""
        return self.status.phase

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], strict: bool = True, client: Any = None):  # type: ignore[no-untyped-def]
        """Build from the API's JSON form of an MPIJob (``apiVersion``,
        ``kind``, ``metadata``, ``spec``, ``status``).

        With ``strict`` (the default) the document is checked as the server
        checks a submitted job: unknown fields and ill-typed values raise
        :class:`ValidationError` with every problem. Server responses are
        read with ``strict=False``."""
        if strict:
            from .validation import parse_document

            data = parse_document(data)
        meta = ObjectMeta.from_dict(data.get("metadata") or {})
        spec = MPIJobSpec.from_dict({"metadata": data.get("metadata") or {}, "spec": data.get("spec") or {}}, strict=False)
        if "namespace" not in (data.get("metadata") or {}):
            spec.namespace = None
        status = JobStatus.from_dict(data.get("status") or {})
        return cls(meta, spec, status, client, data.get("apiVersion") or "", data.get("kind") or "")

    def to_dict(self) -> Dict[str, Any]:
        """The API's JSON form (metadata, spec and status)."""
        doc = self.spec.to_dict()
        meta = self.metadata.to_dict()
        doc["metadata"] = {**doc["metadata"], **meta}
        st = self.status.to_dict()
        if st:
            doc["status"] = st
        return doc

    def validate(self, raise_on_error: bool = True) -> List[Any]:
        """Validate the job's spec with the server's rules (see
        :meth:`MPIJobSpec.validate`)."""
        return self.spec.validate(raise_on_error=raise_on_error)

    def _update(self, other: "_JobBase") -> None:
        self.metadata = other.metadata
        self.spec = other.spec
        self.status = other.status
        self.api_version = other.api_version or self.api_version
        self.kind = other.kind or self.kind

    def __repr__(self) -> str:
        return "%s(%s/%s, phase=%s)" % (type(self).__name__, self.namespace, self.name, self.status.phase or "?")

class MPIJob(_JobBase):
    """A job: its metadata, spec and latest status, and — when it came from
    a client — methods to follow and manage it (blocking).

    ``status`` is refreshed by :meth:`refresh`, :meth:`monitor` and
    :meth:`wait_for_completion`; ``warnings`` holds what the server said
    when the job was created (e.g. "image is ignored by the local engine")."""

    # -- operations ---------------------------------------------------------
    @property
    def client(self) -> "MPIJobClient":
        """The client this job came from."""
        if self._client is None:
            raise TrainingError("this MPIJob is not bound to a client; get it with MPIJobClient.get_mpijob()")
        return self._client

    def refresh(self) -> "MPIJob":
        """Fetch the latest state from the server; returns self."""
        self._update(self.client.get_mpijob(self.name, self.namespace))
        return self

    def watch(self, timeout: Optional[float] = None, send_initial_events: bool = True) -> Iterator["WatchEvent"]:
        """The server's change stream for this job (ADDED, MODIFIED, DELETED,
        SYNCED events), without reconnection; see :meth:`monitor`."""
        return self.client.watch_mpijobs(namespace=self.namespace, name=self.name, timeout=timeout, send_initial_events=send_initial_events)

    def monitor(
        self,
        callback: Optional[StatusCallback] = None,
        stop_on_terminal: bool = True,
        timeout: Optional[float] = None,
        on_transition: Optional[TransitionCallback] = None,
        background: bool = False,
    ) -> Union[JobStatus, "Monitor"]:
        """Follow the job through the server's watch stream (no polling) and
        call ``callback(status)`` whenever its status changes, starting with
        the current status.

        ``on_transition(transition)`` is called once for every phase
        transition in the job's history, in order — also for transitions
        that happened between two stream events. With ``stop_on_terminal``
        monitoring ends when the job Succeeds or Fails (or is deleted);
        otherwise it runs until ``timeout`` or until stopped. Broken streams
        are reopened (the server resends the current state).

        Returns the last status; with ``background=True`` it returns at once
        a :class:`Monitor` running in a daemon thread. Raises
        :class:`TimeoutError` after ``timeout`` seconds and
        :class:`NotFoundError` if the job does not exist. Exceptions raised
        by the callbacks stop monitoring and propagate."""
        if background:
            m = Monitor(self, callback, stop_on_terminal, timeout, on_transition)
            m.start()
            return m
        return self._monitor(callback, stop_on_terminal, timeout, on_transition, None)

    def _monitor(
        self,
        callback: Optional[StatusCallback],
        stop_on_terminal: bool,
        timeout: Optional[float],
        on_transition: Optional[TransitionCallback],
        stopper: Optional["Monitor"],
    ) -> JobStatus:
        client = self.client
        deadline = time.monotonic() + timeout if timeout is not None else None
        last: Optional[Dict[str, Any]] = None
        seen = 0
        failures = 0
        while True:
            if stopper is not None and stopper.stopping:
                return self.status
            found = False
            req = rq.watch_request(self.namespace, name=self.name, send_initial_events=True)
            try:
                stream = client._transport.stream(req, deadline)
                if stopper is not None:
                    stopper._stream = stream
                with stream:
                    for obj in stream:
                        ev = WatchEvent.from_dict(obj, client)
                        if ev.type == "SYNCED":
                            if not found:
                                raise NotFoundError('MPIJob "%s" not found in namespace "%s"' % (self.name, self.namespace))
                            continue
                        if ev.job is None or ev.job.name != self.name:
                            continue
                        found = True
                        failures = 0
                        self._update(ev.job)
                        new, seen = rq.new_history(seen, self.status.history)
                        if on_transition is not None:
                            for t in new:
                                on_transition(t)
                        current = self.status.to_dict()
                        if callback is not None and current != last:
                            callback(self.status)
                        last = current
                        if ev.type == "DELETED":
                            self.deleted = True
                            return self.status
                        if stop_on_terminal and self.status.is_terminal:
                            return self.status
            except TimeoutError:
                raise TimeoutError(
                    "MPIJob %s/%s did not finish within %ss (phase %s)" % (self.namespace, self.name, timeout, self.status.phase or "unknown")
                ) from None
            except (ConnectionError, ServiceUnavailableError) as e:
                if stopper is not None and stopper.stopping:
                    return self.status
                failures += 1
                if failures > client._retry.retries:
                    raise
                log.debug("watch of %s/%s broke (%s); reconnecting", self.namespace, self.name, e)
                time.sleep(client._retry.delay(failures - 1))
                continue
            if stopper is not None and stopper.stopping:
                return self.status
            # The server ended the stream (e.g. restart): resume watching.
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError("MPIJob %s/%s did not finish within %ss" % (self.namespace, self.name, timeout))
            time.sleep(min(0.2 * (failures + 1), 2.0))
            failures += 1
            if failures > client._retry.retries + 3:
                raise ConnectionError(
                    "the watch stream of %s keeps closing" % client.server, address=client.server
                )

    def wait_for_completion(
        self,
        timeout: Optional[float] = None,
        raise_on_failure: bool = True,
        callback: Optional[StatusCallback] = None,
    ) -> JobStatus:
        """Block until the job Succeeds or Fails (watch-based, no polling)
        and return its final status.

        Raises :class:`JobFailedError` if it failed (unless
        ``raise_on_failure=False``), :class:`TimeoutError` after ``timeout``
        seconds, :class:`NotFoundError` if it is deleted meanwhile."""
        status = self._monitor(callback, True, timeout, None, None)
        if self.deleted and not status.is_terminal:
            raise NotFoundError('MPIJob "%s" was deleted before it finished' % self.name)
        if status.failed and raise_on_failure:
            raise JobFailedError(
                "MPIJob %s/%s failed: %s%s" % (self.namespace, self.name, status.reason or "Failed", ": " + status.message if status.message else ""),
                status=status,
                job=self,
            )
        return status

    def log_lines(
        self,
        worker: rq.WorkerSelector = None,
        follow: bool = False,
        tail: Optional[int] = None,
        since: rq.Since = None,
        previous: bool = False,
        timeout: Optional[float] = None,
    ) -> Iterator[LogLine]:
        """Structured log lines (source, worker, rank, stream, time, text);
        see :meth:`get_logs` for the arguments."""
        return self.client.log_lines(self.name, self.namespace, worker=worker, follow=follow, tail=tail, since=since, previous=previous, timeout=timeout)

    def get_logs(
        self,
        worker: rq.WorkerSelector = None,
        follow: bool = False,
        tail: Optional[int] = None,
        since: rq.Since = None,
        previous: bool = False,
        timeout: Optional[float] = None,
    ) -> Union[str, Iterator[str]]:
        """The job's output.

        ``worker``: None (the launcher: mpirun's own messages), a worker
        index (``0``: the output of that worker's ranks), or ``"all"`` (every
        source merged in time order, each line prefixed with ``[source]``). ``tail``: only the
        last N lines per source. ``since``: seconds, a timedelta or a
        datetime. Returns the text; with ``follow=True`` an iterator of lines
        that ends when the job has finished."""
        return self.client.get_logs(self.name, self.namespace, worker=worker, follow=follow, tail=tail, since=since, previous=previous, timeout=timeout)

    def events(self) -> List[Event]:
        """Events recorded for the job (lifecycle, scheduling, failures)."""
        return self.client.events(self.name, self.namespace)

    def metrics(self) -> JobMetrics:
        """CPU and memory use of the launcher and each worker over the last
        minutes (``metrics().replica("worker-0").peak_cpu()``), when the
        engine measures it."""
        return self.client.get_metrics(self.name, self.namespace)

    def suspend(self) -> "MPIJob":
        """Suspend the job (its processes or pods stop; the record is kept)."""
        self._update(self.client.suspend_mpijob(self.name, self.namespace))
        return self

    def resume(self) -> "MPIJob":
        """Resume a suspended job (it starts again from the beginning)."""
        self._update(self.client.resume_mpijob(self.name, self.namespace))
        return self

    def delete(self, wait: bool = True, timeout: Optional[float] = None) -> None:
        """Delete the job and everything it created; with ``wait`` (the
        default) return only when every process or pod is gone."""
        job = self.client.delete_mpijob(self.name, self.namespace, wait=wait, timeout=timeout)
        if job is not None:
            self.status = job.status
        self.deleted = True


class Monitor:
    """A :meth:`MPIJob.monitor` running in a background thread."""

    def __init__(self, job: MPIJob, callback: Optional[StatusCallback], stop_on_terminal: bool, timeout: Optional[float], on_transition: Optional[TransitionCallback]) -> None:
        self.job = job
        self.status: Optional[JobStatus] = None
        self.error: Optional[BaseException] = None
        self.stopping = False
        self._stream: Optional[Stream] = None
        self._args = (callback, stop_on_terminal, timeout, on_transition)
        self._thread = threading.Thread(target=self._run, name="odh-monitor-%s" % job.name, daemon=True)

    def start(self) -> None:
        """Start the thread (done by monitor(background=True))."""
        self._thread.start()

    def _run(self) -> None:
        try:
            self.status = self.job._monitor(*self._args, stopper=self)
        except BaseException as e:  # reported through join()
            self.error = e

    def stop(self) -> None:
        """Stop monitoring (closes the watch stream)."""
        self.stopping = True
        s = self._stream
        if s is not None:
            s.close()

    def join(self, timeout: Optional[float] = None) -> Optional[JobStatus]:
        """Wait for monitoring to end; return the last status or re-raise
        the error that ended it."""
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        return self.status

    @property
    def running(self) -> bool:
        """Whether the thread is still monitoring."""
        return self._thread.is_alive()


@dataclass
class WatchEvent:
    """A change to a job: ``type`` is ADDED, MODIFIED, DELETED or SYNCED
    (the end of the initial events; ``job`` is None then)."""

    type: str
    job: Optional[Any] = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], client: Any = None, job_cls: Any = None) -> "WatchEvent":
        """Build from the API's JSON form."""
        job = data.get("job")
        jc = job_cls or MPIJob
        return cls(str(data.get("type", "")), jc.from_dict(job, strict=False, client=client) if job else None)


class MPIJobClient:
    """Client of the Training Service (blocking).

    Configuration, from first to last: the arguments; ``ODH_SERVER``,
    ``ODH_TOKEN``, ``ODH_NAMESPACE``; the current context of
    ``$ODH_CONFIG`` or ``~/.config/odh/config.json``; the default server
    ``http://127.0.0.1:8080``. For a local server without a token, the token
    is read from the server's discovery file.

    ``timeout`` bounds each request (seconds); ``retries`` is how often
    idempotent calls (GET, DELETE) are retried on 502/503/504 and connection
    errors, with exponential backoff from ``backoff`` seconds. ``verify``
    controls TLS verification (True, False or a CA bundle path; by default
    on unless the config context sets ``insecureSkipTLSVerify``).
    ``validate`` checks specs client-side before sending them.

    Usable as a context manager."""

    def __init__(
        self,
        server: Optional[str] = None,
        token: Optional[str] = None,
        namespace: Optional[str] = None,
        timeout: float = 30.0,
        retries: int = 3,
        *,
        context: Optional[str] = None,
        backoff: float = 0.5,
        verify: Union[bool, str, None] = None,
        validate: bool = True,
    ) -> None:
        self.config: ClientConfig = resolve_config(server, token, namespace, context)
        self.server = self.config.server
        self.namespace = self.config.namespace
        self.timeout = timeout
        self.validate = validate
        self._retry = RetryPolicy(retries=retries, backoff=backoff)
        if verify is None:
            verify = not self.config.insecure
        self._transport = HTTPTransport(self.server, self.config.token, timeout, self._retry, verify)

    def __enter__(self) -> "MPIJobClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Release resources (connections are per request; nothing to do)."""

    def __repr__(self) -> str:
        return "MPIJobClient(server=%r, namespace=%r)" % (self.server, self.namespace)

    def _ns(self, namespace: Optional[str]) -> str:
        return namespace or self.namespace

    def _job(self, data: Mapping[str, Any]) -> MPIJob:
        return MPIJob.from_dict(data, strict=False, client=self)

    # -- jobs ----------------------------------------------------------------
    def create_mpijob(
        self,
        spec: Union[MPIJobSpec, Mapping[str, Any], str],
        dry_run: bool = False,
        namespace: Optional[str] = None,
    ) -> MPIJob:
        """Create a job and return its handle.

        ``spec`` is an :class:`MPIJobSpec`, a job document (dict) or a
        manifest text (YAML or JSON; ours or an upstream kubeflow.org/v2beta1
        MPIJob). Specs and documents are validated client-side first
        (raising :class:`ValidationError` with every problem); the server
        validates again. ``dry_run`` validates and defaults on the server and
        creates nothing. The namespace is the spec's, else ``namespace``,
        else the client's."""
        req = rq.create_request(spec, self._ns(namespace), dry_run, self.validate)
        resp = self._transport.call(req)
        job = self._job(resp.get("job") or {})
        job.warnings = list(resp.get("warnings") or [])
        for w in job.warnings:
            log.warning("%s: %s", job.name or "job", w)
        return job

    def create_mpijob_from_manifest(self, manifest: str, namespace: Optional[str] = None, dry_run: bool = False) -> MPIJob:
        """Create a job from YAML or JSON text (our format or an upstream
        kubeflow.org/v2beta1 MPIJob); the server parses and validates it."""
        return self.create_mpijob(manifest, dry_run=dry_run, namespace=namespace)

    def get_mpijob(self, name: str, namespace: Optional[str] = None) -> MPIJob:
        """Get one job with its current status; :class:`NotFoundError` if
        there is none."""
        return self._job(self._transport.call(Request.of("GetJob", {"namespace": self._ns(namespace), "name": name})))

    def list_mpijobs(
        self,
        namespace: Optional[str] = None,
        label_selector: Optional[str] = None,
        phase: Union[None, str, Sequence[str]] = None,
        all_namespaces: bool = False,
        page_size: Optional[int] = None,
    ) -> List[MPIJob]:
        """List jobs in a namespace (default: the client's) or in every
        namespace you may see (``all_namespaces=True``), optionally filtered
        by a label selector (``"team=nlp,tier!=prod"``) and phase(s). All
        pages are fetched."""
        ns = None if all_namespaces else self._ns(namespace)
        out: List[MPIJob] = []
        token: Optional[str] = None
        while True:
            resp = self._transport.call(rq.list_request(ns, label_selector, phase, page_size, token))
            out.extend(self._job(j) for j in resp.get("items") or [])
            token = resp.get("nextPageToken") or None
            if not token:
                return out

    def delete_mpijob(
        self,
        name: str,
        namespace: Optional[str] = None,
        wait: bool = False,
        dry_run: bool = False,
        timeout: Optional[float] = None,
    ) -> Optional[MPIJob]:
        """Delete a job and everything it created. With ``wait`` return only
        when every process or pod is gone (the request timeout is then at
        least ``timeout`` or 120 s). Returns the job as it was deleted."""
        req = rq.delete_request(self._ns(namespace), name, wait, dry_run)
        if wait or timeout:
            t = HTTPTransport(self.server, self.config.token, max(self.timeout, timeout or 120.0), self._retry, self._transport.verify)
            resp = t.call(req)
        else:
            resp = self._transport.call(req)
        return self._job(resp["job"]) if resp.get("job") else None

    def suspend_mpijob(self, name: str, namespace: Optional[str] = None) -> MPIJob:
        """Suspend a job."""
        return self._job(self._transport.call(Request.of("SuspendJob", {"namespace": self._ns(namespace), "name": name}, body={})))

    def resume_mpijob(self, name: str, namespace: Optional[str] = None) -> MPIJob:
        """Resume a suspended job."""
        return self._job(self._transport.call(Request.of("ResumeJob", {"namespace": self._ns(namespace), "name": name}, body={})))

    def watch_mpijobs(
        self,
        namespace: Optional[str] = None,
        label_selector: Optional[str] = None,
        name: Optional[str] = None,
        all_namespaces: bool = False,
        send_initial_events: bool = True,
        timeout: Optional[float] = None,
    ) -> Iterator[WatchEvent]:
        """Stream changes to jobs: first the current jobs as ADDED and one
        SYNCED event (unless ``send_initial_events=False``), then every
        change as it happens. Ends after ``timeout`` seconds (raising
        :class:`TimeoutError`), when the server closes the stream, or when
        you stop iterating (close the generator)."""
        ns = None if all_namespaces else self._ns(namespace)
        req = rq.watch_request(ns, name=name, label_selector=label_selector, send_initial_events=send_initial_events)
        deadline = time.monotonic() + timeout if timeout is not None else None
        with self._transport.stream(req, deadline) as stream:
            for obj in stream:
                yield WatchEvent.from_dict(obj, self)

    def log_lines(
        self,
        name: str,
        namespace: Optional[str] = None,
        worker: rq.WorkerSelector = None,
        follow: bool = False,
        tail: Optional[int] = None,
        since: rq.Since = None,
        previous: bool = False,
        timeout: Optional[float] = None,
    ) -> Iterator[LogLine]:
        """Structured log lines of a job; see :meth:`MPIJob.get_logs`."""
        req = rq.logs_request(self._ns(namespace), name, worker, follow, tail, since, previous)
        deadline = time.monotonic() + timeout if timeout is not None else (None if follow else time.monotonic() + max(self.timeout, 60.0))
        with self._transport.stream(req, deadline) as stream:
            for obj in stream:
                yield LogLine.from_dict(obj)

    def get_logs(
        self,
        name: str,
        namespace: Optional[str] = None,
        worker: rq.WorkerSelector = None,
        follow: bool = False,
        tail: Optional[int] = None,
        since: rq.Since = None,
        previous: bool = False,
        timeout: Optional[float] = None,
    ) -> Union[str, Iterator[str]]:
        """A job's output as text, or an iterator of lines with
        ``follow=True``; see :meth:`MPIJob.get_logs`."""
        prefix = worker == "all"
        lines = self.log_lines(name, namespace, worker, follow, tail, since, previous, timeout)
        if follow:
            return (rq.format_log_line(l, prefix) for l in lines)
        return rq.join_lines([rq.format_log_line(l, prefix) for l in lines])

    def events(self, name: str, namespace: Optional[str] = None) -> List[Event]:
        """Events recorded for a job."""
        resp = self._transport.call(Request.of("ListEvents", {"namespace": self._ns(namespace), "name": name}))
        return [Event.from_dict(e) for e in resp.get("items") or []]

    def get_metrics(self, name: str, namespace: Optional[str] = None) -> JobMetrics:
        """A job's recent CPU and memory use per replica; see :meth:`MPIJob.metrics`."""
        return JobMetrics.from_dict(self._transport.call(Request.of("GetJobMetrics", {"namespace": self._ns(namespace), "name": name})))

    # -- cluster -------------------------------------------------------------
    def capacity(self, namespace: Optional[str] = None) -> Capacity:
        """What new jobs in the namespace may still use (CPU, memory, GPUs,
        MPI slots), from the local machine or the namespace's quota."""
        return Capacity.from_dict(self._transport.call(Request.of("GetCapacity", {"namespace": self._ns(namespace)})))

    def version(self) -> Version:
        """The server's version and engine."""
        return Version.from_dict(self._transport.call(Request.of("GetVersion")))

    def can_i(self, verb: str, resource: str = "mpijobs", name: Optional[str] = None, namespace: Optional[str] = None) -> AccessReview:
        """Whether you may ``verb`` (get, list, watch, create, update,
        suspend, resume, delete, logs) on ``resource``, optionally on the job
        ``name``: e.g. ``if client.can_i("delete", name="train"): ...``.
        When not, ``reason`` says why and how to get access."""
        q = {"verb": verb, "resource": resource, "name": name}
        return AccessReview.from_dict(self._transport.call(Request.of("CanI", {"namespace": self._ns(namespace)}, q)))

    # -- templates -------------------------------------------------------------
    def create_template(
        self,
        name: str,
        job: Union[MPIJobSpec, Mapping[str, Any]],
        description: str = "",
        namespace: Optional[str] = None,
    ) -> JobTemplate:
        """Save a job spec as a reusable template."""
        ns = self._ns(namespace)
        body = rq.template_body(name, job, description, ns)
        return JobTemplate.from_dict(self._transport.call(Request.of("CreateTemplate", {"namespace": ns}, body=body)))

    def list_templates(self, namespace: Optional[str] = None) -> List[JobTemplate]:
        """Saved templates in a namespace."""
        resp = self._transport.call(Request.of("ListTemplates", {"namespace": self._ns(namespace)}))
        return [JobTemplate.from_dict(t) for t in resp.get("items") or []]

    def get_template(self, name: str, namespace: Optional[str] = None) -> JobTemplate:
        """One template."""
        return JobTemplate.from_dict(self._transport.call(Request.of("GetTemplate", {"namespace": self._ns(namespace), "name": name})))

    def delete_template(self, name: str, namespace: Optional[str] = None) -> None:
        """Delete a template."""
        self._transport.call(Request.of("DeleteTemplate", {"namespace": self._ns(namespace), "name": name}))
