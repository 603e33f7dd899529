"""The local ``charging-log`` dataset: the record, and the truth, of a local run's charges.

Every effective charge of a local pay-per-event run is one item of the named dataset
``charging-log``, in the official SDK's shape. The log is also the source of truth shared by
the processes of one local run: a charge takes the log's lock (a thread lock and an ``flock``
beside the dataset's folder), reads the items other processes appended since it last looked,
decides what the budget allows, appends its own item and lets go. A restart with purge off
rebuilds the counts from the log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actorkit.storages._backend import DatasetClient

LOG_DATASET_NAME = 'charging-log'
"""The named local dataset every charge of a local pay-per-event run is appended to."""


def log_item(
    event_name: str, title: str, price: Decimal, count: int, idempotency_key: str | None
) -> dict[str, Any]:
    """One ``charging-log`` item, in the official SDK's shape."""
    return {
        'event_name': event_name,
        'event_title': title,
        'event_price_usd': float(round(price, 3)),
        'charged_count': count,
        'idempotency_key': idempotency_key,
        'timestamp': datetime.now(timezone.utc).isoformat(),
    }


class LocalChargingLog:
    """The ``charging-log`` dataset of a local run, read incrementally under its lock.

    Args:
        open_dataset: Opens the backend client of the ``charging-log`` dataset.
        lock_path: The lock file shared by the processes of the run.
    """

    def __init__(self, open_dataset: Callable[[], DatasetClient], lock_path: Path) -> None:
        from actorkit.storages._local._fs import StorageLock  # noqa: PLC0415

        self._open = open_dataset
        self._lock = StorageLock(lock_path)
        self._seen = 0

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the log for this thread and process."""
        with self._lock:
            yield

    def read_new(self) -> tuple[bool, list[dict[str, Any]]]:
        """Return the items appended since the last read (hold :meth:`locked`).

        Returns:
            ``(restart, items)``: ``restart`` is true when the log shrank (it was purged or
            dropped by hand), and then ``items`` is the whole log.
        """
        client = self._open()
        total = client.get_metadata().item_count
        restart = total < self._seen
        offset = 0 if restart else self._seen
        if total == offset:
            self._seen = total
            return restart, []
        page = client.get_items(
            offset=offset,
            limit=None,
            desc=False,
            fields=None,
            omit=None,
            clean=False,
            skip_empty=False,
            skip_hidden=False,
        )
        self._seen = offset + len(page.items)
        return restart, [item for item in page.items if isinstance(item, dict)]

    def append(self, items: Sequence[dict[str, Any]]) -> None:
        """Append charges (hold :meth:`locked`, right after :meth:`read_new`)."""
        if items:
            self._open().push_items(items)
            self._seen += len(items)

    def close(self) -> None:
        """Release the lock file."""
        self._lock.close()
