"""Python SDK for MPI distributed-training jobs on OpenShift AI / Open Data Hub.

Quickstart::

    from openshift_ai.training import MPIJobClient, MPIJobSpec, WorkerSpec

    client = MPIJobClient()              # ODH_SERVER / ~/.config/odh/config.json
    job = client.create_mpijob(MPIJobSpec(
        name="pi", command=["python3", "pi.py"],
        worker_spec=WorkerSpec(replicas=2, resources={"cpu": "1", "memory": "1Gi"}),
    ))
    job.wait_for_completion(timeout=600)
    print(job.get_logs())

The SDK has no dependencies outside the standard library.
"""

from ._version import __version__
from .aio import AsyncMPIJob, AsyncMPIJobClient
from .api import OPERATIONS, Operation, RetryPolicy
from .client import Monitor, MPIJob, MPIJobClient, WatchEvent, validate_document
from ._progress import report
from .config import ClientConfig, resolve_config
from .notifications import NotificationAttempt, NotificationDeadLetter, NotificationHistory, NotificationSubscription, verify_signature
from .errors import (
    AlreadyExistsError,
    AuthenticationError,
    ConflictError,
    ConnectionError,
    FieldError,
    ForbiddenError,
    JobFailedError,
    NotFoundError,
    QuotaExceededError,
    QuotaViolation,
    ServerError,
    ServiceUnavailableError,
    TimeoutError,
    TrainingError,
    ValidationError,
)
from .models import (
    TERMINAL_PHASES,
    AccessReview,
    Capacity,
    Condition,
    EnvVar,
    Event,
    JobMetrics,
    JobProgress,
    JobStatus,
    JobTemplate,
    LauncherSpec,
    LogLine,
    MetricSample,
    MetricValue,
    MPIJobSpec,
    ObjectMeta,
    Phase,
    Progress,
    ProgressPoint,
    ReplicaMetrics,
    ReplicaStatus,
    ResourceCapacity,
    Resources,
    ResourceTotals,
    RunPolicy,
    Scheduling,
    Toleration,
    Transition,
    Version,
    Volume,
    WorkerCounts,
    WorkerSpec,
    WorkerStatus,
)

__all__ = [
    "__version__",
    # clients and handles
    "MPIJobClient",
    "MPIJob",
    "AsyncMPIJobClient",
    "AsyncMPIJob",
    "WatchEvent",
    "Monitor",
    "ClientConfig",
    "resolve_config",
    "RetryPolicy",
    "Operation",
    "OPERATIONS",
    # spec
    "MPIJobSpec",
    "WorkerSpec",
    "LauncherSpec",
    "Resources",
    "RunPolicy",
    "Scheduling",
    "EnvVar",
    "Volume",
    "Toleration",
    "ObjectMeta",
    "validate_document",
    # status and other objects
    "Phase",
    "TERMINAL_PHASES",
    "JobStatus",
    "WorkerCounts",
    "WorkerStatus",
    "ReplicaStatus",
    "Transition",
    "Condition",
    "ResourceTotals",
    "Event",
    "LogLine",
    "JobMetrics",
    "ReplicaMetrics",
    "MetricSample",
    "MetricValue",
    "JobProgress",
    "Progress",
    "ProgressPoint",
    # reporting progress from a training script
    "report",
    "Capacity",
    "ResourceCapacity",
    "AccessReview",
    "Version",
    "JobTemplate",
    # notifications
    "NotificationSubscription",
    "NotificationAttempt",
    "NotificationDeadLetter",
    "NotificationHistory",
    "verify_signature",
    # errors
    "TrainingError",
    "ValidationError",
    "FieldError",
    "NotFoundError",
    "ConflictError",
    "AlreadyExistsError",
    "ForbiddenError",
    "QuotaExceededError",
    "QuotaViolation",
    "AuthenticationError",
    "ServerError",
    "ServiceUnavailableError",
    "TimeoutError",
    "ConnectionError",
    "JobFailedError",
]
