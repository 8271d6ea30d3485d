"""Start a real odh-server (local engine) for the integration tests: a free
port on 127.0.0.1, a temporary state directory, and XDG_STATE_HOME pointed
into it so the server's discovery file stays out of the user's home."""

import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
from typing import Optional, Sequence

from tests import _paths


def server_binary() -> Optional[str]:
    """bin/odh-server (or $ODH_SERVER_BIN), if it exists."""
    p = os.environ.get("ODH_SERVER_BIN") or os.path.join(_paths.REPO_ROOT, "bin", "odh-server")
    return p if os.path.isfile(p) and os.access(p, os.X_OK) else None


SKIP_REASON = "bin/odh-server is not built (run `make build`, or set ODH_SERVER_BIN)"


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class LocalServer:
    """A running odh-server; ``url``, ``token``, ``state_dir``, ``env``.
    ``args`` are extra flags (TLS, a policy file); :meth:`restart` stops it
    and starts it again on the same port with the same state."""

    def __init__(self, binary: str, slots: int = 8, args: Sequence[str] = (), scheme: str = "http", ssl_context: Optional[ssl.SSLContext] = None) -> None:
        self.binary = binary
        self.slots = slots
        self.args = list(args)
        self.ssl_context = ssl_context
        self.tmp = tempfile.mkdtemp(prefix="odh-sdk-it-")
        self.state_dir = os.path.join(self.tmp, "state")
        self.xdg = os.path.join(self.tmp, "xdg")
        self.port = _free_port()
        self.url = "%s://127.0.0.1:%d" % (scheme, self.port)
        self.env = dict(os.environ, XDG_STATE_HOME=self.xdg, HOME=self.tmp)
        self.log_path = os.path.join(self.tmp, "server.log")
        self._log = open(self.log_path, "wb")
        self._start()
        self.token = ""
        token_file = os.path.join(self.state_dir, "token")
        if os.path.exists(token_file):
            with open(token_file) as f:
                self.token = f.read().strip()

    def _start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--engine=local", "--listen=127.0.0.1:%d" % self.port, "--state-dir=" + self.state_dir, "--slots=%d" % self.slots, *self.args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=self.env,
        )
        self._wait_ready()

    def restart(self, down: float = 0.0) -> None:
        """Stop the server (SIGTERM), stay down ``down`` seconds, start it again."""
        self.proc.terminate()
        self.proc.wait(30)
        time.sleep(down)
        self._start()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("odh-server exited with %s:\n%s" % (self.proc.returncode, self.log()))
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1, context=self.ssl_context) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("odh-server did not become ready in %ss:\n%s" % (timeout, self.log()))

    def openapi(self) -> dict:
        with urllib.request.urlopen(self.url + "/openapi.json", timeout=10, context=self.ssl_context) as r:
            return json.load(r)

    def log(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
