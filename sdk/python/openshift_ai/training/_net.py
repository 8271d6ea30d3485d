"""What both transports need below HTTP: the bearer token (re-read when a
ServiceAccount token rotates), TLS trust, and the proxy to use for a server
(``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY``, with the rules of Go's
``net/http`` so the SDK and the CLI agree)."""

from __future__ import annotations

import base64
import ipaddress
import os
import ssl
import threading
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import unquote, urlsplit

from .config import read_token_file


class TokenSource:
    """The bearer token: fixed, or read from a file and re-read whenever the
    file changes (kubelet rotates projected ServiceAccount tokens by
    swapping a symlink, so the stat of the path changes)."""

    def __init__(self, token: Optional[str] = None, path: Optional[str] = None) -> None:
        self._token = token
        self.path = path
        self._stamp: Optional[Tuple[int, int, int]] = None
        self._lock = threading.Lock()
        if path is not None:
            self._stamp = self._stat()

    def _stat(self) -> Optional[Tuple[int, int, int]]:
        try:
            st = os.stat(self.path)  # type: ignore[arg-type]
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def get(self) -> Optional[str]:
        """The current token (a stat per call for file tokens)."""
        if self.path is None:
            return self._token
        with self._lock:
            stamp = self._stat()
            if stamp != self._stamp or self._token is None:
                self._stamp = stamp
                self._token = read_token_file(self.path) or self._token
            return self._token

    def refresh(self) -> bool:
        """Re-read a file token now (after a 401); True if it changed."""
        if self.path is None:
            return False
        with self._lock:
            old = self._token
            self._stamp = self._stat()
            self._token = read_token_file(self.path) or old
            return self._token != old


def build_ssl_context(verify: Union[bool, str] = True, extra_ca_files: Sequence[str] = ()) -> ssl.SSLContext:
    """TLS settings: ``verify=True`` uses the system CAs (plus
    ``extra_ca_files``), a path trusts only that PEM bundle (as the CLI's
    ``--certificate-authority``), ``False`` disables verification (never in
    production)."""
    if verify is False:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    if isinstance(verify, str):
        try:
            return ssl.create_default_context(cafile=verify)
        except (OSError, ssl.SSLError) as e:
            raise ValueError("cannot use %s as the certificate authority: %s (give a PEM file)" % (verify, e)) from e
    ctx = ssl.create_default_context()
    for p in extra_ca_files:
        try:
            ctx.load_verify_locations(cafile=p)
        except (OSError, ssl.SSLError):
            pass  # an empty or unreadable optional CA: the system CAs remain
    return ctx


@dataclass(frozen=True)
class Proxy:
    """An HTTP proxy: host, port and the Proxy-Authorization header (if any)."""

    host: str
    port: int
    auth: Optional[str] = None

    def headers(self) -> Dict[str, str]:
        """Headers for the proxy (CONNECT or absolute-form requests)."""
        return {"Proxy-Authorization": self.auth} if self.auth else {}


def _env(env: Mapping[str, str], *names: str) -> str:
    for n in names:
        v = env.get(n)
        if v:
            return v
    return ""


def _no_proxy_matches(host: str, port: int, no_proxy: str) -> bool:
    """Go's httpproxy rules: "*" matches all; an IP or CIDR matches
    addresses; "example.com" matches it and its subdomains, ".example.com"
    only subdomains; an entry may carry a port."""
    host = host.lower().strip("[]")
    try:
        ip: Optional[ipaddress._BaseAddress] = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        if entry.startswith("*."):
            entry = entry[1:]
        if "/" in entry:
            try:
                if ip is not None and ip in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        want_port = 0
        h = entry
        if entry.startswith("["):
            h, _, rest = entry[1:].partition("]")
            if rest.startswith(":") and rest[1:].isdigit():
                want_port = int(rest[1:])
        elif entry.count(":") == 1:
            h, _, p = entry.partition(":")
            if p.isdigit():
                want_port = int(p)
        if want_port and want_port != port:
            continue
        try:
            entry_ip: Optional[ipaddress._BaseAddress] = ipaddress.ip_address(h)
        except ValueError:
            entry_ip = None
        if entry_ip is not None or ip is not None:
            if ip == entry_ip:
                return True
            continue
        if h.startswith("."):
            if host.endswith(h):
                return True
        elif host == h or host.endswith("." + h):
            return True
    return False


def proxy_for(server: str, env: Optional[Mapping[str, str]] = None) -> Optional[Proxy]:
    """The proxy for ``server`` from the environment, or None: HTTPS_PROXY
    (https_proxy) for https servers, HTTP_PROXY (http_proxy) for http ones,
    never for loopback addresses, never for hosts in NO_PROXY (no_proxy)."""
    env = os.environ if env is None else env
    parts = urlsplit(server)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    url = _env(env, "HTTPS_PROXY", "https_proxy") if parts.scheme == "https" else _env(env, "HTTP_PROXY", "http_proxy")
    if not url or _no_proxy_matches(host, port, _env(env, "NO_PROXY", "no_proxy")):
        return None
    if "://" not in url:
        url = "http://" + url
    p = urlsplit(url)
    if p.scheme != "http" or not p.hostname:
        raise ValueError("proxy %r is not supported: use an http:// proxy URL (CONNECT is used for https servers)" % url)
    auth = None
    if p.username is not None:
        cred = "%s:%s" % (unquote(p.username), unquote(p.password or ""))
        auth = "Basic " + base64.b64encode(cred.encode("utf-8")).decode("ascii")
    return Proxy(p.hostname, p.port or 80, auth)


def connect_request(host: str, port: int, proxy: Proxy) -> bytes:
    """The CONNECT request that opens a tunnel to host:port."""
    target = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
    lines: List[str] = ["CONNECT %s HTTP/1.1" % target, "Host: %s" % target]
    lines += ["%s: %s" % kv for kv in proxy.headers().items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
