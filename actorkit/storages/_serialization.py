"""Values to stored bytes and back, shared by every storage backend.

- Record keys: checked against the platform's rule.
- Key-value records: a Python value becomes ``(body, content_type)`` and back.
- Dataset items: checked and serialized as the official SDK writes them (``indent=2``,
  non-ASCII kept), with the platform's size limit.
- Dataset reads: the ``fields``/``omit``/``clean``/``skip_empty`` filters.
- Dataset exports: JSON, CSV and JSON Lines bodies.

JSON is written by :func:`pretty_json`, which gives exactly the bytes of
``json.dumps(value, indent=2, ensure_ascii=False)`` several times faster: the standard library
only has a C encoder for compact output.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from itertools import repeat
from json.encoder import encode_basestring
from typing import Any

from actorkit._errors import InvalidStorageArgumentError, StorageError, StorageLimitError

KEY_PATTERN = re.compile(r"[a-zA-Z0-9!\-_.'()]{1,256}")
"""What a record key must fully match on the platform."""

MAX_ITEM_BYTES = 9_437_184
"""The largest dataset item (serialized) the platform accepts: its request body limit."""

JSON_CONTENT_TYPE = 'application/json; charset=utf-8'
TEXT_CONTENT_TYPE = 'text/plain; charset=utf-8'
BINARY_CONTENT_TYPE = 'application/octet-stream'
NONE_CONTENT_TYPE = 'application/x-none'
"""How the official SDK stores a ``None`` value (read as ``None``; actorkit deletes instead)."""

CSV_CONTENT_TYPE = 'text/csv; charset=utf-8'
JSONL_CONTENT_TYPE = 'application/x-ndjson; charset=utf-8'
"""JSON Lines exports. Not ``application/jsonl``: the official SDK parses every type that
contains ``application/json`` as one JSON document and would fail on it."""

EXPORT_CONTENT_TYPES = {
    'json': JSON_CONTENT_TYPE,
    'csv': CSV_CONTENT_TYPE,
    'jsonl': JSONL_CONTENT_TYPE,
}
"""The export formats of :meth:`Dataset.export_to` and the content type of each."""

_KEY_RULE = "1 to 256 characters from a-z, A-Z, 0-9 and !-_.'()"

MISSING: Any = object()
"""A default that tells "no value" apart from a value of ``None``."""

SURROGATES = re.compile('[\ud800-\udfff]')
"""Lone surrogates: characters a str may hold but UTF-8 (hence JSON files) cannot."""


# ----------------------------------------------------------------------------- keys


def check_key(key: object) -> str:
    """Return ``key`` if it is a valid record key (for writes).

    Raises:
        TypeError: ``key`` is not a str.
        InvalidStorageArgumentError: ``key`` breaks the platform's rule.
    """
    if not isinstance(key, str):
        raise TypeError(f'a record key must be a str, not {type(key).__name__} ({key!r})')
    if KEY_PATTERN.fullmatch(key) is None:
        raise InvalidStorageArgumentError(
            f'invalid record key {key!r}: a key is {_KEY_RULE} (the platform rule); '
            f'rename the key, e.g. replace other characters with "-"'
        )
    return key


def check_read_key(key: object) -> str:
    """Return ``key`` if a record may exist under it (for reads and deletes).

    Looser than :func:`check_key`: the official SDK stores any key locally (``a/b c?``), and such
    records must stay readable. A key must still be a non-empty str of at most 256 characters.

    Raises:
        TypeError: ``key`` is not a str.
        InvalidStorageArgumentError: ``key`` is empty, too long or holds a NUL character.
    """
    if not isinstance(key, str):
        raise TypeError(f'a record key must be a str, not {type(key).__name__} ({key!r})')
    if KEY_PATTERN.fullmatch(key) is None and (
        not key or len(key) > 256 or '\0' in key or _unencodable(key)
    ):
        raise InvalidStorageArgumentError(
            f'invalid record key {key!r}: a key is 1 to 256 characters of valid Unicode without '
            f'NUL (and a key written is {_KEY_RULE})'
        )
    return key


def _unencodable(text: str) -> bool:
    try:
        text.encode('utf-8')
    except UnicodeEncodeError:
        return True
    return False


# ----------------------------------------------------------------------------- JSON


MAX_JSON_DEPTH = 500
"""How deeply containers may nest in a stored JSON value.

Python's JSON reader and writer recurse once per level and stop at the interpreter's recursion
limit (about 1,000 frames, fewer in a deep call stack); 500 levels leave room for the caller.
"""


class JsonDepthError(ValueError):
    """A value nests containers deeper than :data:`MAX_JSON_DEPTH` levels."""


class JsonCycleError(ValueError):
    """A value contains itself (a dict or list that is its own descendant)."""


class _Fallback(Exception):  # noqa: N818 (internal signal, not an error)
    """The fast encoder met something only ``json.dumps`` handles (a subclass, a non-str key)."""


class _TooDeep(Exception):  # noqa: N818 (internal signal, not an error)
    """The fast encoder went deeper than :data:`MAX_JSON_DEPTH`."""


_float_repr = float.__repr__
_int_repr = int.__repr__
_INFINITY = float('inf')
_MAX_INDENT = 1 + 2 * MAX_JSON_DEPTH
"""The indent string's length at the deepest allowed level (a newline plus 2 per level)."""


def _encode(value: Any, parts: list[str], indent: str) -> None:
    # Mirrors json.encoder._make_iterencode for indent=2 on the exact builtin types; anything
    # else goes to json.dumps so the output is identical. The depth is the indent's length.
    kind = type(value)
    if kind is str:
        parts.append(encode_basestring(value))
    elif kind is dict:
        if not value:
            parts.append('{}')
            return
        if len(indent) >= _MAX_INDENT:
            raise _TooDeep
        inner = indent + '  '
        separator = '{' + inner
        for key, item in value.items():
            if type(key) is not str:
                raise _Fallback
            parts.append(separator)
            parts.append(encode_basestring(key))
            parts.append(': ')
            _encode(item, parts, inner)
            separator = ',' + inner
        parts.append(indent)
        parts.append('}')
    elif kind is list:
        if not value:
            parts.append('[]')
            return
        if len(indent) >= _MAX_INDENT:
            raise _TooDeep
        inner = indent + '  '
        separator = '[' + inner
        for item in value:
            parts.append(separator)
            _encode(item, parts, inner)
            separator = ',' + inner
        parts.append(indent)
        parts.append(']')
    elif value is None:
        parts.append('null')
    elif value is True:
        parts.append('true')
    elif value is False:
        parts.append('false')
    elif kind is int:
        parts.append(_int_repr(value))
    elif kind is float:
        if math.isnan(value) or value in (_INFINITY, -_INFINITY):
            raise ValueError(f'the float {value!r} has no JSON form')
        parts.append(_float_repr(value))
    else:
        raise _Fallback


def _reject(value: object) -> Any:
    raise TypeError(f'a value of type {type(value).__name__} ({_short_repr(value)}) is not JSON')


def _short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + '...'


def pretty_json(value: Any, *, strict: bool = True) -> str:
    """Serialize like ``json.dumps(value, indent=2, ensure_ascii=False)``, about 3x faster.

    This is actorkit's one writer of indented JSON: records, dataset items, exports and every
    file of the local storages go through it (as bytes, through :func:`dump_json`).

    Args:
        value: The value.
        strict: Refuse what ``json.dumps`` would write but should not be stored (non-str dict
            keys, which it stringifies; NaN and infinities; nesting deeper than
            :data:`MAX_JSON_DEPTH`). Without it the output is exactly ``json.dumps``'s,
            whatever the value.

    Raises:
        TypeError: (strict) A value or dict key has no JSON form; the message names its type.
        JsonDepthError: (strict) Containers nest deeper than :data:`MAX_JSON_DEPTH` levels.
        JsonCycleError: (strict) The value contains itself.
        ValueError: (strict) A float is NaN or infinite.
    """
    parts: list[str] = []
    try:
        _encode(value, parts, '\n')
    except ValueError:  # NaN or an infinity
        if strict:
            raise
        return json.dumps(value, indent=2, ensure_ascii=False)
    except (_Fallback, _TooDeep, RecursionError) as exc:
        if not strict:
            return json.dumps(value, indent=2, ensure_ascii=False)
        if not isinstance(exc, _Fallback):
            raise _depth_error(value) from None
        check_json_tree(value)
        try:
            return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False, default=_reject)
        except RecursionError:  # a deep call stack left json.dumps too little room
            raise _depth_error(value) from None
    return ''.join(parts)


def dump_json(value: Any) -> bytes:
    """Return ``json.dumps(value, indent=2, ensure_ascii=False)`` as UTF-8, exactly and fast.

    How the official SDK writes every file; not strict (see :func:`pretty_json`): for data that
    was checked when it came in, such as metadata and request files.
    """
    return pretty_json(value, strict=False).encode('utf-8')


def _depth_error(value: Any) -> ValueError:
    if _contains_itself(value):
        return JsonCycleError('it contains itself (a circular reference): store a copy without it')
    return JsonDepthError(
        f'it is nested deeper than {MAX_JSON_DEPTH} levels, more than JSON readers can take: '
        'flatten it'
    )


def _children(value: Any) -> Iterator[Any]:
    return iter(value.values()) if isinstance(value, dict) else iter(value)


def _contains_itself(value: Any) -> bool:
    """Whether a dict or list (within :data:`MAX_JSON_DEPTH` levels) is its own descendant.

    Iterative, so it works whatever the depth and the call stack.
    """
    if not isinstance(value, (dict, list, tuple)):
        return False
    path = {id(value)}
    stack = [(value, _children(value))]
    while stack:
        container, children = stack[-1]
        for child in children:
            if isinstance(child, (dict, list, tuple)):
                if id(child) in path:
                    return True
                if len(stack) <= MAX_JSON_DEPTH:
                    path.add(id(child))
                    stack.append((child, _children(child)))
                    break
        else:
            stack.pop()
            path.discard(id(container))
    return False


def check_json_tree(value: Any) -> None:
    """Refuse non-str dict keys, and nesting deeper than :data:`MAX_JSON_DEPTH`, at any depth.

    ``json.dumps`` silently turns a key ``1`` into ``"1"``. Only the slow path of
    :func:`pretty_json` calls this (the fast encoder refuses such keys itself), so the common
    case pays nothing for it. Iterative, so the depth of the call stack does not matter.

    Raises:
        TypeError: A dict key is not a str (the message names its type and value).
        JsonDepthError: Containers nest deeper than :data:`MAX_JSON_DEPTH` levels.
        JsonCycleError: The value contains itself.
    """
    if not isinstance(value, (dict, list, tuple)):
        return
    path = {id(value)}
    stack = [(value, _children(value))]
    _check_keys(value)
    while stack:
        container, children = stack[-1]
        for child in children:
            if isinstance(child, (dict, list, tuple)):
                if id(child) in path:
                    raise JsonCycleError(
                        'it contains itself (a circular reference): store a copy without it'
                    )
                if len(stack) >= MAX_JSON_DEPTH and child:
                    raise _depth_error(value)
                _check_keys(child)
                path.add(id(child))
                stack.append((child, _children(child)))
                break
        else:
            stack.pop()
            path.discard(id(container))


def _check_keys(value: Any) -> None:
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise TypeError(
                    f'a dict key of type {type(key).__name__} ({_short_repr(key)}) is not a str; '
                    'JSON object keys must be strings, so convert the key (e.g. str(key))'
                )


def json_problem(what: str, exc: Exception, todo: str = '') -> InvalidStorageArgumentError:
    """Turn an error of :func:`pretty_json` into the storage error that names ``what``.

    Args:
        what: The thing refused, e.g. ``dataset item 3`` or ``the value for key 'OUTPUT'``.
        exc: The error :func:`pretty_json` raised.
        todo: What else the caller should add to the message (e.g. that nothing was written).
    """
    suffix = f'; {todo}' if todo else ''
    if isinstance(exc, (JsonDepthError, JsonCycleError)):
        return InvalidStorageArgumentError(f'{what} cannot be stored as JSON: {exc}{suffix}')
    return InvalidStorageArgumentError(
        f'{what} cannot be stored as JSON: {exc}; convert such values to '
        f'str/int/float/bool/None/list/dict first{suffix}'
    )


def compact_json(value: Any) -> str:
    """Serialize as compact JSON (no spaces), non-ASCII kept.

    Strict about values like :func:`pretty_json`, but it does not look for non-str dict keys:
    it serves data that was checked when it was written (exports, size checks).
    """
    return json.dumps(
        value, ensure_ascii=False, allow_nan=False, separators=(',', ':'), default=_reject
    )


def check_json(value: Any, what: str, todo: str = '') -> None:
    """Check that ``value`` can be stored as JSON by the rules of items and records.

    Raises:
        InvalidStorageArgumentError: It cannot; the message names ``what`` and the reason.
    """
    try:
        pretty_json(value)
    except (TypeError, ValueError) as exc:
        raise json_problem(what, exc, todo) from exc


# ----------------------------------------------------------------------------- content types


def media_type(content_type: str) -> str:
    """Return the media type of a content type, lowercased, without parameters."""
    return content_type.partition(';')[0].strip().lower()


def is_json_type(content_type: str) -> bool:
    """Whether records of this content type hold one JSON document."""
    mime = media_type(content_type)
    return mime == 'application/json' or mime.endswith('+json')


def is_text_type(content_type: str) -> bool:
    """Whether records of this content type are text (read back as str)."""
    return media_type(content_type).startswith('text/')


def charset_of(content_type: str) -> str:
    """Return the ``charset`` parameter of a content type (``utf-8`` when there is none).

    The name is returned as given, even when Python has no such codec: writers report it, and
    readers that must not fail fall back to UTF-8 on ``LookupError``.
    """
    for param in content_type.split(';')[1:]:
        name, _, value = param.partition('=')
        if name.strip().lower() == 'charset' and value.strip():
            return value.strip().strip('"')
    return 'utf-8'


_EXTENSION_TYPES = {
    '.json': JSON_CONTENT_TYPE,
    '.txt': TEXT_CONTENT_TYPE,
    '.html': 'text/html; charset=utf-8',
    '.htm': 'text/html; charset=utf-8',
    '.csv': CSV_CONTENT_TYPE,
    '.xml': 'application/xml; charset=utf-8',
    '.md': 'text/markdown; charset=utf-8',
    '.jsonl': JSONL_CONTENT_TYPE,
    '.ndjson': JSONL_CONTENT_TYPE,
    '.bin': BINARY_CONTENT_TYPE,
    '.png': 'image/png',
    '.jpg': 'image/jpeg',
    '.jpeg': 'image/jpeg',
    '.gif': 'image/gif',
    '.webp': 'image/webp',
    '.svg': 'image/svg+xml',
    '.pdf': 'application/pdf',
    '.zip': 'application/zip',
}
_mime_db: Any = None


def content_type_for_extension(extension: str) -> str:
    """Return the content type of a file extension (``.json``), as the CLI's files mean it.

    Common extensions come from a fixed table; the rest from Python's built-in ``mimetypes``
    table (not the system's, so the answer is the same on every machine). Text types get
    ``charset=utf-8``; unknown extensions are ``application/octet-stream``.
    """
    extension = extension.lower()
    known = _EXTENSION_TYPES.get(extension)
    if known is not None:
        return known
    global _mime_db
    if _mime_db is None:
        import mimetypes  # noqa: PLC0415 (rarely needed)

        _mime_db = mimetypes.MimeTypes()
    guessed = _mime_db.types_map[True].get(extension)
    if not guessed:
        return BINARY_CONTENT_TYPE
    return f'{guessed}; charset=utf-8' if guessed.startswith('text/') else guessed


def sniff_content_type(body: bytes) -> str:
    """Guess the content type of a record that has no reliable one: JSON if it parses, else binary.

    This is how the official SDK reads an input file without extension.
    """
    try:
        json.loads(body)
    except ValueError:
        return BINARY_CONTENT_TYPE
    return JSON_CONTENT_TYPE


def body_fits_content_type(body: bytes, content_type: str) -> bool:
    """Whether ``body`` can be read as ``content_type`` (valid JSON for JSON, decodable text)."""
    try:
        if is_json_type(content_type):
            json.loads(body)
        elif is_text_type(content_type):
            body.decode(charset_of(content_type))
    except (ValueError, LookupError, RecursionError):
        return False
    return True


# ----------------------------------------------------------------------------- records


def _check_content_type(key: str, content_type: object) -> str:
    if not isinstance(content_type, str):
        raise TypeError(
            f'content_type for key {key!r} must be a str, not {type(content_type).__name__}'
        )
    if not content_type.strip() or any(char in content_type for char in '\r\n\0'):
        raise InvalidStorageArgumentError(
            f'invalid content_type {content_type!r} for key {key!r}: give a media type such as '
            f'"application/json" or "image/png", or leave it out'
        )
    return content_type.strip()


def _encode_text(key: str, text: str, content_type: str) -> bytes:
    charset = charset_of(content_type)
    try:
        return text.encode(charset)
    except LookupError as exc:
        raise InvalidStorageArgumentError(
            f'content_type {content_type!r} for key {key!r} names an unknown charset {charset!r}; '
            f'use charset=utf-8'
        ) from exc
    except UnicodeEncodeError as exc:
        raise InvalidStorageArgumentError(
            f'the str value for key {key!r} cannot be encoded as {charset} ({exc.reason} at '
            f'position {exc.start}); remove the character or store the value as bytes'
        ) from exc


def serialize_value(key: str, value: Any, content_type: str | None) -> tuple[bytes, str]:
    """Turn a record value into ``(body, content_type)``.

    Without ``content_type``: bytes-like values are ``application/octet-stream``; str is
    ``text/plain; charset=utf-8``; dict, list, tuple, int, float and bool are JSON
    (``indent=2``). With a JSON content type the value is serialized as JSON (a str becomes a
    JSON string), except bytes, which must already be valid JSON. With any other content type
    the value must be str (encoded with the type's charset, UTF-8 by default) or bytes.

    Raises:
        TypeError: ``content_type`` is not a str.
        InvalidStorageArgumentError: The value cannot be stored as that content type; the
            message names the key and what to do.
    """
    if content_type is not None:
        content_type = _check_content_type(key, content_type)
    if isinstance(value, (bytes, bytearray, memoryview)):
        body = bytes(value)
        if content_type is None:
            return body, BINARY_CONTENT_TYPE
        if not body_fits_content_type(body, content_type):
            kind = (
                'valid JSON (or it nests too deeply to be read back)'
                if is_json_type(content_type)
                else charset_of(content_type)
            )
            raise InvalidStorageArgumentError(
                f'the bytes value for key {key!r} is not {kind}, so it cannot be stored as '
                f'{content_type!r}: fix the bytes, or use another content_type '
                f'(e.g. application/octet-stream)'
            )
        return body, content_type
    if content_type is None:
        if isinstance(value, str):
            return _encode_text(key, value, TEXT_CONTENT_TYPE), TEXT_CONTENT_TYPE
        if isinstance(value, (dict, list, tuple, int, float)):  # bool is an int
            return _json_body(key, value), JSON_CONTENT_TYPE
        raise InvalidStorageArgumentError(
            f'cannot store a value of type {type(value).__name__} under key {key!r}: pass a '
            f'dict, list, str, int, float, bool or bytes (or convert it to one first)'
        )
    if is_json_type(content_type):
        return _json_body(key, value), content_type
    if isinstance(value, str):
        return _encode_text(key, value, content_type), content_type
    raise InvalidStorageArgumentError(
        f'cannot store a value of type {type(value).__name__} under key {key!r} as '
        f'{content_type!r}: pass str or bytes for that content type, or use application/json'
    )


def _json_body(key: str, value: Any) -> bytes:
    try:
        return pretty_json(value).encode('utf-8')
    except (TypeError, ValueError) as exc:
        raise json_problem(f'the value for key {key!r}', exc) from exc


def deserialize_value(body: bytes, content_type: str, *, what: str) -> Any:
    """Turn a stored record back into a value, by its content type.

    JSON types (``application/json``, ``*+json``) are parsed; ``text/*`` is decoded to str;
    ``application/x-none`` (the official SDK's ``None``) is ``None``; anything else is bytes.

    Args:
        body: The stored bytes.
        content_type: The record's content type.
        what: How to name the record in errors, e.g. ``record 'OUTPUT' (storage/...)``.

    Raises:
        StorageError: The body is not what its content type says.
    """
    if is_json_type(content_type):
        try:
            return json.loads(body)
        except RecursionError:
            raise StorageError(
                f'{what} is JSON nested too deeply for Python to read: flatten the record or '
                f'delete it'
            ) from None
        except ValueError as exc:
            raise StorageError(
                f'{what} has content type {content_type!r} but is not valid JSON ({exc}): '
                f'fix the record or delete it'
            ) from exc
    if is_text_type(content_type):
        charset = charset_of(content_type)
        try:
            return body.decode(charset)
        except (LookupError, UnicodeDecodeError) as exc:
            raise StorageError(
                f'{what} has content type {content_type!r} but cannot be decoded as {charset} '
                f'({exc}): fix the record or delete it'
            ) from exc
    if media_type(content_type) == NONE_CONTENT_TYPE:
        return None
    return body


# ----------------------------------------------------------------------------- dataset items


def serialize_items(items: Sequence[Any]) -> list[bytes]:
    """Check and serialize dataset items, one file body each (``indent=2``, non-ASCII kept).

    Every item is checked before any is returned, so a caller that writes only after this
    returns writes nothing of a bad batch.

    Raises:
        InvalidStorageArgumentError: An item is not a dict or has no JSON form (the message
            names its index and the offending type).
        StorageLimitError: An item is larger than the platform accepts (index and size named).
    """
    bodies: list[bytes] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidStorageArgumentError(
                f'dataset item {index} is a {type(item).__name__}, not a dict: every item must '
                f'be a JSON object (a dict); nothing of this push was written'
            )
        try:
            body = pretty_json(item).encode('utf-8')
        except (TypeError, ValueError) as exc:
            raise json_problem(
                f'dataset item {index}', exc, 'nothing of this push was written'
            ) from exc
        if len(body) > MAX_ITEM_BYTES:
            # The limit is the platform's request body size, which is compact JSON.
            size = len(compact_json(item).encode('utf-8'))
            if size > MAX_ITEM_BYTES:
                raise StorageLimitError(
                    f'dataset item {index} is {size:,} bytes as JSON, over the platform limit '
                    f'of {MAX_ITEM_BYTES:,} bytes per item: split it or store the large part in '
                    f'a key-value store; nothing of this push was written'
                )
        bodies.append(body)
    return bodies


_COMPACT_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, separators=(',', ':'), default=_reject
)
"""One compact encoder for every item (building one per call costs more than encoding)."""


def serialize_items_compact(items: Sequence[Any]) -> list[bytes]:
    """Check and serialize dataset items as compact JSON (as they go on the wire), one each.

    The checks are those of :func:`serialize_items` (a dict, JSON values, str keys); the size
    limit is left to the caller, who knows how the bodies are sent.

    Raises:
        InvalidStorageArgumentError: An item is not a dict or has no JSON form (the message
            names its index and the offending type).
    """
    bodies: list[bytes] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidStorageArgumentError(
                f'dataset item {index} is a {type(item).__name__}, not a dict: every item must '
                f'be a JSON object (a dict); nothing of this push was written'
            )
        try:
            text = _COMPACT_ENCODER.encode(item)
            # The C encoder turns a key 1 into "1" and has no depth limit: an item that does
            # not read back as itself (or could nest too deep) gets the full check.
            brackets = text.count('{') + text.count('[')
            if brackets > MAX_JSON_DEPTH or json.loads(text) != item:
                check_json_tree(item)
            body = text.encode('utf-8')
        except RecursionError:  # a deep call stack left json.dumps too little room
            raise json_problem(
                f'dataset item {index}', _depth_error(item), 'nothing of this push was written'
            ) from None
        except (TypeError, ValueError) as exc:
            # The encoder only says "Circular reference detected": say which value and why.
            problem = _depth_error(item) if _contains_itself(item) else exc
            raise json_problem(
                f'dataset item {index}', problem, 'nothing of this push was written'
            ) from exc
        bodies.append(body)
    return bodies


def encode_items_compact(items: Sequence[Any]) -> bytes:
    """Check dataset items and serialize them as one compact JSON array (a push's body).

    The checks are those of :func:`serialize_items_compact`, made once for the whole list: one
    encode, one read back compared with the items (a non-str key, which the encoder would turn
    into a str, or a tuple, which it writes as a list, makes them differ) and a depth walk only
    when the items hold enough containers to possibly nest too deep. On any doubt the items go
    through :func:`serialize_items_compact` one by one, which names the item at fault.

    Raises:
        InvalidStorageArgumentError: An item is not a dict or has no JSON form (the message
            names its index and the offending type).
    """
    items = list(items)
    if all(map(isinstance, items, repeat(dict))):
        try:
            text = _COMPACT_ENCODER.encode(items)
            # One '[' for the list and at least one '{' per item: an item can only nest as deep
            # as the brackets left over (those in strings count too, which only errs on the
            # safe side).
            spare = text.count('{') + text.count('[') - len(items)
            if json.loads(text) == items and (
                spare <= MAX_JSON_DEPTH or not _nests_too_deep(items)
            ):
                return text.encode('utf-8')
        except (TypeError, ValueError, RecursionError):
            pass  # the item at fault is found below
    return b'[' + b','.join(serialize_items_compact(items)) + b']'


def _nests_too_deep(items: Sequence[dict[str, Any]]) -> bool:
    """Whether a non-empty container sits deeper than :data:`MAX_JSON_DEPTH` in an item.

    Level by level, in comprehensions: the items are level 1; a container on level
    ``MAX_JSON_DEPTH + 1`` may only be empty (the rule of :func:`check_json_tree`).
    """
    level: list[Any] = list(items)
    for _ in range(MAX_JSON_DEPTH):
        level = [
            child
            for container in level
            for child in (container.values() if isinstance(container, dict) else container)
            if isinstance(child, (dict, list))
        ]
        if not level:
            return False
    return any(level)


def filter_item(
    item: dict[str, Any],
    *,
    fields: Sequence[str] | None,
    omit: Collection[str] | None,
    skip_hidden: bool,
) -> dict[str, Any]:
    """Apply the ``fields``, ``omit`` and hidden-field filters to one item.

    ``fields`` keeps only those fields, in that order; ``omit`` then drops fields; hidden fields
    (names starting with ``#``) are dropped when ``skip_hidden``.
    """
    if fields is not None:
        item = {name: item[name] for name in fields if name in item}
    if omit:
        item = {name: value for name, value in item.items() if name not in omit}
    if skip_hidden:
        item = {name: value for name, value in item.items() if not name.startswith('#')}
    return item


def filter_items(
    items: Iterable[dict[str, Any]],
    *,
    fields: Sequence[str] | None,
    omit: Sequence[str] | None,
    clean: bool,
    skip_empty: bool,
    skip_hidden: bool = False,
) -> Iterable[dict[str, Any]]:
    """Filter items as the platform's dataset API does.

    ``clean`` means hidden fields dropped and empty items skipped; an item is empty when
    nothing is left of it after the field filters.
    """
    skip_empty = skip_empty or clean
    skip_hidden = skip_hidden or clean
    omitted = frozenset(omit) if omit else None
    plain = fields is None and not omitted and not skip_hidden
    for item in items:
        kept = (
            item
            if plain
            else filter_item(item, fields=fields, omit=omitted, skip_hidden=skip_hidden)
        )
        if skip_empty and not kept:
            continue
        yield kept


# ----------------------------------------------------------------------------- exports


_JSON_EXPORT_OPTIONS = frozenset(
    {
        'skipkeys',
        'ensure_ascii',
        'check_circular',
        'allow_nan',
        'cls',
        'indent',
        'separators',
        'default',
        'sort_keys',
    }
)
"""The ``json.dumps`` options a JSON export takes, as in the official SDK."""

_CSV_EXPORT_OPTIONS = frozenset(
    {
        'dialect',
        'delimiter',
        'doublequote',
        'escapechar',
        'lineterminator',
        'quotechar',
        'quoting',
        'skipinitialspace',
        'strict',
    }
)
"""The ``csv.writer`` options a CSV export takes, as in the official SDK."""


def _unknown_options(export_format: str, given: Iterable[str], known: Iterable[str]) -> None:
    unknown = sorted(set(given) - set(known))
    if unknown:
        accepted = ', '.join(sorted(known)) or 'none'
        raise InvalidStorageArgumentError(
            f'unknown option(s) {", ".join(unknown)} for a {export_format} export; it takes: '
            f'{accepted}'
        )


def export_items(
    items: Sequence[dict[str, Any]], export_format: str, **options: Any
) -> tuple[bytes, str]:
    r"""Encode items as a JSON array, CSV or JSON Lines; return ``(body, content_type)``.

    JSON: ``indent=2, ensure_ascii=False`` unless ``options`` (those of ``json.dumps``) say
    otherwise. CSV: the header is the union of the items' keys in first-seen order; nested
    values (dicts and lists) are written as compact JSON, ``None`` as an empty cell, booleans
    as ``true``/``false``, a missing field as ``restval`` (empty by default); lines end with
    ``\n`` as in the official SDK's export. ``options`` are those of ``csv.writer``, plus
    ``restval`` and ``collect_all_keys`` (every field gets a column anyway). JSON Lines takes
    no option.

    Raises:
        InvalidStorageArgumentError: Unknown ``export_format`` or option, or an option value
            the writer refuses.
    """
    if export_format == 'json':
        _unknown_options(export_format, options, _JSON_EXPORT_OPTIONS)
        if not options:
            return pretty_json(list(items)).encode('utf-8'), JSON_CONTENT_TYPE
        settings: dict[str, Any] = {'indent': 2, 'ensure_ascii': False, **options}
        try:
            text = json.dumps(list(items), **settings)
        except (TypeError, ValueError) as exc:
            raise InvalidStorageArgumentError(
                f'the JSON export options {options!r} do not work: {exc}'
            ) from exc
        return text.encode('utf-8'), JSON_CONTENT_TYPE
    if export_format == 'jsonl':
        _unknown_options(export_format, options, ())
        text = ''.join(compact_json(item) + '\n' for item in items)
        return text.encode('utf-8'), JSONL_CONTENT_TYPE
    if export_format == 'csv':
        return _export_csv(items, options), CSV_CONTENT_TYPE
    raise InvalidStorageArgumentError(
        f'unknown export format {export_format!r}: use one of {", ".join(EXPORT_CONTENT_TYPES)}'
    )


def _export_csv(items: Sequence[dict[str, Any]], options: dict[str, Any]) -> bytes:
    import csv  # noqa: PLC0415 (only for CSV export)

    options = dict(options)
    restval = options.pop('restval', '')
    options.pop('collect_all_keys', None)  # every field always gets a column
    _unknown_options('csv', options, _CSV_EXPORT_OPTIONS)
    options.setdefault('lineterminator', '\n')
    header = list(dict.fromkeys(name for item in items for name in item))
    buffer = io.StringIO()
    try:
        writer = csv.writer(buffer, **options)
        if header:
            writer.writerow(header)
            for item in items:
                writer.writerow(
                    [_csv_cell(item[name]) if name in item else restval for name in header]
                )
    except (TypeError, csv.Error) as exc:
        raise InvalidStorageArgumentError(
            f'the CSV export options {options!r} do not work: {exc}'
        ) from exc
    return buffer.getvalue().encode('utf-8')


def _csv_cell(value: Any) -> str:
    if value is None:
        return ''
    if value is True:
        return 'true'
    if value is False:
        return 'false'
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return compact_json(value)
    return str(value)
