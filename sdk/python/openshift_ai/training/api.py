"""The low-level layer: the Training Service's REST operations, one entry per
(method, path template) of the server's OpenAPI document, and a small
stdlib HTTP transport (retries, auth, error bodies, newline-delimited JSON
streams).

The high-level clients (:class:`~openshift_ai.training.MPIJobClient`,
:class:`~openshift_ai.training.AsyncMPIJobClient`) only ever send requests
built from :data:`OPERATIONS`, and a test checks every entry against
``gen/openapi/training.openapi.json`` and the live server's ``/openapi.json``,
so the SDK cannot drift from the API.
"""

from __future__ import annotations

import http.client
import json
import random
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import quote, urlencode, urlsplit

from ._net import TokenSource, build_ssl_context, proxy_for
from ._version import __version__
from .errors import ConnectionError, TimeoutError, TrainingError, error_from_body

__all__ = ["Operation", "OPERATIONS", "Request", "RetryPolicy", "HTTPTransport", "TokenSource", "build_ssl_context", "USER_AGENT"]

USER_AGENT = "odh-training-python/%s" % __version__


@dataclass(frozen=True)
class Operation:
    """One REST operation of the Training Service: the gRPC method it maps
    to, its HTTP method and path template, and whether it streams."""

    rpc: str
    method: str
    path: str
    streaming: bool = False

    @property
    def idempotent(self) -> bool:
        """GET and DELETE may be retried; POST (create, suspend, resume) not."""
        return self.method in ("GET", "DELETE")


_NS = "/api/v1/namespaces/{namespace}"

#: Every operation the SDK uses, by name.
OPERATIONS: Dict[str, Operation] = {
    "CreateJob": Operation("CreateJob", "POST", _NS + "/mpijobs"),
    "GetJob": Operation("GetJob", "GET", _NS + "/mpijobs/{name}"),
    "ListJobs": Operation("ListJobs", "GET", _NS + "/mpijobs"),
    "ListAllJobs": Operation("ListJobs", "GET", "/api/v1/mpijobs"),
    "DeleteJob": Operation("DeleteJob", "DELETE", _NS + "/mpijobs/{name}"),
    "SuspendJob": Operation("SuspendJob", "POST", _NS + "/mpijobs/{name}/suspend"),
    "ResumeJob": Operation("ResumeJob", "POST", _NS + "/mpijobs/{name}/resume"),
    "ListEvents": Operation("ListEvents", "GET", _NS + "/mpijobs/{name}/events"),
    "GetJobMetrics": Operation("GetJobMetrics", "GET", _NS + "/mpijobs/{name}/metrics"),
    "GetJobProgress": Operation("GetJobProgress", "GET", _NS + "/mpijobs/{name}/progress"),
    "GetLogs": Operation("GetLogs", "GET", _NS + "/mpijobs/{name}/logs", streaming=True),
    "WatchJobs": Operation("WatchJobs", "GET", "/api/v1/watch/namespaces/{namespace}/mpijobs", streaming=True),
    "WatchAllJobs": Operation("WatchJobs", "GET", "/api/v1/watch/mpijobs", streaming=True),
    "GetCapacity": Operation("GetCapacity", "GET", _NS + "/capacity"),
    "GetVersion": Operation("GetVersion", "GET", "/api/v1/version"),
    "CanI": Operation("CanI", "GET", _NS + "/cani"),
    "CreateTemplate": Operation("CreateTemplate", "POST", _NS + "/templates"),
    "ListTemplates": Operation("ListTemplates", "GET", _NS + "/templates"),
    "GetTemplate": Operation("GetTemplate", "GET", _NS + "/templates/{name}"),
    "DeleteTemplate": Operation("DeleteTemplate", "DELETE", _NS + "/templates/{name}"),
    "CreateNotificationSubscription": Operation("CreateNotificationSubscription", "POST", _NS + "/notificationsubscriptions"),
    "ListNotificationSubscriptions": Operation("ListNotificationSubscriptions", "GET", _NS + "/notificationsubscriptions"),
    "DeleteNotificationSubscription": Operation("DeleteNotificationSubscription", "DELETE", _NS + "/notificationsubscriptions/{name}"),
    "GetNotificationHistory": Operation("GetNotificationHistory", "GET", _NS + "/notificationsubscriptions/{name}/history"),
}

QueryValue = Union[str, int, bool, Sequence[str], None]


def _query_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


@dataclass
class Request:
    """A request for one operation: path parameters, query and JSON body."""

    op: Operation
    params: Dict[str, str] = field(default_factory=dict)
    query: Dict[str, QueryValue] = field(default_factory=dict)
    body: Optional[Dict[str, Any]] = None

    @classmethod
    def of(cls, name: str, params: Optional[Dict[str, str]] = None, query: Optional[Dict[str, QueryValue]] = None, body: Any = None) -> "Request":
        """Build a request for the operation called ``name`` in OPERATIONS."""
        return cls(OPERATIONS[name], dict(params or {}), dict(query or {}), body)

    def path(self) -> str:
        """The path with parameters filled in and the query string appended."""
        p = self.op.path
        for k, v in self.params.items():
            if not v:
                raise ValueError("%s: %s must not be empty" % (self.op.rpc, k))
            p = p.replace("{" + k + "}", quote(str(v), safe=""))
        if "{" in p:
            raise ValueError("%s: missing path parameter in %s" % (self.op.rpc, p))
        pairs: List[Tuple[str, str]] = []
        for k, v in self.query.items():
            if v is None:
                continue
            if isinstance(v, (list, tuple)):
                pairs.extend((k, _query_text(x)) for x in v)
            else:
                pairs.append((k, _query_text(v)))
        if pairs:
            p += "?" + urlencode(pairs)
        return p


@dataclass
class RetryPolicy:
    """Retries of idempotent calls (GET, DELETE) on 502/503/504 and on
    connection errors: up to ``retries`` more attempts, waiting
    ``backoff * 2**attempt`` seconds (at most ``max_backoff``, with jitter,
    or the server's Retry-After)."""

    retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    statuses: Tuple[int, ...] = (502, 503, 504)

    def delay(self, attempt: int, retry_after: Optional[str] = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        if retry_after:
            try:
                return min(max(float(retry_after), 0.0), self.max_backoff)
            except ValueError:
                pass
        d = min(self.backoff * (2**attempt), self.max_backoff)
        return d * (0.5 + random.random() / 2)


class _Base:
    """What both transports share: the server, auth, trust, proxy, retries."""

    def __init__(
        self,
        server: str,
        token: Union[None, str, TokenSource] = None,
        timeout: float = 30.0,
        retry: Optional[RetryPolicy] = None,
        verify: Union[bool, str] = True,
        extra_ca_files: Sequence[str] = (),
        env: Optional[Mapping[str, str]] = None,
    ) -> None:
        parts = urlsplit(server)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("server must be an http:// or https:// URL, got %r" % server)
        self.server = server.rstrip("/")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self.tokens = token if isinstance(token, TokenSource) else TokenSource(token)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.verify = verify
        self.proxy = proxy_for(self.server, env)
        self._ssl = build_ssl_context(verify, extra_ca_files) if parts.scheme == "https" else None

    @property
    def token(self) -> Optional[str]:
        """The bearer token sent now."""
        return self.tokens.get()

    def headers(self, body: Optional[bytes]) -> Dict[str, str]:
        h = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if body is not None:
            h["Content-Type"] = "application/json"
        tok = self.tokens.get()
        if tok:
            h["Authorization"] = "Bearer " + tok
        if self.proxy is not None and self.scheme == "http":
            h.update(self.proxy.headers())
        return h

    def target(self, req: Request) -> str:
        """The request target: the path, or the absolute URL through an
        http proxy."""
        path = self.prefix + req.path()
        if self.proxy is not None and self.scheme == "http":
            return "http://%s%s" % (self.netloc(), path)
        return path

    def netloc(self) -> str:
        """host[:port] as in a Host header."""
        host = "[%s]" % self.host if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else "%s:%d" % (host, self.port)

    def url(self, req: Request) -> str:
        return self.server + req.path()

    def _connection_error(self, req: Request, err: BaseException) -> ConnectionError:
        reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
        via = " through the proxy %s:%d" % (self.proxy.host, self.proxy.port) if self.proxy else ""
        hint = "Is odh-server running there? Set the address with MPIJobClient(server=...) or ODH_SERVER."
        if self.proxy is not None:
            hint += " The proxy comes from %s_PROXY; list the server in NO_PROXY to reach it directly." % self.scheme.upper()
        return ConnectionError(
            "cannot reach the Training Service at %s%s (%s %s): %s" % (self.server, via, req.op.method, req.op.path, reason),
            address=self.server,
            hint=hint,
        )


def enable_keepalive(sock: socket.socket) -> None:
    """TCP keepalive for long-lived streams: a watch may be silent for hours,
    and a peer that vanished without closing must still end the read."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 6)):
            if hasattr(socket, name):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)
    except OSError:
        pass


def _decode_json(data: bytes, url: str) -> Dict[str, Any]:
    if not data.strip():
        return {}
    try:
        out = json.loads(data.decode("utf-8"))
    except ValueError as e:
        raise TrainingError("invalid JSON from %s: %s" % (url, e), reason="Internal") from e
    return out if isinstance(out, dict) else {"value": out}


def parse_stream_line(line: bytes, url: str) -> Optional[Dict[str, Any]]:
    """One line of a newline-delimited JSON stream → its ``result`` object
    (None for blank lines); ``{"error": ...}`` lines raise the error."""
    line = line.strip()
    if not line:
        return None
    try:
        obj = json.loads(line.decode("utf-8"))
    except ValueError as e:
        raise TrainingError("invalid stream line from %s: %r" % (url, line[:200]), reason="Internal") from e
    if isinstance(obj, dict) and obj.get("error") is not None:
        raise error_from_body(obj["error"], None, url)
    if isinstance(obj, dict) and "result" in obj:
        return obj["result"] or {}
    return obj if isinstance(obj, dict) else None


def _alive(conn: http.client.HTTPConnection) -> bool:
    """Whether an idle keep-alive connection may be reused: nothing is
    waiting on its socket (a server or proxy that closed it sent EOF)."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    if not readable:
        return True
    if isinstance(sock, ssl.SSLSocket):
        # TLS may have records that carry no data (session tickets).
        timeout = sock.gettimeout()
        try:
            sock.setblocking(False)
            sock.recv(1)
        except ssl.SSLWantReadError:
            return True
        except (OSError, ssl.SSLError):
            return False
        finally:
            try:
                sock.settimeout(timeout)
            except OSError:
                pass
    return False


class _Pool:
    """Idle keep-alive connections to one server, most recent first."""

    def __init__(self, max_idle: int = 8) -> None:
        self._idle: List[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self.max_idle = max_idle
        self.opened = 0  # connections made, for tests and debugging

    def take(self) -> Optional[http.client.HTTPConnection]:
        while True:
            with self._lock:
                if not self._idle:
                    return None
                conn = self._idle.pop()
            if _alive(conn):
                return conn
            conn.close()

    def give(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for c in idle:
            c.close()


_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class HTTPTransport(_Base):
    """Blocking HTTP/1.1 transport on ``http.client``: one pool of
    keep-alive connections per client (unary calls reuse them; a stream
    holds its own until it ends), HTTPS_PROXY/HTTP_PROXY/NO_PROXY, and a
    ServiceAccount token re-read when it rotates."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.pool = _Pool()

    def close(self) -> None:
        """Close the idle connections."""
        self.pool.close()

    def __del__(self) -> None:
        try:
            self.pool.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def _connect(self, timeout: Optional[float]) -> http.client.HTTPConnection:
        self.pool.opened += 1
        host, port = (self.proxy.host, self.proxy.port) if self.proxy else (self.host, self.port)
        if self.scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(host, port, timeout=timeout, context=self._ssl)
            if self.proxy is not None:
                conn.set_tunnel(self.host, self.port, headers=self.proxy.headers())
            return conn
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def _send(self, req: Request, timeout: Optional[float]) -> Tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        body = json.dumps(req.body).encode("utf-8") if req.body is not None else None
        target = self.target(req)
        t = timeout if timeout is not None else self.timeout
        attempt = 0
        refreshed = False
        while True:
            conn = self.pool.take()
            reused = conn is not None
            if conn is None:
                conn = self._connect(t)
            else:
                conn.timeout = t
                if conn.sock is not None:
                    conn.sock.settimeout(t)
            try:
                try:
                    conn.request(req.op.method, target, body=body, headers=self.headers(body))
                except _STALE:
                    if reused:  # the request never reached the server
                        conn.close()
                        continue
                    raise
                try:
                    resp = conn.getresponse()
                except _STALE:
                    # A reused connection the server closed meanwhile; an
                    # idempotent request is simply sent again (as Go does).
                    if reused and req.op.idempotent:
                        conn.close()
                        continue
                    raise
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                if req.op.idempotent and attempt < self.retry.retries:
                    time.sleep(self.retry.delay(attempt))
                    attempt += 1
                    continue
                if isinstance(e, socket.timeout):
                    raise TimeoutError("no response from %s within %ss (%s %s)" % (self.server, t, req.op.method, req.op.path)) from e
                raise self._connection_error(req, e) from e
            if resp.status == 401 and not refreshed and self.tokens.refresh():
                # The ServiceAccount token rotated: nothing was done, resend.
                refreshed = True
                self._finish(conn, resp)
                continue
            if resp.status in self.retry.statuses and req.op.idempotent and attempt < self.retry.retries:
                retry_after = resp.getheader("Retry-After")
                self._finish(conn, resp)
                time.sleep(self.retry.delay(attempt, retry_after))
                attempt += 1
                continue
            if resp.status >= 400:
                data = self._finish(conn, resp)
                raise error_from_body(data, resp.status, self.url(req))
            return conn, resp

    def _finish(self, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse) -> bytes:
        """Read the rest of a response; keep the connection if it may be reused."""
        try:
            data = resp.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            return b""
        if resp.will_close:
            conn.close()
        else:
            self.pool.give(conn)
        return data

    def call(self, req: Request, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Send a unary request; return the decoded JSON response.
        ``timeout`` overrides the client's for this call."""
        conn, resp = self._send(req, timeout)
        try:
            data = resp.read()
        except socket.timeout as e:
            conn.close()
            raise TimeoutError("timed out reading the response of %s %s" % (req.op.method, req.op.path)) from e
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            raise self._connection_error(req, e) from e
        if resp.will_close:
            conn.close()
        else:
            self.pool.give(conn)
        return _decode_json(data, self.url(req))

    def stream(self, req: Request, deadline: Optional[float] = None) -> "Stream":
        """Open a streaming request. ``deadline`` (a ``time.monotonic()``
        value) bounds the whole stream; without it the stream waits for data
        as long as the server keeps the connection open."""
        connect_timeout = self.timeout
        if deadline is not None:
            connect_timeout = max(0.001, min(self.timeout, deadline - time.monotonic()))
        conn, resp = self._send(req, connect_timeout)
        if conn.sock is not None:
            enable_keepalive(conn.sock)
        return Stream(self, req, conn, resp, deadline)


class Stream:
    """An open newline-delimited JSON stream; iterate to get each
    ``result`` object. Use as a context manager or call :meth:`close`."""

    def __init__(self, transport: HTTPTransport, req: Request, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse, deadline: Optional[float]) -> None:
        self._t = transport
        self._req = req
        self._conn = conn
        self._resp = resp
        self.deadline = deadline
        self.closed = False

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (the server stops streaming)."""
        if not self.closed:
            self.closed = True
            try:
                if self._conn.sock is not None:
                    self._conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._conn.close()

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        url = self._t.url(self._req)
        try:
            while True:
                sock = self._conn.sock
                if sock is not None:
                    timeout = None
                    if self.deadline is not None:
                        timeout = self.deadline - time.monotonic()
                        if timeout <= 0:
                            raise TimeoutError("timed out waiting on %s %s" % (self._req.op.method, self._req.op.path))
                    try:
                        sock.settimeout(timeout)
                    except OSError:
                        if self.closed:
                            # close() from another thread got here first.
                            return
                        raise
                try:
                    line = self._resp.readline()
                except Exception as e:
                    if self.closed:
                        # close() from another thread (Monitor.stop) races
                        # with the read; any error then just means "stopped".
                        return
                    if isinstance(e, socket.timeout):
                        raise TimeoutError("timed out waiting on %s %s" % (self._req.op.method, self._req.op.path)) from e
                    if isinstance(e, (OSError, http.client.HTTPException, ValueError)):
                        raise self._t._connection_error(self._req, e) from e
                    raise
                if not line:
                    return
                obj = parse_stream_line(line, url)
                if obj is not None:
                    yield obj
        finally:
            self.close()
