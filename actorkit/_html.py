"""HTML representations for Jupyter: storages and charge results shown as small tables.

Every text that reaches the HTML (names, keys, values) goes through :func:`html.escape`.
Rendering never raises: a storage that cannot be read shows why instead of its contents.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actorkit.charging import ChargeResult
    from actorkit.storages import Dataset, KeyValueStore, RequestQueue

ROWS = 10
"""How many dataset items (or keys) the table shows."""

CELL_CHARS = 120
"""Longer cell texts are cut to this many characters."""

_STYLE = 'border-collapse:collapse;text-align:left'


def e(value: object) -> str:
    """``html.escape`` of ``str(value)``, quotes included."""
    return html.escape(str(value), quote=True)


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > CELL_CHARS:
        text = text[: CELL_CHARS - 1] + '…'
    return e(text)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """An HTML table of ``rows`` under ``header``, every cell escaped."""
    head = ''.join(f'<th>{e(name)}</th>' for name in header)
    body = ''.join(
        '<tr>' + ''.join(f'<td>{_cell(value)}</td>' for value in row) + '</tr>' for row in rows
    )
    return f'<table style="{_STYLE}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _title(kind: str, storage: Dataset | KeyValueStore | RequestQueue) -> str:
    if storage._name_cache is not None:
        name = storage._name_cache[0]
    elif storage._ended:
        name = None
    else:
        try:
            name = storage.name
        except Exception:  # the body says why it cannot be read
            name = None
    label = f'{e(name)} <small>({e(storage.id)})</small>' if name else e(storage.id)
    return f'<b>{e(kind)}</b> {label}'


def _unreadable(title: str, exc: Exception) -> str:
    return f'<div>{title}<br><i>{e(f"cannot be read: {exc}")}</i></div>'


def dataset_html(dataset: Dataset) -> str:
    """Name, item count and the first items of a dataset as a table."""
    title = _title('Dataset', dataset)
    if dataset._ended:
        return f'<div>{title}<br><i>the run that opened it has ended</i></div>'
    try:
        page = dataset.get_data(limit=ROWS)
    except Exception as exc:
        return _unreadable(title, exc)
    columns: dict[str, None] = {}
    for item in page.items:
        columns.update(dict.fromkeys(item))
    rows = [
        [page.offset + index, *(item.get(column, '') for column in columns)]
        for index, item in enumerate(page.items)
    ]
    more = page.total - len(page.items)
    tail = f'<br><i>… and {more} more</i>' if more > 0 else ''
    shown = table(['#', *columns], rows) if page.items else ''
    return f'<div>{title}<br>{page.total} items{shown}{tail}</div>'


def key_value_store_html(store: KeyValueStore) -> str:
    """Name and the first keys of a key-value store, with their sizes and content types."""
    title = _title('Key-value store', store)
    if store._ended:
        return f'<div>{title}<br><i>the run that opened it has ended</i></div>'
    try:
        page = store.list_keys_page(limit=ROWS)
    except Exception as exc:
        return _unreadable(title, exc)
    rows = [(info.key, info.size, info.content_type or '') for info in page.items]
    count = f'{page.count}+ keys' if page.is_truncated else f'{page.count} keys'
    shown = table(['key', 'size (bytes)', 'content type'], rows) if rows else ''
    return f'<div>{title}<br>{count}{shown}</div>'


def request_queue_html(queue: RequestQueue) -> str:
    """Name and the handled, pending and total request counts of a request queue."""
    title = _title('Request queue', queue)
    if queue._ended:
        return f'<div>{title}<br><i>the run that opened it has ended</i></div>'
    try:
        metadata = queue.get_metadata()
    except Exception as exc:
        return _unreadable(title, exc)
    rows = [
        (
            metadata.handled_request_count,
            metadata.pending_request_count,
            metadata.total_request_count,
        )
    ]
    return f'<div>{title}{table(["handled", "pending", "total"], rows)}</div>'


def storage_html(storage: Any) -> str:
    """The view of a Dataset, KeyValueStore or RequestQueue (by its class)."""
    from actorkit.storages import Dataset, KeyValueStore, RequestQueue  # noqa: PLC0415

    if isinstance(storage, Dataset):
        return dataset_html(storage)
    if isinstance(storage, KeyValueStore):
        return key_value_store_html(storage)
    if isinstance(storage, RequestQueue):
        return request_queue_html(storage)
    return f'<pre>{e(repr(storage))}</pre>'


def charge_result_html(result: ChargeResult) -> str:
    """What a charge did: events charged, whether the limit was hit, what the budget allows."""
    limit = 'reached' if result.event_charge_limit_reached else 'not reached'
    rows = [
        (event, 'unlimited' if left is None else left)
        for event, left in sorted(result.chargeable_within_limit.items())
    ]
    shown = table(['event', 'still chargeable'], rows) if rows else ''
    return (
        f'<div><b>ChargeResult</b><br>{result.charged_count} charged, '
        f'event charge limit {limit}{shown}</div>'
    )
