"""The machinery of the API models: dataclasses that turn into the API's
JSON (lowerCamelCase keys, unset fields omitted) and back."""

from __future__ import annotations

import dataclasses
import datetime as _dt
from typing import Any, ClassVar, Dict, Mapping, Optional, Tuple, Type, TypeVar

from ._time import format_rfc3339, parse_rfc3339, quantity_text

T = TypeVar("T", bound="_Model")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


class _Model:
    """Shared to_dict/from_dict machinery for the dataclasses below."""

    # attribute → JSON name, when it is not the lowerCamelCase of the attribute.
    _json_names: ClassVar[Dict[str, str]] = {}
    # attribute → model class (or a 1-tuple (cls,) for a list of them).
    _nested: ClassVar[Dict[str, Any]] = {}
    # attributes holding datetimes (RFC 3339 in JSON).
    _times: ClassVar[Tuple[str, ...]] = ()
    # optional numbers: None means unset, 0 is a real value and is sent.
    _optional: ClassVar[Tuple[str, ...]] = ()
    # attributes that are not part of the JSON form.
    _skip: ClassVar[Tuple[str, ...]] = ()

    @classmethod
    def _json_name(cls, attr: str) -> str:
        return cls._json_names.get(attr) or _camel(attr)

    def to_dict(self) -> Dict[str, Any]:
        """The API's JSON form: lowerCamelCase keys, unset fields omitted."""
        out: Dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if f.name in self._skip:
                continue
            v = getattr(self, f.name)
            enc = _encode(v, f.name in self._optional)
            if enc is not _OMIT:
                out[self._json_name(f.name)] = enc
        return out

    @classmethod
    def from_dict(cls: Type[T], data: Optional[Mapping[str, Any]]) -> T:
        """Build from the API's JSON form (or snake_case keys); unknown keys
        are ignored."""
        if data is None:
            return cls()
        if isinstance(data, cls):
            return data
        if not isinstance(data, Mapping):
            raise TypeError("%s.from_dict needs a dict, got %s" % (cls.__name__, type(data).__name__))
        kwargs: Dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name in cls._skip:
                continue
            j = cls._json_name(f.name)
            if j in data:
                v = data[j]
            elif f.name in data:
                v = data[f.name]
            else:
                continue
            kwargs[f.name] = cls._decode_attr(f.name, v)
        return cls(**kwargs)

    @classmethod
    def _decode_attr(cls, attr: str, v: Any) -> Any:
        if v is None:
            return None
        nested = cls._nested.get(attr)
        if nested is not None:
            if isinstance(nested, tuple):
                return [nested[0].from_dict(x) if isinstance(x, Mapping) else x for x in (v or [])]
            return nested.from_dict(v) if isinstance(v, Mapping) else v
        if attr in cls._times:
            return parse_rfc3339(v) if isinstance(v, str) else v
        return v

    def _coerce(self) -> None:
        """Turn dicts given for nested models into model instances."""
        for attr, nested in self._nested.items():
            v = getattr(self, attr)
            if isinstance(nested, tuple):
                if isinstance(v, (list, tuple)):
                    setattr(self, attr, [nested[0].from_dict(x) if isinstance(x, Mapping) else x for x in v])
            elif isinstance(v, Mapping):
                setattr(self, attr, nested.from_dict(v))


_OMIT = object()


def _encode(v: Any, keep_zero: bool = False) -> Any:
    if v is None:
        return _OMIT
    if isinstance(v, _Model):
        d = v.to_dict()
        return d if d else _OMIT
    if isinstance(v, _dt.datetime):
        return format_rfc3339(v)
    if isinstance(v, bool):
        return v if v else _OMIT
    if isinstance(v, (int, float)):
        return v if (v != 0 or keep_zero) else _OMIT
    if isinstance(v, str):
        return v if v != "" else _OMIT
    if isinstance(v, (list, tuple)):
        if not v:
            return _OMIT
        return [_encode_elem(x) for x in v]
    if isinstance(v, Mapping):
        return dict(v) if v else _OMIT
    return v


def _encode_elem(x: Any) -> Any:
    """List elements keep their value even when empty ("" stays "")."""
    if isinstance(x, _Model):
        return x.to_dict()
    if isinstance(x, _dt.datetime):
        return format_rfc3339(x)
    if isinstance(x, (list, tuple)):
        return [_encode_elem(y) for y in x]
    return x


def _quantity(v: Any) -> Any:
    """Numbers given for quantities are sent as text ("4"), as the API wants."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return quantity_text(v)
    return v
