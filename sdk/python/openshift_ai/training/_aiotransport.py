"""The asyncio transport: HTTP/1.1 spoken over ``asyncio`` streams (stdlib
only, no threads), with a pool of keep-alive connections per event loop,
HTTPS_PROXY/HTTP_PROXY/NO_PROXY (CONNECT tunnels for https) and a
ServiceAccount token re-read when it rotates."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import time
from typing import Any, AsyncIterator, Dict, List, Optional, Tuple

from ._net import connect_request
from .api import Request, _Base, _decode_json, enable_keepalive, parse_stream_line
from .errors import TimeoutError, TrainingError, error_from_body

__all__ = ["AsyncHTTPTransport"]

_MAX_LINE = 16 << 20


class _Response:
    """An HTTP/1.1 response being read from an asyncio stream."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, status: int, headers: Dict[str, str]) -> None:
        self.reader = reader
        self.writer = writer
        self.status = status
        self.headers = headers
        self.closed = False
        self.complete = False  # the whole body was read

    @property
    def reusable(self) -> bool:
        """Whether the connection may carry another request."""
        return self.complete and "close" not in self.headers.get("connection", "").lower() and not self.writer.is_closing()

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
                            self.complete = t != b""
                            return
                data = await self.reader.readexactly(size)
                await self.reader.readexactly(2)
                yield data
        elif "content-length" in self.headers:
            n = int(self.headers["content-length"])
            if n:
                yield await self.reader.readexactly(n)
            self.complete = True
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


_Conn = Tuple[asyncio.StreamReader, asyncio.StreamWriter]


class AsyncHTTPTransport(_Base):
    """Non-blocking HTTP/1.1 transport on asyncio streams, reusing
    keep-alive connections (per event loop) for unary calls."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._idle: List[Tuple[asyncio.AbstractEventLoop, _Conn]] = []
        self.opened = 0  # connections made, for tests and debugging
        self.max_idle = 8

    def close(self) -> None:
        """Close the idle connections."""
        idle, self._idle = self._idle, []
        for _, (_, w) in idle:
            try:
                w.close()
            except Exception:  # pragma: no cover - a loop that is gone
                pass

    def _take(self) -> Optional[_Conn]:
        loop = asyncio.get_running_loop()
        while self._idle:
            owner, (r, w) = self._idle.pop()
            if owner is loop and not r.at_eof() and not w.is_closing() and r.exception() is None:
                return r, w
            if not owner.is_closed():
                w.close()
        return None

    def _give(self, resp: _Response) -> None:
        if resp.reusable and len(self._idle) < self.max_idle:
            resp.closed = True
            self._idle.append((asyncio.get_running_loop(), (resp.reader, resp.writer)))
        else:
            resp.close()

    async def _dial(self, timeout: float) -> _Conn:
        """A new connection to the server (through the proxy if any)."""
        self.opened += 1
        sni = self.host if self._ssl is not None else None
        if self.proxy is None:
            return await asyncio.wait_for(asyncio.open_connection(self.host, self.port, ssl=self._ssl, server_hostname=sni, limit=_MAX_LINE), timeout)
        if self._ssl is None:
            return await asyncio.wait_for(asyncio.open_connection(self.proxy.host, self.proxy.port, limit=_MAX_LINE), timeout)
        return await asyncio.wait_for(self._tunnel(sni), timeout)

    async def _tunnel(self, sni: Optional[str]) -> _Conn:
        """CONNECT through the proxy on a plain socket, then TLS to the server."""
        assert self.proxy is not None
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(self.proxy.host, self.proxy.port, type=socket.SOCK_STREAM)
        err: Optional[BaseException] = None
        for family, kind, proto, _, addr in infos:
            sock = socket.socket(family, kind, proto)
            sock.setblocking(False)
            try:
                await loop.sock_connect(sock, addr)
                await loop.sock_sendall(sock, connect_request(self.host, self.port, self.proxy))
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = await loop.sock_recv(sock, 4096)
                    if not chunk:
                        raise ConnectionResetError("the proxy closed the connection during CONNECT")
                    head += chunk
                    if len(head) > 65536:
                        raise ConnectionResetError("the proxy's CONNECT answer is too long")
                status = head.split(None, 2)[1:2]
                if status != [b"200"]:
                    raise ConnectionRefusedError("the proxy refused CONNECT %s:%d: %s" % (self.host, self.port, head.split(b"\r\n", 1)[0].decode("latin-1")))
                return await asyncio.open_connection(sock=sock, ssl=self._ssl, server_hostname=sni, limit=_MAX_LINE)
            except BaseException as e:
                sock.close()
                err = e
                if not isinstance(e, OSError):
                    raise
        raise err if err is not None else OSError("cannot resolve the proxy %s" % self.proxy.host)

    async def _open(self, req: Request, timeout: float) -> _Response:
        body = json.dumps(req.body).encode("utf-8") if req.body is not None else None
        attempt = 0
        refreshed = False
        while True:
            headers = self.headers(body)
            headers["Host"] = self.netloc()
            if body is not None:
                headers["Content-Length"] = str(len(body))
            head = "%s %s HTTP/1.1\r\n" % (req.op.method, self.target(req)) + "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
            conn = self._take()
            reused = conn is not None
            writer: Optional[asyncio.StreamWriter] = None
            got_head = False
            try:
                if conn is None:
                    conn = await self._dial(timeout)
                reader, writer = conn
                writer.write(head.encode("latin-1") + (body or b""))
                await asyncio.wait_for(writer.drain(), timeout)
                status, resp_headers = await asyncio.wait_for(_read_head(reader), timeout)
                got_head = True
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ssl.SSLError, ValueError) as e:
                if writer is not None:
                    writer.close()
                if reused and not got_head and req.op.idempotent and not isinstance(e, asyncio.TimeoutError):
                    continue  # a kept-alive connection the server had closed
                if req.op.idempotent and attempt < self.retry.retries:
                    await asyncio.sleep(self.retry.delay(attempt))
                    attempt += 1
                    continue
                if isinstance(e, asyncio.TimeoutError) and writer is not None:
                    raise TimeoutError("no response from %s within %ss (%s %s)" % (self.server, timeout, req.op.method, req.op.path)) from e
                raise self._connection_error(req, e) from e
            resp = _Response(reader, writer, status, resp_headers)
            if status < 400:
                return resp
            try:
                data = await asyncio.wait_for(resp.read(), timeout)
            except Exception:
                data = b""
            self._give(resp)
            if status == 401 and not refreshed and self.tokens.refresh():
                refreshed = True  # the ServiceAccount token rotated: resend
                continue
            if status in self.retry.statuses and req.op.idempotent and attempt < self.retry.retries:
                await asyncio.sleep(self.retry.delay(attempt, resp_headers.get("retry-after")))
                attempt += 1
                continue
            raise error_from_body(data, status, self.url(req))

    async def call(self, req: Request, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Send a unary request; return the decoded JSON response."""
        t = timeout if timeout is not None else self.timeout
        resp = await self._open(req, t)
        try:
            data = await asyncio.wait_for(resp.read(), t)
        except asyncio.TimeoutError as e:
            resp.close()
            raise TimeoutError("timed out reading the response of %s %s" % (req.op.method, req.op.path)) from e
        except (OSError, asyncio.IncompleteReadError, ValueError) as e:
            resp.close()
            raise self._connection_error(req, e) from e
        self._give(resp)
        return _decode_json(data, self.url(req))

    async def open_stream(self, req: Request, deadline: Optional[float] = None) -> "AsyncStream":
        """Open a streaming request (the server has answered when this
        returns); iterate the result with ``async for``."""
        r = _remaining(req, deadline)
        resp = await self._open(req, min(self.timeout, r) if r is not None else self.timeout)
        sock = resp.writer.get_extra_info("socket")
        if sock is not None:
            enable_keepalive(sock)
        return AsyncStream(self, req, resp, deadline)

    async def stream(self, req: Request, deadline: Optional[float] = None) -> AsyncIterator[Dict[str, Any]]:
        """Yield the ``result`` objects of a streaming request until the
        server ends it; ``deadline`` (``time.monotonic()``) bounds it all."""
        s = await self.open_stream(req, deadline)
        try:
            async for obj in s:
                yield obj
        finally:
            await s.aclose()


def _remaining(req: Request, deadline: Optional[float]) -> Optional[float]:
    if deadline is None:
        return None
    r = deadline - time.monotonic()
    if r <= 0:
        raise TimeoutError("timed out waiting on %s %s" % (req.op.method, req.op.path))
    return r


class AsyncStream:
    """An open newline-delimited JSON stream (``async for`` its result
    objects; :meth:`aclose` when done)."""

    def __init__(self, transport: AsyncHTTPTransport, req: Request, resp: _Response, deadline: Optional[float]) -> None:
        self._t = transport
        self._req = req
        self._resp = resp
        self.deadline = deadline

    async def __aiter__(self) -> AsyncIterator[Dict[str, Any]]:
        req = self._req
        url = self._t.url(req)
        lines = self._resp.lines()
        try:
            while True:
                try:
                    line = await asyncio.wait_for(lines.__anext__(), _remaining(req, self.deadline))
                except StopAsyncIteration:
                    return
                except asyncio.TimeoutError as e:
                    raise TimeoutError("timed out waiting on %s %s" % (req.op.method, req.op.path)) from e
                except (OSError, asyncio.IncompleteReadError, ValueError) as e:
                    raise self._t._connection_error(req, e) from e
                obj = parse_stream_line(line, url)
                if obj is not None:
                    yield obj
        finally:
            await lines.aclose()

    async def aclose(self) -> None:
        """Close the connection (the server stops streaming)."""
        self._resp.close()
