"""Parsing wire values, and the one private cattrs converter of actorkit.

The ``parse_*`` functions read one value each (a bool from ``"yes"``, a datetime from
ISO 8601...); every other module parses through them. The converter built on them turns wire
data (camelCase JSON from the platform, strings from the environment) into snake_case attrs
models. Every hook is strict: a value of the wrong kind raises ``ValueError`` with a short
reason that callers put into their own, more specific messages.

cattrs is a costly import, so it loads only when ``converter`` is first used: the parse
functions are cheap to import (the local storages use :func:`parse_datetime`).
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    import cattrs

_D = TypeVar('_D')
_RAISE: Any = object()

_TRUE = frozenset({'1', 'true', 'yes', 'on'})
_FALSE = frozenset({'0', 'false', 'no', 'off'})


def to_camel_case(name: str) -> str:
    """Return ``name`` in camelCase (``is_cpu_overloaded`` -> ``isCpuOverloaded``)."""
    head, *rest = name.split('_')
    return head + ''.join(part[:1].upper() + part[1:] for part in rest)


def parse_bool(value: object) -> bool:
    """Parse a strict boolean: a bool, or one of 1/0/true/false/yes/no/on/off."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError(f'{value!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off')


def parse_int(value: object) -> int:
    """Parse an integer from an int or a decimal string (bools and floats are refused)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ValueError(f'{value!r} is not a whole number')


def parse_float(value: object) -> float:
    """Parse a float from a number or a numeric string."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise ValueError(f'{value!r} is not a number')


def parse_decimal(value: object) -> Decimal:
    """Parse money as a Decimal, from a string or a number, refusing NaN and infinities."""
    if isinstance(value, bool):
        raise ValueError(f'{value!r} is not a decimal number')
    try:
        result = Decimal(value.strip() if isinstance(value, str) else str(value))
    except (InvalidOperation, TypeError):
        raise ValueError(f'{value!r} is not a decimal number') from None
    if not result.is_finite():
        raise ValueError(f'{value!r} is not a finite decimal number')
    return result


@overload
def parse_datetime(value: object) -> datetime: ...


@overload
def parse_datetime(value: object, default: None) -> datetime | None: ...


@overload
def parse_datetime(value: object, default: datetime) -> datetime: ...


@overload
def parse_datetime(value: object, default: _D) -> datetime | _D: ...


def parse_datetime(value: object, default: Any = _RAISE) -> Any:
    """Parse a datetime as the platform (ISO 8601, ``Z``) or the official SDK (space) writes it.

    A datetime passes through. Naive values are taken as UTC; the result is timezone-aware and
    in UTC.

    Args:
        value: A str or a datetime.
        default: What to return when ``value`` is not a datetime; without it, that raises.

    Raises:
        ValueError: ``value`` is not a datetime and no ``default`` is given.
    """
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(('Z', 'z')):
            text = text[:-1] + '+00:00'
        try:
            result = datetime.fromisoformat(text)
        except ValueError:
            if default is not _RAISE:
                return default
            raise ValueError(f'{value!r} is not an ISO 8601 datetime') from None
    else:
        if default is not _RAISE:
            return default
        raise ValueError(f'{value!r} is not an ISO 8601 datetime')
    if result.tzinfo is None:
        return result.replace(tzinfo=timezone.utc)
    return result.astimezone(timezone.utc)


def parse_seconds(value: object) -> timedelta:
    """Parse a duration given in seconds."""
    return timedelta(seconds=parse_float(value))


def parse_json_object(value: object) -> dict[str, Any]:
    """Parse a JSON object from a string (or pass a dict through)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f'the value is not valid JSON ({exc})') from None
    if not isinstance(value, dict):
        raise ValueError('the value is not a JSON object')
    return value


def parse_str_tuple(value: object) -> tuple[str, ...]:
    """Parse a comma-separated list (blank entries dropped)."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(',') if part.strip())
    if isinstance(value, (list, tuple)) and all(isinstance(part, str) for part in value):
        return tuple(value)
    raise ValueError(f'{value!r} is not a comma-separated list')


def _build_converter() -> cattrs.Converter:
    import cattrs  # noqa: PLC0415 (costly: loads on first use)

    conv = cattrs.Converter(forbid_extra_keys=False)
    conv.register_structure_hook(bool, lambda value, _: parse_bool(value))
    conv.register_structure_hook(int, lambda value, _: parse_int(value))
    conv.register_structure_hook(float, lambda value, _: parse_float(value))
    conv.register_structure_hook(Decimal, lambda value, _: parse_decimal(value))
    conv.register_structure_hook(datetime, lambda value, _: parse_datetime(value))
    conv.register_structure_hook(timedelta, lambda value, _: parse_seconds(value))
    conv.register_structure_hook_func(
        lambda cls: cls == tuple[str, ...], lambda value, _: parse_str_tuple(value)
    )
    conv.register_structure_hook_func(
        lambda cls: cls == dict[str, Any], lambda value, _: parse_json_object(value)
    )
    conv.register_structure_hook_func(
        lambda cls: cls == dict[str, int],
        lambda value, _: {str(k): parse_int(v) for k, v in parse_json_object(value).items()},
    )
    conv.register_structure_hook(str, _structure_str)
    return conv


def _structure_str(value: object, _: object) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(f'{value!r} is not a string')


_converter: cattrs.Converter | None = None
_converter_lock = threading.Lock()


def get_converter() -> cattrs.Converter:
    """Return the converter every actorkit model goes through (built on first use)."""
    global _converter
    with _converter_lock:
        if _converter is None:
            _converter = _build_converter()
        return _converter


def __getattr__(name: str) -> Any:
    # ``from actorkit._convert import converter`` builds the converter on first use.
    if name == 'converter':
        return get_converter()
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def register_camel_case(converter_: cattrs.Converter, cls: type[Any]) -> None:
    """Make ``cls`` structure from camelCase keys (as the platform sends them)."""
    import attrs  # noqa: PLC0415 (already imported by cattrs; kept local for clarity)
    from cattrs.gen import make_dict_structure_fn, override  # noqa: PLC0415

    overrides = {
        field.name: override(rename=to_camel_case(field.name)) for field in attrs.fields(cls)
    }
    hook = make_dict_structure_fn(cls, converter_, **overrides)  # type: ignore[arg-type]
    converter_.register_structure_hook(cls, hook)


def structure_camel(data: object, cls: type[Any]) -> Any:
    """Structure camelCase wire data into the attrs model ``cls``."""
    conv = get_converter()
    with _camel_lock:
        if cls not in _camel_registered:
            register_camel_case(conv, cls)
            _camel_registered.add(cls)
    return conv.structure(data, cls)


_camel_registered: set[type[Any]] = set()
_camel_lock = threading.Lock()
