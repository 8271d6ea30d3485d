"""Start a real odh-server (local engine) for the integration tests: a free
port on 127.0.0.1, a temporary state directory, and XDG_STATE_HOME pointed
into it so the server's discovery file stays out of the user's home."""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from typing import Optional

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
    """A running odh-server; ``url``, ``token``, ``state_dir``, ``env``."""

    def __init__(self, binary: str, slots: int = 8) -> None:
        self.tmp = tempfile.mkdtemp(prefix="odh-sdk-it-")
        self.state_dir = os.path.join(self.tmp, "state")
        self.xdg = os.path.join(self.tmp, "xdg")
        self.port = _free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.env = dict(os.environ, XDG_STATE_HOME=self.xdg, HOME=self.tmp)
        self.log_path = os.path.join(self.tmp, "server.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [binary, "--engine=local", "--listen=127.0.0.1:%d" % self.port, "--state-dir=" + self.state_dir, "--slots=%d" % slots],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=self.env,
        )
        self._wait_ready()
        with open(os.path.join(self.state_dir, "token")) as f:
            self.token = f.read().strip()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("odh-server exited with %s:\n%s" % (self.proc.returncode, self.log()))
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1) as r:
                    if r.status == 200 and os.path.exists(os.path.join(self.state_dir, "token")):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("odh-server did not become ready in %ss:\n%s" % (timeout, self.log()))

    def openapi(self) -> dict:
        with urllib.request.urlopen(self.url + "/openapi.json", timeout=10) as r:
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
