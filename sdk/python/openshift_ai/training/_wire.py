"""The shape of the job document (the API's JSON form of an MPIJob) and two
walks over a decoded document that mirror the Go server exactly:

* :func:`check_shape` reports every unknown field and every value of the wrong
  type, with its path (Go: ``internal/job/decode.go``);
* :func:`decode` keeps what Go's ``encoding/json`` would keep when it decodes
  the same document into the Go structs (ill-typed values become zero values,
  a bad quantity or timestamp stops decoding), so that validation afterwards
  sees the same partial job the server sees.

The schema below mirrors the Go structs in ``internal/job`` field for field;
a test checks it against the OpenAPI document.
"""

from __future__ import annotations

import decimal
import json
import re
from typing import Any, Dict, List, Tuple

from ._gotext import parse_rfc3339, quote

__all__ = ["SCHEMA", "check_shape", "decode", "loads", "describe", "render", "FieldErrorTuple"]

STR, BOOL, INT32, QUANTITY, TIME = "string", "bool", "int32", "quantity", "time"


class Struct:
    """A Go struct: JSON name → type. ``pointers`` are pointer-typed fields,
    which Go allocates (as zero) even when the value has the wrong type."""

    def __init__(self, name: str, fields: Dict[str, Any], pointers: Tuple[str, ...] = ()):
        self.name = name
        self.fields = fields
        self.pointers = frozenset(pointers)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "Struct(%s)" % self.name


class ListOf:
    def __init__(self, elem: Any):
        self.elem = elem


class MapOf:
    def __init__(self, elem: Any):
        self.elem = elem


RESOURCES = Struct("Resources", {"cpu": QUANTITY, "memory": QUANTITY, "gpus": INT32, "cpuLimit": QUANTITY, "memoryLimit": QUANTITY})
ENV_VAR = Struct("EnvVar", {"name": STR, "value": STR})
WORKER_SPEC = Struct("WorkerSpec", {"replicas": INT32, "slotsPerWorker": INT32, "resources": RESOURCES}, ("replicas", "slotsPerWorker"))
LAUNCHER_SPEC = Struct("LauncherSpec", {"resources": RESOURCES})
RUN_POLICY = Struct(
    "RunPolicy",
    {"activeDeadlineSeconds": INT32, "backoffLimit": INT32, "ttlSecondsAfterFinished": INT32, "cleanPodPolicy": STR, "suspend": BOOL},
    ("activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished"),
)
SCHEDULING = Struct("Scheduling", {"queue": STR, "priorityClass": STR})
VOLUME = Struct(
    "Volume",
    {
        "name": STR,
        "mountPath": STR,
        "readOnly": BOOL,
        "persistentVolumeClaim": STR,
        "configMap": STR,
        "secret": STR,
        "emptyDir": BOOL,
        "hostPath": STR,
    },
)
TOLERATION = Struct("Toleration", {"key": STR, "operator": STR, "value": STR, "effect": STR})
OBJECT_META = Struct(
    "ObjectMeta",
    {
        "name": STR,
        "generateName": STR,
        "namespace": STR,
        "labels": MapOf(STR),
        "annotations": MapOf(STR),
        "uid": STR,
        "resourceVersion": STR,
        "creationTimestamp": TIME,
        "creator": STR,
    },
)
SPEC = Struct(
    "MPIJobSpec",
    {
        "image": STR,
        "imagePullPolicy": STR,
        "command": ListOf(STR),
        "env": ListOf(ENV_VAR),
        "workingDir": STR,
        "workers": WORKER_SPEC,
        "launcher": LAUNCHER_SPEC,
        "mpiImplementation": STR,
        "runPolicy": RUN_POLICY,
        "scheduling": SCHEDULING,
        "volumes": ListOf(VOLUME),
        "nodeSelector": MapOf(STR),
        "tolerations": ListOf(TOLERATION),
        "imagePullSecrets": ListOf(STR),
    },
)
WORKER_COUNTS = Struct("WorkerCounts", {k: INT32 for k in ("total", "pending", "running", "ready", "succeeded", "failed")})
REPLICA_STATUS = Struct(
    "ReplicaStatus",
    {
        "name": STR,
        "index": INT32,
        "state": STR,
        "ready": BOOL,
        "node": STR,
        "restarts": INT32,
        "exitCode": INT32,
        "reason": STR,
        "message": STR,
        "startTime": TIME,
        "finishTime": TIME,
        "ranks": ListOf(INT32),
        "pod": STR,
    },
    ("exitCode",),
)
TRANSITION = Struct("Transition", {"phase": STR, "reason": STR, "message": STR, "time": TIME})
CONDITION = Struct("Condition", {"type": STR, "status": STR, "reason": STR, "message": STR, "lastTransitionTime": TIME})
TOTALS = Struct("ResourceTotals", {"cpu": STR, "memory": STR, "gpus": INT32, "slots": INT32})
STATUS = Struct(
    "JobStatus",
    {
        "phase": STR,
        "reason": STR,
        "message": STR,
        "startTime": TIME,
        "completionTime": TIME,
        "workers": WORKER_COUNTS,
        "launcher": REPLICA_STATUS,
        "workerStatuses": ListOf(REPLICA_STATUS),
        "firstFailedWorker": INT32,
        "firstFailedRank": INT32,
        "attempts": INT32,
        "history": ListOf(TRANSITION),
        "conditions": ListOf(CONDITION),
        "requested": TOTALS,
        "queuePosition": INT32,
        "exitCode": INT32,
    },
    ("launcher", "firstFailedWorker", "firstFailedRank", "requested", "exitCode"),
)
SCHEMA = Struct("MPIJob", {"apiVersion": STR, "kind": STR, "metadata": OBJECT_META, "spec": SPEC, "status": STATUS})

# (field, type, value, message) as in Go's job.FieldError.
FieldErrorTuple = Tuple[str, str, str, str]


def loads(text: "str | bytes") -> Any:
    """json.loads for job documents (kept for symmetry with the server,
    which reads JSON through a YAML decoder: see :func:`number_text`)."""
    return json.loads(text)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _go_float_text(f: float) -> str:
    """encoding/json's text for a float64 (strconv 'f' or 'e', shortest)."""
    if f != f or f in (float("inf"), float("-inf")):
        return str(f)
    a = abs(f)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        r = repr(f)  # shortest round-trip digits, exponent form
        if "e" not in r:
            r = "%e" % f
        mant, exp = r.split("e")
        if mant.endswith(".0"):
            mant = mant[:-2]
        sign = exp[0] if exp[0] in "+-" else "+"
        digits = exp.lstrip("+-").lstrip("0") or "0"
        if len(digits) < 2:
            digits = "0" + digits
        out = "%se%s%s" % (mant, sign, digits)
        # encoding/json writes e-07 as e-7.
        if len(out) >= 4 and out[-4] == "e" and out[-3] == "-" and out[-2] == "0":
            out = out[:-2] + out[-1]
        return out
    s = format(decimal.Decimal(repr(f)), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def number_text(v: Any) -> str:
    """The text of a number as the server sees it. The server reads
    documents through a YAML decoder that re-encodes numbers: integers
    that fit 64 bits stay as written, everything else becomes a float64
    printed the way Go prints it ("2.0" → "2", "1e3" → "1000")."""
    if isinstance(v, int) and not isinstance(v, bool):
        if -(2**63) <= v <= 2**64 - 1:
            return str(int(v))
        return _go_float_text(float(v))
    return _go_float_text(float(v))


def describe(v: Any) -> str:
    """Go's describe(): how a value is named in a type error."""
    if isinstance(v, dict):
        return "an object"
    if isinstance(v, (list, tuple)):
        return "a list"
    if isinstance(v, str):
        return "the string " + quote(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if _is_number(v):
        return "the number " + number_text(v)
    return str(v)


def render(v: Any) -> str:
    """Go's render(): the offending value as text."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if _is_number(v):
        return number_text(v)
    if isinstance(v, dict):
        return "{...}"
    if isinstance(v, (list, tuple)):
        return "[...]"
    return str(v)


def _type_error(path: str, v: Any, want: str) -> FieldErrorTuple:
    return (path, "Invalid", render(v), "must be %s, got %s" % (want, describe(v)))


def _join(path: str, key: str) -> str:
    return key if path == "" else path + "." + key


def _edit_distance(a: bytes, b: bytes) -> int:
    prev = list(range(len(b) + 1))
    cur = [0] * (len(b) + 1)
    for i in range(1, len(a) + 1):
        cur[0] = i
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
        prev, cur = cur, prev
    return prev[len(b)]


def _go_lower(s: str) -> bytes:
    return s.lower().encode("utf-8", "surrogatepass")


def closest(s: str, candidates: List[str]) -> str:
    """The candidate nearest to s by edit distance, if it is a likely typo."""
    best, best_d = "", 1 << 30
    for c in candidates:
        d = _edit_distance(_go_lower(s), _go_lower(c))
        if d < best_d:
            best, best_d = c, d
    if best_d <= max(2, len(s.encode("utf-8", "surrogatepass")) // 3):
        return best
    return ""


def _unknown_field(path: str, key: str, known: List[str]) -> FieldErrorTuple:
    names = sorted(known, key=_sort_key)
    msg = "unknown field %s" % quote(key)
    s = closest(key, names)
    if s:
        msg += "; did you mean %s?" % quote(s)
    else:
        msg += "; known fields here: " + ", ".join(names)
    return (path, "Unknown", key, msg)


def _sort_key(s: str) -> bytes:
    return s.encode("utf-8", "surrogatepass")


_INT_TEXT = re.compile(r"[+-]?[0-9]+")


def _as_int32(v: Any) -> Any:
    """The int32 a JSON number decodes to on the server, or None."""
    if not _is_number(v):
        return None
    text = number_text(v)
    if _INT_TEXT.fullmatch(text):
        n = int(text)
        if -(2**31) <= n <= 2**31 - 1:
            return n
    return None


def _int32_error(path: str, v: Any) -> "FieldErrorTuple | None":
    if not _is_number(v):
        return _type_error(path, v, "a whole number")
    if _as_int32(v) is not None:
        return None
    text = number_text(v)
    if "e" not in text and "E" not in text and "." in text:
        return (path, "Invalid", text, "must be a whole number, got %s" % text)
    return (path, "Invalid", text, "must be a whole number between -2147483648 and 2147483647, got %s" % text)


def check_shape(doc: Any, t: Any = SCHEMA, path: str = "") -> List[FieldErrorTuple]:
    """Every unknown field and ill-typed value in doc, in Go's order."""
    errs: List[FieldErrorTuple] = []
    _walk(doc, t, path, errs)
    return errs


def _walk(v: Any, t: Any, path: str, errs: List[FieldErrorTuple]) -> None:
    if v is None:  # null is accepted everywhere and means "not set"
        return
    if t == TIME:
        if not isinstance(v, str) or parse_rfc3339(v) is None:
            errs.append(_type_error(path, v, 'an RFC 3339 time such as "2026-01-02T15:04:05Z"'))
        return
    if t == QUANTITY:
        if not (isinstance(v, str) or _is_number(v)):
            errs.append(_type_error(path, v, 'a quantity such as "500m", "2" or "16Gi"'))
        return
    if isinstance(t, Struct):
        if not isinstance(v, dict):
            errs.append(_type_error(path, v, "an object"))
            return
        for k in sorted(v, key=_sort_key):
            if k not in t.fields:
                errs.append(_unknown_field(_join(path, k), k, list(t.fields)))
                continue
            _walk(v[k], t.fields[k], _join(path, k), errs)
    elif isinstance(t, MapOf):
        if not isinstance(v, dict):
            errs.append(_type_error(path, v, "an object of key: value pairs"))
            return
        for k in sorted(v, key=_sort_key):
            _walk(v[k], t.elem, path + "[" + quote(k) + "]", errs)
    elif isinstance(t, ListOf):
        if not isinstance(v, (list, tuple)):
            errs.append(_type_error(path, v, "a list"))
            return
        for i, e in enumerate(v):
            _walk(e, t.elem, "%s[%d]" % (path, i), errs)
    elif t == STR:
        if not isinstance(v, str):
            errs.append(_type_error(path, v, "a string (quote it)"))
    elif t == BOOL:
        if not isinstance(v, bool):
            errs.append(_type_error(path, v, "true or false"))
    elif t == INT32:
        e = _int32_error(path, v)
        if e:
            errs.append(e)


_MISSING = object()


def zero(t: Any) -> Any:
    """The zero value of a schema type, as decoded JSON."""
    if isinstance(t, Struct) or isinstance(t, MapOf):
        return {}
    if isinstance(t, ListOf):
        return []
    if t == BOOL:
        return False
    if t == INT32:
        return 0
    if t == TIME:
        return None
    return ""


def decode(doc: Any, t: Any = SCHEMA) -> Any:
    """What Go's encoding/json keeps of doc when decoding it into the Go
    structs: a well-typed copy in which ill-typed values are dropped (or
    zero in lists, maps and pointer fields), and in which nothing follows a
    value that stops the decoder (a bad quantity or timestamp)."""
    value, _ = _decode(doc, t, False)
    if value is _MISSING:
        return zero(t)
    return value


def _decode(v: Any, t: Any, pointer: bool) -> Tuple[Any, bool]:
    """(value or _MISSING, aborted)."""
    if v is None:
        return _MISSING, False
    if t == TIME:
        if isinstance(v, str) and parse_rfc3339(v) is not None:
            return v, False
        return _MISSING, True  # time.Time.UnmarshalJSON fails: decoding stops
    if t == QUANTITY:
        if isinstance(v, str):
            return v, False
        if _is_number(v):
            return number_text(v), False
        return _MISSING, True  # Quantity.UnmarshalJSON fails: decoding stops
    if isinstance(t, Struct):
        if not isinstance(v, dict):
            return ({} if pointer else _MISSING), False
        out: Dict[str, Any] = {}
        # The server re-encodes documents with sorted keys before decoding,
        # so "what comes after a bad value" is in sorted order.
        for k in sorted(v, key=_sort_key):
            item = v[k]
            ft = t.fields.get(k)
            if ft is None:
                continue
            child, aborted = _decode(item, ft, k in t.pointers)
            if child is not _MISSING:
                out[k] = child
            if aborted:
                return out, True
        return out, False
    if isinstance(t, ListOf):
        if not isinstance(v, (list, tuple)):
            return ([] if pointer else _MISSING), False
        items: List[Any] = []
        for item in v:
            child, aborted = _decode(item, t.elem, False)
            items.append(zero(t.elem) if child is _MISSING else child)
            if aborted:
                return items, True
        return items, False
    if isinstance(t, MapOf):
        if not isinstance(v, dict):
            return ({} if pointer else _MISSING), False
        m: Dict[str, Any] = {}
        for k in sorted(v, key=_sort_key):
            item = v[k]
            child, aborted = _decode(item, t.elem, False)
            if aborted:
                return m, True
            m[k] = zero(t.elem) if child is _MISSING else child
        return m, False
    ok = (
        (t == STR and isinstance(v, str))
        or (t == BOOL and isinstance(v, bool))
    )
    if ok:
        return v, False
    if t == INT32 and _as_int32(v) is not None:
        return _as_int32(v), False
    # encoding/json allocates pointers before it notices the type mismatch.
    return (zero(t) if pointer else _MISSING), False
