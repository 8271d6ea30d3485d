"""Direct mode: the Training Service without a deployed server, as the CLI's
``odh --direct`` / ``odh --kubeconfig``.

The CLI links the service and runs it in its own process. The SDK is
stdlib-only and must not re-implement the service, so it runs the same
service code as a private subprocess: ``odh-server --engine=kubernetes
--auth=token`` listening on a random loopback port, with a fresh random
token only this client knows, against the kubeconfig's cluster with the
kubeconfig's credentials (so the cluster's RBAC decides, as in the CLI). The
process ends with the client (``close()``, interpreter exit, and — on
Linux — when the Python process dies).

The binary is ``$ODH_SERVER_BIN``, else ``odh-server`` on ``PATH``, else
``odh-server`` next to ``odh`` on ``PATH``. The engine watches only the
client's namespace (``ODH_KUBE_NAMESPACE``), as ``odh -n NS`` does, so
namespace-scoped RBAC is enough. Templates are shared with the CLI's direct
mode (``${XDG_STATE_HOME:-~/.local/state}/odh-training/direct/templates``).
"""

from __future__ import annotations

import atexit
import collections
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Deque, List, Mapping, Optional

from .errors import ConnectionError

__all__ = ["DirectServer", "direct_requested", "start_direct", "find_server_binary"]

#: How long the in-process engine may take to load the cluster's jobs and pods.
START_TIMEOUT = 90.0


def direct_requested(direct: Optional[bool], kubeconfig: Optional[str], env: Optional[Mapping[str, str]] = None) -> bool:
    """Direct mode is asked for with ``direct=True``, a ``kubeconfig``, or
    ``ODH_DIRECT=1``/``true`` (the CLI's variable) unless ``direct=False``."""
    env = os.environ if env is None else env
    if direct is False:
        if kubeconfig:
            raise ValueError("kubeconfig= is for direct mode; drop direct=False")
        return False
    if direct or kubeconfig:
        return True
    return env.get("ODH_DIRECT") in ("1", "true")


def find_server_binary(env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The odh-server binary direct mode runs (None when there is none)."""
    env = os.environ if env is None else env
    p = env.get("ODH_SERVER_BIN")
    if p:
        return p if os.path.isfile(p) and os.access(p, os.X_OK) else None
    found = shutil.which("odh-server", path=env.get("PATH"))
    if found:
        return found
    odh = shutil.which("odh", path=env.get("PATH"))
    if odh:
        sibling = os.path.join(os.path.dirname(os.path.realpath(odh)), "odh-server")
        if os.path.isfile(sibling) and os.access(sibling, os.X_OK):
            return sibling
    return None


def _state_home() -> str:
    base = os.environ.get("XDG_STATE_HOME")
    if not base:
        base = os.path.join(os.path.expanduser("~"), ".local", "state")
    return base


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: the server gets SIGTERM when the Python process dies."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class DirectServer:
    """A running private odh-server: ``url``, ``token``, ``stop()``."""

    def __init__(self, binary: str, kubeconfig: Optional[str], namespace: Optional[str], timeout: float = START_TIMEOUT) -> None:
        self.binary = binary
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.url = ""
        self.token = secrets.token_hex(32)
        self.tmp = tempfile.mkdtemp(prefix="odh-direct-")
        self._log: Deque[str] = collections.deque(maxlen=40)
        self._ready = threading.Event()
        self._stopped = False
        try:
            self.proc = self._start()
            self._wait(timeout)
        except BaseException:
            self.stop()
            raise
        atexit.register(self.stop)

    def describe(self) -> str:
        """Where direct mode runs, for messages."""
        return "odh-server pid %d, kubeconfig %s, namespace %s" % (self.proc.pid, self.kubeconfig or "default", self.namespace or "all")

    def _start(self) -> "subprocess.Popen[bytes]":
        token_file = os.path.join(self.tmp, "token")
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.token + "\n")
        templates = os.path.join(_state_home(), "odh-training", "direct", "templates")
        try:
            os.makedirs(templates, mode=0o700, exist_ok=True)
            os.symlink(templates, os.path.join(self.tmp, "templates"))
        except OSError:
            pass  # templates then live with this process only
        args: List[str] = [
            self.binary,
            "--engine=kubernetes",
            "--auth=token",
            "--listen=127.0.0.1:0",
            "--state-dir=" + self.tmp,
            "--token-file=" + token_file,
            "--audit-log=off",
            "--log-format=json",
        ]
        if self.kubeconfig:
            args.append("--kubeconfig=" + self.kubeconfig)
        env = dict(os.environ, XDG_STATE_HOME=os.path.join(self.tmp, "xdg"))
        env.pop("ODH_KUBE_NAMESPACE", None)
        if self.namespace:
            env["ODH_KUBE_NAMESPACE"] = self.namespace
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        threading.Thread(target=self._read_log, args=(proc,), name="odh-direct-log", daemon=True).start()
        return proc

    def _read_log(self, proc: "subprocess.Popen[bytes]") -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            try:
                rec = json.loads(line)
            except ValueError:
                rec = None
            if isinstance(rec, dict):
                if rec.get("msg") == "odh-server ready" and isinstance(rec.get("url"), str):
                    self.url = rec["url"]
                    self._ready.set()
                text = "%s %s" % (rec.get("level", ""), rec.get("msg", ""))
                extra = {k: v for k, v in rec.items() if k not in ("time", "level", "msg")}
                line = text + (" " + json.dumps(extra) if extra else "")
            self._log.append(line)
        proc.stderr.close()
        self._ready.set()  # the process ended: stop waiting

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.1):
            if time.monotonic() > deadline:
                raise ConnectionError(
                    "direct mode: odh-server did not start within %.0fs (is the cluster reachable?)\n%s" % (timeout, self.log()),
                    address="direct mode",
                    hint="Check the cluster with kubectl, or use a deployed Training Service with server=.",
                )
        if not self.url:
            self.proc.wait(10)
            raise ConnectionError(
                "direct mode: odh-server exited with status %s:\n%s" % (self.proc.returncode, self.log()),
                address="direct mode",
                hint="Check the kubeconfig (kubeconfig= or $KUBECONFIG) and that you may list MPIJobs, pods and events in the namespace.",
            )

    def log(self) -> str:
        """The last lines odh-server logged."""
        return "\n".join("  " + l for l in self._log)

    def stop(self) -> None:
        """Stop the server and remove its temporary state."""
        if self._stopped:
            return
        self._stopped = True
        proc = getattr(self, "proc", None)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        shutil.rmtree(self.tmp, ignore_errors=True)
        try:
            atexit.unregister(self.stop)
        except Exception:  # pragma: no cover
            pass


def start_direct(kubeconfig: Optional[str] = None, namespace: Optional[str] = None, timeout: float = START_TIMEOUT) -> DirectServer:
    """Start direct mode's private odh-server (see the module documentation)."""
    binary = find_server_binary()
    if binary is None:
        raise ConnectionError(
            "direct mode needs the odh-server binary, and none was found ($ODH_SERVER_BIN, PATH, or next to odh)",
            address="direct mode",
            hint="Install odh-server (make build puts it in bin/), set ODH_SERVER_BIN, or use a deployed Training Service with server=.",
        )
    return DirectServer(binary, os.path.expanduser(kubeconfig) if kubeconfig else None, namespace, timeout)
