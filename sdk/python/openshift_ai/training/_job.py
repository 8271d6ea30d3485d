"""What the blocking and the asyncio clients share above the transport: the
job handle's data, watch events, the per-event logic of ``monitor``, and
how a client connects (configuration, trust, direct mode)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

from . import _requests as rq
from .config import ClientConfig, resolve_config
from .errors import NotFoundError
from .models import JobStatus, MPIJobSpec, ObjectMeta, Transition, check_document_fields

log = logging.getLogger("openshift_ai.training")

StatusCallback = Callable[[JobStatus], Any]
TransitionCallback = Callable[[Transition], Any]


class _JobBase:
    """A job's data: metadata, spec and latest status.

    ``status`` is refreshed by :meth:`refresh`, :meth:`monitor` and
    :meth:`wait_for_completion`; ``warnings`` holds what the server said
    when the job was created (e.g. "image is ignored by the local engine")."""

    def __init__(
        self,
        metadata: Optional[ObjectMeta] = None,
        spec: Optional[MPIJobSpec] = None,
        status: Optional[JobStatus] = None,
        client: Any = None,
        api_version: str = "",
        kind: str = "",
        warnings: Optional[List[str]] = None,
    ) -> None:
        self.metadata = metadata or ObjectMeta()
        self.spec = spec or MPIJobSpec()
        self.status = status or JobStatus()
        self.api_version = api_version
        self.kind = kind
        self.warnings: List[str] = list(warnings or [])
        self.deleted = False
        self._client = client

    @property
    def name(self) -> str:
        """The job's name."""
        return self.metadata.name

    @property
    def namespace(self) -> str:
        """The job's namespace."""
        return self.metadata.namespace

    @property
    def uid(self) -> str:
        """The server-assigned unique id."""
        return self.metadata.uid

    @property
    def creator(self) -> str:
        """The user who created the job."""
        return self.metadata.creator

    @property
    def phase(self) -> str:
        """Shortcut for ``status.phase``."""
        return self.status.phase

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], strict: bool = True, client: Any = None):  # type: ignore[no-untyped-def]
        """Build from the API's JSON form of an MPIJob (``apiVersion``,
        ``kind``, ``metadata``, ``spec``, ``status``).

        With ``strict`` (the default) fields the SDK does not know raise
        :class:`ValidationError` instead of being dropped. Server responses
        are read with ``strict=False``."""
        if strict:
            check_document_fields(data)
        meta = ObjectMeta.from_dict(data.get("metadata") or {})
        spec = MPIJobSpec.from_dict({"metadata": data.get("metadata") or {}, "spec": data.get("spec") or {}}, strict=False)
        if "namespace" not in (data.get("metadata") or {}):
            spec.namespace = None
        status = JobStatus.from_dict(data.get("status") or {})
        return cls(meta, spec, status, client, data.get("apiVersion") or "", data.get("kind") or "")

    def to_dict(self) -> Dict[str, Any]:
        """The API's JSON form (metadata, spec and status)."""
        doc = self.spec.to_dict()
        meta = self.metadata.to_dict()
        doc["metadata"] = {**doc["metadata"], **meta}
        st = self.status.to_dict()
        if st:
            doc["status"] = st
        return doc

    def _update(self, other: "_JobBase") -> None:
        self.metadata = other.metadata
        self.spec = other.spec
        self.status = other.status
        self.api_version = other.api_version or self.api_version
        self.kind = other.kind or self.kind

    def __repr__(self) -> str:
        return "%s(%s/%s, phase=%s)" % (type(self).__name__, self.namespace, self.name, self.status.phase or "?")


@dataclass
class WatchEvent:
    """A change to a job: ``type`` is ADDED, MODIFIED, DELETED or SYNCED
    (the end of the initial events; ``job`` is None then)."""

    type: str
    job: Optional[Any] = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], client: Any = None, job_cls: Any = None) -> "WatchEvent":
        """Build from the API's JSON form."""
        job = data.get("job")
        if job_cls is None:
            from .client import MPIJob

            job_cls = MPIJob
        return cls(str(data.get("type", "")), job_cls.from_dict(job, strict=False, client=client) if job else None)


class MonitorState:
    """The per-event logic of ``monitor``: which transitions to report,
    whether the status changed, whether monitoring ends."""

    def __init__(self, job: _JobBase, stop_on_terminal: bool) -> None:
        self.job = job
        self.stop_on_terminal = stop_on_terminal
        self.found = False
        self.seen = 0
        self.last: Optional[Dict[str, Any]] = None

    def step(self, ev: WatchEvent) -> Tuple[List[Transition], bool, bool]:
        """(new transitions, status changed, done) for one watch event."""
        job = self.job
        if ev.type == "SYNCED":
            if not self.found:
                raise NotFoundError('MPIJob "%s" not found in namespace "%s"' % (job.name, job.namespace))
            return [], False, False
        if ev.job is None or ev.job.name != job.name:
            return [], False, False
        self.found = True
        job._update(ev.job)
        new, self.seen = rq.new_history(self.seen, job.status.history)
        current = job.status.to_dict()
        changed = current != self.last
        self.last = current
        if ev.type == "DELETED":
            job.deleted = True
            return new, changed, True
        return new, changed, self.stop_on_terminal and job.status.is_terminal


class Monitor:
    """A :meth:`MPIJob.monitor` running in a background thread."""

    def __init__(self, job: Any, callback: Optional[StatusCallback], stop_on_terminal: bool, timeout: Optional[float], on_transition: Optional[TransitionCallback]) -> None:
        self.job = job
        self.status: Optional[JobStatus] = None
        self.error: Optional[BaseException] = None
        self.stopping = False
        self._stream: Any = None
        self._args = (callback, stop_on_terminal, timeout, on_transition)
        self._thread = threading.Thread(target=self._run, name="odh-monitor-%s" % job.name, daemon=True)

    def start(self) -> None:
        """Start the thread (done by monitor(background=True))."""
        self._thread.start()

    def _run(self) -> None:
        try:
            self.status = self.job._monitor(*self._args, stopper=self)
        except BaseException as e:  # reported through join()
            self.error = e

    def stop(self) -> None:
        """Stop monitoring (closes the watch stream)."""
        self.stopping = True
        s = self._stream
        if s is not None:
            s.close()

    def join(self, timeout: Optional[float] = None) -> Optional[JobStatus]:
        """Wait for monitoring to end; return the last status or re-raise
        the error that ended it."""
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        return self.status

    @property
    def running(self) -> bool:
        """Whether the thread is still monitoring."""
        return self._thread.is_alive()


def failure_message(job: _JobBase, status: JobStatus) -> str:
    """What JobFailedError says."""
    return "MPIJob %s/%s failed: %s%s" % (job.namespace, job.name, status.reason or "Failed", ": " + status.message if status.message else "")


def deleted_error(job: _JobBase) -> NotFoundError:
    """wait_for_completion on a job deleted before it was seen to finish."""
    return NotFoundError('MPIJob "%s" was deleted before it was seen to finish' % job.name)


def connect(
    server: Optional[str],
    token: Optional[str],
    namespace: Optional[str],
    context: Optional[str],
    verify: Union[bool, str, None],
    direct: Optional[bool],
    kubeconfig: Optional[str],
) -> Tuple[ClientConfig, Dict[str, Any], Any]:
    """Resolve where and how a client connects: (config, transport keyword
    arguments, the direct-mode server process or None)."""
    from .direct import direct_requested, start_direct

    proc = None
    if direct_requested(direct, kubeconfig):
        if server:
            raise ValueError("server= and direct mode exclude each other: direct mode runs its own Training Service against the kubeconfig's cluster")
        proc = start_direct(kubeconfig=kubeconfig, namespace=namespace or resolve_config(None, None, namespace, context).namespace)
        server, token = proc.url, proc.token
    cfg = resolve_config(server, token, namespace, context)
    if proc is not None:
        cfg.sources["server"] = cfg.sources["token"] = "direct mode (%s)" % proc.describe()
    if verify is None:
        verify = False if cfg.insecure else (cfg.ca_file or True)
    from ._net import TokenSource

    tokens = TokenSource(cfg.token, cfg.token_file)
    return cfg, {"token": tokens, "verify": verify, "extra_ca_files": cfg.extra_ca_files}, proc
