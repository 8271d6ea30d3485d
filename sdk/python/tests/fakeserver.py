"""A tiny stand-in for the Training Service's HTTP behaviour (status codes,
error bodies, newline-delimited JSON streams) for unit tests of the SDK's
transport: retries, error parsing, streaming. The real server is used by
test_integration.py."""

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Tuple


class Reply:
    """One scripted response."""

    def __init__(self, status: int = 200, body: Any = None, headers: Optional[Dict[str, str]] = None, stream: Optional[List[Any]] = None, raw: Optional[bytes] = None):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.stream = stream
        self.raw = raw


class FakeServer:
    """Serve scripted replies on 127.0.0.1; record every request.

    ``script[(method, path_without_query)]`` is a list of Replies used in
    order (the last one repeats)."""

    def __init__(self, tls: Optional[Tuple[str, str]] = None, close_after_reply: bool = False) -> None:
        self.script: Dict[Tuple[str, str], List[Reply]] = {}
        self.requests: List[Dict[str, Any]] = []
        self.connections = 0  # TCP connections accepted
        self.close_after_reply = close_after_reply
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                target = self.path
                if "://" in target:  # absolute-form, as sent through a proxy
                    target = "/" + target.split("://", 1)[1].partition("/")[2]
                path, _, query = target.partition("?")
                fake.requests.append(
                    {"method": self.command, "path": path, "query": query, "headers": dict(self.headers), "body": json.loads(body) if body else None}
                )
                replies = fake.script.get((self.command, path))
                if not replies:
                    reply = Reply(404, {"code": 5, "status": "NOT_FOUND", "reason": "NotFound", "message": "no route %s %s" % (self.command, path)})
                else:
                    reply = replies.pop(0) if len(replies) > 1 else replies[0]
                if reply.stream is not None:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for item in reply.stream:
                        if isinstance(item, (int, float)) and not isinstance(item, bool):
                            import time

                            time.sleep(item)
                            continue
                        data = (item if isinstance(item, bytes) else json.dumps(item).encode()) + b"\n"
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    return
                data = reply.raw if reply.raw is not None else (json.dumps(reply.body).encode() if reply.body is not None else b"")
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                if fake.close_after_reply:
                    # Gone without "Connection: close", as an idle timeout does.
                    self.wfile.flush()
                    self.close_connection = True

            do_GET = do_POST = do_DELETE = _handle

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):  # type: ignore[no-untyped-def]
                sock, addr = super().get_request()
                fake.connections += 1
                if tls is not None:
                    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                    ctx.load_cert_chain(*tls)
                    sock = ctx.wrap_socket(sock, server_side=True)
                return sock, addr

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def on(self, method: str, path: str, *replies: Reply) -> "FakeServer":
        """Script the replies to method + path."""
        self.script[(method, path)] = list(replies)
        return self

    def calls(self, method: str, path: str) -> List[Dict[str, Any]]:
        """The requests received for method + path."""
        return [r for r in self.requests if r["method"] == method and r["path"] == path]

    def __enter__(self) -> "FakeServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def free_port() -> int:
    """A TCP port nobody listens on (for connection-refused tests)."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
