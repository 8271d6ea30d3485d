"""The blocking client: :class:`MPIJobClient` and the :class:`MPIJob` job
handle it returns."""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Union

from . import _requests as rq
from ._job import Monitor, MonitorState, StatusCallback, TransitionCallback, WatchEvent, _JobBase, connect, deleted_error, failure_message, log
from ._resume import LogTracker, Reconnect, WatchTracker
from .api import HTTPTransport, Request, RetryPolicy
from .config import ClientConfig
from .errors import ConflictError, FieldError, JobFailedError, NotFoundError, QuotaExceededError, TimeoutError, TrainingError, ValidationError
from .notifications import _NotificationsMixin
from .models import AccessReview, Capacity, Event, JobMetrics, JobProgress, JobStatus, JobTemplate, LogLine, MPIJobSpec, Version

__all__ = ["MPIJobClient", "MPIJob", "WatchEvent", "Monitor", "validate_document"]

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
        otherwise it runs until ``timeout`` or until stopped. A dropped
        stream (server restart, proxy idle timeout) is reopened and resumed
        from the last resource version seen: no status is reported twice
        and none is skipped.

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
        state = MonitorState(self, stop_on_terminal)
        deadline = time.monotonic() + timeout if timeout is not None else None
        try:
            for ev in self.client._watch(self.namespace, self.name, None, True, deadline, stopper):
                new, changed, done = state.step(ev)
                if on_transition is not None:
                    for t in new:
                        on_transition(t)
                if callback is not None and changed:
                    callback(self.status)
                if done:
                    return self.status
        except TimeoutError:
            raise TimeoutError(
                "MPIJob %s/%s did not finish within %ss (phase %s)" % (self.namespace, self.name, timeout, self.status.phase or "unknown")
            ) from None
        return self.status

    def wait_for_completion(
        self,
        timeout: Optional[float] = None,
        raise_on_failure: bool = True,
        callback: Optional[StatusCallback] = None,
    ) -> JobStatus:
        """Block until the job Succeeds or Fails (watch-based, no polling)
        and return its final status.

        Only a phase read from the server's watch is returned: dropped
        streams are resumed, and a job deleted before it was seen to finish
        raises :class:`NotFoundError`. Raises :class:`JobFailedError` if it
        failed (unless ``raise_on_failure=False``), :class:`TimeoutError`
        after ``timeout`` seconds."""
        status = self._monitor(callback, True, timeout, None, None)
        if not status.is_terminal:
            # Only a phase seen on the watch is an outcome.
            raise deleted_error(self)
        if status.failed and raise_on_failure:
            raise JobFailedError(failure_message(self, status), status=status, job=self)
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

    def progress(self) -> JobProgress:
        """How far training has got, as the job's program reported it
        (:func:`report` or ODH_PROGRESS lines): ``progress().latest.percent``,
        ``.latest.metric("loss")``, and the history in ``.points``."""
        return self.client.get_progress(self.name, self.namespace)

    def validate(self, raise_on_error: bool = True) -> List[FieldError]:
        """Ask the server to check this job's spec (a dry run); see
        :meth:`MPIJobSpec.validate`."""
        return check_with_server(self._client, self.spec, raise_on_error)

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


class MPIJobClient(_NotificationsMixin):
    """Client of the Training Service (blocking).

    Where it connects, from first to last: the arguments; ``ODH_SERVER``,
    ``ODH_TOKEN``, ``ODH_NAMESPACE``; the context of the ``odh`` CLI's config
    file (``context=``, ``ODH_CONTEXT`` or the current one); inside a cluster
    pod (an OpenShift AI workbench) the in-cluster Training Service with the
    pod's ServiceAccount token; else the local server
    ``http://127.0.0.1:8080`` with the token of its discovery file. See
    :mod:`openshift_ai.training.config`.

    ``direct=True`` (or ``kubeconfig=...``, or ``ODH_DIRECT=1``) needs no
    deployed server: like ``odh --direct`` it runs the Training Service
    (``odh-server --engine=kubernetes``) as a private loopback process
    against the kubeconfig's cluster, with your kubeconfig's credentials;
    :meth:`close` stops it.

    ``timeout`` bounds each request (seconds); ``retries`` is how often
    idempotent calls (GET, DELETE) are retried on 502/503/504 and connection
    errors, with exponential backoff from ``backoff`` seconds. ``verify``
    controls TLS verification (True, False or a CA bundle path; by default
    the context's ``certificateAuthority`` or ``insecureSkipTLSVerify``).
    ``reconnect_timeout`` is how long a dropped watch or log stream is
    reopened before giving up (default 300 s). Connections are kept alive
    and reused; ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` are honoured.
    ``validate=False`` skips the server's dry run before saving a template
    (jobs are always validated by the server when created).

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
        reconnect_timeout: Optional[float] = None,
        direct: Optional[bool] = None,
        kubeconfig: Optional[str] = None,
    ) -> None:
        self.config, transport_kw, self._direct = connect(server, token, namespace, context, verify, direct, kubeconfig)
        self.server = self.config.server
        self.namespace = self.config.namespace
        self.timeout = timeout
        self.validate = validate
        self.reconnect_timeout = reconnect_timeout
        self._retry = RetryPolicy(retries=retries, backoff=backoff)
        self._transport = HTTPTransport(self.server, timeout=timeout, retry=self._retry, **transport_kw)

    def __enter__(self) -> "MPIJobClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close kept-alive connections and stop the direct-mode server, if any."""
        self._transport.close()
        if self._direct is not None:
            self._direct.stop()
            self._direct = None

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
        MPIJob). The server checks it and raises :class:`ValidationError`
        with every problem at once (field paths as in the API), creating
        nothing. ``dry_run`` validates and defaults on the server and
        creates nothing. The namespace is the spec's, else ``namespace``,
        else the client's."""
        req = rq.create_request(spec, self._ns(namespace), dry_run)
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

    def validate_mpijob(
        self,
        spec: Union[MPIJobSpec, Mapping[str, Any], str],
        namespace: Optional[str] = None,
        raise_on_error: bool = True,
    ) -> List[FieldError]:
        """Ask the server whether a job is valid, creating nothing (a dry
        run). Returns ``[]`` when it is; otherwise raises
        :class:`ValidationError` listing every field error (or returns them
        with ``raise_on_error=False``). Quota, permission and connection
        problems are raised as their own errors."""
        try:
            self.create_mpijob(spec, dry_run=True, namespace=namespace)
        except ValidationError as e:
            if raise_on_error or not e.field_errors:
                raise
            return list(e.field_errors)
        return []

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
        t = max(self.timeout, timeout or 120.0) if (wait or timeout) else None
        resp = self._transport.call(req, t)
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
        change as it happens. A dropped stream is reopened and resumed:
        changes made while it was down arrive as ADDED, MODIFIED or DELETED
        events, and nothing is delivered twice. Ends after ``timeout``
        seconds (raising :class:`TimeoutError`) or when you stop iterating
        (close the generator)."""
        ns = None if all_namespaces else self._ns(namespace)
        deadline = time.monotonic() + timeout if timeout is not None else None
        return self._watch(ns, name, label_selector, send_initial_events, deadline, None)

    def _watch(
        self,
        namespace: Optional[str],
        name: Optional[str],
        label_selector: Optional[str],
        send_initial_events: bool,
        deadline: Optional[float],
        stopper: Optional[Monitor],
    ) -> Iterator[WatchEvent]:
        tracker = WatchTracker(send_initial_events)
        rc = Reconnect(deadline, self.reconnect_timeout)
        req = rq.watch_request(namespace, name=name, label_selector=label_selector, send_initial_events=True)
        while stopper is None or not stopper.stopping:
            err: Optional[BaseException] = None
            try:
                stream = self._transport.stream(req, deadline)
                rc.connected()
                tracker.reopened()
                if stopper is not None:
                    stopper._stream = stream
                with stream:
                    for obj in stream:
                        for out in tracker.feed(obj):
                            yield WatchEvent.from_dict(out, self)
            except TrainingError as e:
                if stopper is not None and stopper.stopping:
                    return
                if not rc.transient(e):
                    raise
                err = e
            if stopper is not None and stopper.stopping:
                return
            log.debug("watch stream of %s ended (%s); resuming", self.server, err or "closed by the server")
            time.sleep(rc.wait(err))

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
        """Structured log lines of a job; see :meth:`MPIJob.get_logs`. A
        dropped stream is resumed after the last line delivered."""
        ns = self._ns(namespace)
        first = rq.logs_request(ns, name, worker, follow, tail, since, previous)
        floor = rq.since_floor(since)
        deadline = time.monotonic() + timeout if timeout is not None else (None if follow else time.monotonic() + max(self.timeout, 60.0))
        tracker = LogTracker()
        rc = Reconnect(deadline, self.reconnect_timeout)
        req = first
        while True:
            err: Optional[BaseException] = None
            tracker.reopened()
            try:
                with self._transport.stream(req, deadline) as stream:
                    rc.connected()
                    for obj in stream:
                        if tracker.feed(obj):
                            yield LogLine.from_dict(obj)
                if not follow or self._finished(ns, name):
                    return
            except TrainingError as e:
                if not rc.transient(e) or tracker.untimed:
                    raise
                err = e
            log.debug("log stream of %s/%s ended (%s); resuming", ns, name, err or "job still running")
            time.sleep(rc.wait(err))
            req = rq.resume_logs_request(first, tracker.since(), floor)

    def _finished(self, namespace: str, name: str) -> bool:
        """After a follow ended cleanly: has the job really ended?"""
        try:
            return self.get_mpijob(name, namespace).status.is_terminal
        except NotFoundError:
            return True
        except TrainingError:
            return False

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

    def get_progress(self, name: str, namespace: Optional[str] = None) -> JobProgress:
        """A job's reported progress and its history; see :meth:`MPIJob.progress`."""
        return JobProgress.from_dict(self._transport.call(Request.of("GetJobProgress", {"namespace": self._ns(namespace), "name": name})))

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
        """Save a job spec as a reusable template. The spec is checked by
        the server first (a dry run; skipped with ``validate=False``), so a
        bad one raises :class:`ValidationError` with every field error."""
        ns = self._ns(namespace)
        if self.validate:
            try:
                self.validate_mpijob(rq.template_check(job), ns)
            except (ConflictError, QuotaExceededError):
                pass  # a template is not a job yet: only its spec is checked
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


def check_with_server(client: Any, job: Union[MPIJobSpec, Mapping[str, Any]], raise_on_error: bool) -> List[FieldError]:
    """The server's dry-run verdict on a job (see MPIJobSpec.validate)."""
    if client is None:
        with MPIJobClient() as c:
            return c.validate_mpijob(job, raise_on_error=raise_on_error)
    if not isinstance(client, MPIJobClient):
        raise TypeError("validate() needs a blocking MPIJobClient; with AsyncMPIJobClient use: await client.validate_mpijob(spec)")
    return client.validate_mpijob(job, raise_on_error=raise_on_error)


def validate_document(doc: Mapping[str, Any], client: Optional[MPIJobClient] = None) -> List[FieldError]:
    """Ask the server (a dry run through ``client``, by default one made
    from the environment) to check a job document — the API's JSON form,
    as a dict — and return every field error (empty when valid): unknown
    fields (``unknown field "worker"; did you mean "workers"?``), values of
    the wrong type and broken rules, with the API's field paths."""
    return check_with_server(client, doc, False)
