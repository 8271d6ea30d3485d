"""Client-side validation of job documents: the same rules, field paths,
types, values and messages as the server (Go: ``internal/job``), so that a
spec that validates here is accepted there and a spec that does not is
rejected with the same errors.

The rules are pinned by ``internal/job/testdata/validation_cases.json``,
which both the Go tests and this package's tests run.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Sequence

from ._gotext import path_clean, path_is_abs, quote, trim_space
from ._quantity import QuantityError, parse_quantity
from ._wire import SCHEMA, FieldErrorTuple, check_shape, decode, describe, render
from .errors import FieldError, ValidationError

__all__ = [
    "API_VERSION",
    "KIND",
    "UPSTREAM_API_VERSION",
    "MPI_IMPLEMENTATIONS",
    "CLEAN_POD_POLICIES",
    "MAX_NAME_LENGTH",
    "MAX_REPLICAS",
    "MAX_SLOTS_PER_WORKER",
    "MAX_GPUS_PER_REPLICA",
    "MAX_BACKOFF_LIMIT",
    "validate_document",
    "parse_document",
    "set_defaults",
    "max_name_length_for",
]

API_VERSION = "training.opendatahub.io/v1alpha1"
KIND = "MPIJob"
UPSTREAM_API_VERSION = "kubeflow.org/v2beta1"
DEFAULT_NAMESPACE = "default"
MPI_IMPLEMENTATIONS = ("OpenMPI", "Intel", "MPICH")
CLEAN_POD_POLICIES = ("None", "Running", "All")

MAX_NAME_LENGTH = 63
MAX_REPLICAS = 10000
MAX_SLOTS_PER_WORKER = 1024
MAX_GPUS_PER_REPLICA = 64
MAX_BACKOFF_LIMIT = 100
_GENERATED_SUFFIX_CHARS = 5

_DNS1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUB = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_GENERATE_PREFIX = re.compile(r"[a-z]([-a-z0-9]*)?")
_ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
_LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")

_MSG_DNS1035 = 'must be a lowercase DNS-1035 label: start with a letter, use only lowercase letters, digits and \'-\', and end with a letter or digit (e.g. "mnist-train")'
_MSG_DNS1123 = 'must be a lowercase DNS-1123 label: lowercase letters, digits and \'-\', starting and ending with a letter or digit (e.g. "team-a")'
_MSG_DNS1123_SUB = 'must be a lowercase DNS-1123 subdomain: lowercase letters, digits, \'-\' and \'.\', starting and ending with a letter or digit (e.g. "high-priority")'
_MSG_CPU = 'must be a CPU quantity such as "500m", "2" or "1.5"'
_MSG_MEM = 'must be a memory quantity such as "512Mi", "16Gi" or "1G"'
_MSG_LABEL_KEY = "must be a label key: an optional DNS subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
_MSG_LABEL_VALUE = "must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
_MSG_VOLUME_SOURCE = "exactly one of persistentVolumeClaim, configMap, secret, emptyDir or hostPath must be set"


def _m(r: "re.Pattern[str]", s: str) -> bool:
    # Go's RE2 anchors ^...$ match the whole text; fullmatch does the same.
    return r.fullmatch(s) is not None


def _blen(s: str) -> int:
    """len() of a Go string: bytes of UTF-8."""
    return len(s.encode("utf-8", "surrogatepass"))


def _gomod_str(n: int) -> str:
    return str(n)


def _longest_child_name(name: str, replicas: int) -> str:
    if replicas < 1:
        replicas = 1
    w = name + "-worker-" + str(replicas - 1)
    launcher = name + "-launcher"
    return launcher if _blen(launcher) > _blen(w) else w


def max_name_length_for(replicas: int) -> int:
    """The longest job name usable with this many workers."""
    return MAX_NAME_LENGTH - _blen(_longest_child_name("", replicas))


def set_defaults(doc: Dict[str, Any]) -> Dict[str, Any]:
    """Fill in defaults in a decoded job document, in place (Go: SetDefaults)."""
    doc.setdefault("apiVersion", "")
    if not doc["apiVersion"]:
        doc["apiVersion"] = API_VERSION
    if not doc.get("kind"):
        doc["kind"] = KIND
    meta = doc.setdefault("metadata", {})
    if not meta.get("namespace"):
        meta["namespace"] = DEFAULT_NAMESPACE
    spec = doc.setdefault("spec", {})
    workers = spec.setdefault("workers", {})
    workers.setdefault("replicas", 1)
    workers.setdefault("slotsPerWorker", 1)
    if not spec.get("mpiImplementation"):
        spec["mpiImplementation"] = "OpenMPI"
    rp = spec.setdefault("runPolicy", {})
    if not rp.get("cleanPodPolicy"):
        rp["cleanPodPolicy"] = "Running"
    rp.setdefault("backoffLimit", 0)
    return doc


class _Validator:
    def __init__(self) -> None:
        self.errs: List[FieldErrorTuple] = []

    def add(self, field: str, typ: str, value: str, msg: str) -> None:
        self.errs.append((field, typ, value, msg))

    def required(self, field: str, msg: str) -> None:
        self.add(field, "Required", "", msg)

    def invalid(self, field: str, value: str, msg: str) -> None:
        self.add(field, "Invalid", value, msg)

    def not_supported(self, field: str, value: str, supported: Sequence[str]) -> None:
        self.add(
            field,
            "NotSupported",
            value,
            "unsupported value %s: supported values are %s" % (quote(value), ", ".join(quote(s) for s in supported)),
        )

    # metadata -----------------------------------------------------------
    def meta(self, m: Dict[str, Any], replicas: int) -> None:
        name = m.get("name", "")
        gen = m.get("generateName", "")
        if name == "" and gen == "":
            self.required("metadata.name", "a job name is required (or metadata.generateName for a generated one)")
        elif name != "":
            if not _m(_DNS1035, name):
                self.invalid("metadata.name", name, "invalid name %s: %s" % (quote(name), _MSG_DNS1035))
            else:
                child = _longest_child_name(name, replicas)
                if _blen(child) > MAX_NAME_LENGTH:
                    self.invalid(
                        "metadata.name",
                        name,
                        "name %s is too long: the pod name %s would exceed %d characters; with %d workers use at most %d characters"
                        % (quote(name), quote(child), MAX_NAME_LENGTH, replicas, max_name_length_for(replicas)),
                    )
        else:
            if not _m(_GENERATE_PREFIX, gen):
                self.invalid(
                    "metadata.generateName",
                    gen,
                    "invalid generateName %s: must start with a lowercase letter and use only lowercase letters, digits and '-'" % quote(gen),
                )
            else:
                mx = max_name_length_for(replicas) - _GENERATED_SUFFIX_CHARS
                if _blen(gen) > mx:
                    self.invalid(
                        "metadata.generateName",
                        gen,
                        "generateName %s is too long: with %d workers use at most %d characters" % (quote(gen), replicas, mx),
                    )
        ns = m.get("namespace", "")
        if ns != "" and (not _m(_DNS1123, ns) or _blen(ns) > MAX_NAME_LENGTH):
            self.invalid("metadata.namespace", ns, "invalid namespace %s: %s" % (quote(ns), _MSG_DNS1123))
        labels = m.get("labels") or {}
        for k in sorted(labels, key=lambda s: s.encode("utf-8", "surrogatepass")):
            p = "metadata.labels[" + quote(k) + "]"
            if not _valid_label_key(k):
                self.invalid(p, k, "invalid label key %s: %s" % (quote(k), _MSG_LABEL_KEY))
            val = labels[k]
            if _blen(val) > 63 or not _m(_LABEL_VALUE, val):
                self.invalid(p, val, "invalid label value %s: %s" % (quote(val), _MSG_LABEL_VALUE))

    # spec ---------------------------------------------------------------
    def spec(self, s: Dict[str, Any]) -> None:
        command = s.get("command") or []
        if len(command) == 0:
            self.required("spec.command", 'a command is required: the program each rank runs, e.g. ["python3", "train.py"]')
        for i, c in enumerate(command):
            if trim_space(c) == "":
                self.invalid("spec.command[%d]" % i, c, "command arguments must not be empty")
        image = s.get("image", "")
        if any(ch in image for ch in " \t\n"):
            self.invalid("spec.image", image, "invalid image %s: an image reference has no whitespace" % quote(image))
        policy = s.get("imagePullPolicy", "")
        if policy != "" and policy not in ("Always", "IfNotPresent", "Never"):
            self.not_supported("spec.imagePullPolicy", policy, ["Always", "IfNotPresent", "Never"])
        seen_env: Dict[str, bool] = {}
        for i, e in enumerate(s.get("env") or []):
            p = "spec.env[%d].name" % i
            name = e.get("name", "")
            if name == "":
                self.required(p, "an environment variable needs a name")
            elif not _m(_ENV_NAME, name):
                self.invalid(
                    p,
                    name,
                    "invalid environment variable name %s: use letters, digits, '_', '-' or '.', not starting with a digit" % quote(name),
                )
            elif seen_env.get(name):
                self.add(p, "Duplicate", name, "environment variable %s is set more than once" % quote(name))
            seen_env[name] = True
        wd = s.get("workingDir", "")
        if wd != "" and not path_is_abs(wd):
            self.invalid("spec.workingDir", wd, "workingDir %s must be an absolute path" % quote(wd))
        workers = s.get("workers") or {}
        self.int_range("spec.workers.replicas", workers.get("replicas"), 1, MAX_REPLICAS)
        self.int_range("spec.workers.slotsPerWorker", workers.get("slotsPerWorker"), 1, MAX_SLOTS_PER_WORKER)
        self.resources("spec.workers.resources", workers.get("resources") or {})
        self.resources("spec.launcher.resources", (s.get("launcher") or {}).get("resources") or {})
        impl = s.get("mpiImplementation", "")
        if impl not in MPI_IMPLEMENTATIONS:
            self.not_supported("spec.mpiImplementation", impl, MPI_IMPLEMENTATIONS)
        self.run_policy(s.get("runPolicy") or {})
        sched = s.get("scheduling") or {}
        q = sched.get("queue", "")
        if q != "" and (not _m(_DNS1123_SUB, q) or _blen(q) > 253):
            self.invalid("spec.scheduling.queue", q, "invalid queue %s: %s" % (quote(q), _MSG_DNS1123_SUB))
        pc = sched.get("priorityClass", "")
        if pc != "" and (not _m(_DNS1123_SUB, pc) or _blen(pc) > 253):
            self.invalid("spec.scheduling.priorityClass", pc, "invalid priority class %s: %s" % (quote(pc), _MSG_DNS1123_SUB))
        self.volumes(s.get("volumes") or [])
        for i, t in enumerate(s.get("tolerations") or []):
            p = "spec.tolerations[%d]" % i
            op = t.get("operator", "")
            if op not in ("", "Exists", "Equal"):
                self.not_supported(p + ".operator", op, ["Exists", "Equal"])
            eff = t.get("effect", "")
            if eff != "" and eff not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
                self.not_supported(p + ".effect", eff, ["NoSchedule", "PreferNoSchedule", "NoExecute"])
        for i, name in enumerate(s.get("imagePullSecrets") or []):
            if not _m(_DNS1123_SUB, name):
                self.invalid("spec.imagePullSecrets[%d]" % i, name, "invalid secret name %s: %s" % (quote(name), _MSG_DNS1123_SUB))

    def int_range(self, field: str, n: Optional[int], lo: int, hi: int) -> None:
        if n is None:
            return
        if n < lo:
            self.invalid(field, str(n), "must be at least %d, got %d" % (lo, n))
        elif n > hi:
            self.invalid(field, str(n), "must be at most %d, got %d" % (hi, n))

    def resources(self, p: str, r: Dict[str, Any]) -> None:
        cpu = self.quantity(p + ".cpu", r.get("cpu", ""), _MSG_CPU)
        mem = self.quantity(p + ".memory", r.get("memory", ""), _MSG_MEM)
        cpu_lim = self.quantity(p + ".cpuLimit", r.get("cpuLimit", ""), _MSG_CPU)
        mem_lim = self.quantity(p + ".memoryLimit", r.get("memoryLimit", ""), _MSG_MEM)
        if cpu is not None and cpu_lim is not None and cpu_lim < cpu:
            self.invalid(
                p + ".cpuLimit", r["cpuLimit"], "cpuLimit %s must not be less than cpu %s" % (quote(r["cpuLimit"]), quote(r["cpu"]))
            )
        if mem is not None and mem_lim is not None and mem_lim < mem:
            self.invalid(
                p + ".memoryLimit",
                r["memoryLimit"],
                "memoryLimit %s must not be less than memory %s" % (quote(r["memoryLimit"]), quote(r["memory"])),
            )
        g = r.get("gpus", 0)
        if g < 0:
            self.invalid(p + ".gpus", str(g), "must not be negative, got %d" % g)
        elif g > MAX_GPUS_PER_REPLICA:
            self.invalid(p + ".gpus", str(g), "must be at most %d, got %d" % (MAX_GPUS_PER_REPLICA, g))

    def quantity(self, field: str, q: str, msg: str):
        if q == "":
            return None
        try:
            if not any(c.isdigit() for c in q):
                # "Gi" or "m" alone parse as zero but are not quantities.
                raise QuantityError(q)
            parsed = parse_quantity(q)
        except QuantityError:
            self.invalid(field, q, "invalid quantity %s: %s" % (quote(q), msg))
            return None
        if parsed <= 0:
            self.invalid(field, q, "must be greater than zero, got %s" % quote(q))
            return None
        return parsed

    def run_policy(self, r: Dict[str, Any]) -> None:
        d = r.get("activeDeadlineSeconds")
        if d is not None and d < 1:
            self.invalid("spec.runPolicy.activeDeadlineSeconds", str(d), "must be at least 1, got %d" % d)
        self.int_range("spec.runPolicy.backoffLimit", r.get("backoffLimit"), 0, MAX_BACKOFF_LIMIT)
        t = r.get("ttlSecondsAfterFinished")
        if t is not None and t < 0:
            self.invalid("spec.runPolicy.ttlSecondsAfterFinished", str(t), "must not be negative, got %d" % t)
        c = r.get("cleanPodPolicy", "")
        if c not in CLEAN_POD_POLICIES:
            self.not_supported("spec.runPolicy.cleanPodPolicy", c, CLEAN_POD_POLICIES)

    def volumes(self, vols: List[Dict[str, Any]]) -> None:
        names: Dict[str, bool] = {}
        mounts: Dict[str, bool] = {}
        for i, vol in enumerate(vols):
            p = "spec.volumes[%d]" % i
            name = vol.get("name", "")
            if name == "":
                self.required(p + ".name", "a volume needs a name")
            elif not _m(_DNS1123, name):
                self.invalid(p + ".name", name, "invalid volume name %s: %s" % (quote(name), _MSG_DNS1123))
            elif names.get(name):
                self.add(p + ".name", "Duplicate", name, "volume name %s is used more than once" % quote(name))
            names[name] = True
            mp = vol.get("mountPath", "")
            if mp == "":
                self.required(p + ".mountPath", "a volume needs an absolute mountPath")
            elif not path_is_abs(mp):
                self.invalid(p + ".mountPath", mp, "mountPath %s must be an absolute path" % quote(mp))
            elif mounts.get(path_clean(mp)):
                self.add(p + ".mountPath", "Duplicate", mp, "mountPath %s is used by another volume" % quote(mp))
            mounts[path_clean(mp)] = True
            sources = sum(
                1
                for present in (
                    vol.get("persistentVolumeClaim", "") != "",
                    vol.get("configMap", "") != "",
                    vol.get("secret", "") != "",
                    bool(vol.get("emptyDir", False)),
                    vol.get("hostPath", "") != "",
                )
                if present
            )
            if sources != 1:
                self.invalid(p, name, _MSG_VOLUME_SOURCE)
            hp = vol.get("hostPath", "")
            if hp != "" and not path_is_abs(hp):
                self.invalid(p + ".hostPath", hp, "hostPath %s must be an absolute path" % quote(hp))


def _valid_label_key(k: str) -> bool:
    name = k
    i = k.rfind("/")
    if i >= 0:
        prefix = k[:i]
        name = k[i + 1 :]
        if prefix == "" or _blen(prefix) > 253 or not _m(_DNS1123_SUB, prefix):
            return False
    return _blen(name) <= 63 and _m(_LABEL_NAME, name)


def _validate(doc: Dict[str, Any]) -> List[FieldErrorTuple]:
    """Validate a decoded, defaulted document (Go: Validate)."""
    v = _Validator()
    spec = doc.get("spec") or {}
    replicas = (spec.get("workers") or {}).get("replicas")
    v.meta(doc.get("metadata") or {}, 1 if replicas is None else replicas)
    v.spec(spec)
    return v.errs


def _dedupe(errs: List[FieldErrorTuple]) -> List[FieldErrorTuple]:
    seen = {}
    out = []
    for e in errs:
        field = e[0]
        k = field + "\x00" + e[1] + "\x00" + e[3]
        if field != "" and seen.get(field):
            continue
        if seen.get(k):
            continue
        seen[k] = True
        seen[field] = field != ""
        out.append(e)
    return out


def _sort(errs: List[FieldErrorTuple]) -> List[FieldErrorTuple]:
    return sorted(errs, key=lambda e: e[0].encode("utf-8", "surrogatepass"))


def _to_field_errors(errs: List[FieldErrorTuple]) -> List[FieldError]:
    return [FieldError(field=f, type=t, value=val, message=msg) for f, t, val, msg in errs]


def _name_of(doc: Dict[str, Any]) -> str:
    meta = doc.get("metadata")
    if isinstance(meta, dict):
        name = meta.get("name")
        if isinstance(name, str):
            return name
    return ""


def parse_document(doc: Any) -> Dict[str, Any]:
    """Check the shape of a job document and decode it (Go: job.Parse for
    the high-level format). Return the decoded, well-typed document, or
    raise :class:`ValidationError` listing every problem, as the server
    would. Defaults are not applied."""
    if not isinstance(doc, dict):
        raise ValidationError.invalid(
            "",
            [FieldError(field="", type="Invalid", value=render(doc), message="the document must be an object (an MPIJob), got " + describe(doc))],
        )
    api_version = doc.get("apiVersion") if isinstance(doc.get("apiVersion"), str) else ""
    kind = doc.get("kind") if isinstance(doc.get("kind"), str) else ""
    name = _name_of(doc)
    if api_version in ("", API_VERSION):
        if kind != "" and kind != KIND:
            raise ValidationError.invalid(
                name,
                [
                    FieldError(
                        field="kind",
                        type="NotSupported",
                        value=kind,
                        message="unsupported kind %s for apiVersion %s: expected %s" % (quote(kind), API_VERSION, quote(KIND)),
                    )
                ],
            )
    elif api_version == UPSTREAM_API_VERSION:
        raise ValidationError.invalid(
            name,
            [
                FieldError(
                    field="apiVersion",
                    type="NotSupported",
                    value=api_version,
                    message="the SDK validates %s documents only; submit upstream %s manifests with MPIJobClient.create_mpijob_from_manifest(), which the server validates"
                    % (API_VERSION, UPSTREAM_API_VERSION),
                )
            ],
        )
    elif api_version in ("kubeflow.org/v1", "kubeflow.org/v1alpha2", "kubeflow.org/v2beta1alpha1"):
        raise ValidationError.invalid(
            name,
            [
                FieldError(
                    field="apiVersion",
                    type="NotSupported",
                    value=api_version,
                    message="apiVersion %s (Kubeflow Training Operator v1) is not supported: rewrite the job as %s (see examples/) or as %s"
                    % (quote(api_version), UPSTREAM_API_VERSION, API_VERSION),
                )
            ],
        )
    else:
        raise ValidationError.invalid(
            name,
            [
                FieldError(
                    field="apiVersion",
                    type="NotSupported",
                    value=api_version,
                    message="unsupported apiVersion %s: use %s (high-level) or %s (upstream MPI operator)"
                    % (quote(api_version), quote(API_VERSION), quote(UPSTREAM_API_VERSION)),
                )
            ],
        )
    errs = check_shape(doc, SCHEMA)
    decoded = decode(doc, SCHEMA)
    if errs:
        set_defaults(decoded)
        errs = errs + _validate(decoded)
        raise ValidationError.invalid(name, _to_field_errors(_sort(_dedupe(errs))))
    return decoded


def validate_document(doc: Any) -> List[FieldError]:
    """Every field error of a job document, sorted by field path; an empty
    list means the server will accept it (Go: job.Parse + job.Prepare)."""
    try:
        decoded = parse_document(doc)
    except ValidationError as e:
        return list(e.field_errors)
    set_defaults(decoded)
    return _to_field_errors(_sort(_dedupe(_validate(decoded))))


def check_document(doc: Any) -> Dict[str, Any]:
    """Parse, default and validate a job document; return the defaulted
    document or raise :class:`ValidationError` with every field error."""
    decoded = parse_document(doc)
    set_defaults(decoded)
    errs = _sort(_dedupe(_validate(decoded)))
    if errs:
        meta = decoded.get("metadata") or {}
        raise ValidationError.invalid(meta.get("name") or meta.get("generateName") or "", _to_field_errors(errs))
    return decoded
