"""File-system primitives for the local storages: atomic writes, metadata files, locks.

Every file a local storage writes goes through :func:`atomic_write` (a temp file in the same
folder, then ``os.replace``) or :func:`atomic_create` (the same, but never replacing an existing
file), so a crash at any moment leaves either the old file or the new one, never a torn one.
Temp files start with ``.actorkit-tmp-`` and are never read as data.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import threading
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import filelock

TEMP_PREFIX = '.actorkit-tmp-'
"""Prefix of every temp file; readers skip such files."""

METADATA_FILE = '__metadata__.json'
"""The metadata file of every storage folder, as the official SDK names it."""

_ID_ALPHABET = string.ascii_letters + string.digits


def random_id(length: int = 17) -> str:
    """Return a random alphanumeric storage id, like the official tools make."""
    return ''.join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def now() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(timezone.utc)


def format_datetime(value: datetime) -> str:
    """Format a datetime as the official SDK writes it: ``str()`` of the UTC time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return str(value.astimezone(timezone.utc))


def parse_datetime(value: object) -> datetime | None:
    """Parse a datetime as written by the official SDK (space) or the CLI (ISO with ``T``/``Z``).

    Returns ``None`` for anything that is not a recognisable datetime string.
    """
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(('Z', 'z')):
        text = text[:-1] + '+00:00'
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _temp_path(path: Path) -> Path:
    return path.with_name(f'{TEMP_PREFIX}{path.name}.{os.getpid()}.{secrets.token_hex(4)}')


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


def dump_json(value: Any) -> bytes:
    """Serialize JSON as the official SDK writes files: indent 2, non-ASCII kept, no newline."""
    return json.dumps(value, indent=2, ensure_ascii=False).encode('utf-8')


def read_json_file(path: Path) -> Any:
    """Read and parse a JSON file (raises ``FileNotFoundError`` or ``ValueError``)."""
    with open(path, 'rb') as file:
        return json.loads(file.read())


class StorageLock:
    """A lock that serializes one storage across threads and processes.

    It combines a ``threading.Lock`` (threads of this process) with a file lock (other
    processes); ``filelock`` is imported on first use so importing actorkit stays cheap.
    The lock file lives beside the storage folder, never inside it, so the official tools
    never mistake it for a record or an item.
    """

    def __init__(self, lock_path: Path) -> None:
        self._lock_path = lock_path
        self._thread_lock = threading.Lock()
        self._file_lock: filelock.BaseFileLock | None = None
        self._pid = os.getpid()

    def _get_file_lock(self) -> filelock.BaseFileLock:
        if self._file_lock is None or self._pid != os.getpid():
            import filelock  # noqa: PLC0415 (lazy: costly import)

            self._file_lock = filelock.FileLock(str(self._lock_path), thread_local=False)
            self._pid = os.getpid()
        return self._file_lock

    def __enter__(self) -> StorageLock:
        self._thread_lock.acquire()
        try:
            self._get_file_lock().acquire()
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
            self._get_file_lock().release()
        finally:
            self._thread_lock.release()
