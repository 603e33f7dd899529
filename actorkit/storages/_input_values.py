"""Checking input values against the field definitions of an input schema.

The value half of :mod:`actorkit.storages._input_schema` (which finds and checks the schema and
applies it): :func:`check_value` checks one value against one field definition and
:func:`check_object_fields` an object against ``properties``/``required``/
``additionalProperties``; each appends a problem per failed rule, naming the field path. The
rules are listed in the docstring of :mod:`actorkit.storages._input_schema`.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from typing import Any

_log = logging.getLogger('actorkit.input')

_ARTICLES = {
    'string': 'a string',
    'integer': 'an integer',
    'number': 'a number',
    'boolean': 'a boolean',
    'array': 'an array',
    'object': 'an object',
    'null': 'null',
    'binary data': 'binary data',
}

_ENCRYPTED_VALUE = re.compile(
    r'^(?:ENCRYPTED_VALUE|ENCRYPTED_JSON):(?:[A-Za-z0-9+/=]*:)?[A-Za-z0-9+/=]*:[A-Za-z0-9+/=]*$'
)
"""An input value the platform encrypted (``isSecret`` fields); checked only after decryption."""

_HTTP_URL = re.compile(r'^https?://', re.IGNORECASE)
"""What the platform checks of a ``requestListSources`` URL."""

_IDENTIFIER = re.compile(r'^[A-Za-z_$][A-Za-z0-9_$]*$')


# --- checking values ----------------------------------------------------------------------------


def check_object_fields(
    value: dict[str, Any],
    schema: dict[str, Any],
    path: str,
    problems: list[str],
    *,
    top_level: bool = False,
    secret: bool = False,
) -> None:
    """Check an object's fields against ``properties``, ``required``, ``additionalProperties``."""
    properties: dict[str, Any] = schema.get('properties') or {}
    required = set(schema.get('required') or ())
    for name, field in properties.items():
        field_path = path + key_path(name)
        # A required field with a default is always present after defaults are applied.
        is_required = name in required and not (top_level and 'default' in field)
        if name not in value:
            if is_required:
                problems.append(f'{field_path}: is required')
            continue
        check_value(
            value[name],
            field,
            field_path,
            problems,
            required=is_required,
            top_level=top_level,
            secret=secret,
        )
    problems.extend(
        f'{path}{key_path(name)}: is required'
        for name in sorted(required - set(properties))
        if name not in value
    )
    if schema.get('additionalProperties') is False:
        problems.extend(
            f'{path}{key_path(name)}: is not allowed (the schema defines no such field)'
            for name in value
            if name not in properties
        )


def check_value(
    value: Any,
    field: dict[str, Any],
    path: str,
    problems: list[str],
    *,
    required: bool = False,
    top_level: bool = False,
    secret: bool = False,
) -> None:
    """Check one value against its field definition, appending problems.

    ``secret`` is true inside an ``isSecret`` field: then no message shows the value.
    """
    if field.get('isSecret') is True:
        if isinstance(value, str) and _ENCRYPTED_VALUE.match(value):
            return
        secret = True
    if value is None:
        if field.get('nullable') is not True:
            problems.append(f'{path}: must be {_expected(field)}, not null')
        return
    kind = _json_type(value)
    if not _type_matches(kind, field['type']):
        problems.append(f'{path}: must be {_expected(field)}, not {_ARTICLES.get(kind, kind)}')
        return
    enum = field.get('enum')
    if isinstance(enum, list) and _canonical(value) not in {_canonical(item) for item in enum}:
        allowed = ', '.join(json.dumps(item) for item in enum)
        shown = '' if secret else f' (is {_short(value)})'
        problems.append(f'{path}: must be one of {allowed}{shown}')
    if kind == 'string':
        _check_string(value, field, path, problems)
    elif kind in ('integer', 'number'):
        _check_number(value, field, path, problems, secret=secret)
    elif kind == 'array':
        _check_array(
            value, field, path, problems, required=required, top_level=top_level, secret=secret
        )
    elif kind == 'object':
        _check_object(value, field, path, problems, required=required, secret=secret)


def _check_string(value: str, field: dict[str, Any], path: str, problems: list[str]) -> None:
    min_length = field.get('minLength')
    max_length = field.get('maxLength')
    if min_length is not None and len(value) < min_length:
        problems.append(f'{path}: must be at least {min_length} characters long (is {len(value)})')
    if max_length is not None and len(value) > max_length:
        problems.append(f'{path}: must be at most {max_length} characters long (is {len(value)})')
    pattern = field.get('pattern')
    if pattern is not None and not _pattern_matches(pattern, value, path):
        problems.append(f'{path}: must match the pattern {json.dumps(pattern)}')


def _check_number(
    value: float, field: dict[str, Any], path: str, problems: list[str], *, secret: bool
) -> None:
    minimum = field.get('minimum')
    maximum = field.get('maximum')
    shown = '' if secret else f' (is {_short(value)})'
    if minimum is not None and value < minimum:
        problems.append(f'{path}: must be at least {minimum}{shown}')
    if maximum is not None and value > maximum:
        problems.append(f'{path}: must be at most {maximum}{shown}')


def _check_array(
    value: list[Any],
    field: dict[str, Any],
    path: str,
    problems: list[str],
    *,
    required: bool,
    top_level: bool,
    secret: bool,
) -> None:
    min_items = field.get('minItems')
    if required and top_level:
        # The platform and `apify run` make a required array non-empty.
        min_items = max(1, min_items or 0)
    max_items = field.get('maxItems')
    if min_items is not None and len(value) < min_items:
        noun = 'item' if min_items == 1 else 'items'
        problems.append(f'{path}: must have at least {min_items} {noun} (has {len(value)})')
    if max_items is not None and len(value) > max_items:
        noun = 'item' if max_items == 1 else 'items'
        problems.append(f'{path}: must have at most {max_items} {noun} (has {len(value)})')
    if field.get('uniqueItems') is True:
        first_seen: dict[Any, int] = {}
        for index, item in enumerate(value):
            key = _canonical(item)
            if key in first_seen:
                problems.append(
                    f'{path}: items must be unique ({path}[{first_seen[key]}] and '
                    f'{path}[{index}] are equal)'
                )
            else:
                first_seen[key] = index
    items = field.get('items')
    if isinstance(items, dict):
        for index, item in enumerate(value):
            check_value(item, items, f'{path}[{index}]', problems, secret=secret)
    editor = field.get('editor')
    if editor == 'requestListSources':
        for index, item in enumerate(value):
            _check_request_source(item, f'{path}[{index}]', problems)
    pattern_key = field.get('patternKey')
    pattern_value = field.get('patternValue')
    if editor == 'keyValue':
        for index, item in enumerate(value):
            entry = item if isinstance(item, dict) else {}
            for name, pattern in (('key', pattern_key), ('value', pattern_value)):
                item_path = f'{path}[{index}].{name}'
                if pattern is not None and not _string_matches(pattern, entry.get(name), item_path):
                    problems.append(f'{item_path}: must be a string matching {json.dumps(pattern)}')
    elif editor == 'stringList' and pattern_value is not None:
        for index, item in enumerate(value):
            item_path = f'{path}[{index}]'
            if not _string_matches(pattern_value, item, item_path):
                problems.append(
                    f'{item_path}: must be a string matching {json.dumps(pattern_value)}'
                )


def _check_request_source(item: Any, path: str, problems: list[str]) -> None:
    # The platform treats an empty string like a missing field here (JavaScript truthiness).
    if not isinstance(item, dict) or not (item.get('url') or item.get('requestsFromUrl')):
        problems.append(f'{path}: must be an object with a "url" or a "requestsFromUrl"')
        return
    for name in ('url', 'requestsFromUrl'):
        url = item.get(name)
        if url and not (isinstance(url, str) and _HTTP_URL.match(url)):
            problems.append(
                f'{path}.{name}: must be a URL starting with http:// or https:// (is {_short(url)})'
            )


def _check_object(
    value: dict[str, Any],
    field: dict[str, Any],
    path: str,
    problems: list[str],
    *,
    required: bool,
    secret: bool,
) -> None:
    min_properties = field.get('minProperties')
    max_properties = field.get('maxProperties')
    if min_properties is not None and len(value) < min_properties:
        problems.append(
            f'{path}: must have at least {min_properties} properties (has {len(value)})'
        )
    if max_properties is not None and len(value) > max_properties:
        problems.append(f'{path}: must have at most {max_properties} properties (has {len(value)})')
    check_object_fields(value, field, path, problems, secret=secret)
    pattern_key = field.get('patternKey')
    if pattern_key is not None:
        problems.extend(
            f'{path}: key {json.dumps(key)} must match the pattern {json.dumps(pattern_key)}'
            for key in value
            if not _pattern_matches(pattern_key, key, path)
        )
    pattern_value = field.get('patternValue')
    if pattern_value is not None:
        for key, item in value.items():
            item_path = path + key_path(key)
            if not _string_matches(pattern_value, item, item_path):
                problems.append(
                    f'{item_path}: must be a string matching {json.dumps(pattern_value)}'
                )
    if field.get('editor') == 'proxy':
        _check_proxy(value, path, problems, required=required)


def _check_proxy(value: dict[str, Any], path: str, problems: list[str], *, required: bool) -> None:
    use_apify_proxy = bool(value.get('useApifyProxy'))
    proxy_urls = value.get('proxyUrls')
    if required and not use_apify_proxy and not (isinstance(proxy_urls, list) and proxy_urls):
        problems.append(
            f'{path}: is required; set "useApifyProxy": true or give a non-empty "proxyUrls"'
        )
    if not use_apify_proxy and value.get('apifyProxyCountry'):
        problems.append(
            f'{path}.apifyProxyCountry: can be set only with "useApifyProxy": true; '
            'set useApifyProxy or remove the country'
        )


# --- helpers ------------------------------------------------------------------------------------


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return 'boolean'
    if isinstance(value, int):
        return 'integer'
    if isinstance(value, float):
        return 'integer' if value.is_integer() else 'number'
    if isinstance(value, str):
        return 'string'
    if isinstance(value, list):
        return 'array'
    if isinstance(value, dict):
        return 'object'
    if value is None:
        return 'null'
    if isinstance(value, (bytes, bytearray)):
        return 'binary data'
    return type(value).__name__


def describe_kind(value: Any) -> str:
    kind = _json_type(value)
    return _ARTICLES.get(kind, kind)


def _type_matches(kind: str, field_type: str | list[str]) -> bool:
    allowed = field_type if isinstance(field_type, list) else [field_type]
    if kind == 'integer':
        return 'integer' in allowed or 'number' in allowed
    return kind in allowed


def _expected(field: dict[str, Any]) -> str:
    field_type = field['type']
    allowed = field_type if isinstance(field_type, list) else [field_type]
    return ' or '.join(_ARTICLES[item] for item in allowed)


def is_integer(value: Any) -> bool:
    return _json_type(value) == 'integer'


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _canonical(value: Any) -> Any:
    """Return a hashable form of a JSON value in which JSON-equal values are equal.

    ``1`` and ``1.0`` are the same JSON number; ``True`` and ``1`` are not the same value.
    """
    if isinstance(value, bool):
        return ('bool', value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return ('array', tuple(_canonical(item) for item in value))
    if isinstance(value, dict):
        return ('object', tuple(sorted((str(k), _canonical(v)) for k, v in value.items())))
    return value


def key_path(name: str) -> str:
    """Return how a field name extends a path: ``.name``, or ``["odd name"]``."""
    return f'.{name}' if _IDENTIFIER.match(name) else f'[{json.dumps(name)}]'


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + '...'


def _string_matches(pattern: str, value: Any, path: str) -> bool:
    return isinstance(value, str) and _pattern_matches(pattern, value, path)


def _pattern_matches(pattern: str, value: str, path: str) -> bool:
    """Search ``value`` for a JavaScript ``pattern``; a pattern Python cannot use always matches."""
    compiled = _compile_js_pattern(pattern)
    if compiled is None:
        _warn_unusable_pattern(pattern, path)
        return True
    return compiled.search(value) is not None


@functools.cache
def _warn_unusable_pattern(pattern: str, path: str) -> None:
    _log.warning(
        "the input schema pattern %s (checked at %s) cannot be compiled by Python's re module; "
        'the value is not checked against it locally (the platform still checks it)',
        json.dumps(pattern),
        path,
    )


# JavaScript `\s` (without the `u` flag) also matches these; Python's ASCII `\s` does not.
_JS_EXTRA_SPACES = '\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff'


@functools.lru_cache(maxsize=256)
def _compile_js_pattern(pattern: str) -> re.Pattern[str] | None:
    r"""Compile a JavaScript regular expression (no flags) into a close Python equivalent.

    Translates what differs in practice: ``$`` means only the end of the text (Python's also
    matches before a final newline), ``\d``/``\w``/``\b`` are ASCII-only, ``\s`` includes
    Unicode spaces, ``(?<name>...)`` is a named group, ``[]`` matches nothing and ``[^]``
    anything. Returns ``None`` when Python cannot compile the result.
    """
    out: list[str] = []
    index = 0
    length = len(pattern)
    in_class = False
    while index < length:
        char = pattern[index]
        if char == '\\' and index + 1 < length:
            escaped = pattern[index + 1]
            if escaped == 's':
                out.append(f'\\s{_JS_EXTRA_SPACES}' if in_class else f'[\\s{_JS_EXTRA_SPACES}]')
            elif escaped == '/':
                out.append('/')
            else:
                out.append(char + escaped)
            index += 2
            continue
        if in_class:
            if char == ']':
                in_class = False
            elif char == '[':
                char = '\\['  # literal in JavaScript, a nested-set warning in Python
            out.append(char)
        elif char == '[':
            if pattern.startswith('[]', index):
                out.append('(?!)')
                index += 2
                continue
            if pattern.startswith('[^]', index):
                out.append('[\\s\\S]')
                index += 3
                continue
            in_class = True
            out.append(char)
            if pattern.startswith('^', index + 1):
                out.append('^')
                index += 1
        elif char == '$':
            out.append('\\Z')
        elif pattern.startswith('(?<', index) and pattern[index + 3 : index + 4] not in ('=', '!'):
            out.append('(?P<')
            index += 3
            continue
        else:
            out.append(char)
        index += 1
    try:
        return re.compile(''.join(out), re.ASCII)
    except (re.error, OverflowError):
        return None
