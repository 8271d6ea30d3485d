"""Notification subscriptions: webhooks the Training Service calls when a
job's state changes (see docs/user/notifications.md).

The clients' ``create_notification``, ``list_notifications``,
``delete_notification`` and ``notification_history`` come from the mixins
below, so the blocking and the asyncio client share one definition of each
request."""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ._model import _Model
from .api import Request

__all__ = [
    "NotificationSubscription",
    "NotificationAttempt",
    "NotificationDeadLetter",
    "NotificationHistory",
    "EVENT_TYPES",
    "verify_signature",
]

#: Event types a subscription may choose (empty = all).
EVENT_TYPES = ("created", "queued", "running", "succeeded", "failed", "preempted", "suspended", "resumed", "deadline_exceeded", "long_pending")

#: The header carrying "sha256=" + the hex HMAC-SHA256 of the body.
SIGNATURE_HEADER = "X-Odh-Signature"


def verify_signature(secret: str, body: bytes, header: str) -> bool:
    """Whether a delivery's ``X-Odh-Signature`` header matches its raw body
    (constant-time): what a receiver checks before trusting a delivery."""
    want = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, header or "")


@dataclass
class NotificationSubscription(_Model):
    """A webhook subscribed to a namespace's job state changes. ``secret``
    is write-only: the server never returns it (``has_secret`` says it is
    set)."""

    name: str = ""
    namespace: str = ""
    url: str = ""
    secret: str = ""
    format: str = ""
    event_types: List[str] = field(default_factory=list)
    job_name: str = ""
    label_selector: str = ""
    creator: str = ""
    create_time: Optional[_dt.datetime] = None
    has_secret: bool = False

    _times = ("create_time",)

    def __repr__(self) -> str:
        # Never print the secret.
        return "NotificationSubscription(name=%r, namespace=%r, url=%r, format=%r, event_types=%r, has_secret=%r)" % (
            self.name, self.namespace, self.url, self.format, self.event_types, self.has_secret or bool(self.secret))


@dataclass
class NotificationAttempt(_Model):
    """One try to deliver one event."""

    event_id: str = ""
    event_type: str = ""
    job: str = ""
    attempt: int = 0
    time: Optional[_dt.datetime] = None
    status_code: int = 0
    error: str = ""
    outcome: str = ""
    duration_ms: int = 0

    _times = ("time",)

    @classmethod
    def from_dict(cls, data: Optional[Mapping[str, Any]]) -> "NotificationAttempt":
        """Build from the API's JSON form (64-bit numbers come as strings)."""
        return _ints(super().from_dict(data), ("duration_ms",))


@dataclass
class NotificationDeadLetter(_Model):
    """An event given up on after its last attempt."""

    event_id: str = ""
    event_type: str = ""
    job: str = ""
    attempts: int = 0
    last_error: str = ""
    time: Optional[_dt.datetime] = None

    _times = ("time",)


@dataclass
class NotificationHistory(_Model):
    """A subscription's recent deliveries, newest first, since the server
    started."""

    attempts: List[NotificationAttempt] = field(default_factory=list)
    dead_letters: List[NotificationDeadLetter] = field(default_factory=list)
    delivered: int = 0
    failed_attempts: int = 0
    dead_lettered: int = 0
    pending: int = 0

    _nested = {"attempts": (NotificationAttempt,), "dead_letters": (NotificationDeadLetter,)}

    @classmethod
    def from_dict(cls, data: Optional[Mapping[str, Any]]) -> "NotificationHistory":
        """Build from the API's JSON form (64-bit numbers come as strings)."""
        h = _ints(super().from_dict(data), ("delivered", "failed_attempts", "dead_lettered"))
        h.attempts = [NotificationAttempt.from_dict(a) if isinstance(a, Mapping) else a for a in h.attempts]
        return h


def _ints(obj: Any, names: Sequence[str]) -> Any:
    for n in names:
        setattr(obj, n, int(getattr(obj, n) or 0))
    return obj


def _create_request(ns: str, name: str, url: str, secret: str, event_types: Optional[Sequence[str]], job_name: str, label_selector: str, format: str) -> Request:
    sub = NotificationSubscription(name=name, namespace=ns, url=url, secret=secret, format=format, event_types=list(event_types or []),
                                   job_name=job_name, label_selector=label_selector)
    return Request.of("CreateNotificationSubscription", {"namespace": ns}, body={"subscription": sub.to_dict()})


def _list_request(ns: str) -> Request:
    return Request.of("ListNotificationSubscriptions", {"namespace": ns})


def _delete_request(ns: str, name: str) -> Request:
    return Request.of("DeleteNotificationSubscription", {"namespace": ns, "name": name})


def _history_request(ns: str, name: str) -> Request:
    return Request.of("GetNotificationHistory", {"namespace": ns, "name": name})


def _items(resp: Dict[str, Any]) -> List[NotificationSubscription]:
    return [NotificationSubscription.from_dict(s) for s in resp.get("items") or []]


class _NotificationsMixin:
    """Notification methods of :class:`MPIJobClient`."""

    def create_notification(self, name: str, url: str, secret: str = "", event_types: Optional[Sequence[str]] = None, job_name: str = "",
                            label_selector: str = "", format: str = "", namespace: Optional[str] = None) -> NotificationSubscription:
        """Subscribe ``url`` to job state changes in a namespace (optionally
        one job, a label selector, some of :data:`EVENT_TYPES`). ``secret``
        (16-256 characters) signs every delivery; ``format`` is
        ``"cloudevents"`` (default) or ``"slack"``. Needs the right to create
        jobs in the namespace."""
        ns = self._ns(namespace)  # type: ignore[attr-defined]
        req = _create_request(ns, name, url, secret, event_types, job_name, label_selector, format)
        return NotificationSubscription.from_dict(self._transport.call(req))  # type: ignore[attr-defined]

    def list_notifications(self, namespace: Optional[str] = None) -> List[NotificationSubscription]:
        """A namespace's notification subscriptions (without secrets)."""
        return _items(self._transport.call(_list_request(self._ns(namespace))))  # type: ignore[attr-defined]

    def delete_notification(self, name: str, namespace: Optional[str] = None) -> NotificationSubscription:
        """Delete a subscription; its pending deliveries stop."""
        return NotificationSubscription.from_dict(self._transport.call(_delete_request(self._ns(namespace), name)))  # type: ignore[attr-defined]

    def notification_history(self, name: str, namespace: Optional[str] = None) -> NotificationHistory:
        """A subscription's recent delivery attempts, dead letters and counters."""
        return NotificationHistory.from_dict(self._transport.call(_history_request(self._ns(namespace), name)))  # type: ignore[attr-defined]


class _AsyncNotificationsMixin:
    """Notification methods of :class:`AsyncMPIJobClient`."""

    async def create_notification(self, name: str, url: str, secret: str = "", event_types: Optional[Sequence[str]] = None, job_name: str = "",
                                  label_selector: str = "", format: str = "", namespace: Optional[str] = None) -> NotificationSubscription:
        """Subscribe ``url`` to job state changes (see the blocking client)."""
        ns = self._ns(namespace)  # type: ignore[attr-defined]
        req = _create_request(ns, name, url, secret, event_types, job_name, label_selector, format)
        return NotificationSubscription.from_dict(await self._transport.call(req))  # type: ignore[attr-defined]

    async def list_notifications(self, namespace: Optional[str] = None) -> List[NotificationSubscription]:
        """A namespace's notification subscriptions (without secrets)."""
        return _items(await self._transport.call(_list_request(self._ns(namespace))))  # type: ignore[attr-defined]

    async def delete_notification(self, name: str, namespace: Optional[str] = None) -> NotificationSubscription:
        """Delete a subscription; its pending deliveries stop."""
        return NotificationSubscription.from_dict(await self._transport.call(_delete_request(self._ns(namespace), name)))  # type: ignore[attr-defined]

    async def notification_history(self, name: str, namespace: Optional[str] = None) -> NotificationHistory:
        """A subscription's recent delivery attempts, dead letters and counters."""
        return NotificationHistory.from_dict(await self._transport.call(_history_request(self._ns(namespace), name)))  # type: ignore[attr-defined]
