"""Ports of the few Go standard-library behaviours the shared validation rules
depend on (strconv.Quote, unicode.IsSpace, path.Clean, RFC 3339 parsing), so
that client-side messages match the server's byte for byte."""

from __future__ import annotations

import datetime as _dt
import unicodedata

__all__ = [
    "quote",
    "trim_space",
    "path_is_abs",
    "path_clean",
    "parse_rfc3339",
    "format_rfc3339",
]

# unicode.White_Space as Go defines it.
_GO_SPACE = frozenset(
    [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000]
    + list(range(0x2000, 0x200B))
)

_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def _go_is_print(ch: str) -> bool:
    if ch == " ":
        return True
    cat = unicodedata.category(ch)
    # Go: letters, marks, numbers, punctuation, symbols (L, M, N, P, S).
    return cat[0] in "LMNPS"


def quote(s: str) -> str:
    """Return s as Go's strconv.Quote (and so fmt's %q) renders it."""
    out = ['"']
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif _go_is_print(ch):
            out.append(ch)
        else:
            cp = ord(ch)
            if cp < 0x80:
                out.append("\\x%02x" % cp)
            elif 0xD800 <= cp <= 0xDFFF:
                # Invalid UTF-8 in Go: rendered as the replacement escape.
                out.append("\\ufffd")
            elif cp <= 0xFFFF:
                out.append("\\u%04x" % cp)
            else:
                out.append("\\U%08x" % cp)
    out.append('"')
    return "".join(out)


def trim_space(s: str) -> str:
    """strings.TrimSpace: trim Unicode white space as Go defines it."""
    start, end = 0, len(s)
    while start < end and ord(s[start]) in _GO_SPACE:
        start += 1
    while end > start and ord(s[end - 1]) in _GO_SPACE:
        end -= 1
    return s[start:end]


def path_is_abs(p: str) -> bool:
    """path.IsAbs: slash-separated paths only."""
    return p.startswith("/")


def path_clean(p: str) -> str:
    """path.Clean: the shortest equivalent slash-separated path."""
    if p == "":
        return "."
    rooted = p.startswith("/")
    parts: list[str] = []
    for part in p.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    out = "/".join(parts)
    if rooted:
        return "/" + out
    return out or "."


def _days_in(month: int, year: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def parse_rfc3339(s: str) -> _dt.datetime | None:
    """Parse an RFC 3339 timestamp the way Go's time.Parse(time.RFC3339Nano)
    does on its strict path; return an aware datetime, or None if invalid.
    Nanoseconds are truncated to microseconds."""
    if not isinstance(s, str) or len(s) < 19:
        return None
    ok = True

    def num(text: str, lo: int, hi: int) -> int:
        nonlocal ok
        if not text or not all("0" <= c <= "9" for c in text):
            ok = False
            return lo
        x = int(text)
        if x < lo or x > hi:
            ok = False
            return lo
        return x

    year = num(s[0:4], 0, 9999)
    month = num(s[5:7], 1, 12)
    day = num(s[8:10], 1, _days_in(month, year))
    hour = num(s[11:13], 0, 23)
    minute = num(s[14:16], 0, 59)
    sec = num(s[17:19], 0, 59)
    if not ok or not (s[4] == "-" and s[7] == "-" and s[10] == "T" and s[13] == ":" and s[16] == ":"):
        return None
    rest = s[19:]
    micro = 0
    if len(rest) >= 2 and rest[0] == "." and rest[1].isdigit() and rest[1].isascii():
        n = 2
        while n < len(rest) and "0" <= rest[n] <= "9":
            n += 1
        frac = rest[1:n]
        micro = int((frac + "000000")[:6])
        rest = rest[n:]
    if rest == "Z":
        tz = _dt.timezone.utc
    else:
        if len(rest) != 6:
            return None
        hh = num(rest[1:3], 0, 23)
        mm = num(rest[4:6], 0, 59)
        if not ok or rest[0] not in "+-" or rest[3] != ":":
            return None
        off = _dt.timedelta(hours=hh, minutes=mm)
        tz = _dt.timezone(-off if rest[0] == "-" else off)
    if year == 0:
        # datetime cannot hold year 0; Go can. Clamp for the model only.
        year = 1
    return _dt.datetime(year, month, day, hour, minute, sec, micro, tzinfo=tz)


def format_rfc3339(t: _dt.datetime) -> str:
    """Format a datetime as RFC 3339 in UTC (naive datetimes are taken as UTC)."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.timezone.utc)
    t = t.astimezone(_dt.timezone.utc)
    if t.microsecond:
        return t.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0") + "Z"
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")
