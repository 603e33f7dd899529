"""The ``__metadata__.json`` of a local request queue, as the official SDK writes it.

The file holds ``id, name, accessed_at, created_at, modified_at, had_multiple_clients,
handled_request_count, pending_request_count, total_request_count`` (snake_case; the CLI writes
camelCase, which is read too). The counts are those of the queue's journal; the file is
rewritten by changes only, never by reads, so ``accessed_at`` is the time of the last change.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from actorkit._convert import parse_datetime
from actorkit.storages._local._fs import METADATA_FILE, format_datetime, now, read_json_file
from actorkit.storages._local._request_files import field
from actorkit.storages._request_models import RequestQueueMetadata

logger = logging.getLogger('actorkit.storages')

Counts = tuple[int, int, int]
"""(handled, pending, total) requests."""

COUNT_KEYS = (
    ('handled_request_count', 'handledRequestCount'),
    ('pending_request_count', 'pendingRequestCount'),
    ('total_request_count', 'totalRequestCount'),
)


def read_metadata(path: Path) -> dict[str, Any]:
    """Read a queue's metadata file; ``{}`` when it is missing or not a JSON object."""
    try:
        data = read_json_file(path)
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        logger.warning(
            'request queue %s: %s is not valid JSON (%s); it is rewritten with the next change',
            path.parent,
            METADATA_FILE,
            exc,
        )
        return {}
    return data if isinstance(data, dict) else {}


def stored_time(stored: dict[str, Any], snake: str, fallback: datetime) -> datetime:
    """Return the datetime ``stored[snake]`` (or its camelCase twin), else ``fallback``."""
    camel = snake.split('_', maxsplit=1)[0] + 'At'
    parsed = parse_datetime(field(stored, snake, camel), None)
    return fallback if parsed is None else parsed


def stored_multiple(stored: dict[str, Any]) -> bool:
    """Return the stored ``had_multiple_clients`` flag."""
    return bool(field(stored, 'had_multiple_clients', 'hadMultipleClients', False))


def out_of_date(stored: dict[str, Any], counts: Counts, multiple: bool) -> bool:
    """Whether the stored counts (or flag) disagree with ``counts`` and ``multiple``."""
    stored_counts = tuple(field(stored, snake, camel) for snake, camel in COUNT_KEYS)
    return stored_counts != counts or (multiple and not stored_multiple(stored))


def file_content(
    stored: dict[str, Any],
    *,
    queue_id: str,
    name: str | None,
    created_at: datetime,
    counts: Counts,
    multiple: bool,
    modified: bool,
) -> dict[str, Any]:
    """Return the new content of the metadata file (``modified``: a change happened now)."""
    current = now()
    created = stored_time(stored, 'created_at', created_at)
    modified_at = current if modified else stored_time(stored, 'modified_at', current)
    handled, pending, total = counts
    return {
        'id': queue_id,
        'name': name,
        'accessed_at': format_datetime(current),
        'created_at': format_datetime(created),
        'modified_at': format_datetime(modified_at),
        'had_multiple_clients': multiple,
        'handled_request_count': handled,
        'pending_request_count': pending,
        'total_request_count': total,
    }


def to_model(
    stored: dict[str, Any], *, queue_id: str, name: str | None, counts: Counts, multiple: bool
) -> RequestQueueMetadata:
    """Return the metadata model: times as stored, counts (and flag) as given."""
    current = now()
    handled, pending, total = counts
    return RequestQueueMetadata(
        id=queue_id,
        name=name,
        created_at=stored_time(stored, 'created_at', current),
        modified_at=stored_time(stored, 'modified_at', current),
        accessed_at=stored_time(stored, 'accessed_at', current),
        had_multiple_clients=multiple or stored_multiple(stored),
        handled_request_count=handled,
        pending_request_count=pending,
        total_request_count=total,
    )


def metadata_from_file(data: dict[str, Any], *, name: str | None) -> RequestQueueMetadata:
    """Build the metadata of a queue from its parsed ``__metadata__.json`` (either spelling)."""
    created = stored_time(data, 'created_at', now())
    modified = stored_time(data, 'modified_at', created)
    accessed = stored_time(data, 'accessed_at', modified)
    raw = [field(data, snake, camel, 0) for snake, camel in COUNT_KEYS]
    handled, pending, total = (c if isinstance(c, int) and c >= 0 else 0 for c in raw)
    return RequestQueueMetadata(
        id=str(data['id']),
        name=name,
        created_at=created,
        modified_at=modified,
        accessed_at=accessed,
        had_multiple_clients=stored_multiple(data),
        handled_request_count=handled,
        pending_request_count=pending,
        total_request_count=total,
    )
