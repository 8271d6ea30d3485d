"""Kubernetes resource quantities ("500m", "16Gi", "1e3"), parsed exactly as
k8s.io/apimachinery's resource.ParseQuantity does, so that the SDK accepts and
rejects the same values as the server and compares limits with requests the
same way."""

from __future__ import annotations

import decimal
import re

__all__ = ["parse_quantity", "QuantityError"]


class QuantityError(ValueError):
    """The text is not a Kubernetes quantity."""


_CTX = decimal.Context(prec=4000, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[decimal.InvalidOperation])

_DEC_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BIN_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_SUFFIX_CHARS = set("eEinumkKMGTP")
_INT64 = re.compile(r"[+-]?[0-9]+")
_MAX_INT64 = 2**63 - 1
_NANO = decimal.Decimal("1e-9")


def _split(s: str):
    """Port of parseQuantityString: (positive, value, num, denom, suffix)."""
    positive = True
    pos = 0
    end = len(s)
    if pos < end and s[0] in "-+":
        positive = s[0] != "-"
        pos += 1
    # strip leading zeros
    i = pos
    while True:
        if i >= end:
            return positive, "0", "0", "", ""
        if s[i] == "0":
            pos += 1
            i += 1
            continue
        break
    # numerator
    i = pos
    while True:
        if i >= end:
            return positive, s[0:end], s[pos:end], "", ""
        if "0" <= s[i] <= "9":
            i += 1
            continue
        num = s[pos:i]
        pos = i
        break
    if not num:
        num = "0"
    denom = ""
    if pos < end and s[pos] == ".":
        pos += 1
        i = pos
        while True:
            if i >= end:
                return positive, s[0:end], num, s[pos:end], ""
            if "0" <= s[i] <= "9":
                i += 1
                continue
            denom = s[pos:i]
            pos = i
            break
    value = s[0:pos]
    suffix_start = pos
    i = pos
    while True:
        if i >= end:
            return positive, value, num, denom, s[suffix_start:end]
        if s[i] not in _SUFFIX_CHARS:
            pos = i
            break
        i += 1
    if pos < end and s[pos] in "-+":
        pos += 1
    i = pos
    while True:
        if i >= end:
            return positive, value, num, denom, s[suffix_start:end]
        if "0" <= s[i] <= "9":
            i += 1
            continue
        break
    raise QuantityError("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")


def _interpret(suffix: str):
    """(base, exponent, binary) or raise."""
    if suffix in _DEC_SUFFIXES:
        return 10, _DEC_SUFFIXES[suffix], False
    if suffix in _BIN_SUFFIXES:
        return 2, _BIN_SUFFIXES[suffix], True
    if len(suffix) > 1 and suffix[0] in "eE" and _INT64.fullmatch(suffix[1:]):
        exp = int(suffix[1:])
        if -(2**63) <= exp <= _MAX_INT64:
            exp = ((exp + 2**31) % 2**32) - 2**31  # Go's int32() conversion
            return 10, exp, False
    raise QuantityError("unable to parse quantity's suffix")


def parse_quantity(text: str) -> decimal.Decimal:
    """Parse a Kubernetes quantity and return its value as a Decimal.

    Raises QuantityError when ParseQuantity would fail."""
    if not isinstance(text, str):
        raise QuantityError("a quantity must be a string")
    if text == "":
        raise QuantityError("quantities must match the regular expression")
    if text == "0":
        return decimal.Decimal(0)
    positive, value, num, denom, suffix = _split(text)
    base, exponent, binary = _interpret(suffix)
    sign = 1 if positive else -1

    if binary:
        precision = 15 - len(num) - int(exponent * 3 / 10) - 1 if len(denom) == 0 else -1
        scale = 0
    else:
        precision = 18 - (len(num) + len(denom))
        scale = exponent
    if precision >= 0:
        scale -= len(denom)
        if scale >= -9:
            shifted = int(num + denom)
            mantissa = (1 << exponent) if binary else 1
            result = shifted * mantissa
            if result <= _MAX_INT64:
                return (decimal.Decimal(sign * result)).scaleb(scale, _CTX)

    # The slow path (inf.Dec): value must contain at least one digit.
    if not any("0" <= c <= "9" for c in value):
        raise QuantityError("quantities must match the regular expression")
    body = value.lstrip("+-")
    if body.endswith("."):
        body = body[:-1] or "0"
    if body.startswith("."):
        body = "0" + body
    amount = decimal.Decimal(body)
    if base == 10:
        amount = amount.scaleb(exponent, _CTX)
    else:
        amount = _CTX.multiply(amount, decimal.Decimal(1 << exponent))
    if amount != 0:
        # Round up (away from zero) to nano precision, as ParseQuantity does.
        exp = amount.as_tuple().exponent
        if isinstance(exp, int) and exp < -9 and amount.adjusted() < 1000:
            ctx = decimal.Context(prec=amount.adjusted() + 20, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
            amount = amount.quantize(_NANO, rounding=decimal.ROUND_UP, context=ctx)
    if binary and amount > _MAX_INT64:
        amount = decimal.Decimal(_MAX_INT64)
    return amount if positive else -amount
