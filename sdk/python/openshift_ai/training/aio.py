"""The asyncio client: :class:`AsyncMPIJobClient` and :class:`AsyncMPIJob`.

Every call — unary requests, watch streams and followed logs — is truly
asynchronous (the transport speaks HTTP/1.1 over asyncio streams: no
threads), so thousands of jobs can be monitored from one event loop. The
requests are built by the same code as the blocking client's
(``_requests``), and streams resume the same way (``_resume``).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import Any, AsyncIterator, Dict, List, Mapping, Optional, Sequence, Union

from . import _requests as rq
from ._aiotransport import AsyncHTTPTransport
from ._job import MonitorState, StatusCallback, TransitionCallback, WatchEvent, _JobBase, connect, deleted_error, failure_message, log
from ._resume import LogTracker, Reconnect, WatchTracker
from .api import Request, RetryPolicy
from .config import ClientConfig
from .errors import ConflictError, FieldError, JobFailedError, NotFoundError, QuotaExceededError, TimeoutError, TrainingError, ValidationError
from .notifications import _AsyncNotificationsMixin
from .models import AccessReview, Capacity, Event, JobMetrics, JobProgress, JobStatus, JobTemplate, LogLine, MPIJobSpec, Version

__all__ = ["AsyncMPIJobClient", "AsyncMPIJob", "AsyncHTTPTransport"]


async def _maybe_await(v: Any) -> None:
    if inspect.isawaitable(v):
        await v


class AsyncMPIJob(_JobBase):
    """A job handle whose operations are coroutines (see :class:`MPIJob`
    for what each does). Callbacks given to :meth:`monitor` may be plain
    functions or coroutine functions."""

    @property
    def client(self) -> "AsyncMPIJobClient":
        """The client this job came from."""
        if self._client is None:
            raise TrainingError("this AsyncMPIJob is not bound to a client")
        return self._client

    async def refresh(self) -> "AsyncMPIJob":
        """Fetch the latest state from the server; returns self."""
        self._update(await self.client.get_mpijob(self.name, self.namespace))
        return self

    def watch(self, timeout: Optional[float] = None, send_initial_events: bool = True) -> AsyncIterator[WatchEvent]:
        """The server's change stream for this job (``async for``)."""
        return self.client.watch_mpijobs(namespace=self.namespace, name=self.name, timeout=timeout, send_initial_events=send_initial_events)

    async def monitor(
        self,
        callback: Optional[StatusCallback] = None,
        stop_on_terminal: bool = True,
        timeout: Optional[float] = None,
        on_transition: Optional[TransitionCallback] = None,
    ) -> JobStatus:
        """Follow the job through the watch stream, calling
        ``callback(status)`` on every status change and
        ``on_transition(transition)`` once per phase transition; see
        :meth:`MPIJob.monitor`. Run it as a task to monitor in the
        background: ``asyncio.create_task(job.monitor(cb))``."""
        state = MonitorState(self, stop_on_terminal)
        deadline = time.monotonic() + timeout if timeout is not None else None
        events = self.client._watch(self.namespace, self.name, None, True, deadline)
        try:
            async for ev in events:
                new, changed, done = state.step(ev)
                if on_transition is not None:
                    for t in new:
                        await _maybe_await(on_transition(t))
                if callback is not None and changed:
                    await _maybe_await(callback(self.status))
                if done:
                    return self.status
        except TimeoutError:
            raise TimeoutError(
                "MPIJob %s/%s did not finish within %ss (phase %s)" % (self.namespace, self.name, timeout, self.status.phase or "unknown")
            ) from None
        finally:
            await events.aclose()
        return self.status

    async def wait_for_completion(
        self,
        timeout: Optional[float] = None,
        raise_on_failure: bool = True,
        callback: Optional[StatusCallback] = None,
    ) -> JobStatus:
        """Wait until the job Succeeds or Fails (watch-based); see
        :meth:`MPIJob.wait_for_completion`."""
        status = await self.monitor(callback, True, timeout)
        if not status.is_terminal:
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
    ) -> AsyncIterator[LogLine]:
        """Structured log lines (``async for``)."""
        return self.client.log_lines(self.name, self.namespace, worker, follow, tail, since, previous, timeout)

    def stream_logs(
        self,
        worker: rq.WorkerSelector = None,
        follow: bool = True,
        tail: Optional[int] = None,
        since: rq.Since = None,
        timeout: Optional[float] = None,
    ) -> AsyncIterator[str]:
        """Log lines as text (``async for line in job.stream_logs(): ...``);
        follows the job until it ends unless ``follow=False``."""
        return self.client.stream_logs(self.name, self.namespace, worker, follow, tail, since, timeout)

    async def get_logs(
        self,
        worker: rq.WorkerSelector = None,
        follow: bool = False,
        tail: Optional[int] = None,
        since: rq.Since = None,
        previous: bool = False,
        timeout: Optional[float] = None,
    ) -> Union[str, AsyncIterator[str]]:
        """The job's output as text; with ``follow=True`` an async iterator
        of lines (``async for line in await job.get_logs(follow=True)``)."""
        return await self.client.get_logs(self.name, self.namespace, worker, follow, tail, since, previous, timeout)

    async def events(self) -> List[Event]:
        """Events recorded for the job."""
        return await self.client.events(self.name, self.namespace)

    async def metrics(self) -> JobMetrics:
        """CPU and memory use per replica over the last minutes."""
        return await self.client.get_metrics(self.name, self.namespace)

    async def progress(self) -> JobProgress:
        """How far training has got and its history (see :meth:`MPIJob.progress`)."""
        return await self.client.get_progress(self.name, self.namespace)

    async def validate(self, raise_on_error: bool = True) -> List[FieldError]:
        """Ask the server to check this job's spec (a dry run); see
        :meth:`MPIJobSpec.validate`."""
        return await self.client.validate_mpijob(self.spec, raise_on_error=raise_on_error)

    async def suspend(self) -> "AsyncMPIJob":
        """Suspend the job."""
        self._update(await self.client.suspend_mpijob(self.name, self.namespace))
        return self

    async def resume(self) -> "AsyncMPIJob":
        """Resume a suspended job."""
        self._update(await self.client.resume_mpijob(self.name, self.namespace))
        return self

    async def delete(self, wait: bool = True, timeout: Optional[float] = None) -> None:
        """Delete the job; with ``wait`` return when everything is gone."""
        job = await self.client.delete_mpijob(self.name, self.namespace, wait=wait, timeout=timeout)
        if job is not None:
            self.status = job.status
        self.deleted = True


class AsyncMPIJobClient(_AsyncNotificationsMixin):
    """Client of the Training Service for asyncio programs: the same
    configuration and surface as :class:`MPIJobClient`, with coroutines and
    async iterators::

        async with AsyncMPIJobClient() as client:
            job = await client.create_mpijob(spec)
            await job.wait_for_completion(timeout=600)
            async for line in job.stream_logs(worker="all"):
                print(line)
    """

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
        self._transport = AsyncHTTPTransport(self.server, timeout=timeout, retry=self._retry, **transport_kw)

    async def __aenter__(self) -> "AsyncMPIJobClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self) -> None:
        """Close kept-alive connections and stop the direct-mode server, if any."""
        self._transport.close()
        if self._direct is not None:
            self._direct.stop()
            self._direct = None

    def __repr__(self) -> str:
        return "AsyncMPIJobClient(server=%r, namespace=%r)" % (self.server, self.namespace)

    def _ns(self, namespace: Optional[str]) -> str:
        return namespace or self.namespace

    def _job(self, data: Mapping[str, Any]) -> AsyncMPIJob:
        return AsyncMPIJob.from_dict(data, strict=False, client=self)

    async def create_mpijob(
        self,
        spec: Union[MPIJobSpec, Mapping[str, Any], str],
        dry_run: bool = False,
        namespace: Optional[str] = None,
    ) -> AsyncMPIJob:
        """Create a job; see :meth:`MPIJobClient.create_mpijob`."""
        req = rq.create_request(spec, self._ns(namespace), dry_run)
        resp = await self._transport.call(req)
        job = self._job(resp.get("job") or {})
        job.warnings = list(resp.get("warnings") or [])
        for w in job.warnings:
            log.warning("%s: %s", job.name or "job", w)
        return job

    async def create_mpijob_from_manifest(self, manifest: str, namespace: Optional[str] = None, dry_run: bool = False) -> AsyncMPIJob:
        """Create a job from YAML or JSON text."""
        return await self.create_mpijob(manifest, dry_run=dry_run, namespace=namespace)

    async def validate_mpijob(
        self,
        spec: Union[MPIJobSpec, Mapping[str, Any], str],
        namespace: Optional[str] = None,
        raise_on_error: bool = True,
    ) -> List[FieldError]:
        """Ask the server whether a job is valid (a dry run); see
        :meth:`MPIJobClient.validate_mpijob`."""
        try:
            await self.create_mpijob(spec, dry_run=True, namespace=namespace)
        except ValidationError as e:
            if raise_on_error or not e.field_errors:
                raise
            return list(e.field_errors)
        return []

    async def get_mpijob(self, name: str, namespace: Optional[str] = None) -> AsyncMPIJob:
        """Get one job."""
        return self._job(await self._transport.call(Request.of("GetJob", {"namespace": self._ns(namespace), "name": name})))

    async def list_mpijobs(
        self,
        namespace: Optional[str] = None,
        label_selector: Optional[str] = None,
        phase: Union[None, str, Sequence[str]] = None,
        all_namespaces: bool = False,
        page_size: Optional[int] = None,
    ) -> List[AsyncMPIJob]:
        """List jobs; see :meth:`MPIJobClient.list_mpijobs`."""
        ns = None if all_namespaces else self._ns(namespace)
        out: List[AsyncMPIJob] = []
        token: Optional[str] = None
        while True:
            resp = await self._transport.call(rq.list_request(ns, label_selector, phase, page_size, token))
            out.extend(self._job(j) for j in resp.get("items") or [])
            token = resp.get("nextPageToken") or None
            if not token:
                return out

    async def delete_mpijob(
        self,
        name: str,
        namespace: Optional[str] = None,
        wait: bool = False,
        dry_run: bool = False,
        timeout: Optional[float] = None,
    ) -> Optional[AsyncMPIJob]:
        """Delete a job; see :meth:`MPIJobClient.delete_mpijob`."""
        req = rq.delete_request(self._ns(namespace), name, wait, dry_run)
        t = max(self.timeout, timeout or 120.0) if (wait or timeout) else None
        resp = await self._transport.call(req, t)
        return self._job(resp["job"]) if resp.get("job") else None

    async def suspend_mpijob(self, name: str, namespace: Optional[str] = None) -> AsyncMPIJob:
        """Suspend a job."""
        return self._job(await self._transport.call(Request.of("SuspendJob", {"namespace": self._ns(namespace), "name": name}, body={})))

    async def resume_mpijob(self, name: str, namespace: Optional[str] = None) -> AsyncMPIJob:
        """Resume a suspended job."""
        return self._job(await self._transport.call(Request.of("ResumeJob", {"namespace": self._ns(namespace), "name": name}, body={})))

    def watch_mpijobs(
        self,
        namespace: Optional[str] = None,
        label_selector: Optional[str] = None,
        name: Optional[str] = None,
        all_namespaces: bool = False,
        send_initial_events: bool = True,
        timeout: Optional[float] = None,
    ) -> AsyncIterator[WatchEvent]:
        """Stream changes to jobs (``async for``), resuming dropped streams;
        see :meth:`MPIJobClient.watch_mpijobs`."""
        ns = None if all_namespaces else self._ns(namespace)
        deadline = time.monotonic() + timeout if timeout is not None else None
        return self._watch(ns, name, label_selector, send_initial_events, deadline)

    async def _watch(
        self,
        namespace: Optional[str],
        name: Optional[str],
        label_selector: Optional[str],
        send_initial_events: bool,
        deadline: Optional[float],
    ) -> AsyncIterator[WatchEvent]:
        tracker = WatchTracker(send_initial_events)
        rc = Reconnect(deadline, self.reconnect_timeout)
        req = rq.watch_request(namespace, name=name, label_selector=label_selector, send_initial_events=True)
        while True:
            err: Optional[BaseException] = None
            stream = None
            try:
                stream = await self._transport.open_stream(req, deadline)
                rc.connected()
                tracker.reopened()
                async for obj in stream:
                    for out in tracker.feed(obj):
                        yield WatchEvent.from_dict(out, self, AsyncMPIJob)
            except TrainingError as e:
                if not rc.transient(e):
                    raise
                err = e
            finally:
                if stream is not None:
                    await stream.aclose()
            log.debug("watch stream of %s ended (%s); resuming", self.server, err or "closed by the server")
            await asyncio.sleep(rc.wait(err))

    async def log_lines(
        self,
        name: str,
        namespace: Optional[str] = None,
        worker: rq.WorkerSelector = None,
        follow: bool = False,
        tail: Optional[int] = None,
        since: rq.Since = None,
        previous: bool = False,
        timeout: Optional[float] = None,
    ) -> AsyncIterator[LogLine]:
        """Structured log lines of a job (``async for``), resuming dropped
        streams after the last line delivered."""
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
            stream = None
            try:
                stream = await self._transport.open_stream(req, deadline)
                rc.connected()
                async for obj in stream:
                    if tracker.feed(obj):
                        yield LogLine.from_dict(obj)
                if not follow or await self._finished(ns, name):
                    return
            except TrainingError as e:
                if not rc.transient(e) or tracker.untimed:
                    raise
                err = e
            finally:
                if stream is not None:
                    await stream.aclose()
            log.debug("log stream of %s/%s ended (%s); resuming", ns, name, err or "job still running")
            await asyncio.sleep(rc.wait(err))
            req = rq.resume_logs_request(first, tracker.since(), floor)

    async def _finished(self, namespace: str, name: str) -> bool:
        """After a follow ended cleanly: has the job really ended?"""
        try:
            return (await self.get_mpijob(name, namespace)).status.is_terminal
        except NotFoundError:
            return True
        except TrainingError:
            return False

    async def stream_logs(
        self,
        name: str,
        namespace: Optional[str] = None,
        worker: rq.WorkerSelector = None,
        follow: bool = True,
        tail: Optional[int] = None,
        since: rq.Since = None,
        timeout: Optional[float] = None,
    ) -> AsyncIterator[str]:
        """A job's log lines as text (``async for``), following by default."""
        prefix = worker == "all"
        async for l in self.log_lines(name, namespace, worker, follow, tail, since, False, timeout):
            yield rq.format_log_line(l, prefix)

    async def get_logs(
        self,
        name: str,
        namespace: Optional[str] = None,
        worker: rq.WorkerSelector = None,
        follow: bool = False,
        tail: Optional[int] = None,
        since: rq.Since = None,
        previous: bool = False,
        timeout: Optional[float] = None,
    ) -> Union[str, AsyncIterator[str]]:
        """A job's output as text, or (``follow=True``) an async iterator of lines."""
        prefix = worker == "all"
        if follow:
            return self.stream_logs(name, namespace, worker, True, tail, since, timeout)
        lines = [rq.format_log_line(l, prefix) async for l in self.log_lines(name, namespace, worker, False, tail, since, previous, timeout)]
        return rq.join_lines(lines)

    async def events(self, name: str, namespace: Optional[str] = None) -> List[Event]:
        """Events recorded for a job."""
        resp = await self._transport.call(Request.of("ListEvents", {"namespace": self._ns(namespace), "name": name}))
        return [Event.from_dict(e) for e in resp.get("items") or []]

    async def get_metrics(self, name: str, namespace: Optional[str] = None) -> JobMetrics:
        """A job's recent CPU and memory use per replica."""
        return JobMetrics.from_dict(await self._transport.call(Request.of("GetJobMetrics", {"namespace": self._ns(namespace), "name": name})))

    async def get_progress(self, name: str, namespace: Optional[str] = None) -> JobProgress:
        """A job's reported progress and its history."""
        return JobProgress.from_dict(await self._transport.call(Request.of("GetJobProgress", {"namespace": self._ns(namespace), "name": name})))

    async def capacity(self, namespace: Optional[str] = None) -> Capacity:
        """What new jobs in the namespace may still use."""
        return Capacity.from_dict(await self._transport.call(Request.of("GetCapacity", {"namespace": self._ns(namespace)})))

    async def version(self) -> Version:
        """The server's version and engine."""
        return Version.from_dict(await self._transport.call(Request.of("GetVersion")))

    async def can_i(self, verb: str, resource: str = "mpijobs", name: Optional[str] = None, namespace: Optional[str] = None) -> AccessReview:
        """Whether you may ``verb`` on ``resource`` (optionally the job ``name``)."""
        q = {"verb": verb, "resource": resource, "name": name}
        return AccessReview.from_dict(await self._transport.call(Request.of("CanI", {"namespace": self._ns(namespace)}, q)))

    async def create_template(self, name: str, job: Union[MPIJobSpec, Mapping[str, Any]], description: str = "", namespace: Optional[str] = None) -> JobTemplate:
        """Save a job spec as a reusable template (checked by the server
        first unless ``validate=False``)."""
        ns = self._ns(namespace)
        if self.validate:
            try:
                await self.validate_mpijob(rq.template_check(job), ns)
            except (ConflictError, QuotaExceededError):
                pass  # a template is not a job yet: only its spec is checked
        body = rq.template_body(name, job, description, ns)
        return JobTemplate.from_dict(await self._transport.call(Request.of("CreateTemplate", {"namespace": ns}, body=body)))

    async def list_templates(self, namespace: Optional[str] = None) -> List[JobTemplate]:
        """Saved templates in a namespace."""
        resp = await self._transport.call(Request.of("ListTemplates", {"namespace": self._ns(namespace)}))
        return [JobTemplate.from_dict(t) for t in resp.get("items") or []]

    async def get_template(self, name: str, namespace: Optional[str] = None) -> JobTemplate:
        """One template."""
        return JobTemplate.from_dict(await self._transport.call(Request.of("GetTemplate", {"namespace": self._ns(namespace), "name": name})))

    async def delete_template(self, name: str, namespace: Optional[str] = None) -> None:
        """Delete a template."""
        await self._transport.call(Request.of("DeleteTemplate", {"namespace": self._ns(namespace), "name": name}))
