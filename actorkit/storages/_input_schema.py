"""Finding an Actor's input schema and checking an input against it, as the platform does.

The rules follow the Apify input schema specification (docs.apify.com, "Actor input schema
specification") and the platform's validator (``@apify/input_schema`` and ``apify run`` in the
Apify CLI). They are written by hand here; actorkit has no JSON Schema dependency.

Where the schema is found (:func:`find_input_schema`), in the order the Apify CLI uses:

1. the ``input`` field of ``.actor/actor.json``: an inline schema object, or a path relative to
   ``.actor/``;
2. ``.actor/INPUT_SCHEMA.json``, ``INPUT_SCHEMA.json``, ``.actor/input_schema.json``,
   ``input_schema.json`` (the first that exists).

What :func:`apply_input_schema` does with an input:

- The input must be a JSON object.
- Defaults: every top-level field that is missing from the input gets its ``default`` (a deep copy).
  A field that is present with the value ``null`` keeps ``null``: the platform and ``apify run``
  merge ``{**defaults, **input}``. ``prefill`` is only shown in the Console UI and is never used.
  Defaults of nested sub-properties are a UI feature too (they fill new items in the editor) and
  are not applied, as ``apify run`` does not apply them.
- Required: a field in ``required`` must be present, unless it has a ``default`` (then it always
  is). A required top-level array must have at least one item (as ``apify run`` enforces).
  Nested ``required`` lists apply only when their object is present.
- ``null`` is accepted only where the field says ``nullable: true``.
- Types: ``string``, ``integer`` (a float with no fraction counts, as in JavaScript), ``number``,
  ``boolean``, ``array``, ``object``, or a list of these (the "any" type).
- Strings: ``enum``, ``minLength``/``maxLength`` (in code points, as the platform counts),
  ``pattern`` (a JavaScript regular expression, searched, not anchored).
- Numbers: ``minimum``/``maximum``.
- Arrays: ``minItems``/``maxItems``, ``uniqueItems`` (JSON equality), ``items`` (a sub-schema for
  every item, e.g. ``items.enum`` for a multi-select), ``editor: requestListSources`` (every item an
  object with a ``url`` or ``requestsFromUrl`` that starts with ``http://`` or ``https://``), and
  the deprecated ``patternKey``/``patternValue`` of the ``keyValue`` and ``stringList`` editors.
- Objects: ``minProperties``/``maxProperties``, ``properties`` with their own ``required`` and
  ``additionalProperties`` (recursively), the deprecated ``patternKey``/``patternValue``, and for
  ``editor: proxy`` the platform's two offline checks (a required proxy needs ``useApifyProxy`` or
  ``proxyUrls``; ``apifyProxyCountry`` needs ``useApifyProxy``).
- ``additionalProperties: false`` at the top or in a sub-schema rejects unknown fields.
- ``isSecret`` fields: a value that is still encrypted (``ENCRYPTED_VALUE:...`` or
  ``ENCRYPTED_JSON:...``, as the platform stores it) is not checked, since only the Actor can
  decrypt it; a plain value is checked like any other. Values of secret fields never appear in
  messages.

Every problem is reported at once, each naming the field path (``input.startUrls[2].url``).

Deliberately left out: checks that need the platform (proxy groups available to the user, country
codes, resource ids) and the ``errorMessage`` customisation (messages here are actorkit's own).
A ``pattern`` that Python's ``re`` cannot compile (e.g. a variable-width lookbehind, valid in
JavaScript) is skipped with a warning on the ``actorkit.input`` logger.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from actorkit._errors import InputError

_log = logging.getLogger('actorkit.input')

TYPES = ('string', 'integer', 'number', 'boolean', 'array', 'object')
"""The field types the input schema specification allows."""

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

_DEFAULT_SCHEMA_PATHS = (
    '.actor/INPUT_SCHEMA.json',
    'INPUT_SCHEMA.json',
    '.actor/input_schema.json',
    'input_schema.json',
)
"""Where the Apify CLI looks for the schema when ``.actor/actor.json`` does not name one."""


# --- finding the schema -------------------------------------------------------------------------


def find_input_schema(actor_dir: Path) -> tuple[dict[str, Any], Path] | None:
    """Find and read the input schema of the Actor in ``actor_dir``.

    Args:
        actor_dir: The Actor's top-level directory (the one holding ``.actor/``).

    Returns:
        ``(schema, path)``, where ``path`` is the file the schema came from (``.actor/actor.json``
        for an inline schema), or ``None`` when the Actor has no input schema.

    Raises:
        InputError: A schema file or ``.actor/actor.json`` is not valid JSON or not an object, or
            ``actor.json`` names a schema file that does not exist.
    """
    actor_json = actor_dir / '.actor' / 'actor.json'
    if actor_json.is_file():
        config = _read_json_object(actor_json, what='.actor/actor.json')
        ref = config.get('input')
        if isinstance(ref, dict):
            return ref, actor_json
        if isinstance(ref, str):
            path = actor_dir / '.actor' / ref
            if not path.is_file():
                raise InputError(
                    f'the input schema file {path} named by the "input" field of {actor_json} '
                    'does not exist: fix the path in actor.json or create the file'
                )
            return _read_json_object(path, what='input schema'), path
        if ref is not None:
            raise InputError(
                f'the "input" field of {actor_json} must be an input schema object or a path to '
                f'a schema file, not {_kind(ref)}: fix the field or remove it'
            )
    for relative in _DEFAULT_SCHEMA_PATHS:
        path = actor_dir / relative
        if path.is_file():
            return _read_json_object(path, what='input schema'), path
    return None


def _read_json_object(path: Path, *, what: str) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode('utf-8-sig')
    except UnicodeDecodeError as exc:
        raise InputError(
            f'{what} {path} is not UTF-8 text (byte {exc.start}): save it as UTF-8 JSON'
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f'{what} {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: '
            f'{exc.msg}): fix the file'
        ) from None
    if not isinstance(data, dict):
        raise InputError(f'{what} {path} must hold a JSON object, not {_kind(data)}: fix the file')
    return data


# --- applying the schema ------------------------------------------------------------------------


def apply_input_schema(value: Any, schema: dict[str, Any], *, schema_path: str) -> dict[str, Any]:
    """Fill in the schema's defaults and check the input as the platform would.

    Args:
        value: The input as read (normally a dict). It is never modified.
        schema: The input schema (as returned by :func:`find_input_schema`).
        schema_path: How to name the schema in messages (e.g. ``.actor/input_schema.json``).

    Returns:
        A new dict: the input's top-level fields plus the defaults of the missing ones. Nested
        values are shared with ``value``; defaults are copies.

    Raises:
        InputError: The schema itself is unusable, or the input breaks it. ``problems`` lists
            every problem at once, each starting with the field path.
    """
    schema_problems = check_input_schema(schema)
    if schema_problems:
        raise _problems_error(
            f'input schema {schema_path} is not valid', 'fix the schema', schema_problems
        )
    if not isinstance(value, dict):
        raise InputError(
            f'input does not match the input schema {schema_path}: the input must be a JSON '
            'object; fix the input',
            [f'input: must be an object, not {_kind(value)}'],
        )
    properties: dict[str, Any] = schema['properties']
    result = dict(value)
    for name, field in properties.items():
        if name not in result and 'default' in field:
            result[name] = copy.deepcopy(field['default'])
    problems: list[str] = []
    _check_object_fields(result, schema, 'input', problems, top_level=True)
    if problems:
        raise _problems_error(
            f'input does not match the input schema {schema_path}', 'fix the input', problems
        )
    return result


def _problems_error(what: str, todo: str, problems: list[str]) -> InputError:
    noun = 'problem' if len(problems) == 1 else 'problems'
    return InputError(f'{what} ({len(problems)} {noun}); {todo}:', problems)


# --- checking the schema ------------------------------------------------------------------------


def check_input_schema(schema: Any) -> list[str]:
    """Return the problems of an input schema (empty when it is usable), each with its path.

    The check is deliberately minimal: the shapes validation relies on (types, keyword values,
    nested ``properties`` and ``items``) and that each ``default`` passes its own field's rules.
    UI-only keywords (``title``, ``editor``, ``prefill`` ...) are not checked.
    """
    if not isinstance(schema, dict):
        return [f'the schema must be an object, not {_kind(schema)}']
    problems: list[str] = []
    if schema.get('type', 'object') != 'object':
        problems.append('type: must be "object"')
    if not isinstance(schema.get('properties'), dict):
        problems.append('properties: must be an object mapping each field name to its definition')
        return problems
    _check_object_keywords(schema, '', problems)
    for name, field in schema['properties'].items():
        _check_field_schema(field, f'properties{_key_path(name)}', problems)
    return problems


def _check_object_keywords(schema: dict[str, Any], where: str, problems: list[str]) -> None:
    required = schema.get('required')
    if required is not None and not (
        isinstance(required, list) and all(isinstance(item, str) for item in required)
    ):
        problems.append(f'{where}required: must be a list of field names')
    additional = schema.get('additionalProperties')
    if additional is not None and not isinstance(additional, bool):
        problems.append(f'{where}additionalProperties: must be true or false')


def _check_field_schema(field: Any, where: str, problems: list[str]) -> None:
    if not isinstance(field, dict):
        problems.append(f'{where}: the field definition must be an object, not {_kind(field)}')
        return
    if 'type' not in field:
        problems.append(f'{where}: has no "type"; use one of: {", ".join(TYPES)}')
        return
    field_type = field['type']
    if isinstance(field_type, list):
        bad = [item for item in field_type if item not in TYPES]
        if not field_type or bad:
            problems.append(
                f'{where}.type: unknown type {_show_types(bad)}; '
                f'use one of: {", ".join(TYPES)}, or a non-empty list of them'
            )
            return
    elif field_type not in TYPES:
        problems.append(
            f'{where}.type: unknown type {json.dumps(field_type)}; use one of: {", ".join(TYPES)}'
        )
        return
    count_before = len(problems)
    problems.extend(
        f'{where}.{keyword}: must be {requirement}'
        for keyword, requirement, fits in _KEYWORD_RULES
        if keyword in field and not fits(field[keyword])
    )
    _check_object_keywords(field, f'{where}.', problems)
    if 'properties' in field:
        if isinstance(field['properties'], dict):
            for name, sub_field in field['properties'].items():
                _check_field_schema(sub_field, f'{where}.properties{_key_path(name)}', problems)
        else:
            problems.append(f'{where}.properties: must be an object of field definitions')
    if 'items' in field:
        _check_field_schema(field['items'], f'{where}.items', problems)
    if len(problems) == count_before and 'default' in field:
        # The platform rejects a schema whose default does not fit its field; checking the
        # whole field (not only the type) reports a bad default here rather than as an input
        # problem the user cannot fix.
        _check_value(field['default'], field, f'{where}.default', problems)


def _show_types(bad: list[Any]) -> str:
    return ', '.join(json.dumps(item) for item in bad) if bad else '[] (empty list)'


# --- checking values ----------------------------------------------------------------------------


def _check_object_fields(
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
        field_path = path + _key_path(name)
        # A required field with a default is always present after defaults are applied.
        is_required = name in required and not (top_level and 'default' in field)
        if name not in value:
            if is_required:
                problems.append(f'{field_path}: is required')
            continue
        _check_value(
            value[name],
            field,
            field_path,
            problems,
            required=is_required,
            top_level=top_level,
            secret=secret,
        )
    problems.extend(
        f'{path}{_key_path(name)}: is required'
        for name in sorted(required - set(properties))
        if name not in value
    )
    if schema.get('additionalProperties') is False:
        problems.extend(
            f'{path}{_key_path(name)}: is not allowed (the schema defines no such field)'
            for name in value
            if name not in properties
        )


def _check_value(
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
            _check_value(item, items, f'{path}[{index}]', problems, secret=secret)
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
    _check_object_fields(value, field, path, problems, secret=secret)
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
            item_path = path + _key_path(key)
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


def _kind(value: Any) -> str:
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


def _is_integer(value: Any) -> bool:
    return _json_type(value) == 'integer'


def _is_number(value: Any) -> bool:
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


def _key_path(name: str) -> str:
    """Return how a field name extends a path: ``.name``, or ``["odd name"]``."""
    return f'.{name}' if _IDENTIFIER.match(name) else f'[{json.dumps(name)}]'


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + '...'


_KEYWORD_RULES: tuple[tuple[str, str, Callable[[Any], bool]], ...] = (
    *(
        (keyword, 'a non-negative integer', lambda v: _is_integer(v) and v >= 0)
        for keyword in (
            'minLength',
            'maxLength',
            'minItems',
            'maxItems',
            'minProperties',
            'maxProperties',
        )
    ),
    ('minimum', 'a number', _is_number),
    ('maximum', 'a number', _is_number),
    *(
        (keyword, 'true or false', lambda v: isinstance(v, bool))
        for keyword in ('nullable', 'uniqueItems', 'isSecret')
    ),
    *(
        (keyword, 'a regular expression string', lambda v: isinstance(v, str))
        for keyword in ('pattern', 'patternKey', 'patternValue')
    ),
    ('enum', 'a list of the allowed values', lambda v: isinstance(v, list)),
)
"""What each constraint keyword of a field definition must hold: (keyword, what, check)."""


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
