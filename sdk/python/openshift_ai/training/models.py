"""Typed models of the Training Service API.

Every class is a dataclass with type hints, ``to_dict()`` (the API's JSON
form, lowerCamelCase keys, empty fields omitted) and ``from_dict()`` (accepts
the API's lowerCamelCase keys and Python snake_case keys; unknown keys in
server responses are ignored so that newer servers keep working).

The job description users write is :class:`MPIJobSpec`; its ``to_dict()`` is
the high-level job document (``apiVersion: training.opendatahub.io/v1alpha1``,
``kind: MPIJob``) that the CLI, the web UI and the API accept too.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import difflib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Union

from ._model import _OMIT, _camel, _encode, _Model, _quantity
from ._progress import JobProgress, MetricValue, Progress, ProgressPoint
from ._status import (
    TERMINAL_PHASES,
    AccessReview,
    Capacity,
    Condition,
    Event,
    JobMetrics,
    JobStatus,
    LogLine,
    MetricSample,
    Phase,
    ReplicaMetrics,
    ReplicaStatus,
    ResourceCapacity,
    ResourceTotals,
    Transition,
    Version,
    WorkerCounts,
    WorkerStatus,
)
from .errors import FieldError, ValidationError

__all__ = [
    "API_VERSION",
    "KIND",
    "Quantity",
    "EnvVar",
    "Resources",
    "WorkerSpec",
    "LauncherSpec",
    "RunPolicy",
    "Scheduling",
    "Volume",
    "Toleration",
    "ObjectMeta",
    "MPIJobSpec",
    "WorkerCounts",
    "WorkerStatus",
    "ReplicaStatus",
    "Transition",
    "Condition",
    "ResourceTotals",
    "JobStatus",
    "Event",
    "LogLine",
    "ResourceCapacity",
    "Capacity",
    "Version",
    "JobTemplate",
    "AccessReview",
    "JobMetrics",
    "JobProgress",
    "Progress",
    "ProgressPoint",
    "MetricValue",
    "ReplicaMetrics",
    "MetricSample",
    "Phase",
    "TERMINAL_PHASES",
]

#: The apiVersion and kind of the high-level job document.
API_VERSION = "training.opendatahub.io/v1alpha1"
KIND = "MPIJob"
UPSTREAM_API_VERSION = "kubeflow.org/v2beta1"

#: A Kubernetes quantity: "500m", "2", "1.5", "16Gi" (numbers are accepted too).
Quantity = Union[str, int, float]

# --------------------------------------------------------------------------
# The job spec


@dataclass
class EnvVar(_Model):
    """An environment variable set for the launcher and every worker."""

    name: str = ""
    value: str = ""


_GPU_KEYS = ("nvidia.com/gpu", "gpu", "gpus")


def _gpu_count(v: Any, where: str) -> Any:
    if isinstance(v, bool):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.strip().isdigit():
        return int(v.strip())
    return v  # anything else is reported by validate()


@dataclass
class Resources(_Model):
    """Resources per replica (one worker, or the launcher).

    ``cpu`` and ``memory`` are Kubernetes quantities ("500m", "4", "16Gi");
    ``gpus`` is a whole number of GPUs; the limits default to the requests.

    Build it directly, from the flat API form, or from a Kubernetes-style
    ``{"requests": {...}, "limits": {...}}`` dict with :meth:`from_any`::

        Resources(cpu="4", memory="16Gi", gpus=2, cpu_limit="8")
        Resources.from_any({"requests": {"cpu": "4", "nvidia.com/gpu": 2},
                            "limits": {"cpu": "8", "nvidia.com/gpu": 2}})
    """

    cpu: Optional[Quantity] = None
    memory: Optional[Quantity] = None
    gpus: int = 0
    cpu_limit: Optional[Quantity] = None
    memory_limit: Optional[Quantity] = None

    def to_dict(self) -> Dict[str, Any]:
        """The API's flat form: cpu, memory, gpus, cpuLimit, memoryLimit."""
        d = super().to_dict()
        for k in ("cpu", "memory", "cpuLimit", "memoryLimit"):
            if k in d:
                d[k] = _quantity(d[k])
        return d

    @classmethod
    def from_any(cls, value: Union["Resources", Mapping[str, Any], None]) -> "Resources":
        """Accept a Resources, the flat form (``cpu``, ``memory``, ``gpus``,
        ``cpuLimit``/``cpu_limit``, ``memoryLimit``/``memory_limit``, or
        ``nvidia.com/gpu``) or the Kubernetes form (``requests``/``limits``
        with ``cpu``, ``memory`` and ``nvidia.com/gpu``).

        In the Kubernetes form a limit without a request is also the request
        (as in Kubernetes), and GPU requests and limits must be equal.
        Raises ValueError for resources the platform cannot express."""
        if value is None:
            return cls()
        if isinstance(value, Resources):
            return value
        if not isinstance(value, Mapping):
            raise ValueError("resources must be a dict or a Resources, got %s" % type(value).__name__)
        if "requests" in value or "limits" in value:
            extra = sorted(set(value) - {"requests", "limits"})
            if extra:
                raise ValueError(
                    "resources mixes the Kubernetes form (requests/limits) with other keys: %s" % ", ".join(extra)
                )
            return cls._from_k8s(value.get("requests") or {}, value.get("limits") or {})
        return cls._from_flat(value)

    @classmethod
    def _from_flat(cls, d: Mapping[str, Any]) -> "Resources":
        aliases = {
            "cpu": "cpu",
            "memory": "memory",
            "gpus": "gpus",
            "gpu": "gpus",
            "nvidia.com/gpu": "gpus",
            "cpuLimit": "cpu_limit",
            "cpu_limit": "cpu_limit",
            "memoryLimit": "memory_limit",
            "memory_limit": "memory_limit",
        }
        kwargs: Dict[str, Any] = {}
        for k, v in d.items():
            attr = aliases.get(k)
            if attr is None:
                raise ValueError(
                    "unsupported resource %r: use cpu, memory, gpus (or nvidia.com/gpu), cpuLimit and memoryLimit, "
                    "or the Kubernetes form {'requests': {...}, 'limits': {...}}" % k
                )
            if attr in kwargs:
                raise ValueError("resource %r is given twice (as %r)" % (attr, k))
            kwargs[attr] = _gpu_count(v, k) if attr == "gpus" else v
        return cls(**kwargs)

    @classmethod
    def _from_k8s(cls, requests: Mapping[str, Any], limits: Mapping[str, Any]) -> "Resources":
        for name, d in (("requests", requests), ("limits", limits)):
            if not isinstance(d, Mapping):
                raise ValueError("resources.%s must be a dict, got %s" % (name, type(d).__name__))
            for k in d:
                if k not in ("cpu", "memory") + _GPU_KEYS:
                    raise ValueError(
                        "unsupported resource %r in resources.%s: the platform schedules cpu, memory and nvidia.com/gpu" % (k, name)
                    )

        def gpu(d: Mapping[str, Any]) -> Any:
            found = [(k, d[k]) for k in _GPU_KEYS if k in d]
            if len(found) > 1:
                raise ValueError("GPUs are given twice: %s" % ", ".join(k for k, _ in found))
            return _gpu_count(found[0][1], found[0][0]) if found else None

        req_gpu, lim_gpu = gpu(requests), gpu(limits)
        if req_gpu is not None and lim_gpu is not None and req_gpu != lim_gpu:
            raise ValueError(
                "GPU requests (%s) and limits (%s) differ: GPUs cannot be overcommitted, set them equal" % (req_gpu, lim_gpu)
            )
        gpus = req_gpu if req_gpu is not None else lim_gpu
        return cls(
            cpu=requests.get("cpu", limits.get("cpu")),
            memory=requests.get("memory", limits.get("memory")),
            gpus=gpus if gpus is not None else 0,
            cpu_limit=limits.get("cpu"),
            memory_limit=limits.get("memory"),
        )

    def to_k8s(self) -> Dict[str, Dict[str, Any]]:
        """The Kubernetes form: ``{"requests": {...}, "limits": {...}}``
        (limits default to the requests, as the platform applies them)."""
        req: Dict[str, Any] = {}
        lim: Dict[str, Any] = {}
        if self.cpu is not None:
            req["cpu"] = _quantity(self.cpu)
        if self.memory is not None:
            req["memory"] = _quantity(self.memory)
        if self.gpus:
            req["nvidia.com/gpu"] = self.gpus
            lim["nvidia.com/gpu"] = self.gpus
        cl = self.cpu_limit if self.cpu_limit is not None else self.cpu
        ml = self.memory_limit if self.memory_limit is not None else self.memory
        if cl is not None:
            lim["cpu"] = _quantity(cl)
        if ml is not None:
            lim["memory"] = _quantity(ml)
        return {"requests": req, "limits": lim}


def _resources(v: Any) -> Any:
    if v is None or isinstance(v, Resources):
        return v if v is not None else Resources()
    if isinstance(v, Mapping):
        return Resources.from_any(v)
    return v


@dataclass
class WorkerSpec(_Model):
    """The workers: how many (``replicas``, default 1), MPI ranks per worker
    (``slots_per_worker``, default 1) and resources per worker.

    ``resources`` may be a :class:`Resources`, the flat API form, or a
    Kubernetes-style ``{"requests": {...}, "limits": {...}}`` dict."""

    replicas: Optional[int] = None
    slots_per_worker: Optional[int] = None
    resources: Union[Resources, Mapping[str, Any], None] = None

    _nested = {"resources": Resources}
    _optional = ("replicas", "slots_per_worker")

    def __post_init__(self) -> None:
        self.resources = _resources(self.resources)


@dataclass
class LauncherSpec(_Model):
    """The launcher (the replica that runs mpirun): its resources."""

    resources: Union[Resources, Mapping[str, Any], None] = None

    _nested = {"resources": Resources}

    def __post_init__(self) -> None:
        self.resources = _resources(self.resources)


@dataclass
class RunPolicy(_Model):
    """Deadline, retries, cleanup and suspension.

    ``active_deadline_seconds``: fail the job after this long;
    ``backoff_limit``: retries of the whole job after a failure (default 0);
    ``ttl_seconds_after_finished``: remove the job this long after it ends;
    ``clean_pod_policy``: None | Running (default) | All;
    ``suspend``: create the job suspended."""

    active_deadline_seconds: Optional[int] = None
    backoff_limit: Optional[int] = None
    ttl_seconds_after_finished: Optional[int] = None
    clean_pod_policy: str = ""
    suspend: bool = False

    _optional = ("active_deadline_seconds", "backoff_limit", "ttl_seconds_after_finished")


@dataclass
class Scheduling(_Model):
    """Queue (a Kueue LocalQueue name) and priority class: the name of a
    Kubernetes PriorityClass and/or Kueue WorkloadPriorityClass (the server
    refuses names that are neither, and those the namespace's
    TrainingPolicy does not allow; docs/user/job-spec.md#priorities)."""

    queue: str = ""
    priority_class: str = ""


@dataclass
class Volume(_Model):
    """A volume mounted at ``mount_path`` in the launcher and every worker.
    Set exactly one source: ``persistent_volume_claim``, ``config_map``,
    ``secret``, ``empty_dir`` or ``host_path``."""

    name: str = ""
    mount_path: str = ""
    read_only: bool = False
    persistent_volume_claim: str = ""
    config_map: str = ""
    secret: str = ""
    empty_dir: bool = False
    host_path: str = ""


@dataclass
class Toleration(_Model):
    """A Kubernetes toleration for the job's pods."""

    key: str = ""
    operator: str = ""
    value: str = ""
    effect: str = ""


@dataclass
class ObjectMeta(_Model):
    """Identity of a job; ``uid``, ``resource_version``,
    ``creation_timestamp`` and ``creator`` are set by the server."""

    name: str = ""
    generate_name: str = ""
    namespace: str = ""
    labels: Dict[str, str] = field(default_factory=dict)
    annotations: Dict[str, str] = field(default_factory=dict)
    uid: str = ""
    resource_version: str = ""
    creation_timestamp: Optional[_dt.datetime] = None
    creator: str = ""

    _times = ("creation_timestamp",)


def _env(v: Any) -> Any:
    if isinstance(v, Mapping):
        return [EnvVar(name=k, value=val) for k, val in v.items()]
    if isinstance(v, (list, tuple)):
        return [EnvVar.from_dict(x) if isinstance(x, Mapping) else x for x in v]
    return v


@dataclass
class MPIJobSpec(_Model):
    """An MPI job, in the user's language.

    Required: ``name`` (or ``generate_name``) and ``command``. If the command
    does not start with ``mpirun``/``mpiexec``, the platform wraps it with the
    launcher of ``mpi_implementation`` (OpenMPI, Intel or MPICH; default
    OpenMPI), so ``["python", "train.py"]`` runs on every rank.

    ``namespace`` defaults to the client's namespace. ``env`` may be a list of
    :class:`EnvVar` or a dict. ``worker_spec`` is the API's ``spec.workers``
    and ``launcher_spec`` its ``spec.launcher``. ``runtime`` picks the
    backend on a cluster (a Trainer ClusterTrainingRuntime's name, or
    ``"mpijob"``; empty: the server's default).

    ``to_dict()`` returns the job document the API accepts; :meth:`validate`
    checks it with the server's rules and reports every problem at once."""

    name: str = ""
    namespace: Optional[str] = None
    image: str = ""
    command: List[str] = field(default_factory=list)
    worker_spec: Union[WorkerSpec, Mapping[str, Any], None] = None
    launcher_spec: Union[LauncherSpec, Mapping[str, Any], None] = None
    mpi_implementation: str = ""
    run_policy: Union[RunPolicy, Mapping[str, Any], None] = None
    scheduling: Union[Scheduling, Mapping[str, Any], None] = None
    env: Union[List[EnvVar], Mapping[str, str]] = field(default_factory=list)
    volumes: List[Volume] = field(default_factory=list)
    labels: Dict[str, str] = field(default_factory=dict)
    annotations: Dict[str, str] = field(default_factory=dict)
    generate_name: str = ""
    working_dir: str = ""
    image_pull_policy: str = ""
    image_pull_secrets: List[str] = field(default_factory=list)
    node_selector: Dict[str, str] = field(default_factory=dict)
    tolerations: List[Toleration] = field(default_factory=list)
    runtime: str = ""

    _nested = {
        "worker_spec": WorkerSpec,
        "launcher_spec": LauncherSpec,
        "run_policy": RunPolicy,
        "scheduling": Scheduling,
        "volumes": (Volume,),
        "tolerations": (Toleration,),
    }
    _META = ("name", "generate_name", "namespace", "labels", "annotations")
    _SPEC_NAMES = {"worker_spec": "workers", "launcher_spec": "launcher"}

    def __post_init__(self) -> None:
        self._coerce()
        if self.worker_spec is None:
            self.worker_spec = WorkerSpec()
        if self.launcher_spec is None:
            self.launcher_spec = LauncherSpec()
        if self.run_policy is None:
            self.run_policy = RunPolicy()
        if self.scheduling is None:
            self.scheduling = Scheduling()
        self.env = _env(self.env)

    @property
    def workers(self) -> WorkerSpec:
        """Alias of ``worker_spec`` (the API's name)."""
        return self.worker_spec  # type: ignore[return-value]

    @property
    def launcher(self) -> LauncherSpec:
        """Alias of ``launcher_spec`` (the API's name)."""
        return self.launcher_spec  # type: ignore[return-value]

    def to_dict(self) -> Dict[str, Any]:
        """The high-level job document::

            {"apiVersion": "training.opendatahub.io/v1alpha1", "kind": "MPIJob",
             "metadata": {"name": ..., "namespace": ..., "labels": ...},
             "spec": {"command": [...], "workers": {...}, ...}}
        """
        meta: Dict[str, Any] = {}
        spec: Dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            enc = _encode(v)
            if enc is _OMIT:
                continue
            if f.name in self._META:
                meta[_camel(f.name)] = enc
            else:
                spec[self._SPEC_NAMES.get(f.name) or _camel(f.name)] = enc
        return {"apiVersion": API_VERSION, "kind": KIND, "metadata": meta, "spec": spec}

    @classmethod
    def from_dict(cls, data: Optional[Mapping[str, Any]], strict: bool = True) -> "MPIJobSpec":  # type: ignore[override]
        """Build from a job document (``{"metadata": ..., "spec": ...}``, as
        :meth:`to_dict` returns and the API, CLI and UI use).

        With ``strict`` (the default) fields this SDK does not know raise
        :class:`ValidationError` (every one, with its field path) instead
        of being dropped; the values themselves are checked by the server
        (:meth:`validate`, or when the job is created). ``strict=False``
        ignores unknown fields, for documents that come from a server."""
        if data is None:
            return cls()
        if strict:
            check_document_fields(data)
        meta = data.get("metadata") or {}
        spec = data.get("spec") or {}
        kwargs: Dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name in cls._META:
                src, key = meta, _camel(f.name)
            else:
                src, key = spec, cls._SPEC_NAMES.get(f.name) or _camel(f.name)
            if isinstance(src, Mapping) and key in src and src[key] is not None:
                kwargs[f.name] = src[key]
        return cls(**kwargs)

    def validate(self, raise_on_error: bool = True, client: Any = None) -> List[FieldError]:
        """Ask the server to check the job (a dry run: nothing is created)
        and return its field errors — every problem at once, with field
        paths — or an empty list when the job is valid. With
        ``raise_on_error`` (the default) raise :class:`ValidationError`
        instead of returning errors.

        ``client`` is the :class:`MPIJobClient` to ask; by default one is
        made from the environment and config file (on a laptop, the local
        odh-server). Errors other than invalid fields (quota, permissions,
        an unreachable server) are raised as usual."""
        from .client import check_with_server

        return check_with_server(client, self, raise_on_error)

    def with_namespace(self, namespace: str) -> "MPIJobSpec":
        """A copy with ``namespace`` set when it was not."""
        if self.namespace:
            return self
        return dataclasses.replace(self, namespace=namespace)


def _known_fields(cls: Any) -> Dict[str, Any]:
    """JSON name → nested model class (a 1-tuple for lists; None for leaves)."""
    out: Dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in cls._skip:
            out[cls._json_name(f.name)] = cls._nested.get(f.name)
    return out


def _unknown(data: Any, known: Dict[str, Any], path: str, errs: List[FieldError]) -> None:
    if not isinstance(data, Mapping):
        return  # a value of the wrong type: the server names it
    for k, v in data.items():
        p = "%s.%s" % (path, k) if path else str(k)
        if k not in known:
            close = difflib.get_close_matches(str(k), list(known), n=1)
            hint = '; did you mean "%s"?' % close[0] if close else ""
            errs.append(FieldError(p, "Unknown", str(k), 'unknown field "%s"%s' % (k, hint)))
            continue
        nested = known[k]
        if isinstance(nested, tuple) and isinstance(v, (list, tuple)):
            for i, x in enumerate(v):
                _unknown(x, _known_fields(nested[0]), "%s[%d]" % (p, i), errs)
        elif nested is not None and not isinstance(nested, tuple):
            _unknown(v, _known_fields(nested), p, errs)


def check_document_fields(data: Mapping[str, Any]) -> None:
    """Raise :class:`ValidationError` listing every field of a job document
    that the SDK's models do not have (so nothing is silently dropped), and
    for documents of another API (an upstream MPIJob goes to
    ``create_mpijob_from_manifest``). Values are the server's to check."""
    if not isinstance(data, Mapping):
        raise TypeError("a job document must be a dict, got %s" % type(data).__name__)
    api = data.get("apiVersion")
    if api not in (None, "", API_VERSION):
        raise ValidationError(
            "apiVersion %r is not %s: send upstream %s documents with create_mpijob_from_manifest()" % (api, API_VERSION, UPSTREAM_API_VERSION),
            field_errors=[FieldError("apiVersion", "NotSupported", str(api), "must be %s" % API_VERSION)],
        )
    spec_known = {MPIJobSpec._SPEC_NAMES.get(n) or _camel(n): MPIJobSpec._nested.get(n) for n in (f.name for f in dataclasses.fields(MPIJobSpec)) if n not in MPIJobSpec._META}
    spec_known["env"] = (EnvVar,)
    top = dict.fromkeys(("apiVersion", "kind", "metadata", "spec", "status"))
    errs: List[FieldError] = []
    _unknown(data, top, "", errs)
    _unknown(data.get("metadata"), _known_fields(ObjectMeta), "metadata", errs)
    _unknown(data.get("spec"), spec_known, "spec", errs)
    if errs:
        n = len(errs)
        raise ValidationError("the job document has %d unknown %s; nothing was sent:" % (n, "field" if n == 1 else "fields"), field_errors=errs)


@dataclass
class JobTemplate(_Model):
    """A saved, reusable job spec."""

    name: str = ""
    namespace: str = ""
    description: str = ""
    job: Optional[MPIJobSpec] = None
    create_time: Optional[_dt.datetime] = None
    creator: str = ""

    _times = ("create_time",)

    def to_dict(self) -> Dict[str, Any]:
        """The API's JSON form."""
        d = super().to_dict()
        if isinstance(self.job, MPIJobSpec):
            d["job"] = self.job.to_dict()
        return d

    @classmethod
    def from_dict(cls, data: Optional[Mapping[str, Any]]) -> "JobTemplate":
        """Build from the API's JSON form."""
        t = super().from_dict(data)
        if isinstance(t.job, Mapping):
            t.job = MPIJobSpec.from_dict(t.job, strict=False)
        return t
