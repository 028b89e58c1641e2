"""Typed building of frozen dataclass configurations from untrusted mappings (TOML, flags).

``build(cls, mapping, where)`` checks every key against the dataclass's fields and
every value against the field's annotated type, so a typo in a TOML file is an
error that names the key and the file section instead of a silently ignored setting.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

from games.errors import ZeroplayError

T = TypeVar("T")


class ConfigError(ZeroplayError, ValueError):
    """A configuration key or value that is not accepted; the message names it."""


def _accepts(annotation: Any, value: Any) -> tuple[bool, Any]:
    """Whether ``value`` fits ``annotation``; returns (ok, converted value)."""
    origin = typing.get_origin(annotation)
    if annotation is typing.Any:
        return True, value
    if origin in (typing.Union, types.UnionType):
        for arm in typing.get_args(annotation):
            ok, converted = _accepts(arm, value)
            if ok:
                return True, converted
        return False, value
    if origin is typing.Literal:
        return value in typing.get_args(annotation), value
    if annotation is type(None):
        return value is None, value
    if annotation is bool:
        return isinstance(value, bool), value
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return True, float(value)
        return False, value
    if annotation is str:
        return isinstance(value, str), value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            return False, value
        args = typing.get_args(annotation)
        item_type = args[0] if len(args) == 2 and args[1] is Ellipsis else None
        if item_type is None and len(args) != len(value):
            return False, value
        converted = []
        for i, item in enumerate(value):
            ok, c = _accepts(item_type if item_type is not None else args[i], item)
            if not ok:
                return False, value
            converted.append(c)
        return True, tuple(converted)
    if origin is dict or annotation is dict:
        if not isinstance(value, dict):
            return False, value
        key_type, value_type = typing.get_args(annotation) or (typing.Any, typing.Any)
        converted_dict = {}
        for k, v in value.items():
            ok_key, k = _accepts(key_type, k)
            ok_value, v = _accepts(value_type, v)
            if not (ok_key and ok_value):
                return False, value
            converted_dict[k] = v
        return True, converted_dict
    return isinstance(value, annotation), value


def build(cls: type[T], mapping: dict[str, Any], where: str, base: T | None = None) -> T:
    """Make ``cls`` from ``base`` (or its defaults) updated by ``mapping``.

    Raises:
        ConfigError: for an unknown key or a value of the wrong type, naming ``where.key``.
    """
    if not isinstance(mapping, dict):
        raise ConfigError(f"[{where}] must be a table, got {type(mapping).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(mapping) - names)
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(f'{where}.{k}' for k in unknown)}; known: {', '.join(sorted(names))}"
        )
    values: dict[str, Any] = {}
    for key, value in mapping.items():
        ok, converted = _accepts(hints[key], value)
        if not ok:
            _name_bad_entry(hints[key], value, f"{where}.{key}")
            raise ConfigError(f"{where}.{key} = {short_repr(value)} is not a valid {_type_name(hints[key])}")
        values[key] = converted
    try:
        return dataclasses.replace(base, **values) if base is not None else cls(**values)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"[{where}]: {err}") from None


def _name_bad_entry(annotation: Any, value: Any, name: str) -> None:
    """For a table typed ``dict[K, V]``: raise naming the first entry that is not a K = V."""
    if typing.get_origin(annotation) is not dict or not isinstance(value, dict):
        return
    key_type, value_type = typing.get_args(annotation)
    for k, v in value.items():
        if not _accepts(key_type, k)[0]:
            raise ConfigError(f"{name}: key {short_repr(k)} is not a valid {_type_name(key_type)}")
        if not _accepts(value_type, v)[0]:
            raise ConfigError(f"{name}.{k} = {short_repr(v)} is not a valid {_type_name(value_type)}")


def short_repr(value: Any, limit: int = 200) -> str:
    """``repr(value)``, cut to ``limit`` characters (a value from a file can be of any size)."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # e.g. an int with more digits than Python prints
        return f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def to_mapping(config: Any) -> dict[str, Any]:
    """A TOML/JSON-friendly dict of a (nested) frozen dataclass; tuples become lists."""

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, (tuple, list)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return plain(config)


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
