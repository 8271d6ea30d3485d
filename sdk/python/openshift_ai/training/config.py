"""Where the client finds its server, token and namespace — the same
discovery as the ``odh`` CLI:

1. explicit arguments (``MPIJobClient(server=..., token=..., namespace=...)``);
2. environment: ``ODH_SERVER``, ``ODH_TOKEN``, ``ODH_NAMESPACE``;
3. the current context of the config file (``$ODH_CONFIG`` or
   ``${XDG_CONFIG_HOME:-~/.config}/odh/config.json``)::

       {"currentContext": "local",
        "contexts": [{"name": "local", "server": "http://127.0.0.1:8080",
                      "token": "...", "namespace": "default"}]}

4. defaults: server ``http://127.0.0.1:8080``, namespace ``default``.

When the server is on a loopback address and no token was found, the token
of the local ``odh-server`` is read from its discovery file
``${XDG_STATE_HOME:-~/.local/state}/odh-training/servers/<host>_<port>.json``,
which the server writes when it starts.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import urlsplit

__all__ = ["ClientConfig", "resolve_config", "DEFAULT_SERVER", "DEFAULT_NAMESPACE", "config_path", "discovery_path"]

DEFAULT_SERVER = "http://127.0.0.1:8080"
DEFAULT_NAMESPACE = "default"


@dataclass
class ClientConfig:
    """The resolved connection settings and where each came from
    (``sources["server"]`` is "argument", "env ODH_SERVER", "config file
    <path> (context <name>)", "default" or "discovery file <path>")."""

    server: str = DEFAULT_SERVER
    token: Optional[str] = None
    namespace: str = DEFAULT_NAMESPACE
    context: Optional[str] = None
    insecure: bool = False
    sources: Dict[str, str] = field(default_factory=dict)


def config_path(env: Optional[Mapping[str, str]] = None) -> str:
    """The config file: ``$ODH_CONFIG``, else ``odh/config.json`` in
    ``$XDG_CONFIG_HOME`` (default ``~/.config``), as the CLI uses."""
    env = os.environ if env is None else env
    p = env.get("ODH_CONFIG")
    if p:
        return os.path.expanduser(p)
    base = env.get("XDG_CONFIG_HOME") or os.path.join(_home(env), ".config")
    return os.path.join(base, "odh", "config.json")


def _home(env: Mapping[str, str]) -> str:
    return env.get("HOME") or os.path.expanduser("~")


def _read_json(path: str) -> Optional[Dict[str, Any]]:
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise ValueError("cannot read %s: %s" % (path, e)) from e
    return data if isinstance(data, dict) else None


def _context(cfg: Dict[str, Any], name: Optional[str], path: str) -> Optional[Dict[str, Any]]:
    wanted = name or cfg.get("currentContext")
    contexts: List[Any] = cfg.get("contexts") or []
    for c in contexts:
        if isinstance(c, dict) and c.get("name") == wanted:
            return c
    if name:
        raise ValueError(
            "context %r is not in %s (create it with: odh login --context %s --server URL --token TOKEN)" % (name, path, name)
        )
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def discovery_path(server: str, env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The discovery file the local odh-server writes for ``server``
    (None when the server is not on a loopback address)."""
    env = os.environ if env is None else env
    parts = urlsplit(server if "://" in server else "http://" + server)
    host = parts.hostname or ""
    if not _is_loopback(host):
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    state = env.get("XDG_STATE_HOME") or os.path.join(_home(env), ".local", "state")
    return os.path.join(state, "odh-training", "servers", "%s_%d.json" % (host.replace(":", "_"), port))


def _discovered_token(server: str, env: Mapping[str, str]) -> tuple:
    candidates = []
    p = discovery_path(server, env)
    if p:
        candidates.append(p)
        # "localhost" and 127.0.0.1 are the same server.
        host = urlsplit(server if "://" in server else "http://" + server).hostname
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


def resolve_config(
    server: Optional[str] = None,
    token: Optional[str] = None,
    namespace: Optional[str] = None,
    context: Optional[str] = None,
    env: Optional[Mapping[str, str]] = None,
) -> ClientConfig:
    """Resolve server, token and namespace (arguments > environment >
    config file > defaults; then the local server's discovery file for the
    token). A context's token is used only for that context's server.
    ``context`` selects a context other than the current one (ValueError if
    it does not exist). ``env`` defaults to ``os.environ`` (tests pass their
    own)."""
    env = os.environ if env is None else env
    cfg = ClientConfig(sources={})
    path = config_path(env)
    file_cfg = _read_json(path) or {}
    ctx = _context(file_cfg, context, path)
    ctx_src = "config file %s (context %s)" % (path, ctx.get("name")) if ctx else ""
    cfg.context = ctx.get("name") if ctx else None

    def pick(key: str, arg: Optional[str], env_name: str, default: Optional[str]) -> Optional[str]:
        if arg:
            cfg.sources[key] = "argument"
            return arg
        if env.get(env_name):
            cfg.sources[key] = "env " + env_name
            return env[env_name]
        if ctx and isinstance(ctx.get(key), str) and ctx.get(key):
            # A context's token belongs to the context's server only.
            if key != "token" or ctx.get("server") == cfg.server:
                cfg.sources[key] = ctx_src
                return ctx[key]
        cfg.sources[key] = "default"
        return default

    cfg.server = pick("server", server, "ODH_SERVER", DEFAULT_SERVER) or DEFAULT_SERVER
    cfg.namespace = pick("namespace", namespace, "ODH_NAMESPACE", DEFAULT_NAMESPACE) or DEFAULT_NAMESPACE
    cfg.token = pick("token", token, "ODH_TOKEN", None)
    cfg.insecure = bool(ctx and ctx.get("insecureSkipTLSVerify"))
    if "://" not in cfg.server:
        cfg.server = "http://" + cfg.server
    cfg.server = cfg.server.rstrip("/")
    if not cfg.token:
        tok, src = _discovered_token(cfg.server, env)
        if tok:
            cfg.token = tok
            cfg.sources["token"] = "discovery file " + src
        else:
            cfg.sources["token"] = "none"
    return cfg
