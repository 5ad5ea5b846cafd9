"""One serialiser for every record mer writes as JSON: a frozen dataclass to a JSON-ready dict and back.

:func:`to_dict` walks dataclasses, mappings, sequences and enums; :func:`from_dict` rebuilds a dataclass from the
field types alone (nested records, ``list[X]``, ``dict[str, X]``, fixed tuples, optional fields, enums), so the
configs of ``config.json``, ``metrics.json`` and ``ladder.json`` round-trip into the objects the pages read
without a hand-written pair per class. Two field options keep the files as mer has always written them:
``metadata=DIGITS6`` rounds a field's floats to 6 decimals, ``metadata=OMIT_NONE`` leaves the key out while the
field is None. Keys a file has and the class has not are ignored (a newer mer may add fields); keys it lacks
take the field's default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import Enum
from functools import cache
from typing import Any, TypeVar, Union

__all__ = ["Record", "to_dict", "from_dict", "DIGITS6", "OMIT_NONE"]

#: Field metadata: the field's floats are written rounded to 6 decimals.
DIGITS6 = {"digits": 6}
#: Field metadata: the field is left out of the dict while it is None.
OMIT_NONE = {"omit_none": True}

_C = TypeVar("_C")
_R = TypeVar("_R", bound="Record")


class Record:
    """A record's ``to_dict`` and ``from_dict`` methods, from the one serialiser (for frozen dataclasses)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of this record (:func:`to_dict`)."""
        return to_dict(self)

    @classmethod
    def from_dict(cls: type[_R], d: dict[str, Any] | None) -> _R:
        """The record of :meth:`to_dict` output, or an older file's subset of it (:func:`from_dict`, strict: a
        number, text or flag of the wrong kind is a TypeError)."""
        return from_dict(cls, d, strict=True)


def to_dict(record: Any) -> dict[str, Any]:
    """A JSON-ready dict of a dataclass instance: nested records become dicts, tuples lists, enums their values.

    Parameters
    ----------
    record : dataclass instance
    """
    out = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if value is None and f.metadata.get("omit_none"):
            continue
        out[f.name] = _plain(value, f.metadata.get("digits"))
    return out


def _plain(value: Any, digits: int | None) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, digits) for v in value]
    if isinstance(value, float) or type(value).__name__.startswith("float"):  # numpy's floats too
        return round(float(value), digits) if digits is not None else float(value)
    if type(value).__name__.startswith(("int", "uint")) and not isinstance(value, bool):
        return int(value)
    return value


def from_dict(cls: type[_C], data: dict[str, Any] | None, *, strict: bool = False) -> _C:
    """Rebuild a dataclass from :func:`to_dict` output (or an older file's subset of it).

    Parameters
    ----------
    cls : dataclass type
    data : dict or None
        None or missing keys: the fields' defaults.
    strict : bool
        Refuse a number, text or flag of the wrong kind (records read from files). Off for the configs, whose own
        checks name every wrong field where they are built.

    Raises
    ------
    TypeError
        A field without a default is missing (the dataclass's own error), or, ``strict``, a value of the wrong kind.
    """
    data = data if isinstance(data, dict) else {}
    hints = _hints(cls)
    kwargs = {f.name: _build(hints[f.name], data[f.name], strict)
              for f in dataclasses.fields(cls) if f.name in data}  # type: ignore[arg-type]
    return cls(**kwargs)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build(hint: Any, value: Any, strict: bool) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _build(next(a for a in args if a is not type(None)), value, strict)
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, strict=strict)
    if origin in (list, tuple) and isinstance(value, (list, tuple)):
        if origin is tuple and args and args[-1] is not Ellipsis:
            return tuple(_build(a, v, strict) for a, v in zip(args, value, strict=True))
        item = args[0] if args else Any
        return (tuple if origin is tuple else list)(_build(item, v, strict) for v in value)
    if origin is dict and isinstance(value, dict):
        item = args[1] if args else Any
        return {k: _build(item, v, strict) for k, v in value.items()}
    if isinstance(hint, type) and issubclass(hint, Enum):
        return value  # the config's own check turns the text into its enum, or names what is wrong
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if strict and hint in (int, str, bool, float) and (not isinstance(value, hint) or hint is int and
                                                        isinstance(value, bool)):
        raise TypeError(f"expected {hint.__name__}, got {value!r}")
    if isinstance(value, list) and hint is not Any:
        return tuple(value)
    return value
