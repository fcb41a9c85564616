"""The field machinery of every config section: documented fields, typed parsing, checks.

A section is a frozen dataclass whose fields are made with `documented(default, doc)`;
sections nest (a field whose value is itself a section, e.g. `net.goal`). Keys are dotted
paths (`net.goal.fusion`). `ConfigError`, `documented` and `describe` are defined once, in
`jaxcraft.ppo.config` (the PPO section uses them and `jaxcraft.ppo` must stay importable
alone), and re-exported here.
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Iterable

# One definition of the error type and the field helpers, in jaxcraft.ppo (which must stay
# importable alone and so cannot import this module); re-exported here for every other section.
from jaxcraft.ppo.config import ConfigError, describe, documented  # noqa: F401  (re-exported)


def field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_section(typ: Any) -> bool:
    return isinstance(typ, type) and dataclasses.is_dataclass(typ)


def leaf_keys(cls: type, prefix: str = "") -> dict[str, str]:
    """{"a.b.c": doc} for every leaf field below section class `cls` (nested sections recursed)."""
    out = {}
    hints = field_types(cls)
    for f in dataclasses.fields(cls):
        if _is_section(hints[f.name]):
            out.update(leaf_keys(hints[f.name], f"{prefix}{f.name}."))
        else:
            out[f"{prefix}{f.name}"] = f.metadata.get("doc", "")
    return out


def get_path(obj: Any, key: str) -> Any:
    for part in key.split("."):
        obj = getattr(obj, part)
    return obj


def replace_path(obj: Any, key: str, value: Any) -> Any:
    """A copy of the (frozen) section tree `obj` with the dotted field `key` set to `value`."""
    head, _, rest = key.partition(".")
    if not rest:
        return dataclasses.replace(obj, **{head: value})
    return dataclasses.replace(obj, **{head: replace_path(getattr(obj, head), rest, value)})


def type_at(cls: type, key: str) -> Any:
    head, _, rest = key.partition(".")
    typ = field_types(cls)[head]
    return type_at(typ, rest) if rest else typ


def parse_value(text: str, typ: Any, key: str) -> Any:
    """Parse `text` as a value of the annotated type `typ` (bool, int, float, str, Optional, tuple)."""
    origin, args = typing.get_origin(typ), typing.get_args(typ)
    if origin in (typing.Union, types.UnionType):
        if text.strip().lower() in ("none", "null") and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return parse_value(text, inner[0], key)
    if typ is bool:
        low = text.strip().lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise ConfigError(f"{key}: expected a bool (true/false), got {text!r}")
    if typ is int:
        try:
            return int(text.replace("_", ""))
        except ValueError:
            try:
                f = float(text)
            except ValueError:
                f = None
            if f is not None and f.is_integer():
                return int(f)
            raise ConfigError(f"{key}: expected an int, got {text!r}") from None
    if typ is float:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"{key}: expected a float, got {text!r}") from None
    if typ is str:
        return text
    if origin is tuple:
        parts = [p for p in text.strip("()[] ").split(",") if p.strip()]
        elem = args[0] if args else str
        return tuple(parse_value(p.strip(), elem, key) for p in parts)
    raise ConfigError(f"{key}: cannot parse values of type {typ}")


def check_types(obj: Any, prefix: str = "") -> None:
    """Every field of the section tree `obj` holds a value of its annotated type; floats are finite."""
    hints = field_types(type(obj))
    for f in dataclasses.fields(obj):
        typ, v, key = hints[f.name], getattr(obj, f.name), f"{prefix}{f.name}"
        if dataclasses.is_dataclass(v):
            check_types(v, key + ".")
            continue
        optional = typing.get_origin(typ) in (typing.Union, types.UnionType)
        base = [a for a in typing.get_args(typ) if a is not type(None)] if optional else [typ]
        if v is None and optional:
            continue
        t = typing.get_origin(base[0]) or base[0]
        ok = isinstance(v, t) and not (t is int and isinstance(v, bool))
        if t is float and isinstance(v, int) and not isinstance(v, bool):
            ok = True
        if not ok:
            raise ConfigError(f"{key}={v!r} should be of type {getattr(t, '__name__', t)}")
        values = v if isinstance(v, tuple) else (v,)
        if any(isinstance(x, float) and not math.isfinite(x) for x in values):
            raise ConfigError(f"{key}={v!r} must be a finite number")


def check_all(section: str, obj: Any, checks: Iterable[tuple[str, bool, str]]) -> None:
    """Raise ConfigError for the first (field, ok, why) whose `ok` is False."""
    for name, ok, why in checks:
        if not ok:
            raise ConfigError(f"{section}.{name}={get_path(obj, name)!r} {why}")
