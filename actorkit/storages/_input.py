"""Reading the Actor input: the input record, the local fallback files, the input schema.

Where the input comes from, first found wins:

1. The record ``input_key`` (normally ``INPUT``) of the default key-value store. The local store
   client also finds the CLI's ``INPUT.json``/``INPUT.txt`` files for that key. The record is parsed
   by its content type: ``application/json`` as JSON, ``text/*`` as text, a record without a
   reliable type (``application/octet-stream``) as JSON if it parses and as bytes otherwise, any
   other type as bytes. ``application/x-none`` (how the official SDK stores ``None``) is ``None``.
2. Off the platform only (``fallback_dir`` given), when the store has no such record:
   ``<input_key>.json`` or ``<input_key>`` in ``fallback_dir`` (the working directory), as the
   official SDK reads them: the ``.json`` file must be JSON; the bare file is JSON if it parses and
   bytes otherwise. Both files at once is an error, since which one is meant is unclear.

Then, when ``validate`` is on and the Actor in ``actor_dir`` has an input schema, the schema's
defaults are filled in and the input is checked (see :mod:`actorkit.storages._input_schema`).

No input at all gives ``None``; but with a schema and ``validate`` on, the Actor gets ``{}`` with
the defaults filled in and checked, because that is what the platform starts an Actor with when it
is given no input (and ``apify run`` writes the defaults as the input). A required field without a
default then fails with a message that says where the input was looked for.

``apify run`` passes input given on its command line under the key ``__CLI_INPUT``, and points
``ACTOR_INPUT_KEY`` at it; this module reads whatever ``input_key`` names and knows nothing more.
Secret fields are read as stored (encrypted); decrypting them is the caller's job, and the schema
check skips values that are still encrypted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from actorkit._errors import InputError
from actorkit.storages._backend import KeyValueStoreClient
from actorkit.storages._serialization import MISSING, charset_of

_SCHEMA_PLACES = ('.actor', 'INPUT_SCHEMA.json', 'input_schema.json')
"""Where an input schema may be; the schema module is imported only if one of these exists."""


def load_input(
    client: KeyValueStoreClient,
    *,
    input_key: str,
    store_location: str,
    fallback_dir: Path | None,
    actor_dir: Path | None,
    validate: bool,
) -> Any:
    """Read the Actor input and, if asked, apply the Actor's input schema to it.

    Args:
        client: The default key-value store.
        input_key: The key of the input record (``ACTOR_INPUT_KEY``, normally ``INPUT``).
        store_location: How to name the store in messages, e.g.
            ``storage/key_value_stores/default``.
        fallback_dir: Where to look for ``<input_key>.json``/``<input_key>`` files when the store
            has no input record (the working directory); ``None`` on the platform.
        actor_dir: The Actor's directory, where its input schema is looked for; ``None`` to skip
            the schema.
        validate: Whether to apply the input schema (defaults and checks).

    Returns:
        The input: normally a dict; a str, bytes or other JSON value for such records; ``None``
        when there is no input and no schema to give defaults.

    Raises:
        InputError: The input record or a fallback file is malformed, both fallback files exist,
            the input schema is unusable, or the input does not match it.
    """
    value = _read_record(client, input_key, store_location)
    where = f'record {input_key!r} in {store_location}'
    if value is MISSING and fallback_dir is not None:
        value = _read_fallback(fallback_dir, input_key)
        where += f', nor {input_key}.json or {input_key} in {fallback_dir}'
    if (
        not validate
        or actor_dir is None
        or not any((actor_dir / place).exists() for place in _SCHEMA_PLACES)
    ):
        return None if value is MISSING else value
    from actorkit.storages._input_schema import (  # noqa: PLC0415 (only when a schema may exist)
        apply_input_schema,
        check_input_schema,
        find_input_schema,
    )

    found = find_input_schema(actor_dir)
    if found is None:
        return None if value is MISSING else value
    schema, schema_file = found
    schema_path = str(schema_file)
    if schema_file.name == 'actor.json':
        schema_path += ' (its "input" field)'
    if value is not MISSING or check_input_schema(schema):
        # (A broken schema is reported by apply_input_schema, whatever the input.)
        return apply_input_schema(
            {} if value is MISSING else value, schema, schema_path=schema_path
        )
    try:
        return apply_input_schema({}, schema, schema_path=schema_path)
    except InputError as exc:
        raise InputError(
            f'no input was found (no {where}) and the defaults of the input schema {schema_path} '
            'do not make a valid input; create the input with these fields:',
            exc.problems,
        ) from None


def _read_record(client: KeyValueStoreClient, key: str, store_location: str) -> Any:
    record = client.get_record(key)
    if record is None:
        return MISSING
    body, content_type = record
    mime = content_type.split(';', 1)[0].strip().lower()
    name = f'input record {key!r} in {store_location}'
    if 'application/json' in mime:
        return _parse_json(body, name=name, todo='fix the record or delete it')
    if mime.startswith('text/'):
        return _decode_text(body, content_type)
    if mime == 'application/x-none':
        return None
    if mime in ('', 'application/octet-stream'):
        return _parse_json_or_bytes(body)
    return body


def _read_fallback(directory: Path, key: str) -> Any:
    json_file = directory / f'{key}.json'
    bare_file = directory / key
    found = [path for path in (json_file, bare_file) if path.is_file()]
    if len(found) > 1:
        raise InputError(
            f'found both {json_file} and {bare_file} as the Actor input; it is unclear which one '
            'is meant: keep only one of them'
        )
    if not found:
        return MISSING
    body = found[0].read_bytes()
    if found[0] == json_file:
        return _parse_json(body, name=str(json_file), todo='fix the file or delete it')
    return _parse_json_or_bytes(body)


def _parse_json(body: bytes, *, name: str, todo: str) -> Any:
    try:
        text = body.decode('utf-8-sig')
    except UnicodeDecodeError as exc:
        raise InputError(
            f'{name} is not valid JSON (byte {exc.start} is not UTF-8): {todo}'
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f'{name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}): {todo}'
        ) from None
    except RecursionError:
        raise InputError(f'{name} is JSON nested too deeply for Python to read: {todo}') from None


def _parse_json_or_bytes(body: bytes) -> Any:
    try:
        return json.loads(body.decode('utf-8-sig'))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return body


def _decode_text(body: bytes, content_type: str) -> str:
    try:
        return body.decode(charset_of(content_type), errors='replace')
    except LookupError:  # a charset Python does not know: UTF-8 is the likely truth
        return body.decode('utf-8', errors='replace')
