"""Finding an Actor's input schema and checking an input against it, as the platform does.

The rules follow the Apify input schema specification (docs.apify.com, "Actor input schema
specification") and the platform's validator (``@apify/input_schema`` and ``apify run`` in the
Apify CLI). They are written by hand here; actorkit has no JSON Schema dependency. This module
finds, reads and checks the schema and applies it to an input; the checks of the values
themselves are in :mod:`actorkit.storages._input_values`.

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
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from actorkit._errors import InputError
from actorkit.storages._input_values import (
    check_object_fields,
    check_value,
    describe_kind,
    is_integer,
    is_number,
    key_path,
)

TYPES = ('string', 'integer', 'number', 'boolean', 'array', 'object')
"""The field types the input schema specification allows."""

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
                f'a schema file, not {describe_kind(ref)}: fix the field or remove it'
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
        raise InputError(
            f'{what} {path} must hold a JSON object, not {describe_kind(data)}: fix the file'
        )
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
            [f'input: must be an object, not {describe_kind(value)}'],
        )
    properties: dict[str, Any] = schema['properties']
    result = dict(value)
    for name, field in properties.items():
        if name not in result and 'default' in field:
            result[name] = copy.deepcopy(field['default'])
    problems: list[str] = []
    check_object_fields(result, schema, 'input', problems, top_level=True)
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
        return [f'the schema must be an object, not {describe_kind(schema)}']
    problems: list[str] = []
    if schema.get('type', 'object') != 'object':
        problems.append('type: must be "object"')
    if not isinstance(schema.get('properties'), dict):
        problems.append('properties: must be an object mapping each field name to its definition')
        return problems
    _check_object_keywords(schema, '', problems)
    for name, field in schema['properties'].items():
        _check_field_schema(field, f'properties{key_path(name)}', problems)
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
        problems.append(
            f'{where}: the field definition must be an object, not {describe_kind(field)}'
        )
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
                _check_field_schema(sub_field, f'{where}.properties{key_path(name)}', problems)
        else:
            problems.append(f'{where}.properties: must be an object of field definitions')
    if 'items' in field:
        _check_field_schema(field['items'], f'{where}.items', problems)
    if len(problems) == count_before and 'default' in field:
        # The platform rejects a schema whose default does not fit its field; checking the
        # whole field (not only the type) reports a bad default here rather than as an input
        # problem the user cannot fix.
        check_value(field['default'], field, f'{where}.default', problems)


def _show_types(bad: list[Any]) -> str:
    return ', '.join(json.dumps(item) for item in bad) if bad else '[] (empty list)'


_KEYWORD_RULES: tuple[tuple[str, str, Callable[[Any], bool]], ...] = (
    *(
        (keyword, 'a non-negative integer', lambda v: is_integer(v) and v >= 0)
        for keyword in (
            'minLength',
            'maxLength',
            'minItems',
            'maxItems',
            'minProperties',
            'maxProperties',
        )
    ),
    ('minimum', 'a number', is_number),
    ('maximum', 'a number', is_number),
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
