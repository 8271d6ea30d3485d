"""RFC 3339 timestamps as the API writes them (``2026-01-02T15:04:05.123456789Z``)
and the text of numbers given for Kubernetes quantities."""

from __future__ import annotations

import datetime as _dt
import decimal
import re
from typing import Optional, Union

_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})")


def parse_rfc3339(s: str) -> Optional[_dt.datetime]:
    """An aware datetime, or None when ``s`` is not an RFC 3339 time.
    Digits beyond microseconds are dropped (datetime cannot hold them)."""
    if not isinstance(s, str):
        return None
    m = _RFC3339.fullmatch(s)
    if m is None:
        return None
    year, month, day, hour, minute, sec = (int(x) for x in m.group(1, 2, 3, 4, 5, 6))
    micro = int(((m.group(7) or "") + "000000")[:6])
    zone = m.group(8)
    if zone in ("Z", "z"):
        tz = _dt.timezone.utc
    else:
        off = _dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        tz = _dt.timezone(-off if zone[0] == "-" else off)
    try:
        return _dt.datetime(max(year, 1), month, day, hour, minute, sec, micro, tzinfo=tz)
    except ValueError:
        return None


def format_rfc3339(t: _dt.datetime) -> str:
    """A datetime as RFC 3339 in UTC (naive datetimes are taken as UTC)."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.timezone.utc)
    t = t.astimezone(_dt.timezone.utc)
    if t.microsecond:
        return t.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0") + "Z"
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def quantity_text(v: Union[int, float]) -> str:
    """A number given for a quantity as the text the API wants: 4 → "4",
    1.5 → "1.5", 2.0 → "2", 1e-05 → "0.00001" (no exponent)."""
    if isinstance(v, int):
        return str(v)
    s = format(decimal.Decimal(repr(float(v))), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s
