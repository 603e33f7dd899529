"""File-system primitives for the local storages: atomic writes, metadata files, locks.

Every file a local storage writes goes through :func:`atomic_write` (a temp file in the same
folder, then ``os.replace``) or :func:`atomic_create` (the same, but never replacing an existing
file), so a crash at any moment leaves either the old file or the new one, never a torn one.
Temp files start with ``.actorkit-tmp-`` and are never read as data.

:func:`create_new_file` is the fast twin of :func:`atomic_create` for hot paths (dataset items):
on Linux it writes an unnamed file (``O_TMPFILE``) and links it into place, so no temp name ever
appears in the folder, not even after a ``kill -9``. Nothing here calls ``fsync``: files survive
the death of the process (the page cache is the kernel's), not a power loss, like the official SDK.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import os
import string
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import filelock

_fcntl: Any
try:
    import fcntl as _fcntl
except ImportError:  # pragma: no cover (Windows: filelock is used instead)
    _fcntl = None

TEMP_PREFIX = '.actorkit-tmp-'
"""Prefix of every temp file; readers skip such files."""

METADATA_FILE = '__metadata__.json'
"""The metadata file of every storage folder, as the official SDK names it."""

_ID_ALPHABET = string.ascii_letters + string.digits


def random_id(length: int = 17) -> str:
    """Return a random alphanumeric storage id, like the official tools make."""
    # os.urandom, not the secrets module: ids need no more, and secrets costs milliseconds of
    # imports at start-up. Rejection sampling keeps the 62 characters uniform.
    chars: list[str] = []
    while len(chars) < length:
        chars.extend(_ID_ALPHABET[b % 62] for b in os.urandom(length * 2) if b < 248)
    return ''.join(chars[:length])


def now() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(timezone.utc)


def format_datetime(value: datetime) -> str:
    """Format a datetime as the official SDK writes it: ``str()`` of the UTC time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return str(value.astimezone(timezone.utc))


def _temp_path(path: Path) -> Path:
    return path.with_name(f'{TEMP_PREFIX}{path.name}.{os.getpid()}.{os.urandom(4).hex()}')


def _write_temp(path: Path, data: bytes) -> Path:
    temp = _temp_path(path)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    except BaseException:
        os.close(fd)
        temp.unlink(missing_ok=True)
        raise
    os.close(fd)
    return temp


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, replacing any existing file."""
    temp = _write_temp(path, data)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def atomic_create(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically unless ``path`` already exists.

    Returns:
        ``True`` when the file was created, ``False`` when ``path`` already existed (nothing
        was changed then).
    """
    temp = _write_temp(path, data)
    try:
        os.link(temp, path)
    except FileExistsError:
        return False
    finally:
        temp.unlink(missing_ok=True)
    return True


def read_json_file(path: Path) -> Any:
    """Read and parse a JSON file (raises ``FileNotFoundError`` or ``ValueError``)."""
    with open(path, 'rb') as file:
        return json.loads(file.read())


_temp_counter = itertools.count()
"""Numbers the temp files of :func:`write_temp_file` (unique with the pid; cheaper than random)."""

_TMPFILE_FLAG: int | None = getattr(os, 'O_TMPFILE', None) if sys.platform == 'linux' else None
_tmpfile_unsupported: set[str] = set()
"""Folders whose file system refused ``O_TMPFILE`` (checked once per folder)."""


def write_temp_file(path: str, data: bytes) -> str:
    """Write ``data`` to a new temp file beside ``path`` and return the temp file's path.

    The caller moves it into place with ``os.replace`` (or removes it). The name starts with
    :data:`TEMP_PREFIX`, so readers never take it for data even if the process dies first.
    """
    folder, name = os.path.split(path)
    pid = os.getpid()
    while True:
        # The name is cut so that long names still leave room for the prefix and suffix.
        temp = os.path.join(folder, f'{TEMP_PREFIX}{name[:120]}.{pid}.{next(_temp_counter)}')
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:  # left over by a dead process that had the same pid
            continue
        break
    try:
        _write_all(fd, data)
    except BaseException:
        os.close(fd)
        _unlink_quietly(temp)
        raise
    os.close(fd)
    return temp


def replace_file(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file + ``os.replace``); str-path fast path."""
    temp = write_temp_file(path, data)
    try:
        os.replace(temp, path)
    except BaseException:
        _unlink_quietly(temp)
        raise


def create_new_file(path: str, data: bytes) -> bool:
    """Create ``path`` holding ``data`` atomically, unless it exists; never replaces a file.

    Like :func:`atomic_create`, but faster and leaving no temp file behind: on Linux the data
    goes to an unnamed file (``O_TMPFILE``) that ``linkat`` then gives its name, which fails if
    the name is taken. Elsewhere, or where the file system refuses ``O_TMPFILE``, it falls back
    to :func:`atomic_create`.

    Returns:
        ``True`` when the file was created, ``False`` when ``path`` already existed.
    """
    if not os.path.isabs(path):
        path = os.path.abspath(path)
    folder = os.path.dirname(path)
    if _TMPFILE_FLAG is None or folder in _tmpfile_unsupported:
        return atomic_create(Path(path), data)
    try:
        fd = os.open(folder, _TMPFILE_FLAG | os.O_WRONLY, 0o644)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            _tmpfile_unsupported.add(folder)
            return atomic_create(Path(path), data)
        raise
    try:
        _write_all(fd, data)
        try:
            # linkat(..., AT_SYMLINK_FOLLOW) links the open file itself; Python only calls
            # linkat when given a dir fd (ignored here: the destination path is absolute).
            os.link(f'/proc/self/fd/{fd}', path, dst_dir_fd=_root_fd(), follow_symlinks=True)
        except FileExistsError:
            return False
        except FileNotFoundError:
            if os.path.isdir('/proc/self/fd'):
                raise  # the folder itself is gone
            _tmpfile_unsupported.add(folder)  # no /proc: link through a named temp file
            return atomic_create(Path(path), data)
        return True
    finally:
        os.close(fd)


_root_dir_fd: int | None = None


def _root_fd() -> int:
    global _root_dir_fd
    if _root_dir_fd is None:
        _root_dir_fd = os.open('/', os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    return _root_dir_fd


def read_file(path: str) -> bytes:
    """Read a whole file with the fewest system calls (raises ``FileNotFoundError``)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, size + 1)
        if len(data) <= size:  # short read, or the file grew meanwhile: read to the end
            chunks = [data]
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            data = b''.join(chunks)
        return data
    finally:
        os.close(fd)


def remove_stale_temp_files(folder: str) -> int:
    """Delete temp files left in ``folder`` by processes that no longer exist.

    Temp file names end with ``.<pid>.<n>``; a file whose process is alive (or whose pid cannot
    be checked) is kept. Returns how many files were deleted.
    """
    removed = 0
    try:
        names = [name for name in os.listdir(folder) if name.startswith(TEMP_PREFIX)]
    except FileNotFoundError:
        return 0
    for name in names:
        pid_text = name.rsplit('.', 2)[-2] if name.count('.') >= 2 else ''
        if not pid_text.isdigit() or _process_exists(int(pid_text)):
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(folder, name))
            removed += 1
    return removed


def _process_exists(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if sys.platform == 'win32':  # pragma: no cover (no cheap check: keep the file)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: the process exists under another user
        return True
    return True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


_METADATA_CAMEL = {
    'accessedAt': 'accessed_at',
    'createdAt': 'created_at',
    'modifiedAt': 'modified_at',
    'itemCount': 'item_count',
    'hadMultipleClients': 'had_multiple_clients',
    'handledRequestCount': 'handled_request_count',
    'pendingRequestCount': 'pending_request_count',
    'totalRequestCount': 'total_request_count',
}


def read_storage_metadata(path: Path) -> dict[str, Any] | None:
    """Read a storage's ``__metadata__.json`` with snake_case keys, or ``None`` if it is missing.

    The official SDK writes snake_case keys, the CLI camelCase ones (``itemCount``); both are
    accepted, snake_case winning when a file has both. Values are returned as found.

    Raises:
        StorageError: The file is not a JSON object.
    """
    from actorkit._errors import StorageError  # noqa: PLC0415 (keeps this module dependency-free)

    try:
        raw = read_file(str(path))
    except FileNotFoundError:
        return None
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise StorageError(
            f'{path} is not valid JSON ({exc}): fix the file, or delete it to let actorkit '
            f'write a new one (the storage then gets a new id)'
        ) from exc
    if not isinstance(data, dict):
        raise StorageError(
            f'{path} holds a JSON {type(data).__name__}, not an object: fix the file or delete it'
        )
    result: dict[str, Any] = {}
    for key, value in data.items():
        snake = _METADATA_CAMEL.get(str(key), str(key))
        if snake != key and snake in data:
            continue
        result[snake] = value
    return result


class StorageLock:
    """A lock that serializes one storage across threads and processes.

    It combines a ``threading.Lock`` (threads of this process) with an exclusive ``flock`` on a
    lock file (other processes). On POSIX the lock file stays open between uses, so taking the
    lock costs two system calls; elsewhere ``filelock`` is used (imported on first use, so
    importing actorkit stays cheap). A process forked while the lock is held gets a fresh lock.
    The lock file lives beside the storage folder, never inside it, so the official tools never
    mistake it for a record or an item; it is never deleted, since a process waiting on it
    would then lock a file nobody else sees.
    """

    def __init__(self, lock_path: Path) -> None:
        self._lock_path = lock_path
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._file_lock: filelock.BaseFileLock | None = None
        self._pid = os.getpid()

    def _after_fork(self) -> None:
        # The child's copy of the thread lock may be held by a thread that does not exist in
        # the child, and its file descriptor shares the parent's lock: start afresh.
        self._thread_lock = threading.Lock()
        if self._fd is not None:
            os.close(self._fd)
        self._fd = None
        self._file_lock = None
        self._pid = os.getpid()

    def _acquire_file(self) -> None:
        if _fcntl is None:
            if self._file_lock is None:
                import filelock  # noqa: PLC0415 (lazy: costly import)

                self._file_lock = filelock.FileLock(str(self._lock_path), thread_local=False)
            self._file_lock.acquire()
            return
        fd = self._fd
        if fd is None:
            self._lock_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            self._fd = fd
        _fcntl.flock(fd, _fcntl.LOCK_EX)

    def _release_file(self) -> None:
        if _fcntl is None:
            if self._file_lock is not None:
                self._file_lock.release()
        elif self._fd is not None:
            _fcntl.flock(self._fd, _fcntl.LOCK_UN)

    def __enter__(self) -> StorageLock:
        if self._pid != os.getpid():
            self._after_fork()
        self._thread_lock.acquire()
        try:
            self._acquire_file()
        except BaseException:
            self._thread_lock.release()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._release_file()
        finally:
            self._thread_lock.release()

    def close(self) -> None:
        """Close the lock file; the lock stays usable and reopens it when taken again."""
        if self._pid != os.getpid():
            self._after_fork()
            return
        with self._thread_lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
