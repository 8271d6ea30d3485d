"""Resuming dropped streams without duplicates or gaps — the bookkeeping
the blocking and the asyncio clients share (no I/O here).

*Watches.* The server's watch resends the current jobs when it is opened
(``sendInitialEvents``), each with its ``metadata.resourceVersion``; the
engines hand out resource versions from one increasing counter (the local
engine's high-water mark survives restarts; on a cluster they are etcd's).
So after a drop the reopened watch is compared with what was seen: a job
with a newer version changed during the gap (MODIFIED), one never seen was
created (ADDED), one seen but no longer listed was deleted (DELETED), and
everything else is a duplicate and is dropped.

*Logs.* Lines carry their source and a nanosecond timestamp. A resumed
follow asks for lines since the oldest "last line" among the sources (minus
a margin: a cluster's ``sinceTime`` has whole seconds), then skips, per
source, what is older than that source's last line, and the lines at the
overlap it already delivered.
"""

from __future__ import annotations

import collections
import datetime as _dt
import time
from typing import Any, Counter, Deque, Dict, List, Mapping, Optional, Tuple

from ._time import parse_rfc3339
from .errors import ConnectionError, ServiceUnavailableError, TimeoutError

#: How long a stream may stay down (seconds of failed reconnects) before
#: the client gives up with ConnectionError, unless the caller set a timeout.
DEFAULT_RECONNECT_TIMEOUT = 300.0
#: Lines within this margin of a source's last line are compared one by one.
_LOG_MARGIN = _dt.timedelta(seconds=1)


def _rv_key(rv: str) -> Tuple[int, str]:
    # Decimal strings compare by length then digits, as the server does.
    return (len(rv), rv) if rv.isdigit() else (0, rv)


def newer(rv: str, than: Optional[str]) -> bool:
    """Whether resource version ``rv`` is after ``than`` (unknown = yes)."""
    if not than or not rv or not (rv.isdigit() and than.isdigit()):
        return rv != than or not rv
    return _rv_key(rv) > _rv_key(than)


def _key(job: Mapping[str, Any]) -> Tuple[str, str]:
    meta = job.get("metadata") or {}
    return (str(meta.get("namespace", "")), str(meta.get("name", "")))


def _rv(job: Mapping[str, Any]) -> str:
    return str((job.get("metadata") or {}).get("resourceVersion", "") or "")


class WatchTracker:
    """What a watch has delivered, and the events to deliver after a reopen.

    Feed it every raw event object of every (re)opened stream; it returns
    the events the caller should see. Streams are always opened with
    initial events; when the caller did not ask for them they are swallowed
    (they only set the baseline)."""

    def __init__(self, want_initial: bool = True) -> None:
        self.want_initial = want_initial
        self.known: Dict[Tuple[str, str], Tuple[str, Dict[str, Any]]] = {}
        self.synced = False  # the first SYNCED was seen
        self._initial = True  # reading the initial events of the current stream
        self._listed: set = set()

    def reopened(self) -> None:
        """A new stream starts (with initial events)."""
        self._initial = True
        self._listed = set()

    def feed(self, obj: Mapping[str, Any]) -> List[Dict[str, Any]]:
        """The events to deliver for one raw event."""
        typ = str(obj.get("type", ""))
        if typ == "SYNCED":
            out: List[Dict[str, Any]] = []
            if self.synced:
                for k in [k for k in self.known if k not in self._listed]:
                    out.append({"type": "DELETED", "job": self.known.pop(k)[1]})
            elif self.want_initial:
                out.append(dict(obj))
            self.synced = True
            self._initial = False
            return out
        job = obj.get("job")
        if not isinstance(job, Mapping):
            return [dict(obj)]
        k, rv = _key(job), _rv(job)
        if self._initial:
            self._listed.add(k)
        seen = self.known.get(k)
        if typ == "DELETED":
            self.known.pop(k, None)
            return [dict(obj)]
        if seen is not None and not newer(rv, seen[0]):
            return []  # a duplicate (or older) state
        self.known[k] = (rv, dict(job))
        if self._initial and not self.synced:
            return [dict(obj)] if self.want_initial else []
        if self._initial:
            return [{"type": "MODIFIED" if seen is not None else "ADDED", "job": dict(job)}]
        return [dict(obj)]


class LogTracker:
    """What a log stream has delivered, to resume it exactly."""

    def __init__(self) -> None:
        self.last: Dict[str, _dt.datetime] = {}
        self.recent: Dict[str, Deque[Tuple[_dt.datetime, Tuple[Any, ...]]]] = {}
        self._skip: Counter[Tuple[Any, ...]] = collections.Counter()
        self.delivered = 0
        self.untimed = False

    @staticmethod
    def _line_key(obj: Mapping[str, Any]) -> Tuple[Any, ...]:
        return (obj.get("source", ""), obj.get("time", ""), obj.get("stream", ""), obj.get("text", ""))

    def since(self) -> Optional[_dt.datetime]:
        """The sinceTime for a reopened stream (None: nothing seen yet)."""
        if not self.last:
            return None
        return min(self.last.values()) - _LOG_MARGIN

    def reopened(self) -> None:
        """A new stream starts: lines at the overlap are skipped once."""
        self._skip = collections.Counter(k for dq in self.recent.values() for _, k in dq)

    def feed(self, obj: Mapping[str, Any]) -> bool:
        """Whether to deliver this line (False: already delivered)."""
        src = str(obj.get("source", ""))
        t = parse_rfc3339(obj.get("time") or "")
        key = self._line_key(obj)
        if t is None:
            self.untimed = True
        else:
            last = self.last.get(src)
            if last is not None and t < last - _LOG_MARGIN:
                return False
            if self._skip.get(key):
                self._skip[key] -= 1
                return False
            dq = self.recent.setdefault(src, collections.deque())
            dq.append((t, key))
            if last is None or t > last:
                self.last[src] = t
            newest = self.last[src]
            while dq and dq[0][0] < newest - _LOG_MARGIN:
                dq.popleft()
        self.delivered += 1
        return True


class Reconnect:
    """When to reopen a dropped stream and when to give up: at once after a
    stream that worked for a second or more (an idle timeout cut it), then
    0.1 s doubling to 1 s (so a restarting server is followed again within a
    second of its return), for at most ``max_outage`` seconds of failures in
    a row, or until the caller's deadline."""

    def __init__(self, deadline: Optional[float], max_outage: Optional[float]) -> None:
        self.deadline = deadline
        self.max_outage = DEFAULT_RECONNECT_TIMEOUT if max_outage is None else max_outage
        self.down_since: Optional[float] = None
        self.opened_at: Optional[float] = None
        self.attempt = 0
        self.reconnects = 0

    def connected(self) -> None:
        """A stream was opened (the server answered)."""
        self.opened_at = time.monotonic()

    def transient(self, e: BaseException) -> bool:
        """Whether an error ends only this stream (reopen) or the call."""
        if isinstance(e, TimeoutError):
            return self.deadline is None or time.monotonic() < self.deadline
        return isinstance(e, (ConnectionError, ServiceUnavailableError))

    def wait(self, err: Optional[BaseException]) -> float:
        """Seconds to sleep before reopening; raises when giving up."""
        now = time.monotonic()
        if self.deadline is not None and now >= self.deadline:
            raise TimeoutError("timed out while reconnecting a dropped stream") from err
        if self.opened_at is not None and now - self.opened_at >= 1.0:
            # The last stream worked for a while: this is a new outage.
            self.down_since, self.attempt = None, 0
        self.opened_at = None
        if self.down_since is None:
            self.down_since = now
        elif now - self.down_since > self.max_outage:
            if err is not None:
                raise err
            raise ConnectionError("the stream keeps closing (for %.0fs)" % self.max_outage)
        d = 0.0 if self.attempt == 0 else min(0.1 * (2 ** (self.attempt - 1)), 1.0)
        self.attempt += 1
        self.reconnects += 1
        if self.deadline is not None:
            d = max(0.0, min(d, self.deadline - now))
        return d
