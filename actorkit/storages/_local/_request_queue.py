"""The local request queue: one JSON file per request, plus a journal of the queue's state.

Layout (``request_queues/<dir>/``), readable by the official SDK:

- ``<sha256(unique_key).hexdigest()[:15]>.json``: one file per request, exactly the fields the
  official ``FileSystemRequestQueueClient`` writes, in its order, ``handled_at`` set once handled.
- ``__metadata__.json``: the queue's metadata and request counts.
- ``__actorkit_journal__.jsonl``: actorkit's own state, which the official SDK ignores (it only
  reads ``*.json``). The official SDK keeps order and in-progress state in memory and saves them
  to a key-value store record now and then, so a crash loses them; actorkit appends every change
  to this journal instead, before the operation returns, so order, forefront positions, handled
  state and in-progress locks survive a ``kill -9`` at any moment.

Journal: one JSON array per line. The first line is a header; then events:

- ``["p", unique_key, seq, forefront]``: the request waits at position ``seq`` (forefront
  requests come first, the newest first; the others oldest first); clears any lock.
- ``["l", unique_key, pid, create_time, token, expires_at]``: the request is in progress in
  the client ``token`` of the process ``pid`` started at ``create_time``.
- ``["h", unique_key]``: the request is handled.
- ``["x", unique_key]``: the request file is gone (deleted by someone else); forget it.

Every operation runs under one lock (threads and processes), first reads the events other
processes appended since its last operation, then appends its own with a single ``write``. The
journal is compacted (rewritten as a snapshot and atomically replaced) when it grows to several
lines per request; the other clients notice the new file and reload it.

Writes are ordered so that a crash between two of them is repaired: a request file is written
before its journal event (a file without an event is adopted when the next client opens the
queue) and ``handled_at`` is written to the file before the ``h`` event (a request fetched
again whose file says handled is marked handled instead of served). Like every local storage,
nothing calls ``fsync``: the data survives the death of the process, not a power loss.

In-progress locks belong to a live process: a lock whose owner process is gone (its pid no longer
exists, or now belongs to a process started at another time, so a recycled pid does not count)
is free. Locks of a live process are respected, without time limit by default: a slow handler
must not see its request handed to another consumer. A hung process keeps its requests until it
is killed; pass ``lock_expiry`` to let other consumers take them over after that many seconds.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import logging
import os
import secrets
import shutil
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from actorkit._convert import parse_datetime
from actorkit._errors import StorageError
from actorkit.storages._local._fs import (
    METADATA_FILE,
    TEMP_PREFIX,
    StorageLock,
    atomic_write,
    format_datetime,
    now,
    read_file,
    read_json_file,
    remove_stale_temp_files,
    replace_file,
)
from actorkit.storages._request_models import (
    ProcessedRequest,
    Request,
    RequestQueueMetadata,
    request_id_from_unique_key,
)
from actorkit.storages._serialization import pretty_json

logger = logging.getLogger('actorkit.storages')

JOURNAL_FILE = '__actorkit_journal__.jsonl'
"""The journal of queue state in the queue folder (not ``*.json``: the official SDK skips it)."""

_JOURNAL_HEADER = ['actorkit-request-queue-journal', 1]
_COMPACT_MIN_LINES = 20_000
_LIVENESS_TTL = 1.0
"""Seconds a "this process is alive" answer is trusted; "dead" is trusted forever."""
_CREATE_TIME_TOLERANCE = 1.0
_SWEEP_INTERVAL = 1.0
"""Seconds between checks for locks of dead processes while requests are still waiting."""

_LIVE_TOKENS: set[str] = set()
"""Tokens of the clients of this process that are open: their locks are alive."""
_LIVE_TOKENS_LOCK = threading.Lock()


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


def dump_json_fast(value: Any) -> bytes:
    """Serialize JSON exactly as ``json.dumps(indent=2, ensure_ascii=False)`` does, but faster.

    Request files and the metadata are written on every operation; the shared fast encoder
    serves them, leniently (the values were checked when the requests were added).
    """
    return pretty_json(value, strict=False).encode('utf-8')


def _field(data: dict[str, Any], snake: str, camel: str, default: Any = None) -> Any:
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
    unique_key = _field(data, 'unique_key', 'uniqueKey')
    if not isinstance(url, str) or not isinstance(unique_key, str):
        raise ValueError('"url" and "unique_key" must be strings')
    method = data.get('method', 'GET')
    payload = data.get('payload')
    headers = data.get('headers') or {}
    user_data = _field(data, 'user_data', 'userData') or {}
    retry_count = _field(data, 'retry_count', 'retryCount', 0)
    loaded_url = _field(data, 'loaded_url', 'loadedUrl')
    handled_at = _field(data, 'handled_at', 'handledAt')
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
        no_retry=bool(_field(data, 'no_retry', 'noRetry', False)),
        loaded_url=loaded_url,
        handled_at=handled,
    )


class _Lock:
    """Who holds a request in progress."""

    __slots__ = ('create_time', 'expires_at', 'pid', 'token')

    def __init__(self, pid: int, create_time: float, token: str, expires_at: float | None) -> None:
        self.pid = pid
        self.create_time = create_time
        self.token = token
        self.expires_at = expires_at


class _Entry:
    """What the journal says about one request."""

    __slots__ = ('forefront', 'handled', 'lock', 'seq')

    def __init__(self) -> None:
        self.seq = -1
        self.forefront = False
        self.handled = False
        self.lock: _Lock | None = None


def _process_alive(pid: int, create_time: float) -> bool:
    import psutil  # noqa: PLC0415 (lazy: costly import)

    try:
        process = psutil.Process(pid)
        if abs(process.create_time() - create_time) > _CREATE_TIME_TOLERANCE:
            return False  # the pid was recycled by a newer process
        return bool(process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # it exists; we may not look at it


def _own_create_time() -> float:
    import psutil  # noqa: PLC0415 (lazy: costly import)

    return float(psutil.Process(os.getpid()).create_time())


def _dump_line(event: list[Any]) -> str:
    return json.dumps(event, ensure_ascii=False, separators=(',', ':')) + '\n'


class LocalRequestQueueClient:
    """A request queue stored in a local folder, safe across threads and processes.

    Args:
        directory: The queue folder, which already holds its ``__metadata__.json``.
        storage_id: The queue's id.
        name: The queue's name (``None`` for the default and alias queues).
        lock_expiry: Seconds after which an in-progress request of a live process may be
            fetched by another consumer; ``None`` (the default) keeps it until that process ends.
        on_drop: Called after :meth:`drop` deleted the queue (the backend forgets the client).
    """

    def __init__(
        self,
        *,
        directory: Path,
        storage_id: str,
        name: str | None,
        lock_expiry: float | None = None,
        on_drop: Callable[[], object] | None = None,
    ) -> None:
        if lock_expiry is not None and not lock_expiry > 0:
            raise ValueError(
                f'lock_expiry must be a positive number of seconds, got {lock_expiry!r}'
            )
        self._directory = Path(directory)
        self._directory_text = str(self._directory)
        self._on_drop = on_drop
        self._id = storage_id
        self._name = name
        self._lock_expiry = lock_expiry
        self._journal_path = self._directory / JOURNAL_FILE
        self._metadata_path = self._directory / METADATA_FILE
        self._lock = StorageLock(self._directory.parent / f'.{self._directory.name}.lock')
        self._dropped = False
        self._closed = False
        self._pid = -1
        self._create_time = 0.0
        self._token = ''
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._fd: int | None = None
        self._file_key: tuple[int, int] | None = None
        self._offset = 0
        self._line_count = 0
        self._had_multiple_clients = False
        self._stored_metadata: dict[str, Any] = {}
        self._reset_state()
        with self._lock:
            self._claim_identity()
            self._open()

    # --- identity and liveness -------------------------------------------------------------

    def _claim_identity(self) -> None:
        """Give this client a fresh owner identity (at start and after a fork)."""
        self._pid = os.getpid()
        self._create_time = _own_create_time()
        self._token = secrets.token_hex(8)
        self._alive_cache: dict[tuple[int, float], tuple[bool, float]] = {}
        with _LIVE_TOKENS_LOCK:
            _LIVE_TOKENS.add(self._token)
        if self._finalizer is not None:
            self._finalizer.detach()
        self._finalizer = weakref.finalize(self, _forget_token, self._token)

    def _is_own(self, lock: _Lock | None) -> bool:
        return lock is not None and lock.token == self._token and lock.pid == self._pid

    def _lock_alive(self, lock: _Lock, clock: float) -> bool:
        if lock.expires_at is not None and lock.expires_at <= time.time():
            return False
        if (
            lock.pid == self._pid
            and abs(lock.create_time - self._create_time) <= _CREATE_TIME_TOLERANCE
        ):
            with _LIVE_TOKENS_LOCK:
                return lock.token in _LIVE_TOKENS
        key = (lock.pid, lock.create_time)
        cached = self._alive_cache.get(key)
        if cached is not None and (not cached[0] or clock - cached[1] < _LIVENESS_TTL):
            return cached[0]
        alive = _process_alive(lock.pid, lock.create_time)
        self._alive_cache[key] = (alive, clock)
        return alive

    def _sweep(self) -> bool:
        """Free the locks of dead processes (and expired locks); return whether any was freed."""
        clock = time.monotonic()
        self._last_sweep = clock
        freed = False
        for unique_key, lock in list(self._locked.items()):
            if not self._is_own(lock) and not self._lock_alive(lock, clock):
                entry = self._entries[unique_key]
                entry.lock = None
                del self._locked[unique_key]
                self._push(unique_key, entry)
                freed = True
        return freed

    # --- in-memory state --------------------------------------------------------------------

    def _reset_state(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._heap: list[tuple[int, int, str]] = []
        self._locked: dict[str, _Lock] = {}
        self._handled_count = 0
        self._next_seq = 0
        self._ids: dict[str, str] | None = None
        self._last_sweep = 0.0

    def _push(self, unique_key: str, entry: _Entry) -> None:
        key = (0, -entry.seq, unique_key) if entry.forefront else (1, entry.seq, unique_key)
        heapq.heappush(self._heap, key)

    def _apply(self, event: list[Any]) -> None:
        kind = event[0]
        unique_key = event[1]
        entry = self._entries.get(unique_key)
        if kind == 'p':
            if entry is None:
                entry = self._entries[unique_key] = _Entry()
                if self._ids is not None:
                    self._ids[request_id_from_unique_key(unique_key)] = unique_key
            elif entry.handled:
                entry.handled = False
                self._handled_count -= 1
            entry.seq = int(event[2])
            entry.forefront = bool(event[3])
            if entry.lock is not None:
                entry.lock = None
                del self._locked[unique_key]
            self._next_seq = max(self._next_seq, entry.seq + 1)
            self._push(unique_key, entry)
        elif kind == 'l':
            if entry is not None and not entry.handled:
                lock = _Lock(int(event[2]), float(event[3]), str(event[4]), event[5])
                entry.lock = self._locked[unique_key] = lock
        elif kind == 'h':
            if entry is None:
                entry = self._entries[unique_key] = _Entry()
                if self._ids is not None:
                    self._ids[request_id_from_unique_key(unique_key)] = unique_key
            if not entry.handled:
                entry.handled = True
                self._handled_count += 1
                if entry.lock is not None:
                    entry.lock = None
                    del self._locked[unique_key]
        elif kind == 'x' and entry is not None:
            del self._entries[unique_key]
            if entry.handled:
                self._handled_count -= 1
            if entry.lock is not None:
                del self._locked[unique_key]
            if self._ids is not None:
                self._ids.pop(request_id_from_unique_key(unique_key), None)

    # --- the journal file -------------------------------------------------------------------

    def _check_usable(self) -> None:
        if self._dropped:
            raise StorageError(f'request queue {self._id} ({self._directory}) was dropped')
        if self._closed:
            raise StorageError(f'request queue client {self._id} ({self._directory}) is closed')
        if self._pid != os.getpid():  # forked: this process owns none of the parent's locks
            self._claim_identity()
            self._close_fd()

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd = None
        self._file_key = None

    def _open_fd(self) -> None:
        self._close_fd()
        fd = os.open(self._journal_path, os.O_RDWR | os.O_APPEND)
        stat = os.fstat(fd)
        self._fd = fd
        self._file_key = (stat.st_dev, stat.st_ino)

    def _read_new(self, size: int) -> list[bytes]:
        """Read the complete lines after ``self._offset``; cut a torn last line (dead writer)."""
        assert self._fd is not None
        data = os.pread(self._fd, size - self._offset, self._offset) if size > self._offset else b''
        end = data.rfind(b'\n') + 1
        if end < len(data):
            # Only a writer killed mid-write leaves a partial line: every write happens under
            # the lock we hold. Cut it so the next append starts on a fresh line.
            logger.warning(
                'request queue %s: dropping a torn journal line left by a crashed process',
                self._directory,
            )
            os.truncate(self._journal_path, self._offset + end)
            data = data[:end]
        self._offset += end
        return data.splitlines()

    def _apply_lines(self, lines: Iterable[bytes]) -> None:
        for line in lines:
            self._line_count += 1
            try:
                event = json.loads(line)
                if event[0] in ('p', 'l', 'h', 'x'):
                    self._apply(event)
            except (ValueError, TypeError, IndexError, KeyError):
                logger.warning(
                    'request queue %s: skipping an unreadable journal line: %.200r',
                    self._directory,
                    line,
                )

    def _load_journal(self) -> None:
        """Read the whole journal into a fresh in-memory state."""
        self._reset_state()
        self._open_fd()
        self._offset = 0
        self._line_count = 0
        size = os.fstat(self._fd).st_size if self._fd is not None else 0
        self._apply_lines(self._read_new(size))

    def _sync(self) -> None:
        """Catch up with the events other clients appended; reload a replaced journal."""
        self._check_usable()
        try:
            stat = os.stat(self._journal_path)
        except FileNotFoundError:
            if not self._metadata_path.exists():
                self._dropped = True
                self._check_usable()
            self._open()  # the journal was deleted: rebuild it from the request files
            return
        if (stat.st_dev, stat.st_ino) != self._file_key:
            self._load_journal()
            return
        if stat.st_size < self._offset:
            self._load_journal()
        elif stat.st_size > self._offset:
            self._apply_lines(self._read_new(stat.st_size))
            self._note_other_client()

    def _append(self, events: Sequence[list[Any]], *, apply: bool = True) -> None:
        """Apply events to the in-memory state (unless done) and append them in one write."""
        if not events:
            return
        if apply:
            for event in events:
                self._apply(event)
        data = ''.join(_dump_line(event) for event in events).encode('utf-8')
        assert self._fd is not None
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except BaseException:
            # Disk full or interrupted: the memory is ahead of the file. Reload it (and cut a
            # partial line) at the next operation.
            self._file_key = None
            raise
        self._offset += len(data)
        self._line_count += len(events)
        if self._line_count > _COMPACT_MIN_LINES + 3 * len(self._entries):
            self._compact()

    def _snapshot_events(self) -> list[list[Any]]:
        events: list[list[Any]] = []
        for unique_key, entry in self._entries.items():
            if entry.handled:
                events.append(['h', unique_key])
                continue
            events.append(['p', unique_key, entry.seq, int(entry.forefront)])
            lock = entry.lock
            if lock is not None:
                events.append(
                    ['l', unique_key, lock.pid, lock.create_time, lock.token, lock.expires_at]
                )
        return events

    def _write_journal(self, events: Sequence[list[Any]]) -> None:
        """Replace the journal with a header and ``events``, then reload it."""
        header = [*_JOURNAL_HEADER, secrets.token_hex(8)]
        body = ''.join(_dump_line(event) for event in [header, *events]).encode('utf-8')
        atomic_write(self._journal_path, body)
        self._load_journal()

    def _compact(self) -> None:
        self._write_journal(self._snapshot_events())

    # --- opening: reconcile the journal with the files --------------------------------------

    def _open(self) -> None:
        """Load the journal (or build one from the request files) and repair what a crash left."""
        if not self._directory.is_dir():
            raise StorageError(
                f'request queue folder {self._directory} does not exist; open the queue '
                f'through the storage backend, which creates it'
            )
        stored = self._read_metadata()
        had_journal = self._journal_path.exists()
        if had_journal:
            self._load_journal()
        else:
            self._reset_state()

        remove_stale_temp_files(self._directory_text)  # left by writers killed mid-write
        file_names: set[str] = set()
        with os.scandir(self._directory) as scan:
            for item in scan:
                name = item.name
                if (
                    name.endswith('.json')
                    and name != METADATA_FILE
                    and not name.startswith(TEMP_PREFIX)
                ):
                    file_names.add(name)

        events: list[list[Any]] = []
        for unique_key in list(self._entries):
            name = request_file_name(unique_key)
            if name in file_names:
                file_names.discard(name)
            else:
                events.append(['x', unique_key])  # deleted (e.g. by the official SDK's purge)
        events.extend(self._adopt_files(sorted(file_names), had_journal=had_journal))

        if had_journal:
            self._append(events)
        else:
            for event in events:
                self._apply(event)
            self._write_journal(self._snapshot_events())
        self._sweep()
        self._write_metadata(stored, modified=bool(events))

    def _adopt_files(self, names: list[str], *, had_journal: bool) -> list[list[Any]]:
        """Return journal events for request files the journal does not know.

        With no journal (a queue written by the official SDK) the order comes from the official
        SDK's saved state when there is one, else from the files' modification times.
        """
        found: list[tuple[int, str, str, bool]] = []
        for name in names:
            path = self._directory / name
            try:
                request = request_from_json(read_json_file(path))
                mtime = path.stat().st_mtime_ns
            except (OSError, ValueError) as exc:
                logger.warning(
                    'request queue %s: skipping request file %s: %s', self._directory, name, exc
                )
                continue
            if request_file_name(request.unique_key) != name:
                logger.warning(
                    'request queue %s: skipping %s: its name does not match its unique key %r',
                    self._directory,
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
                self._directory,
                len(found),
            )
        forefront_order, regular_order = self._official_order() if not had_journal else ({}, {})
        infinity = float('inf')

        def rank(item: tuple[int, str, str, bool]) -> tuple[int, float, int, str]:
            mtime, name, unique_key, _ = item
            if unique_key in forefront_order:
                return (0, forefront_order[unique_key], 0, name)
            return (1, regular_order.get(unique_key, infinity), mtime, name)

        events: list[list[Any]] = []
        seq = self._next_seq
        for _, _, unique_key, handled in sorted(found, key=rank):
            if handled:
                events.append(['h', unique_key])
            else:
                events.append(['p', unique_key, seq, int(unique_key in forefront_order)])
                seq += 1
        return events

    def _official_order(self) -> tuple[dict[str, int], dict[str, int]]:
        """Read the order the official SDK saved in the default key-value store, if any."""
        path = (
            self._directory.parent.parent
            / 'key_value_stores'
            / 'default'
            / f'__RQ_STATE_{self._id}'
        )
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

    # --- metadata ---------------------------------------------------------------------------

    def _read_metadata(self) -> dict[str, Any]:
        try:
            data = read_json_file(self._metadata_path)
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            logger.warning(
                'request queue %s: %s is not valid JSON (%s); rewriting it',
                self._directory,
                METADATA_FILE,
                exc,
            )
            return {}
        return data if isinstance(data, dict) else {}

    def _note_other_client(self) -> None:
        if not self._had_multiple_clients:
            self._had_multiple_clients = True
            self._write_metadata(self._read_metadata(), modified=False)

    def _write_metadata(self, stored: dict[str, Any], *, modified: bool) -> None:
        """Write ``__metadata__.json`` with the counts of the in-memory state."""
        current = now()
        created_at = parse_datetime(_field(stored, 'created_at', 'createdAt'), None) or current
        modified_at = parse_datetime(_field(stored, 'modified_at', 'modifiedAt'), None) or current
        if modified:
            modified_at = current
        had_multiple = bool(_field(stored, 'had_multiple_clients', 'hadMultipleClients', False))
        self._had_multiple_clients = had_multiple or self._had_multiple_clients
        total = len(self._entries)
        metadata = {
            'id': self._id,
            'name': self._name,
            'accessed_at': format_datetime(current),
            'created_at': format_datetime(created_at),
            'modified_at': format_datetime(modified_at),
            'had_multiple_clients': self._had_multiple_clients,
            'handled_request_count': self._handled_count,
            'pending_request_count': total - self._handled_count,
            'total_request_count': total,
        }
        replace_file(str(self._metadata_path), dump_json_fast(metadata))
        self._stored_metadata = metadata

    def _touch_metadata(self) -> None:
        """Record a change: new counts and ``modified_at``."""
        self._write_metadata(self._stored_metadata, modified=True)

    # --- request files ----------------------------------------------------------------------

    def _request_path(self, unique_key: str) -> str:
        return os.path.join(self._directory_text, request_file_name(unique_key))

    def _read_request(self, unique_key: str) -> Request | None:
        path = self._request_path(unique_key)
        try:
            return request_from_json(json.loads(read_file(path)))
        except FileNotFoundError:
            return None
        except ValueError as exc:
            raise StorageError(
                f'request file {path} of unique key {unique_key!r} is not a valid request '
                f'({exc}); fix or delete the file'
            ) from exc

    def _write_request(self, request: Request) -> None:
        data = dump_json_fast(request_to_json(request))
        replace_file(self._request_path(request.unique_key), data)

    # --- the RequestQueueClient contract ----------------------------------------------------

    @property
    def id(self) -> str:
        return self._id

    @property
    def name(self) -> str | None:
        return self._name

    @property
    def directory(self) -> Path:
        """The queue folder."""
        return self._directory

    def get_metadata(self) -> RequestQueueMetadata:
        with self._lock:
            self._sync()
            stored = self._read_metadata()
            total = len(self._entries)
            handled = self._handled_count
        current = now()
        return RequestQueueMetadata(
            id=self._id,
            name=self._name,
            created_at=parse_datetime(_field(stored, 'created_at', 'createdAt'), current),
            modified_at=parse_datetime(_field(stored, 'modified_at', 'modifiedAt'), current),
            accessed_at=parse_datetime(_field(stored, 'accessed_at', 'accessedAt'), current),
            had_multiple_clients=self._had_multiple_clients
            or bool(_field(stored, 'had_multiple_clients', 'hadMultipleClients', False)),
            handled_request_count=handled,
            pending_request_count=total - handled,
            total_request_count=total,
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
                self._file_key = None  # the in-memory state may be ahead: reload next time
                raise
            if events:
                self._touch_metadata()
        return results

    def _add_batch(
        self, requests: Sequence[Request], forefront: bool, results: list[ProcessedRequest]
    ) -> list[list[Any]]:
        events: list[list[Any]] = []
        clock = time.monotonic()
        for request in requests:
            unique_key = request.unique_key
            entry = self._entries.get(unique_key)
            present = entry is not None
            handled = entry is not None and entry.handled
            if entry is None:
                self._write_request(request)
                event = ['p', unique_key, self._next_seq, int(forefront)]
                self._apply(event)  # so that a duplicate later in the batch is seen
                events.append(event)
                if request.handled_at is not None:
                    events.append(['h', unique_key])
                    self._apply(events[-1])
                    handled = True
            elif (
                forefront
                and not handled
                and (entry.lock is None or not self._lock_alive(entry.lock, clock))
            ):
                event = ['p', unique_key, self._next_seq, 1]
                self._apply(event)
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
            if self._ids is None:
                self._ids = {request_id_from_unique_key(key): key for key in self._entries}
            unique_key = self._ids.get(request_id)
            if unique_key is None and request_id in self._entries:
                unique_key = request_id
            if unique_key is None:
                return None
            return self._read_request(unique_key)

    def fetch_next_request(self) -> Request | None:
        with self._lock:
            self._sync()
            clock = time.monotonic()
            if self._locked and clock - self._last_sweep > _SWEEP_INTERVAL:
                self._sweep()
            while True:
                unique_key = self._pop_candidate(clock)
                if unique_key is None:
                    if self._locked and self._sweep():
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
                    self._touch_metadata()
                    continue
                if request.handled_at is not None:  # a crash came between file and journal
                    self._append([['h', unique_key]])
                    self._touch_metadata()
                    continue
                expires_at = None if self._lock_expiry is None else time.time() + self._lock_expiry
                self._append(
                    [['l', unique_key, self._pid, self._create_time, self._token, expires_at]]
                )
                return request

    def _pop_candidate(self, clock: float) -> str | None:
        heap = self._heap
        while heap:
            group, key, unique_key = heapq.heappop(heap)
            entry = self._entries.get(unique_key)
            if entry is None or entry.handled or entry.forefront != (group == 0):
                continue
            if entry.seq != (-key if group == 0 else key):
                continue  # moved since: a newer heap item stands for it
            lock = entry.lock
            if lock is not None and (self._is_own(lock) or self._lock_alive(lock, clock)):
                continue  # in progress; it comes back with a 'p' event or a sweep
            return unique_key
        return None

    def mark_request_as_handled(self, request: Request) -> ProcessedRequest | None:
        with self._lock:
            self._sync()
            entry = self._entries.get(request.unique_key)
            if entry is None or not self._is_own(entry.lock):
                logger.warning(
                    'request %r is not in progress in this client (fetch it first); '
                    'it was not marked as handled',
                    request.unique_key,
                )
                return None
            if request.handled_at is None:
                request.handled_at = now()
            self._write_request(request)
            self._append([['h', request.unique_key]])
            self._touch_metadata()
        return ProcessedRequest(
            id=request_id_from_unique_key(request.unique_key),
            unique_key=request.unique_key,
            was_already_present=True,
            was_already_handled=True,
        )

    def reclaim_request(self, request: Request, *, forefront: bool) -> ProcessedRequest | None:
        with self._lock:
            self._sync()
            entry = self._entries.get(request.unique_key)
            if entry is None or not self._is_own(entry.lock):
                logger.warning(
                    'request %r is not in progress in this client (fetch it first); '
                    'it was not reclaimed',
                    request.unique_key,
                )
                return None
            request.handled_at = None
            self._write_request(request)
            self._append([['p', request.unique_key, self._next_seq, int(forefront)]])
            self._touch_metadata()
        return ProcessedRequest(
            id=request_id_from_unique_key(request.unique_key),
            unique_key=request.unique_key,
            was_already_present=True,
            was_already_handled=False,
        )

    def is_empty(self) -> bool:
        with self._lock:
            self._sync()
            if self._locked:
                self._sweep()
            return len(self._entries) - self._handled_count == len(self._locked)

    def is_finished(self) -> bool:
        with self._lock:
            self._sync()
            return len(self._entries) == self._handled_count

    def get_handled_count(self) -> int:
        """Return how many requests are handled."""
        with self._lock:
            self._sync()
            return self._handled_count

    def get_total_count(self) -> int:
        """Return how many distinct requests the queue holds."""
        with self._lock:
            self._sync()
            return len(self._entries)

    def purge(self) -> None:
        """Delete every request (files and state) and reset the counts to 0."""
        with self._lock:
            self._check_usable()
            with os.scandir(self._directory) as scan:
                names = [
                    item.name
                    for item in scan
                    if item.name.endswith('.json') and item.name != METADATA_FILE
                ]
            for name in names:
                (self._directory / name).unlink(missing_ok=True)
            self._write_journal([])
            self._touch_metadata()

    def drop(self) -> None:
        """Delete the queue folder; the client is unusable afterwards."""
        with self._lock:
            self._close_fd()
            shutil.rmtree(self._directory, ignore_errors=True)
            self._dropped = True
            self._reset_state()
        self._lock.close()
        self._release_token()
        if self._on_drop is not None:
            self._on_drop()

    def close(self) -> None:
        """Release the file handle; requests this client holds in progress become free."""
        with self._lock:
            self._close_fd()
            self._closed = True
        self._lock.close()
        self._release_token()

    def _release_token(self) -> None:
        if self._finalizer is not None:
            self._finalizer()


def _forget_token(token: str) -> None:
    with _LIVE_TOKENS_LOCK:
        _LIVE_TOKENS.discard(token)
