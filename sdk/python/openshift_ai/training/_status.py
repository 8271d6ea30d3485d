"""Status and the other objects the API returns: job status, events, log
lines, metrics, capacity, access reviews, version (re-exported by
:mod:`openshift_ai.training.models`)."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import List, Optional

from ._model import _Model
from ._progress import Progress


class Phase:
    """The normalized job phases (``JobStatus.phase``)."""

    PENDING = "Pending"
    QUEUED = "Queued"
    STARTING = "Starting"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SUSPENDED = "Suspended"
    DELETING = "Deleting"
    ALL = (PENDING, QUEUED, STARTING, RUNNING, SUCCEEDED, FAILED, SUSPENDED, DELETING)


#: Phases after which a job never changes again.
TERMINAL_PHASES = frozenset({Phase.SUCCEEDED, Phase.FAILED})


# --------------------------------------------------------------------------
# Status


@dataclass
class WorkerCounts(_Model):
    """Workers by state."""

    total: int = 0
    pending: int = 0
    running: int = 0
    ready: int = 0
    succeeded: int = 0
    failed: int = 0


@dataclass
class WorkerStatus(_Model):
    """The state of one worker (or of the launcher, ``index == -1``):
    ``state`` (Pending | Running | Succeeded | Failed | Unknown), node,
    restarts, exit code, ``reason`` (OOMKilled, Evicted, ImagePullBackOff,
    Error, ...), the MPI ranks it hosts and its pod."""

    name: str = ""
    index: int = 0
    state: str = ""
    ready: bool = False
    node: str = ""
    restarts: int = 0
    exit_code: Optional[int] = None
    reason: str = ""
    message: str = ""
    start_time: Optional[_dt.datetime] = None
    finish_time: Optional[_dt.datetime] = None
    ranks: List[int] = field(default_factory=list)
    pod: str = ""

    _times = ("start_time", "finish_time")
    _optional = ("exit_code",)

    @property
    def oom_killed(self) -> bool:
        """Whether the replica was killed for running out of memory."""
        return self.reason == "OOMKilled"

    @property
    def evicted(self) -> bool:
        """Whether the replica was evicted from its node."""
        return self.reason == "Evicted"


#: The API's name for :class:`WorkerStatus`.
ReplicaStatus = WorkerStatus


@dataclass
class Transition(_Model):
    """One entry of a job's phase history."""

    phase: str = ""
    reason: str = ""
    message: str = ""
    time: Optional[_dt.datetime] = None

    _times = ("time",)


@dataclass
class Condition(_Model):
    """A Kubernetes-style condition."""

    type: str = ""
    status: str = ""
    reason: str = ""
    message: str = ""
    last_transition_time: Optional[_dt.datetime] = None

    _times = ("last_transition_time",)


@dataclass
class ResourceTotals(_Model):
    """What a job requests in total (workers + launcher); ``slots`` = MPI ranks."""

    cpu: str = ""
    memory: str = ""
    gpus: int = 0
    slots: int = 0


@dataclass
class JobStatus(_Model):
    """The normalized status of a job.

    ``phase`` is one of :class:`Phase`; ``reason`` a stable identifier
    (RankFailed, DeadlineExceeded, ...) and ``message`` says what happened
    and what to do. ``workers`` counts workers by state, ``worker_statuses``
    has per-worker details, ``history`` every phase transition, and
    ``first_failed_worker`` / ``first_failed_rank`` point at the culprit.
    ``backend`` names the object that runs the job on a cluster ("MPIJob"
    or "TrainJob"); ``read_only`` jobs are listed but not managed (status,
    logs and delete only). ``progress`` is what the job's program last reported (None before its
    first report; docs/user/progress.md). ``preemptions`` counts the times
    Kueue preempted the job for higher-priority work (while it waits again,
    ``reason`` is "Preempted" and ``message`` says by whom and why);
    ``preempted_by`` names the last preemptor when it is a job of the same
    namespace."""

    phase: str = ""
    reason: str = ""
    message: str = ""
    start_time: Optional[_dt.datetime] = None
    completion_time: Optional[_dt.datetime] = None
    workers: WorkerCounts = field(default_factory=WorkerCounts)
    launcher: Optional[WorkerStatus] = None
    worker_statuses: List[WorkerStatus] = field(default_factory=list)
    first_failed_worker: Optional[int] = None
    first_failed_rank: Optional[int] = None
    attempts: int = 0
    history: List[Transition] = field(default_factory=list)
    conditions: List[Condition] = field(default_factory=list)
    requested: Optional[ResourceTotals] = None
    queue_position: int = 0
    exit_code: Optional[int] = None
    backend: str = ""
    read_only: bool = False
    progress: Optional[Progress] = None
    preemptions: int = 0
    preempted_by: str = ""

    _nested = {
        "workers": WorkerCounts,
        "launcher": WorkerStatus,
        "worker_statuses": (WorkerStatus,),
        "history": (Transition,),
        "conditions": (Condition,),
        "requested": ResourceTotals,
        "progress": Progress,
    }
    _times = ("start_time", "completion_time")
    _optional = ("first_failed_worker", "first_failed_rank", "exit_code")

    def __post_init__(self) -> None:
        self._coerce()
        if self.workers is None:
            self.workers = WorkerCounts()

    @property
    def workers_running(self) -> int:
        """Workers in state Running."""
        return self.workers.running

    @property
    def workers_total(self) -> int:
        """Workers the job has (its replicas)."""
        return self.workers.total

    @property
    def workers_succeeded(self) -> int:
        """Workers that finished successfully."""
        return self.workers.succeeded

    @property
    def workers_failed(self) -> int:
        """Workers that failed."""
        return self.workers.failed

    @property
    def workers_pending(self) -> int:
        """Workers not started yet."""
        return self.workers.pending

    @property
    def is_terminal(self) -> bool:
        """Whether the job has finished (Succeeded or Failed)."""
        return self.phase in TERMINAL_PHASES

    @property
    def succeeded(self) -> bool:
        """Whether the job finished successfully."""
        return self.phase == Phase.SUCCEEDED

    @property
    def failed(self) -> bool:
        """Whether the job failed."""
        return self.phase == Phase.FAILED

    @property
    def duration(self) -> Optional[_dt.timedelta]:
        """Run time so far (or in total, once finished)."""
        if self.start_time is None:
            return None
        end = self.completion_time or _dt.datetime.now(_dt.timezone.utc)
        return end - self.start_time

    def worker(self, index: int) -> Optional[WorkerStatus]:
        """The status of worker ``index``, if the server reported it."""
        for w in self.worker_statuses:
            if w.index == index:
                return w
        return None

    def __str__(self) -> str:
        s = self.phase or "Unknown"
        if self.reason:
            s += " (%s)" % self.reason
        s += ", workers %d/%d running" % (self.workers.running, self.workers.total)
        if self.message:
            s += ": " + self.message
        return s


# --------------------------------------------------------------------------
# Other API objects


@dataclass
class Event(_Model):
    """An event recorded for a job: ``type`` (Normal | Warning), reason,
    message, the ``object`` it is about ("job", "launcher", "worker-N", a
    pod), when it happened first and last and how often."""

    type: str = ""
    reason: str = ""
    message: str = ""
    object: str = ""
    first_time: Optional[_dt.datetime] = None
    last_time: Optional[_dt.datetime] = None
    count: int = 0
    source: str = ""

    _times = ("first_time", "last_time")


@dataclass
class LogLine(_Model):
    """One line of output: ``source`` ("launcher" or "worker-N"), ``worker``
    index (-1 for the launcher), MPI ``rank`` (-1 when unknown), ``stream``
    (stdout | stderr), ``time`` and ``text``. ``heartbeat`` marks a line
    that carries no output (gRPC keep-alive; REST sends blank lines instead,
    which the SDK skips)."""

    source: str = ""
    worker: int = 0
    rank: int = 0
    stream: str = ""
    time: Optional[_dt.datetime] = None
    text: str = ""
    heartbeat: bool = False

    _times = ("time",)

    def __str__(self) -> str:
        return self.text


@dataclass
class MetricSample(_Model):
    """One measurement of a replica: ``cpu_cores`` in use (1.5 = one and a
    half cores busy) and resident ``memory_bytes``, at ``time``."""

    time: Optional[_dt.datetime] = None
    cpu_cores: float = 0.0
    memory_bytes: float = 0.0

    _times = ("time",)


@dataclass
class ReplicaMetrics(_Model):
    """The samples of one replica: ``name`` is "launcher" (``index`` -1) or
    "worker-N" (``index`` N)."""

    name: str = ""
    index: int = 0
    samples: List[MetricSample] = field(default_factory=list)

    _nested = {"samples": (MetricSample,)}

    def __post_init__(self) -> None:
        self._coerce()

    def latest(self) -> Optional[MetricSample]:
        """The most recent sample, if any."""
        return self.samples[-1] if self.samples else None

    def peak_cpu(self) -> float:
        """The highest CPU use seen, in cores."""
        return max((s.cpu_cores for s in self.samples), default=0.0)

    def peak_memory(self) -> float:
        """The highest resident memory seen, in bytes."""
        return max((s.memory_bytes for s in self.samples), default=0.0)


@dataclass
class JobMetrics(_Model):
    """A job's recent resource use per replica (:meth:`MPIJob.metrics`).
    ``available`` is False when the engine cannot measure the job, and
    ``message`` says why; ``source`` names where the numbers come from;
    samples are ``interval_seconds`` apart and kept for a few minutes while
    the job runs."""

    available: bool = False
    message: str = ""
    source: str = ""
    interval_seconds: float = 0.0
    replicas: List[ReplicaMetrics] = field(default_factory=list)

    _nested = {"replicas": (ReplicaMetrics,)}

    def __post_init__(self) -> None:
        self._coerce()

    def replica(self, name: str) -> Optional[ReplicaMetrics]:
        """The series of one replica by name, e.g. ``m.replica("worker-1")``."""
        for r in self.replicas:
            if r.name == name:
                return r
        return None


@dataclass
class ResourceCapacity(_Model):
    """One resource (cpu, memory, nvidia.com/gpu, slots, ...): hard limit,
    used and available."""

    name: str = ""
    hard: str = ""
    used: str = ""
    available: str = ""


@dataclass
class Capacity(_Model):
    """What new jobs in a namespace may still use, and where the numbers
    come from (``source``: "local slots", a ResourceQuota, a ClusterQueue)."""

    source: str = ""
    resources: List[ResourceCapacity] = field(default_factory=list)

    _nested = {"resources": (ResourceCapacity,)}

    def __post_init__(self) -> None:
        self._coerce()

    def get(self, name: str) -> Optional[ResourceCapacity]:
        """The entry for one resource, e.g. ``capacity.get("slots")``."""
        for r in self.resources:
            if r.name == name:
                return r
        return None


@dataclass
class AccessReview(_Model):
    """Whether the caller may do something (``MPIJobClient.can_i``): on a
    cluster the API server's RBAC and the own-job rule decide, on a local
    server its policy file. ``bool(review)`` is ``allowed``."""

    allowed: bool = False
    reason: str = ""
    user: str = ""

    def __post_init__(self) -> None:
        self._coerce()

    def __bool__(self) -> bool:
        """True when allowed."""
        return self.allowed


@dataclass
class Version(_Model):
    """Server version and engine (``local`` or ``kubernetes``)."""

    version: str = ""
    git_commit: str = ""
    build_date: str = ""
    go_version: str = ""
    engine: str = ""
    engine_version: str = ""
