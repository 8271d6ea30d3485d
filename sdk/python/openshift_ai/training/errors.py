"""Exceptions raised by the SDK.

Every error the Training Service returns is turned into one of these, built
from the API's error body (``code``, ``status``, ``reason``, ``message``,
``fieldErrors``, ``quota``, ``hint``). Catch :class:`TrainingError` for all of
them, or a subclass for one kind::

    try:
        client.create_mpijob(spec)
    except ValidationError as e:
        for fe in e.field_errors:
            print(fe.field, fe.message)
"""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

__all__ = [
    "FieldError",
    "QuotaViolation",
    "TrainingError",
    "ValidationError",
    "NotFoundError",
    "ConflictError",
    "AlreadyExistsError",
    "ForbiddenError",
    "QuotaExceededError",
    "AuthenticationError",
    "ServerError",
    "ServiceUnavailableError",
    "TimeoutError",
    "ConnectionError",
    "JobFailedError",
    "error_from_body",
]


@dataclass
class FieldError:
    """One problem with one field of a job, e.g.
    ``FieldError("spec.workers.replicas", "Invalid", "0", "must be at least 1, got 0")``.

    ``field`` is the path in the API's JSON form of the job; ``type`` is
    Required, Invalid, NotSupported, Duplicate, Unknown or Forbidden."""

    field: str = ""
    type: str = ""
    value: str = ""
    message: str = ""

    def to_dict(self) -> Dict[str, str]:
        """The API's JSON form (``value`` omitted when empty, as the server does)."""
        d = {"field": self.field, "type": self.type}
        if self.value:
            d["value"] = self.value
        d["message"] = self.message
        return d

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "FieldError":
        """Build from the API's JSON form."""
        return cls(
            field=str(d.get("field", "")),
            type=str(d.get("type", "")),
            value=str(d.get("value", "")),
            message=str(d.get("message", "")),
        )

    def __str__(self) -> str:
        return "%s: %s" % (self.field, self.message) if self.field else self.message


@dataclass
class QuotaViolation:
    """One resource a job asks more of than its quota or the machine allows."""

    resource: str = ""
    requested: str = ""
    available: str = ""
    limit: str = ""
    source: str = ""

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "QuotaViolation":
        """Build from the API's JSON form."""
        return cls(**{k: str(d.get(k, "")) for k in ("resource", "requested", "available", "limit", "source")})

    def __str__(self) -> str:
        s = "%s: requested %s, available %s" % (self.resource, self.requested, self.available)
        if self.limit:
            s += " (limit %s)" % self.limit
        if self.source:
            s += " [%s]" % self.source
        return s


class TrainingError(Exception):
    """Base class of every error the SDK raises.

    Attributes: ``message`` (what went wrong), ``reason`` (the API's error
    kind, e.g. ``"NotFound"``), ``status_code`` (HTTP status, when it came from
    the server), ``code`` (gRPC code), ``hint`` (what to do next),
    ``field_errors``, ``quota`` and ``body`` (the raw error body)."""

    default_reason = "Internal"

    def __init__(
        self,
        message: str,
        *,
        reason: Optional[str] = None,
        status_code: Optional[int] = None,
        code: Optional[int] = None,
        hint: str = "",
        field_errors: Optional[List[FieldError]] = None,
        quota: Optional[List[QuotaViolation]] = None,
        body: Any = None,
    ) -> None:
        self.message = message
        self.reason = reason or self.default_reason
        self.status_code = status_code
        self.code = code
        self.hint = hint
        self.field_errors: List[FieldError] = list(field_errors or [])
        self.quota: List[QuotaViolation] = list(quota or [])
        self.body = body
        Exception.__init__(self, self._render())

    def _render(self) -> str:
        msg = self.message
        for fe in self.field_errors:
            msg += "\n  * " + str(fe)
        for q in self.quota:
            msg += "\n  * " + str(q)
        if self.hint:
            msg += "\n" + self.hint
        return msg

    def __str__(self) -> str:
        return self._render()

    def __reduce__(self):  # keep exceptions picklable despite keyword-only args
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls, state):
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    Exception.__init__(obj, obj._render())
    return obj


class ValidationError(TrainingError, ValueError):
    """The job (or the request) is invalid. ``field_errors`` lists every
    problem at once, each with its field path, as the server checked them
    (HTTP 422/400; also a dry run through ``validate()``)."""

    default_reason = "Invalid"


class NotFoundError(TrainingError, LookupError):
    """The job (or template, or namespace) does not exist (HTTP 404)."""

    default_reason = "NotFound"


class ConflictError(TrainingError):
    """The request conflicts with the current state (HTTP 409), e.g. the job
    already exists or changed meanwhile."""

    default_reason = "Conflict"


class AlreadyExistsError(ConflictError):
    """A job with this name already exists in the namespace (HTTP 409)."""

    default_reason = "AlreadyExists"


class ForbiddenError(TrainingError, PermissionError):
    """The caller may not do this (HTTP 403)."""

    default_reason = "Forbidden"


class QuotaExceededError(ForbiddenError):
    """The job asks for more than the namespace's quota or the machine's
    capacity allows. ``quota`` lists requested vs available per resource."""

    default_reason = "QuotaExceeded"


class AuthenticationError(TrainingError):
    """No token, or a token the server does not accept (HTTP 401)."""

    default_reason = "Unauthenticated"


class ServerError(TrainingError):
    """The server failed (HTTP 5xx other than 504)."""

    default_reason = "Internal"


class ServiceUnavailableError(ServerError):
    """The server (or what it depends on) is unavailable for now (HTTP 502/503);
    idempotent calls were retried before this was raised."""

    default_reason = "Unavailable"


class TimeoutError(TrainingError, builtins.TimeoutError):
    """An operation did not finish in time: a client-side timeout (waiting
    for a job, reading a response) or the server's 504. Also an instance of
    the builtin :class:`TimeoutError`."""

    default_reason = "Timeout"

    def __init__(self, message: str, **kw: Any) -> None:
        TrainingError.__init__(self, message, **kw)


class ConnectionError(TrainingError, builtins.ConnectionError):
    """The server could not be reached; the message names the address tried.
    Also an instance of the builtin :class:`ConnectionError`."""

    default_reason = "Unavailable"

    def __init__(self, message: str, *, address: str = "", **kw: Any) -> None:
        self.address = address
        TrainingError.__init__(self, message, **kw)


class JobFailedError(TrainingError):
    """Raised by ``wait_for_completion`` when the job ends in phase Failed.
    ``status`` is the job's final status (reason, message, failed worker)."""

    default_reason = "JobFailed"

    def __init__(self, message: str, *, status: Any = None, job: Any = None, **kw: Any) -> None:
        self.status = status
        self.job = job
        TrainingError.__init__(self, message, **kw)


_BY_REASON = {
    "Invalid": ValidationError,
    "BadRequest": ValidationError,
    "NotFound": NotFoundError,
    "AlreadyExists": AlreadyExistsError,
    "Conflict": ConflictError,
    "Forbidden": ForbiddenError,
    "QuotaExceeded": QuotaExceededError,
    "Unauthenticated": AuthenticationError,
    "Unavailable": ServiceUnavailableError,
    "Timeout": TimeoutError,
    "Internal": ServerError,
}

_BY_STATUS = {
    400: ValidationError,
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    502: ServiceUnavailableError,
    503: ServiceUnavailableError,
    504: TimeoutError,
}

# gRPC codes → our reasons, for bodies that carry only a google.rpc.Status.
_BY_GRPC_CODE = {
    1: "Timeout",  # Canceled
    3: "Invalid",
    4: "Timeout",
    5: "NotFound",
    6: "AlreadyExists",
    7: "Forbidden",
    8: "QuotaExceeded",
    9: "BadRequest",
    10: "Conflict",
    11: "BadRequest",
    12: "BadRequest",
    13: "Internal",
    14: "Unavailable",
    16: "Unauthenticated",
}

_STATUS_REASON = {
    400: "BadRequest",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    422: "Invalid",
    502: "Unavailable",
    503: "Unavailable",
    504: "Timeout",
}


def _from_rpc_details(body: Dict[str, Any], fields: List[FieldError], quota: List[QuotaViolation]) -> tuple:
    """Read google.rpc.Status details (stream errors carry them)."""
    reason, hint = None, ""
    for d in body.get("details") or []:
        if not isinstance(d, dict):
            continue
        t = str(d.get("@type", ""))
        if t.endswith("google.rpc.ErrorInfo") and d.get("domain") == "training.opendatahub.io":
            reason = d.get("reason") or reason
            hint = (d.get("metadata") or {}).get("hint", "") or hint
        elif t.endswith("google.rpc.BadRequest"):
            for v in d.get("fieldViolations") or []:
                fields.append(
                    FieldError(
                        field=v.get("field", ""),
                        type=v.get("reason", ""),
                        value=(v.get("localizedMessage") or {}).get("message", ""),
                        message=v.get("description", ""),
                    )
                )
        elif t.endswith("google.rpc.QuotaFailure"):
            for v in d.get("violations") or []:
                dims = v.get("quotaDimensions") or {}
                quota.append(
                    QuotaViolation(
                        resource=v.get("subject", ""),
                        requested=dims.get("requested", ""),
                        available=dims.get("available", ""),
                        limit=v.get("quotaId", ""),
                        source=v.get("quotaMetric", ""),
                    )
                )
    return reason, hint


def error_from_body(body: Any, status_code: Optional[int] = None, url: str = "") -> TrainingError:
    """Build the exception for an error response.

    ``body`` is the parsed JSON error body (a dict), raw bytes/str, or None.
    Understands the API's error body and the google.rpc.Status that
    streaming endpoints send mid-stream (``{"error": {...}}``)."""
    raw = body
    if isinstance(body, (bytes, bytearray)):
        try:
            body = json.loads(body.decode("utf-8", "replace") or "null")
        except ValueError:
            body = None
    elif isinstance(body, str):
        try:
            body = json.loads(body or "null")
        except ValueError:
            body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict) and "message" not in body:
        body = body["error"]
    fields: List[FieldError] = []
    quota: List[QuotaViolation] = []
    reason = None
    hint = ""
    message = ""
    code = None
    if isinstance(body, dict):
        message = str(body.get("message") or "")
        reason = body.get("reason") or None
        hint = str(body.get("hint") or "")
        c = body.get("code")
        code = c if isinstance(c, int) and not isinstance(c, bool) else None
        fields = [FieldError.from_dict(f) for f in body.get("fieldErrors") or [] if isinstance(f, dict)]
        quota = [QuotaViolation.from_dict(q) for q in body.get("quota") or [] if isinstance(q, dict)]
        r2, h2 = _from_rpc_details(body, fields, quota)
        reason = reason or r2
        hint = hint or h2
        if reason is None and code is not None:
            reason = _BY_GRPC_CODE.get(code)
    if reason is None and status_code is not None:
        reason = _STATUS_REASON.get(status_code, "Internal" if status_code >= 500 else "BadRequest")
    reason = reason or "Internal"
    cls = _BY_REASON.get(reason)
    if cls is None:
        cls = _BY_STATUS.get(status_code or 0, ServerError if (status_code or 500) >= 500 else TrainingError)
    if not message:
        if isinstance(raw, (bytes, bytearray)):
            text = raw.decode("utf-8", "replace").strip()
        elif isinstance(raw, str):
            text = raw.strip()
        else:
            text = ""
        message = "HTTP %s%s%s" % (status_code, " from " + url if url else "", ": " + text[:500] if text else "")
    if cls is AuthenticationError and not hint:
        hint = "Set a token: MPIJobClient(token=...), the ODH_TOKEN environment variable, or a context in ~/.config/odh/config.json."
    return cls(
        message,
        reason=reason,
        status_code=status_code,
        code=code,
        hint=hint,
        field_errors=fields,
        quota=quota,
        body=body if body is not None else raw,
    )
