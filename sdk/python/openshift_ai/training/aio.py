"""The asyncio client: :class:`AsyncMPIJobClient` and :class:`AsyncMPIJob`.

It speaks HTTP/1.1 itself over ``asyncio.open_connection`` (stdlib only), so
every call — unary requests, watch streams and followed logs — is truly
asynchronous: no threads, and thousands of jobs can be monitored from one
event loop. The requests are built by the same code as the blocking
client's (``_requests``), so both send exactly the same API calls.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import ssl
import time
from typing import Any, AsyncIterator, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import _requests as rq
from .api import Request, RetryPolicy, _Base, _decode_json, enable_keepalive, parse_stream_line
from .client import StatusCallback, TransitionCallback, WatchEvent, _JobBase
from .config import ClientConfig, resolve_config
from .errors import (
    ConnectionError,
    JobFailedError,
    NotFoundError,
    ServiceUnavailableError,
    TimeoutError,
    TrainingError,
    error_from_body,
)
from .models import AccessReview, Capacity, Event, JobMetrics, JobStatus, JobTemplate, LogLine, MPIJobSpec, Version

__all__ = ["AsyncMPIJobClient", "AsyncMPIJob", "AsyncHTTPTransport"]

log = logging.getLogger("openshift_ai.training")

_MAX_LINE = 16 << 20


class _Response:
    """An HTTP/1.1 response being read from an asyncio stream."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, status: int, headers: Dict[str, str]) -> None:
        self.reader = reader
        self.writer = writer
        self.status = status
        self.headers = headers
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self.writer.close()
            except Exception:  # pragma: no cover - best effort
                pass

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body, decoded from chunked or Content-Length framing."""
        te = self.headers.get("transfer-encoding", "").lower()
        if "chunked" in te:
            while True:
                line = await self.reader.readline()
                if not line:
                    raise asyncio.IncompleteReadError(b"", None)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers
                        t = await self.reader.readline()
                        if t in (b"\r\n", b"\n", b""):
                            return
                data = await self.reader.readexactly(size)
                await self.reader.readexactly(2)
                yield data
        elif "content-length" in self.headers:
            n = int(self.headers["content-length"])
            if n:
                yield await self.reader.readexactly(n)
        else:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    return
                yield data

    async def read(self) -> bytes:
        """The whole body."""
        parts = []
        async for c in self.chunks():
            parts.append(c)
        return b"".join(parts)

    async def lines(self) -> AsyncIterator[bytes]:
        """The body split into lines."""
        buf = b""
        async for c in self.chunks():
            buf += c
            while True:
                i = buf.find(b"\n")
                if i < 0:
                    break
                line, buf = buf[: i + 1], buf[i + 1 :]
                yield line
            if len(buf) > _MAX_LINE:
                raise TrainingError("stream line longer than %d bytes" % _MAX_LINE)
        if buf:
            yield buf


async def _read_head(reader: asyncio.StreamReader) -> Tuple[int, Dict[str, str]]:
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionResetError("connection closed before the response")
        parts = line.decode("latin-1").split(None, 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise ConnectionResetError("malformed status line %r" % line[:100])
        status = int(parts[1])
        headers: Dict[str, str] = {}
        while True:
            h = await reader.readline()
            if h in (b"\r\n", b"\n", b""):
                break
            k, _, v = h.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        if 100 <= status < 200:
            continue
        return status, headers


class AsyncHTTPTransport(_Base):
    """Non-blocking HTTP/1.1 transport on asyncio streams (one connection
    per request, ``Connection: close``)."""

    def _host_header(self) -> str:
        host = "[%s]" % self.host if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else "%s:%d" % (host, self.port)

    async def _open(self, req: Request, timeout: float) -> _Response:
        body = json.dumps(req.body).encode("utf-8") if req.body is not None else None
        target = self.prefix + req.path()
        headers = self.headers(body)
        headers["Host"] = self._host_header()
        headers["Connection"] = "close"
        if body is not None:
            headers["Content-Length"] = str(len(body))
        head = "%s %s HTTP/1.1\r\n" % (req.op.method, target) + "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
        attempt = 0
        while True:
            writer: Optional[asyncio.StreamWriter] = None
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(
                        self.host,
                        self.port,
                        ssl=self._ssl,
                        server_hostname=self.host if self._ssl is not None else None,
                        limit=_MAX_LINE,
                    ),
                    timeout,
                )
                writer.write(head.encode("latin-1") + (body or b""))
                await asyncio.wait_for(writer.drain(), timeout)
                status, resp_headers = await asyncio.wait_for(_read_head(reader), timeout)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ssl.SSLError, ValueError) as e:
                if writer is not None:
                    writer.close()
                if req.op.idempotent and attempt < self.retry.retries:
                    await asyncio.sleep(self.retry.delay(attempt))
                    attempt += 1
                    continue
                if isinstance(e, asyncio.TimeoutError) and writer is not None:
                    raise TimeoutError("no response from %s within %ss (%s %s)" % (self.server, timeout, req.op.method, req.op.path)) from e
                raise self._connection_error(req, e) from e
            resp = _Response(reader, writer, status, resp_headers)
            if status in self.retry.statuses and req.op.idempotent and attempt < self.retry.retries:
                try:
                    await asyncio.wait_for(resp.read(), timeout)
                except Exception:
                    pass
                resp.close()
                await asyncio.sleep(self.retry.delay(attempt, resp_headers.get("retry-after")))
                attempt += 1
                continue
            if status >= 400:
                try:
                    data = await asyncio.wait_for(resp.read(), timeout)
                except Exception:
                    data = b""
                finally:
                    resp.close()
                raise error_from_body(data, status, self.url(req))
            return resp

    async def call(self, req: Request, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Send a unary request; return the decoded JSON response."""
        t = timeout if timeout is not None else self.timeout
        resp = await self._open(req, t)
        try:
            data = await asyncio.wait_for(resp.read(), t)
        except asyncio.TimeoutError as e:
            raise TimeoutError("timed out reading the response of %s %s" % (req.op.method, req.op.path)) from e
        except (OSError, asyncio.IncompleteReadError, ValueError) as e:
            raise self._connection_error(req, e) from e
        finally:
            resp.close()
        return _decode_json(data, self.url(req))

    async def stream(self, req: Request, deadline: Optional[float] = None) -> AsyncIterator[Dict[str, Any]]:
        """Yield the ``result`` objects of a streaming request until the
        server ends it; ``deadline`` (``time.monotonic()``) bounds it all."""

        def remaining() -> Optional[float]:
            if deadline is None:
                return None
            r = deadline - time.monotonic()
            if r <= 0:
                raise TimeoutError("timed out waiting on %s %s" % (req.op.method, req.op.path))
            return r

        r = remaining()
        resp = await self._open(req, min(self.timeout, r) if r is not None else self.timeout)
        sock = resp.writer.get_extra_info("socket")
        if sock is not None:
            enable_keepalive(sock)
        url = self.url(req)
        lines = resp.lines()
        try:
            while True:
                try:
                    line = await asyncio.wait_for(lines.__anext__(), remaining())
                except StopAsyncIteration:
                    return
                except asyncio.TimeoutError as e:
                    raise TimeoutError("timed out waiting on %s %s" % (req.op.method, req.op.path)) from e
                except (OSError, asyncio.IncompleteReadError, ValueError) as e:
                    raise self._connection_error(req, e) from e
                obj = parse_stream_line(line, url)
                if obj is not None:
                    yield obj
        finally:
            await lines.aclose()
            resp.close()


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
        client = self.client
        deadline = time.monotonic() + timeout if timeout is not None else None
        last: Optional[Dict[str, Any]] = None
        seen = 0
        failures = 0
        while True:
            found = False
            req = rq.watch_request(self.namespace, name=self.name, send_initial_events=True)
            try:
                async for obj in client._transport.stream(req, deadline):
                    ev = WatchEvent.from_dict(obj, client, AsyncMPIJob)
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
                            await _maybe_await(on_transition(t))
                    current = self.status.to_dict()
                    if callback is not None and current != last:
                        await _maybe_await(callback(self.status))
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
                failures += 1
                if failures > client._retry.retries:
                    raise
                log.debug("watch of %s/%s broke (%s); reconnecting", self.namespace, self.name, e)
                await asyncio.sleep(client._retry.delay(failures - 1))
                continue
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError("MPIJob %s/%s did not finish within %ss" % (self.namespace, self.name, timeout))
            failures += 1
            if failures > client._retry.retries + 3:
                raise ConnectionError("the watch stream of %s keeps closing" % client.server, address=client.server)
            await asyncio.sleep(min(0.2 * failures, 2.0))

    async def wait_for_completion(
        self,
        timeout: Optional[float] = None,
        raise_on_failure: bool = True,
        callback: Optional[StatusCallback] = None,
    ) -> JobStatus:
        """Wait until the job Succeeds or Fails (watch-based); see
        :meth:`MPIJob.wait_for_completion`."""
        status = await self.monitor(callback, True, timeout)
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


class AsyncMPIJobClient:
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
    ) -> None:
        self.config: ClientConfig = resolve_config(server, token, namespace, context)
        self.server = self.config.server
        self.namespace = self.config.namespace
        self.timeout = timeout
        self.validate = validate
        self._retry = RetryPolicy(retries=retries, backoff=backoff)
        if verify is None:
            verify = not self.config.insecure
        self._transport = AsyncHTTPTransport(self.server, self.config.token, timeout, self._retry, verify)

    async def __aenter__(self) -> "AsyncMPIJobClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self) -> None:
        """Release resources (connections are per request; nothing to do)."""

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
        req = rq.create_request(spec, self._ns(namespace), dry_run, self.validate)
        resp = await self._transport.call(req)
        job = self._job(resp.get("job") or {})
        job.warnings = list(resp.get("warnings") or [])
        for w in job.warnings:
            log.warning("%s: %s", job.name or "job", w)
        return job

    async def create_mpijob_from_manifest(self, manifest: str, namespace: Optional[str] = None, dry_run: bool = False) -> AsyncMPIJob:
        """Create a job from YAML or JSON text."""
        return await self.create_mpijob(manifest, dry_run=dry_run, namespace=namespace)

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

    async def watch_mpijobs(
        self,
        namespace: Optional[str] = None,
        label_selector: Optional[str] = None,
        name: Optional[str] = None,
        all_namespaces: bool = False,
        send_initial_events: bool = True,
        timeout: Optional[float] = None,
    ) -> AsyncIterator[WatchEvent]:
        """Stream changes to jobs (``async for``); see
        :meth:`MPIJobClient.watch_mpijobs`."""
        ns = None if all_namespaces else self._ns(namespace)
        req = rq.watch_request(ns, name=name, label_selector=label_selector, send_initial_events=send_initial_events)
        deadline = time.monotonic() + timeout if timeout is not None else None
        async for obj in self._transport.stream(req, deadline):
            yield WatchEvent.from_dict(obj, self, AsyncMPIJob)

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
        """Structured log lines of a job (``async for``)."""
        req = rq.logs_request(self._ns(namespace), name, worker, follow, tail, since, previous)
        deadline = time.monotonic() + timeout if timeout is not None else (None if follow else time.monotonic() + max(self.timeout, 60.0))
        async for obj in self._transport.stream(req, deadline):
            yield LogLine.from_dict(obj)

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
        """Save a job spec as a reusable template."""
        ns = self._ns(namespace)
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
