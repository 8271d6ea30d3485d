"""Network pieces for tests, on loopback: a TCP relay that counts
connections and cuts idle ones (as an OpenShift route's HAProxy does after
its timeout), an HTTP forward proxy (CONNECT tunnels and absolute-form
requests), and certificates made with the openssl command."""

import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from typing import Dict, List, Optional, Tuple


def _pump(a: socket.socket, b: socket.socket, last: List[float], stop: threading.Event, idle: Optional[float]) -> str:
    """Relay bytes both ways until one side closes, ``stop`` is set, or
    nothing moved for ``idle`` seconds. Returns why it ended."""
    socks = [a, b]
    while not stop.is_set():
        r, _, _ = select.select(socks, [], [], 0.05)
        if idle is not None and time.monotonic() - last[0] > idle:
            return "idle"
        for s in r:
            try:
                data = s.recv(65536)
            except OSError:
                return "error"
            if not data:
                return "closed"
            last[0] = time.monotonic()
            try:
                (b if s is a else a).sendall(data)
            except OSError:
                return "error"
    return "cut"


def _close(*socks: socket.socket) -> None:
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


class _Listener:
    """Accept connections on 127.0.0.1:<port>, each served by ``_serve`` in
    its own thread; ``connections`` counts them."""

    def _listen(self) -> None:
        self.connections = 0
        self._stop = threading.Event()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            r, _, _ = select.select([self._sock], [], [], 0.05)
            if not r:
                continue
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        raise NotImplementedError


class TCPProxy(_Listener):
    """Relay 127.0.0.1:<port> → target. ``connections`` counts accepted
    connections; ``idle_timeout`` closes a connection nothing crossed for
    that long; :meth:`cut_all` closes every open one now."""

    def __init__(self, target: Tuple[str, int], idle_timeout: Optional[float] = None) -> None:
        self.target = target
        self.idle_timeout = idle_timeout
        self.endings: Dict[str, int] = {}
        self._lock = threading.Lock()
        self._open: List[threading.Event] = []
        self._listen()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        stop = threading.Event()
        with self._lock:
            self._open.append(stop)
        why = _pump(client, upstream, [time.monotonic()], stop, self.idle_timeout)
        with self._lock:
            self.endings[why] = self.endings.get(why, 0) + 1
            if stop in self._open:
                self._open.remove(stop)
        _close(client, upstream)

    def cut_all(self) -> int:
        """Close every open connection; returns how many."""
        with self._lock:
            opened, self._open = self._open, []
        for e in opened:
            e.set()
        return len(opened)

    def close(self) -> None:
        self._stop.set()
        self.cut_all()
        self._sock.close()


class HTTPProxy(_Listener):
    """A forward proxy on 127.0.0.1: CONNECT tunnels (https servers) and
    absolute-form requests (http servers). ``hosts`` maps the names clients
    ask for ("odh.test:8443") to real addresses; ``requests`` records each
    first request line and its Proxy-Authorization header."""

    def __init__(self, hosts: Dict[str, Tuple[str, int]]) -> None:
        self.hosts = hosts
        self.requests: List[Tuple[str, Optional[str]]] = []
        self._listen()

    def _serve(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            data = client.recv(4096)
            if not data:
                client.close()
                return
            head += data
        head, _, rest = head.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers = [l for l in lines[1:] if l]
        auth = next((l.split(":", 1)[1].strip() for l in headers if l.lower().startswith("proxy-authorization:")), None)
        self.requests.append((lines[0], auth))
        if method == "CONNECT":
            addr = self.hosts.get(target)
            if addr is None:
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                client.close()
                return
            upstream = socket.create_connection(addr)
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            hostport = target.split("://", 1)[1].split("/", 1)[0]
            path = "/" + target.split("://", 1)[1].split("/", 1)[1] if "/" in target.split("://", 1)[1] else "/"
            upstream = socket.create_connection(self.hosts[hostport])
            kept = [l for l in headers if not l.lower().startswith("proxy-authorization:")]
            upstream.sendall(("%s %s %s\r\n" % (method, path, version) + "".join(l + "\r\n" for l in kept) + "\r\n").encode("latin-1") + rest)
        _pump(client, upstream, [time.monotonic()], self._stop, None)
        _close(client, upstream)

    def close(self) -> None:
        self._stop.set()
        self._sock.close()


class HAProxy:
    """Debian's HAProxy in front of ``target`` on 127.0.0.1, in HTTP mode
    with short client and server timeouts: a response stream that is idle
    longer than ``timeout`` is cut, as an OpenShift route (HAProxy, 30 s by
    default) cuts it."""

    def __init__(self, target: Tuple[str, int], timeout: str = "1s") -> None:
        self.dir = tempfile.mkdtemp(prefix="odh-haproxy-")
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.url = "http://127.0.0.1:%d" % self.port
        cfg = os.path.join(self.dir, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(
                "global\n  maxconn 256\n"
                "defaults\n  mode http\n  timeout connect 2s\n  timeout client %s\n  timeout server %s\n  timeout http-keep-alive %s\n"
                "frontend fe\n  bind 127.0.0.1:%d\n  default_backend be\n"
                "backend be\n  server s1 %s:%d\n" % (timeout, timeout, timeout, self.port, target[0], target[1])
            )
        self.proc = subprocess.Popen([haproxy() or "haproxy", "-db", "-f", cfg], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                    self.close()
                    raise RuntimeError("haproxy did not start: " + err)
                time.sleep(0.05)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        if self.proc.stderr:
            self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def haproxy() -> Optional[str]:
    return shutil.which("haproxy") or (os.path.exists("/usr/sbin/haproxy") and "/usr/sbin/haproxy") or None


def openssl() -> Optional[str]:
    return shutil.which("openssl")


def make_certs(dir: str, names: Tuple[str, ...] = ("localhost",), ips: Tuple[str, ...] = ("127.0.0.1",)) -> Dict[str, str]:
    """A CA and a server certificate it signed (for ``names`` and ``ips``),
    plus an unrelated second CA: {"ca", "server_cert", "server_key", "other_ca"}."""
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=dir)

    for ca in ("ca", "other_ca"):
        run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=test %s" % ca, "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-keyout", ca + ".key", "-out", ca + ".crt")
    san = ",".join(["DNS:" + n for n in names] + ["IP:" + i for i in ips])
    with open(os.path.join(dir, "ext.cnf"), "w") as f:
        f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n"
                "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n" % san)
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=odh-server",
        "-keyout", "server.key", "-out", "server.csr")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-extfile", "ext.cnf", "-out", "server.crt")
    return {k: os.path.join(dir, v) for k, v in
            {"ca": "ca.crt", "server_cert": "server.crt", "server_key": "server.key", "other_ca": "other_ca.crt"}.items()}
