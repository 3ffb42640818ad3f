"""TOML tables -> frozen dataclasses: a generic, checked builder.

``build(cls, raw, where)`` makes dataclass ``cls`` from a parsed TOML table, refusing unknown,
missing and mistyped keys with one ``UserError`` line that names ``where`` (``file: a.b``) and the
fix. Field types come from the annotations (float, int, bool, str, tuples, dicts of them, nested
dataclasses, unions); ``field_meta`` adds a minimum, the allowed choices and a description. Keys
ending ``_s`` are durations of at most ``MAX_DURATION_S``.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any

from garden.core.errors import UserError

MAX_DURATION_S = 3600.0
"""Longest duration of any ``*_s`` key (seconds)."""


def field_meta(minimum: float | None = None, choices: tuple | None = None, doc: str = "") -> dict[str, Any]:
    """``dataclasses.field(metadata=...)`` of a field: its minimum, its allowed values, its description."""
    return {"min": minimum, "choices": choices, "doc": doc}


def _type_name(typ: Any) -> str:
    return {float: "a number", int: "an integer", bool: "true or false", str: "text"}.get(typ, str(typ))


def _coerce(value: Any, typ: Any, where: str, meta: dict[str, Any]) -> Any:
    """Check ``value`` against the annotated type ``typ``; UserError naming ``where`` otherwise."""
    origin, args = typing.get_origin(typ), typing.get_args(typ)
    if origin in (typing.Union, types.UnionType):
        for option in args:
            try:
                return _coerce(value, option, where, meta)
            except UserError:
                continue
        raise UserError(f"{where}: {value!r} is invalid; expected {meta.get('doc') or args}")
    if origin is tuple and args[-1] is Ellipsis:
        if not isinstance(value, list):
            raise UserError(f"{where}: expected a list, got {value!r}")
        return tuple(_coerce(v, args[0], f"{where}[{i}]", {}) for i, v in enumerate(value))
    if origin is tuple:
        if not isinstance(value, list) or len(value) != len(args):
            raise UserError(f"{where}: {value!r} is invalid; expected a list of {len(args)} values")
        return tuple(_coerce(v, a, f"{where}[{i}]", {}) for i, (v, a) in enumerate(zip(value, args)))
    if origin is dict:
        if not isinstance(value, dict):
            raise UserError(f"{where}: expected a table ([...] section), got {value!r}")
        return {str(k): _coerce(v, args[1], _key(where, k), {}) for k, v in value.items()}
    if dataclasses.is_dataclass(typ):
        return build(typ, value, where)
    ok = {float: isinstance(value, (int, float)) and not isinstance(value, bool),
          int: isinstance(value, int) and not isinstance(value, bool),
          bool: isinstance(value, bool), str: isinstance(value, str)}[typ]
    if not ok:
        raise UserError(f"{where}: {value!r} is invalid; expected {_type_name(typ)}")
    if typ is float and not math.isfinite(value):
        raise UserError(f"{where}: {value!r} is invalid; expected a finite number")
    if typ is float and where.endswith("_s") and value > MAX_DURATION_S:
        raise UserError(f"{where}: {value!r} s is too long; use at most {MAX_DURATION_S:g} s")
    if typ is int and abs(value) > 2**31:
        raise UserError(f"{where}: {value!r} is too large; use a value below {2**31}")
    if meta.get("min") is not None and value < meta["min"]:
        raise UserError(f"{where}: {value!r} is too small; use a value >= {meta['min']}")
    if meta.get("choices") and value not in meta["choices"]:
        raise UserError(f"{where}: {value!r} is invalid; use one of {list(meta['choices'])}")
    return float(value) if typ is float else value


def _key(where: str, name: str) -> str:
    """``file: a.b`` style location of a key (``where`` of the top level ends with ':')."""
    return f"{where} {name}" if where.endswith(":") else f"{where}.{name}"


def build(cls: type, raw: Any, where: str) -> Any:
    """Build dataclass ``cls`` from a TOML table, checking unknown, missing and mistyped keys."""
    if not isinstance(raw, dict):
        raise UserError(f"{where}: expected a table of keys, got {raw!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise UserError(f"{where}: unknown key(s) {unknown}; valid keys are {sorted(fields)}")
    values = {}
    for name, f in fields.items():
        key = _key(where, name)
        if name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise UserError(f"{key}: missing; add `{name} = ...` ({f.metadata.get('doc') or _type_name(hints[name])})")
            continue
        values[name] = _coerce(raw[name], hints[name], key, dict(f.metadata))
    return cls(**values)
