"""The local request queue: one JSON file per request, plus a journal of the queue's state.

Layout (``request_queues/<dir>/``), readable by the official SDK:

- ``<sha256(unique_key).hexdigest()[:15]>.json``: one file per request, exactly the fields the
  official ``FileSystemRequestQueueClient`` writes (see :mod:`._request_files`).
- ``__metadata__.json``: the queue's metadata and request counts.
- ``__actorkit_journal__.jsonl``: actorkit's own state, which the official SDK ignores (it only
  reads ``*.json``). The official SDK keeps order and in-progress state in memory and saves them
  to a key-value store record now and then, so a crash loses them; actorkit appends every change
  to this journal instead, before the operation returns, so order, forefront positions, handled
  state and in-progress holds survive a ``kill -9`` at any moment (see :mod:`._journal` for
  the file and what bounds it, :mod:`._queue_state` for the events).

Every operation runs under the queue's lock (threads and processes), first applies the events
other clients appended since its last operation, then appends its own with a single ``write``.

Writes are ordered so that a crash between two of them is repaired: a request file is written
before its journal event (a file without an event is adopted when the next client opens the
queue) and ``handled_at`` is written to the file before the ``h`` event (a request fetched
again whose file says handled is marked handled instead of served). Like every local storage,
nothing calls ``fsync``: the data survives the death of the process, not a power loss.

Reading never writes: opening a queue and reading its counts leave every file as it is. The
metadata is rewritten by changes: at once when they change the counts, else (only
``modified_at`` would change) at most once a second and at :meth:`~LocalRequestQueueClient.close`;
and at open when a crash left its counts out of date.

In-progress requests belong to a live holder (see :mod:`._owners`): closing a client releases
its requests at once for every process (a journal event puts each back where it was); a client
in a process that died releases them too (its pid no longer exists, or now belongs to a process
started at another time). Holds of a live process are respected without time limit by default:
a slow handler must not see its request handed to another consumer. Pass ``lock_expiry`` to let
other consumers take a request over after that many seconds.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from actorkit._errors import StorageError
from actorkit.storages._local._fs import (
    METADATA_FILE,
    StorageLock,
    now,
    replace_file,
)
from actorkit.storages._local._journal import JOURNAL_FILE, Journal
from actorkit.storages._local._owners import Hold, Owner
from actorkit.storages._local._queue_metadata import (
    Counts,
    file_content,
    metadata_from_file,
    out_of_date,
    read_metadata,
    stored_multiple,
    to_model,
)
from actorkit.storages._local._queue_state import QueueState
from actorkit.storages._local._request_files import (
    delete_request_files,
    read_request,
    reconcile_events,
    write_request,
)
from actorkit.storages._request_models import (
    ProcessedRequest,
    Request,
    RequestQueueMetadata,
    request_id_from_unique_key,
)
from actorkit.storages._serialization import dump_json

__all__ = ['JOURNAL_FILE', 'LocalRequestQueueClient', 'metadata_from_file']

logger = logging.getLogger('actorkit.storages')

_SWEEP_INTERVAL = 1.0
"""Seconds between checks for holds of dead processes while requests are still waiting."""
_METADATA_INTERVAL = 1.0
"""Seconds between metadata rewrites for changes that leave the counts as they are."""


class LocalRequestQueueClient:
    """A request queue stored in a local folder, safe across threads and processes."""

    def __init__(
        self,
        *,
        directory: Path,
        lock: StorageLock,
        metadata: RequestQueueMetadata,
        lock_expiry: float | None = None,
        on_drop: Callable[[], object] | None = None,
    ) -> None:
        """Open an existing queue folder: load its journal and repair what a crash left.

        Args:
            directory: The queue folder, which already holds its ``__metadata__.json``.
            lock: The cross-process lock of this queue.
            metadata: The queue's metadata as read from its folder.
            lock_expiry: Seconds after which an in-progress request of a live process may be
                fetched by another consumer; ``None`` (the default) keeps it until that
                process ends or the client holding it is closed.
            on_drop: Called after :meth:`drop` deleted the queue (the backend forgets the client).

        Raises:
            ValueError: ``lock_expiry`` is not a positive number.
            StorageError: The folder does not exist.
        """
        if lock_expiry is not None and not lock_expiry > 0:
            raise ValueError(
                f'lock_expiry must be a positive number of seconds, got {lock_expiry!r}'
            )
        self._directory = Path(directory)
        self._dir = str(self._directory)
        self._id = metadata.id
        self._name = metadata.name
        self._created_at = metadata.created_at
        self._on_drop = on_drop
        self._lock = lock
        self._journal = Journal(self._directory / JOURNAL_FILE)
        self._metadata_path = self._directory / METADATA_FILE
        self._state = QueueState()
        self._owner = Owner(self, lock_expiry)
        self._had_multiple_clients = metadata.had_multiple_clients
        self._stored_metadata: dict[str, Any] = {}
        self._metadata_dirty = False
        self._metadata_unknown = False
        """Whether another client may have rewritten the metadata file since this one did."""
        self._metadata_written_at = float('-inf')
        self._last_sweep = 0.0
        self._dropped = False
        self._closed = False
        with self._lock:
            self._open()

    def __repr__(self) -> str:
        return f'<LocalRequestQueueClient id={self._id!r} directory={self._dir!r}>'

    # --- the journal and the in-memory state ------------------------------------------------

    def _check_usable(self) -> None:
        if self._dropped:
            raise StorageError(f'request queue {self._id} ({self._directory}) was dropped')
        if self._closed:
            raise StorageError(f'request queue client {self._id} ({self._directory}) is closed')
        if self._owner.forked:  # this process holds none of the parent's requests
            self._owner.claim(self)
            self._journal.close()

    def _apply_all(self, events: Sequence[list[Any]]) -> None:
        for event in events:
            try:
                self._state.apply(event)
            except (ValueError, TypeError, IndexError, KeyError):
                logger.warning(
                    'request queue %s: skipping an unreadable journal event: %.200r',
                    self._directory,
                    event,
                )

    def _reload(self, events: Sequence[list[Any]]) -> None:
        """Rebuild the in-memory state from a whole journal's events."""
        self._state = QueueState()
        self._apply_all(events)

    def _sync(self) -> None:
        """Catch up with the events other clients appended; reload a replaced journal."""
        self._check_usable()
        status = self._journal.status()
        if status == 'missing':
            if not self._metadata_path.exists():
                self._dropped = True
                self._check_usable()
            self._open()  # the journal was deleted: rebuild it from the request files
        elif status == 'replaced':
            self._reload(self._journal.load())
            self._metadata_unknown = True
        elif status == 'grown':
            self._apply_all(self._journal.read_new())
            self._had_multiple_clients = True  # written with the next change, never by a read
            self._metadata_unknown = True  # another client may have rewritten the file

    def _append(self, events: Sequence[list[Any]], *, apply: bool = True) -> None:
        """Apply events to the in-memory state (unless done) and append them in one write."""
        if not events:
            return
        if apply:
            self._apply_all(events)
        self._journal.append(events)
        if self._journal.needs_compaction(self._state.snapshot_size()):
            self._reload(self._journal.replace(self._state.snapshot_events()))

    def _busy(self, clock: float) -> Callable[[Hold], bool]:
        def busy(hold: Hold) -> bool:
            return self._owner.owns(hold) or self._owner.alive(hold, clock)

        return busy

    def _sweep(self) -> bool:
        """Free (in memory) the holds of dead processes and expired holds; say if any was."""
        clock = time.monotonic()
        self._last_sweep = clock
        freed = False
        for unique_key, hold in list(self._state.held.items()):
            if not self._owner.owns(hold) and not self._owner.alive(hold, clock):
                self._state.release(unique_key)
                freed = True
        return freed

    # --- opening: reconcile the journal with the files --------------------------------------

    def _open(self) -> None:
        """Load the journal (or build one from the request files) and repair what a crash left."""
        if not self._directory.is_dir():
            raise StorageError(
                f'request queue folder {self._directory} does not exist; open the queue '
                f'through the storage backend, which creates it'
            )
        self._stored_metadata = read_metadata(self._metadata_path)
        had_journal = self._journal.exists()
        if had_journal:
            self._reload(self._journal.load())
        else:
            self._journal.close()
            self._state = QueueState()

        events = reconcile_events(
            self._directory,
            list(self._state.entries),
            queue_id=self._id,
            next_seq=self._state.next_seq,
            had_journal=had_journal,
        )
        if had_journal:
            self._append(events)
        else:
            self._apply_all(events)
            self._reload(self._journal.replace(self._state.snapshot_events()))
        self._sweep()
        if events or out_of_date(self._stored_metadata, self._counts(), self._had_multiple_clients):
            self._write_metadata(modified=bool(events))

    # --- metadata ---------------------------------------------------------------------------

    def _counts(self) -> Counts:
        state = self._state
        return state.handled_count, state.pending, state.total

    def _changed(self) -> None:
        """Record a change in the metadata file (see the module docstring for when)."""
        if (
            self._metadata_unknown
            or out_of_date(self._stored_metadata, self._counts(), self._had_multiple_clients)
            or time.monotonic() - self._metadata_written_at >= _METADATA_INTERVAL
        ):
            self._write_metadata(modified=True)
        else:
            self._metadata_dirty = True

    def _write_metadata(self, *, modified: bool) -> None:
        """Write ``__metadata__.json`` with the counts of the in-memory state."""
        stored = self._stored_metadata
        self._had_multiple_clients = self._had_multiple_clients or stored_multiple(stored)
        content = file_content(
            stored,
            queue_id=self._id,
            name=self._name,
            created_at=self._created_at,
            counts=self._counts(),
            multiple=self._had_multiple_clients,
            modified=modified,
        )
        replace_file(str(self._metadata_path), dump_json(content))
        self._stored_metadata = content
        self._metadata_dirty = self._metadata_unknown = False
        self._metadata_written_at = time.monotonic()

    # --- request files ----------------------------------------------------------------------

    def _read_request(self, unique_key: str) -> Request | None:
        return read_request(self._directory, unique_key)

    def _write_request(self, request: Request) -> None:
        write_request(self._directory, request)

    # --- the RequestQueueClient contract ----------------------------------------------------

    @property
    def id(self) -> str:
        """The queue's id."""
        return self._id

    @property
    def name(self) -> str | None:
        """The queue's name (``None`` for the default and alias queues)."""
        return self._name

    @property
    def directory(self) -> Path:
        """The queue folder."""
        return self._directory

    def get_metadata(self) -> RequestQueueMetadata:
        """Return the queue's metadata, with the counts of its journal (never writes)."""
        with self._lock:
            self._sync()
            return to_model(
                read_metadata(self._metadata_path),
                queue_id=self._id,
                name=self._name,
                counts=self._counts(),
                multiple=self._had_multiple_clients,
            )

    def add_requests(
        self, requests: Sequence[Request], *, forefront: bool
    ) -> list[ProcessedRequest]:
        """Add requests as one batch; a request already in the queue is left as it is.

        With ``forefront``, a request that is already waiting moves to the front (as in the
        official SDK); a request in progress or handled never moves.
        """
        results: list[ProcessedRequest] = []
        with self._lock:
            self._sync()
            try:
                events = self._add_batch(requests, forefront, results)
                self._append(events, apply=False)
            except BaseException:
                self._journal.invalidate()  # the in-memory state may be ahead: reload next time
                raise
            if events:
                self._changed()
        return results

    def _add_batch(
        self, requests: Sequence[Request], forefront: bool, results: list[ProcessedRequest]
    ) -> list[list[Any]]:
        events: list[list[Any]] = []
        state = self._state
        busy = self._busy(time.monotonic())
        for request in requests:
            unique_key = request.unique_key
            entry = state.entries.get(unique_key)
            present = entry is not None
            handled = entry is not None and entry.handled
            if entry is None:
                self._write_request(request)
                new = [['p', unique_key, state.next_seq, int(forefront)]]
                if request.handled_at is not None:
                    new.append(['h', unique_key])
                    handled = True
                self._apply_all(new)  # so that a duplicate later in the batch is seen
                events.extend(new)
            elif forefront and not handled and (entry.hold is None or not busy(entry.hold)):
                event = ['p', unique_key, state.next_seq, 1]
                self._apply_all([event])
                events.append(event)
            results.append(
                ProcessedRequest(
                    id=request_id_from_unique_key(unique_key),
                    unique_key=unique_key,
                    was_already_present=present,
                    was_already_handled=present and handled,
                )
            )
        return events

    def get_request(self, request_id: str) -> Request | None:
        """Return a request by its id (or, as crawlee 1.x allows, by its unique key)."""
        with self._lock:
            self._sync()
            unique_key = self._state.unique_key_of(request_id)
            return None if unique_key is None else self._read_request(unique_key)

    def fetch_next_request(self) -> Request | None:
        """Return the next waiting request and hold it in progress, or ``None``."""
        with self._lock:
            self._sync()
            clock = time.monotonic()
            if self._state.held and clock - self._last_sweep > _SWEEP_INTERVAL:
                self._sweep()
            while True:
                unique_key = self._state.pop_candidate(self._busy(clock))
                if unique_key is None:
                    if self._state.held and self._sweep():
                        continue
                    return None
                try:
                    request = self._read_request(unique_key)
                except StorageError as exc:
                    logger.error('request queue %s: skipping a request: %s', self._directory, exc)
                    request = None
                if request is None:
                    logger.warning(
                        'request queue %s: forgetting request %r: its file is gone or invalid',
                        self._directory,
                        unique_key,
                    )
                    self._append([['x', unique_key]])
                    self._changed()
                    continue
                if request.handled_at is not None:  # a crash came between file and journal
                    self._append([['h', unique_key]])
                    self._changed()
                    continue
                self._append([self._owner.new_hold().event(unique_key)])
                return request

    def _own_entry(self, request: Request, action: str) -> bool:
        entry = self._state.entries.get(request.unique_key)
        if entry is None or not self._owner.owns(entry.hold):
            logger.warning(
                'request %r is not in progress in this client (fetch it first); it was not %s',
                request.unique_key,
                action,
            )
            return False
        return True

    def mark_request_as_handled(self, request: Request) -> ProcessedRequest | None:
        """Mark a request this client holds as handled (``None`` if it holds no such request)."""
        with self._lock:
            self._sync()
            if not self._own_entry(request, 'marked as handled'):
                return None
            if request.handled_at is None:
                request.handled_at = now()
            self._write_request(request)
            self._append([['h', request.unique_key]])
            self._changed()
        return ProcessedRequest(
            id=request_id_from_unique_key(request.unique_key),
            unique_key=request.unique_key,
            was_already_present=True,
            was_already_handled=True,
        )

    def reclaim_request(self, request: Request, *, forefront: bool) -> ProcessedRequest | None:
        """Put a request this client holds back in the queue, with its changes."""
        with self._lock:
            self._sync()
            if not self._own_entry(request, 'reclaimed'):
                return None
            request.handled_at = None
            self._write_request(request)
            self._append([['p', request.unique_key, self._state.next_seq, int(forefront)]])
            self._changed()
        return ProcessedRequest(
            id=request_id_from_unique_key(request.unique_key),
            unique_key=request.unique_key,
            was_already_present=True,
            was_already_handled=False,
        )

    def is_empty(self) -> bool:
        """Whether no request is waiting (requests in progress elsewhere do not count)."""
        with self._lock:
            self._sync()
            if self._state.held:
                self._sweep()
            return self._state.pending == len(self._state.held)

    def is_finished(self) -> bool:
        """Whether every request is handled."""
        with self._lock:
            self._sync()
            return self._state.pending == 0

    def get_handled_count(self) -> int:
        """Return how many requests are handled."""
        with self._lock:
            self._sync()
            return self._state.handled_count

    def get_total_count(self) -> int:
        """Return how many distinct requests the queue holds."""
        with self._lock:
            self._sync()
            return self._state.total

    def purge(self) -> None:
        """Delete every request (files and state) and reset the counts to 0."""
        with self._lock:
            self._check_usable()
            delete_request_files(self._directory)
            self._reload(self._journal.replace([]))
            self._write_metadata(modified=True)

    def drop(self) -> None:
        """Delete the queue folder; the client is unusable afterwards."""
        with self._lock:
            self._journal.close()
            shutil.rmtree(self._directory, ignore_errors=True)
            self._dropped = True
            self._state = QueueState()
        self._lock.close()
        self._owner.release()
        if self._on_drop is not None:
            self._on_drop()

    def close(self) -> None:
        """Release the requests this client holds in progress, for every process; then the files.

        The client is unusable afterwards. Closing twice does nothing.
        """
        with self._lock:
            if not self._closed and not self._dropped:
                try:
                    self._release_own_holds()
                except (OSError, StorageError) as exc:
                    logger.warning(
                        'request queue %s: the requests in progress of a closed client could '
                        'not be released (%s); other processes get them when this one ends',
                        self._directory,
                        exc,
                    )
            self._journal.close()
            self._closed = True
        self._lock.close()
        self._owner.release()

    def _release_own_holds(self) -> None:
        """Put every request this client holds back where it waited (one ``p`` event each)."""
        self._sync()
        state = self._state
        events: list[list[Any]] = []
        for unique_key, hold in state.held.items():
            if self._owner.owns(hold):
                entry = state.entries[unique_key]
                events.append(['p', unique_key, entry.seq, int(entry.forefront)])
        self._append(events)
        if self._metadata_dirty:
            self._write_metadata(modified=True)
