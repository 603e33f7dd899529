"""Request files of a local request queue: names and contents, as the official SDK writes them.

One file per request, ``<sha256(unique_key).hexdigest()[:15]>.json``, holding exactly the fields
the official ``FileSystemRequestQueueClient`` writes, in its order; ``handled_at`` is set once the
request is handled. Files written by the official SDK (snake_case) and by older tools (camelCase)
are both read. The files are written with the shared JSON writer,
:func:`actorkit.storages._serialization.dump_json`.

Request files that the journal does not know (a queue the official SDK wrote, or a file written
by a process killed before its journal event) are adopted by :func:`adoption_events`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from actorkit._convert import parse_datetime
from actorkit._errors import StorageError
from actorkit.storages._local._fs import (
    METADATA_FILE,
    TEMP_PREFIX,
    format_datetime,
    read_file,
    read_json_file,
    remove_stale_temp_files,
    replace_file,
)
from actorkit.storages._request_models import Request, request_id_from_unique_key
from actorkit.storages._serialization import dump_json

logger = logging.getLogger('actorkit.storages')


def request_file_name(unique_key: str) -> str:
    """Return the file name of a request, as the official SDK names it."""
    return hashlib.sha256(unique_key.encode('utf-8')).hexdigest()[:15] + '.json'


def request_to_json(request: Request) -> dict[str, Any]:
    """Return the content of a request file: the official SDK's fields, in its order."""
    return {
        'unique_key': request.unique_key,
        'url': request.url,
        'method': request.method,
        'payload': request.payload,
        'headers': request.headers,
        'user_data': request.user_data,
        'retry_count': request.retry_count,
        'no_retry': request.no_retry,
        'loaded_url': request.loaded_url,
        'handled_at': None if request.handled_at is None else format_datetime(request.handled_at),
    }


def field(data: dict[str, Any], snake: str, camel: str, default: Any = None) -> Any:
    """Return ``data[snake]``, else ``data[camel]``, else ``default`` (both spellings exist)."""
    if snake in data:
        return data[snake]
    return data.get(camel, default)


def request_from_json(data: object) -> Request:
    """Build a request from the content of a request file (snake_case or camelCase keys).

    Raises:
        ValueError: The content is not a valid request.
    """
    if not isinstance(data, dict):
        raise ValueError('the file does not hold a JSON object')
    url = data.get('url')
    unique_key = field(data, 'unique_key', 'uniqueKey')
    if not isinstance(url, str) or not isinstance(unique_key, str):
        raise ValueError('"url" and "unique_key" must be strings')
    method = data.get('method', 'GET')
    payload = data.get('payload')
    headers = data.get('headers') or {}
    user_data = field(data, 'user_data', 'userData') or {}
    retry_count = field(data, 'retry_count', 'retryCount', 0)
    loaded_url = field(data, 'loaded_url', 'loadedUrl')
    handled_at = field(data, 'handled_at', 'handledAt')
    if not isinstance(method, str) or (payload is not None and not isinstance(payload, str)):
        raise ValueError('"method" must be a string and "payload" a string or null')
    if not isinstance(headers, dict) or not isinstance(user_data, dict):
        raise ValueError('"headers" and "user_data" must be objects')
    if not isinstance(retry_count, int) or (
        loaded_url is not None and not isinstance(loaded_url, str)
    ):
        raise ValueError('"retry_count" must be an integer and "loaded_url" a string or null')
    handled = parse_datetime(handled_at, None)
    if handled_at is not None and handled is None:
        raise ValueError(f'"handled_at" {handled_at!r} is not a datetime')
    return Request(
        url=url,
        unique_key=unique_key,
        id=request_id_from_unique_key(unique_key),
        method=method,
        payload=payload,
        headers={str(key): str(value) for key, value in headers.items()},
        user_data=user_data,
        retry_count=retry_count,
        no_retry=bool(field(data, 'no_retry', 'noRetry', False)),
        loaded_url=loaded_url,
        handled_at=handled,
    )


def read_request(directory: Path, unique_key: str) -> Request | None:
    """Read the request file of ``unique_key``; ``None`` when it does not exist.

    Raises:
        StorageError: The file is not a valid request.
    """
    path = directory / request_file_name(unique_key)
    try:
        return request_from_json(json.loads(read_file(str(path))))
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise StorageError(
            f'request file {path} of unique key {unique_key!r} is not a valid request '
            f'({exc}); fix or delete the file'
        ) from exc


def write_request(directory: Path, request: Request) -> None:
    """Write (or replace) a request's file atomically."""
    path = str(directory / request_file_name(request.unique_key))
    replace_file(path, dump_json(request_to_json(request)))


def _request_file_names(directory: Path) -> set[str]:
    with os.scandir(directory) as scan:
        return {
            item.name
            for item in scan
            if item.name.endswith('.json')
            and item.name != METADATA_FILE
            and not item.name.startswith(TEMP_PREFIX)
        }


def delete_request_files(directory: Path) -> None:
    """Delete every request file of a queue folder (a purge)."""
    for name in _request_file_names(directory):
        (directory / name).unlink(missing_ok=True)


def reconcile_events(
    directory: Path, known: list[str], *, queue_id: str, next_seq: int, had_journal: bool
) -> list[list[Any]]:
    """Return the journal events that make the journal agree with the request files.

    A request the journal knows (``known`` unique keys) whose file is gone is forgotten (an
    ``x`` event: the official SDK's purge deletes files); a file the journal does not know is
    adopted (:func:`adoption_events`). Temp files of dead writers are deleted first.
    """
    remove_stale_temp_files(str(directory))  # left by writers killed mid-write
    file_names = _request_file_names(directory)
    events: list[list[Any]] = []
    for unique_key in known:
        name = request_file_name(unique_key)
        if name in file_names:
            file_names.discard(name)
        else:
            events.append(['x', unique_key])
    events.extend(
        adoption_events(
            directory,
            sorted(file_names),
            queue_id=queue_id,
            next_seq=next_seq,
            had_journal=had_journal,
        )
    )
    return events


def adoption_events(
    directory: Path, names: list[str], *, queue_id: str, next_seq: int, had_journal: bool
) -> list[list[Any]]:
    """Return journal events for the request files ``names`` that the journal does not know.

    With no journal (a queue written by the official SDK) the order comes from the official
    SDK's saved state when there is one, else from the files' modification times. Files that
    are not valid requests, or whose name does not match their unique key, are skipped.
    """
    found: list[tuple[int, str, str, bool]] = []
    for name in names:
        path = directory / name
        try:
            request = request_from_json(read_json_file(path))
            mtime = path.stat().st_mtime_ns
        except (OSError, ValueError) as exc:
            logger.warning('request queue %s: skipping request file %s: %s', directory, name, exc)
            continue
        if request_file_name(request.unique_key) != name:
            logger.warning(
                'request queue %s: skipping %s: its name does not match its unique key %r',
                directory,
                name,
                request.unique_key,
            )
            continue
        found.append((mtime, name, request.unique_key, request.handled_at is not None))
    if not found:
        return []
    if had_journal:
        logger.info(
            'request queue %s: adopting %d request file(s) a crashed process wrote',
            directory,
            len(found),
        )
    forefront_order, regular_order = (
        ({}, {}) if had_journal else official_order(directory, queue_id)
    )
    infinity = float('inf')

    def rank(item: tuple[int, str, str, bool]) -> tuple[int, float, int, str]:
        mtime, name, unique_key, _ = item
        if unique_key in forefront_order:
            return (0, forefront_order[unique_key], 0, name)
        return (1, regular_order.get(unique_key, infinity), mtime, name)

    events: list[list[Any]] = []
    seq = next_seq
    for _, _, unique_key, handled in sorted(found, key=rank):
        if handled:
            events.append(['h', unique_key])
        else:
            events.append(['p', unique_key, seq, int(unique_key in forefront_order)])
            seq += 1
    return events


def official_order(directory: Path, queue_id: str) -> tuple[dict[str, int], dict[str, int]]:
    """Read the order the official SDK saved in the default key-value store, if any.

    Returns:
        The forefront and the regular requests' positions, by unique key (empty when the
        record is missing or unreadable).
    """
    path = directory.parent.parent / 'key_value_stores' / 'default' / f'__RQ_STATE_{queue_id}'
    try:
        state = read_json_file(path)
        forefront = state.get('forefront_requests') or {}
        regular = state.get('regular_requests') or {}
        return (
            {str(key): int(value) for key, value in forefront.items()},
            {str(key): int(value) for key, value in regular.items()},
        )
    except (OSError, ValueError, TypeError, AttributeError):
        return {}, {}
