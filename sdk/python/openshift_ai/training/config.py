"""Where the client finds its server, token, namespace and TLS trust — the
same rules and the same config file as the ``odh`` CLI
(``internal/cli/config/config.go``), plus discovery inside a cluster pod
(an OpenShift AI workbench), which the CLI does not need.

Server, first match wins:

1. the argument (``MPIJobClient(server=...)``);
2. ``ODH_SERVER``;
3. the context of the config file: the ``context=`` argument, else
   ``ODH_CONTEXT``, else the file's ``currentContext`` (a named context that
   does not exist is an error);
4. inside a pod (``KUBERNETES_SERVICE_HOST`` is set and the ServiceAccount
   token file exists): ``https://$ODH_SERVER_SERVICE_HOST:$ODH_SERVER_SERVICE_PORT``
   when Kubernetes injected them (the Service is in the pod's namespace),
   else the Service of ``deploy/server``: ``https://odh-server.odh-training.svc:8080``;
5. ``http://127.0.0.1:8080`` (``make run``'s local server).

Token: the argument, ``ODH_TOKEN``, the context's token (only when the
context's server is the server chosen above, as in the CLI), then — for a
cluster-internal server (step 4, or a host ending in ``.svc`` or
``.svc.cluster.local``) — the pod's ServiceAccount token, re-read whenever
the file changes (projected tokens rotate); last, for a loopback server, the
local odh-server's discovery file.

Namespace: the argument, ``ODH_NAMESPACE``, the context's, else
``default``.

TLS: the context's ``insecureSkipTLSVerify`` and ``certificateAuthority``
(a PEM file trusted *instead of* the system CAs, as the CLI's
``--certificate-authority``); for a cluster-internal server, the pod's
``ca.crt`` and ``service-ca.crt`` (OpenShift's service-serving CA) are
trusted *in addition to* the system CAs.

The config file is ``$ODH_CONFIG``, else ``odh/config.json`` in Go's
``os.UserConfigDir()``: ``$XDG_CONFIG_HOME`` or ``~/.config`` on Linux,
``~/Library/Application Support`` on macOS, ``%AppData%`` on Windows.
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

__all__ = [
    "ClientConfig",
    "resolve_config",
    "DEFAULT_SERVER",
    "DEFAULT_NAMESPACE",
    "IN_CLUSTER_SERVER",
    "SERVICEACCOUNT_DIR",
    "config_path",
    "discovery_path",
]

DEFAULT_SERVER = "http://127.0.0.1:8080"
DEFAULT_NAMESPACE = "default"
#: The Training Service of deploy/server, as seen from any pod of the cluster.
IN_CLUSTER_SERVER = "https://odh-server.odh-training.svc:8080"
#: Where Kubernetes mounts a pod's ServiceAccount token and CAs.
SERVICEACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


@dataclass
class ClientConfig:
    """The resolved connection settings and where each came from
    (``sources["server"]`` is "argument", "env ODH_SERVER", "config file
    <path> (context <name>)", "in-cluster ..." or "default").

    ``token_file`` is set when the token is a ServiceAccount token that the
    client re-reads when it rotates; ``ca_file`` is the context's
    ``certificateAuthority``; ``extra_ca_files`` are CAs trusted besides the
    system's (the pod's cluster and service CAs)."""

    server: str = DEFAULT_SERVER
    token: Optional[str] = None
    namespace: str = DEFAULT_NAMESPACE
    context: Optional[str] = None
    insecure: bool = False
    ca_file: Optional[str] = None
    token_file: Optional[str] = None
    extra_ca_files: List[str] = field(default_factory=list)
    in_cluster: bool = False
    sources: Dict[str, str] = field(default_factory=dict)


def _getenv(env: Mapping[str, str], name: str, platform: str) -> str:
    if platform == "win32":  # Windows environment names ignore case
        for k, v in env.items():
            if k.upper() == name.upper():
                return v
        return ""
    return env.get(name) or ""


def _user_config_dir(env: Mapping[str, str], platform: str) -> Optional[str]:
    """Go's os.UserConfigDir (None where Go returns an error)."""
    if platform == "win32":
        return _getenv(env, "AppData", platform) or None
    if platform == "darwin":
        home = env.get("HOME")
        return home + "/Library/Application Support" if home else None
    xdg = env.get("XDG_CONFIG_HOME")
    if xdg:
        return xdg if os.path.isabs(xdg) else None
    home = env.get("HOME")
    return home + "/.config" if home else None


def _user_home_dir(env: Mapping[str, str], platform: str) -> Optional[str]:
    """Go's os.UserHomeDir."""
    if platform == "win32":
        return _getenv(env, "USERPROFILE", platform) or None
    return env.get("HOME") or None


def config_path(env: Optional[Mapping[str, str]] = None, platform: Optional[str] = None) -> str:
    """The config file the CLI uses: ``$ODH_CONFIG``, else
    ``<os.UserConfigDir()>/odh/config.json``, else ``.odh-config.json``."""
    env = os.environ if env is None else env
    platform = platform or sys.platform
    p = _getenv(env, "ODH_CONFIG", platform)
    if p:
        return p
    d = _user_config_dir(env, platform)
    if d is None:
        return ".odh-config.json"
    return os.path.join(d, "odh", "config.json")


def _read_json(path: str) -> Optional[Dict[str, Any]]:
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise ValueError("config file %s is not valid JSON: %s (fix or remove it)" % (path, e)) from e
    if data is not None and not isinstance(data, dict):
        raise ValueError("config file %s is not a JSON object (fix or remove it)" % path)
    return data


def _context(cfg: Dict[str, Any], name: str, path: str) -> Optional[Dict[str, Any]]:
    wanted = name or cfg.get("currentContext")
    contexts: List[Any] = cfg.get("contexts") or []
    found = None
    for c in contexts:
        if isinstance(c, dict) and c.get("name") == wanted:
            found = c
    if name and found is None:
        raise ValueError(
            "context %r is not in %s (create it with: odh login --name %s --server URL --token TOKEN)" % (name, path, name)
        )
    return found


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host(server: str) -> str:
    return urlsplit(server if "://" in server else "http://" + server).hostname or ""


def is_cluster_internal(server: str) -> bool:
    """Whether ``server`` is a Service of the cluster (``*.svc`` names)."""
    h = _host(server).rstrip(".")
    return h.endswith(".svc") or h.endswith(".svc.cluster.local")


def discovery_path(server: str, env: Optional[Mapping[str, str]] = None, platform: Optional[str] = None) -> Optional[str]:
    """The discovery file the local odh-server writes for ``server``
    (None when the server is not on a loopback address)."""
    env = os.environ if env is None else env
    platform = platform or sys.platform
    parts = urlsplit(server if "://" in server else "http://" + server)
    host = parts.hostname or ""
    if not _is_loopback(host):
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    state = _getenv(env, "XDG_STATE_HOME", platform)
    if not state:
        home = _user_home_dir(env, platform)
        if home is None:
            return None
        state = os.path.join(home, ".local", "state")
    return os.path.join(state, "odh-training", "servers", "%s_%d.json" % (host.replace(":", "_"), port))


def _discovered_token(server: str, env: Mapping[str, str], platform: str) -> Tuple[Optional[str], Optional[str]]:
    candidates = []
    p = discovery_path(server, env, platform)
    if p:
        candidates.append(p)
        # "localhost" and 127.0.0.1 are the same server.
        host = _host(server)
        if host == "localhost":
            candidates.append(p.replace(os.sep + "localhost_", os.sep + "127.0.0.1_"))
        elif host == "127.0.0.1":
            candidates.append(p.replace(os.sep + "127.0.0.1_", os.sep + "localhost_"))
    for path in candidates:
        try:
            data = _read_json(path)
        except ValueError:
            continue
        if data and isinstance(data.get("token"), str) and data["token"]:
            return data["token"], path
    return None, None


def in_pod(env: Mapping[str, str], sa_dir: str) -> bool:
    """Whether this process runs in a Kubernetes pod with a ServiceAccount token."""
    return bool(env.get("KUBERNETES_SERVICE_HOST")) and os.path.isfile(os.path.join(sa_dir, "token"))


def _in_cluster_server(env: Mapping[str, str]) -> Tuple[str, str]:
    host, port = env.get("ODH_SERVER_SERVICE_HOST"), env.get("ODH_SERVER_SERVICE_PORT")
    if host and port:
        h = "[%s]" % host if ":" in host else host
        return "https://%s:%s" % (h, port), "in-cluster env ODH_SERVER_SERVICE_HOST/PORT"
    return IN_CLUSTER_SERVER, "in-cluster Service " + IN_CLUSTER_SERVER


def resolve_config(
    server: Optional[str] = None,
    token: Optional[str] = None,
    namespace: Optional[str] = None,
    context: Optional[str] = None,
    env: Optional[Mapping[str, str]] = None,
    *,
    platform: Optional[str] = None,
    serviceaccount_dir: Optional[str] = None,
) -> ClientConfig:
    """Resolve server, token, namespace and TLS trust as described in this
    module's documentation. ``context`` selects a context other than the
    current one (ValueError if it does not exist). ``env`` defaults to
    ``os.environ``, ``platform`` to ``sys.platform`` and
    ``serviceaccount_dir`` to :data:`SERVICEACCOUNT_DIR` (tests pass their
    own)."""
    env = os.environ if env is None else env
    platform = platform or sys.platform
    sa_dir = serviceaccount_dir or SERVICEACCOUNT_DIR
    cfg = ClientConfig(sources={})
    path = config_path(env, platform)
    file_cfg = _read_json(path) or {}
    ctx = _context(file_cfg, context or _getenv(env, "ODH_CONTEXT", platform), path)
    ctx_src = "config file %s (context %s)" % (path, ctx.get("name")) if ctx else ""
    cfg.context = ctx.get("name") if ctx else None

    def pick(key: str, arg: Optional[str], env_name: str) -> Optional[str]:
        if arg:
            cfg.sources[key] = "argument"
            return arg
        if _getenv(env, env_name, platform):
            cfg.sources[key] = "env " + env_name
            return _getenv(env, env_name, platform)
        if ctx and isinstance(ctx.get(key), str) and ctx.get(key):
            # A context's token belongs to the context's server only.
            if key != "token" or ctx.get("server") == cfg.server:
                cfg.sources[key] = ctx_src
                return ctx[key]
        return None

    cfg.server = pick("server", server, "ODH_SERVER") or ""
    pod = in_pod(env, sa_dir)
    if not cfg.server:
        if pod:
            cfg.server, cfg.sources["server"] = _in_cluster_server(env)
            cfg.in_cluster = True
        else:
            cfg.server, cfg.sources["server"] = DEFAULT_SERVER, "default"
    cfg.namespace = pick("namespace", namespace, "ODH_NAMESPACE") or DEFAULT_NAMESPACE
    cfg.sources.setdefault("namespace", "default")
    cfg.token = pick("token", token, "ODH_TOKEN")
    if ctx:
        cfg.insecure = bool(ctx.get("insecureSkipTLSVerify"))
        ca = ctx.get("certificateAuthority")
        if isinstance(ca, str) and ca:
            cfg.ca_file = ca
            cfg.sources["ca"] = ctx_src
    if "://" not in cfg.server:
        cfg.server = "http://" + cfg.server
    cfg.server = cfg.server.rstrip("/")
    internal = pod and (cfg.in_cluster or is_cluster_internal(cfg.server))
    if internal:
        cfg.extra_ca_files = [p for p in (os.path.join(sa_dir, "ca.crt"), os.path.join(sa_dir, "service-ca.crt")) if os.path.isfile(p)]
    if not cfg.token and internal:
        cfg.token_file = os.path.join(sa_dir, "token")
        cfg.token = read_token_file(cfg.token_file)
        cfg.sources["token"] = "serviceaccount " + cfg.token_file
    if not cfg.token:
        tok, src = _discovered_token(cfg.server, env, platform)
        if tok:
            cfg.token = tok
            cfg.sources["token"] = "discovery file %s" % src
        else:
            cfg.sources["token"] = "none"
    return cfg


def read_token_file(path: str) -> Optional[str]:
    """The token in a file (whitespace trimmed), or None when unreadable."""
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace").strip() or None
    except OSError:
        return None
