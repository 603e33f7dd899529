"""The local key-value store: one file per record, plus a sidecar with its key and content type.

Layout (``key_value_stores/<dir>/``), as the official SDK writes it:

- ``<quote(key)>``: the value, byte for byte (``urllib.parse.quote(key, safe='')``).
- ``<quote(key)>.__metadata__.json``: the sidecar ``{"key", "content_type", "size"}``.
- ``__metadata__.json``: the store's metadata.

Files the Apify CLI writes, ``KEY.<ext>`` without a sidecar (``INPUT.json``, ``note.txt``), are
records too: key ``KEY`` (the name without its last extension), content type from the
extension. A sidecar-less file without extension is the record of its own name, read as JSON if
it parses and as bytes otherwise. The official SDK's input file ``INPUT.json`` with a sidecar
whose ``key`` is ``INPUT`` is record ``INPUT``: a sidecar's ``key`` always wins over the file name.
Two files for one key (``INPUT`` and ``INPUT.json``) are an error when the key is read; writing
or deleting the key replaces or removes all of them. Temp files, dot files and the official SDK's
``*.tmp`` leftovers are never records.

Crash safety: a record is two files, so no write of both can be atomic. ``set_record`` writes
both temp files first, then renames the value, then the sidecar (the official SDK's order), so
the unsafe window is two back-to-back renames. A crash inside it leaves either a new value with
the previous sidecar, or (new key) a value without sidecar. Readers therefore trust the value
file: a sidecar whose ``size`` disagrees with it is stale, and its content type is kept only if
the bytes fit it (valid JSON for JSON, decodable text for text), else the type is guessed from the
bytes; a lone value file is read like a CLI file. The same rules cover a reader that races a
writer in another process (it looks at the sidecar once more before deciding it is stale).

Concurrency: record writes take no cross-process lock; each file is replaced atomically and the
last writer wins, as on the platform. Threads of one process are serialized by a mutex, so they
never see a half-written pair. Purge and drop take the storage's cross-process lock.

Finding a key's CLI files, and listing keys, would need a folder listing per call, so the client
keeps an index of the folder (:mod:`._kvs_index`), rebuilt only when someone else changed the
folder. The record's own file and sidecar are always read directly, never through the index. A
page of keys costs a binary search plus one ``stat`` (the size) and one sidecar read (the content
type) per key of the page, so listing every key of a store is linear in the number of keys.

Reads never write: unlike the official SDK, reading does not rewrite ``accessed_at``. The store's
``modified_at`` is written at most once a second while records change, and on ``close()``.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import os
import threading
import time
import weakref
from collections.abc import Callable
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

from actorkit._convert import parse_datetime
from actorkit._errors import InvalidStorageArgumentError, StorageError
from actorkit.storages._kvs_models import KeyInfo, KeyListPage, KeyValueStoreMetadata
from actorkit.storages._local._fs import (
    METADATA_FILE,
    StorageLock,
    format_datetime,
    now,
    read_file,
    read_storage_metadata,
    remove_stale_temp_files,
    replace_file,
    write_temp_file,
)
from actorkit.storages._local._kvs_index import (
    SIDECAR_SUFFIX,
    FolderIndex,
    split_extension,
)
from actorkit.storages._serialization import (
    body_fits_content_type,
    content_type_for_extension,
    dump_json,
    sniff_content_type,
)

_METADATA_INTERVAL = 1.0
"""Seconds between rewrites of the store's ``modified_at`` while records change."""
_MAX_FILE_NAME = 255 - len(SIDECAR_SUFFIX)
"""The longest value file name whose sidecar name still fits the usual 255-byte limit."""


class _Candidate(NamedTuple):
    file: str
    """The value file's name."""
    sidecar: dict[str, Any] | None
    """Its parsed sidecar, or ``None`` for a file without one."""


def sidecar_bytes(key: str, content_type: str, size: int) -> bytes:
    """Return a record's sidecar exactly as ``dump_json`` would write it (but faster)."""
    return (
        '{\n  "key": '
        + encode_basestring(key)
        + ',\n  "content_type": '
        + encode_basestring(content_type)
        + ',\n  "size": '
        + str(size)
        + '\n}'
    ).encode('utf-8')


_CLIENTS: weakref.WeakSet[LocalKeyValueStoreClient] = weakref.WeakSet()
"""Every live client, so that a forked child can give each a fresh mutex."""


def _reset_after_fork() -> None:
    # A thread of the parent may have held a mutex at the fork; it does not exist in the child.
    for client in list(_CLIENTS):
        client._mutex = threading.Lock()


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_reset_after_fork)


class LocalKeyValueStoreClient:
    """Record access to one key-value store folder (see the module docstring for the layout)."""

    def __init__(
        self,
        *,
        directory: Path,
        lock: StorageLock,
        metadata: KeyValueStoreMetadata,
        input_key: str = 'INPUT',
        on_drop: Callable[[], None] | None = None,
    ) -> None:
        """Wrap an existing store folder.

        Args:
            directory: The store folder; it and its ``__metadata__.json`` exist.
            lock: The cross-process lock of this store (for purge and drop).
            metadata: The store's metadata as read from its folder.
            input_key: The key of the Actor input, which :meth:`purge` keeps.
            on_drop: Called after :meth:`drop` removed the folder.
        """
        self._directory = Path(directory)
        self._dir = str(directory)
        self._prefix = os.path.join(self._dir, '')
        self._meta_path = self._prefix + METADATA_FILE
        self._swept = False
        self._lock = lock
        self._mutex = threading.Lock()
        self._id = metadata.id
        self._name = metadata.name
        self._created_at = metadata.created_at
        self._accessed_at = metadata.accessed_at
        self._modified_at = metadata.modified_at
        self._input_key = input_key
        self._on_drop = on_drop
        self._dropped = False
        self._metadata_dirty = False
        self._metadata_written_at = float('-inf')
        self._index = FolderIndex(self._dir, self._read_sidecar)
        _CLIENTS.add(self)

    # ------------------------------------------------------------------ properties

    @property
    def id(self) -> str:
        """The store's id."""
        return self._id

    @property
    def directory(self) -> Path:
        """The store's folder."""
        return self._directory

    def __repr__(self) -> str:
        return f'<LocalKeyValueStoreClient id={self._id!r} directory={self._dir!r}>'

    # ------------------------------------------------------------------ metadata

    def get_metadata(self) -> KeyValueStoreMetadata:
        """Return the store's metadata, as its file says, with this client's own changes."""
        data = read_storage_metadata(Path(self._meta_path)) or {}
        modified = parse_datetime(data.get('modified_at'), None) or self._modified_at
        accessed = parse_datetime(data.get('accessed_at'), None) or self._accessed_at
        return KeyValueStoreMetadata(
            id=self._id,
            name=self._name,
            created_at=parse_datetime(data.get('created_at'), None) or self._created_at,
            modified_at=max(modified, self._modified_at),
            accessed_at=max(accessed, self._accessed_at),
        )

    def _metadata_bytes(self) -> bytes:
        return dump_json(
            {
                'id': self._id,
                'name': self._name,
                'accessed_at': format_datetime(self._accessed_at),
                'created_at': format_datetime(self._created_at),
                'modified_at': format_datetime(self._modified_at),
            }
        )

    def _write_metadata(self) -> None:
        try:
            replace_file(self._meta_path, self._metadata_bytes())
        except FileNotFoundError:  # the folder was dropped by someone else: bring it back
            os.makedirs(self._dir, exist_ok=True)
            replace_file(self._meta_path, self._metadata_bytes())
        self._metadata_dirty = False
        self._metadata_written_at = time.monotonic()

    def _touch(self) -> None:
        self._modified_at = self._accessed_at = now()
        if time.monotonic() - self._metadata_written_at >= _METADATA_INTERVAL:
            self._write_metadata()
        else:
            self._metadata_dirty = True

    def flush(self) -> None:
        """Write the store's ``modified_at`` if a change is not written yet."""
        with self._mutex:
            if self._metadata_dirty and not self._dropped:
                self._write_metadata()

    def close(self) -> None:
        """Flush the metadata; the client stays usable."""
        self.flush()

    # ------------------------------------------------------------------ locating records

    def _path(self, name: str) -> str:
        return self._prefix + name

    def _sweep(self) -> None:
        """Delete the temp files of crashed writers, once, at this client's first write.

        It lists the folder, so opening a store only to read it does not.
        """
        if not self._swept:
            remove_stale_temp_files(self._dir)
            self._swept = True

    def _read_sidecar(self, name: str) -> dict[str, Any] | None:
        try:
            data = json.loads(read_file(self._path(name + SIDECAR_SUFFIX)))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get('content_type'), str):
            return None
        return data

    def _locate(self, key: str) -> list[_Candidate]:
        """Return the files that may hold ``key`` (value files are not checked to exist)."""
        exact = quote(key, safe='')
        found: list[_Candidate] = []
        sidecar = self._read_sidecar(exact)
        if sidecar is not None:
            if sidecar.get('key', key) == key:
                found.append(_Candidate(exact, sidecar))
        elif (
            not split_extension(exact)[1]
            and not exact.startswith('.')
            and os.path.isfile(self._path(exact))
        ):
            found.append(_Candidate(exact, None))
        found.extend(self._other_files(key, exact))
        if not found and self._index.rescan_on_miss():
            found.extend(self._other_files(key, exact))
        return found

    def _other_files(self, key: str, exact: str) -> list[_Candidate]:
        """Return the files other than ``exact`` that hold ``key`` (CLI files and the like)."""
        found: list[_Candidate] = []
        for name, has_sidecar in self._index.current().get(key, ()):
            if name == exact:
                continue
            other = self._read_sidecar(name) if has_sidecar else None
            if other is None:
                found.append(_Candidate(name, None))  # a CLI file of this key
            elif other.get('key') == key:
                found.append(_Candidate(name, other))
        return found

    def _read_candidate(self, candidate: _Candidate) -> tuple[bytes, str] | None:
        try:
            body = read_file(self._path(candidate.file))
        except (FileNotFoundError, IsADirectoryError):
            return None
        sidecar = candidate.sidecar
        if sidecar is None:
            extension = split_extension(candidate.file)[1]
            if extension:
                return body, content_type_for_extension(extension)
            return body, sniff_content_type(body)
        content_type: str = sidecar['content_type']
        size = sidecar.get('size')
        if not isinstance(size, int) or size == len(body):
            return body, content_type
        # The sidecar does not describe this value: a writer may be between its two renames
        # (look once more), or one crashed there: trust the value file.
        fresh = self._read_sidecar(candidate.file)
        if fresh is not None and fresh.get('size') == len(body):
            return body, str(fresh['content_type'])
        if body_fits_content_type(body, content_type):
            return body, content_type
        return body, sniff_content_type(body)

    def _ambiguous(self, key: str, files: list[str]) -> StorageError:
        listed = ', '.join(files)
        return StorageError(
            f'key {key!r} in {self._dir} is held by more than one file ({listed}): delete all '
            f'but one of them, or set the key again to replace them all'
        )

    def _check_usable(self) -> None:
        if self._dropped:
            raise StorageError(
                f'the key-value store {self._id} ({self._dir}) was dropped; open it again to '
                f'create a new one'
            )

    # ------------------------------------------------------------------ records

    def get_record(self, key: str) -> tuple[bytes, str] | None:
        """Return ``(body, content_type)`` of a record, or ``None`` when it does not exist.

        Raises:
            StorageError: More than one file holds the key.
        """
        with self._mutex:
            self._check_usable()
            found: list[tuple[str, tuple[bytes, str]]] = []
            for candidate in self._locate(key):
                record = self._read_candidate(candidate)
                if record is not None:
                    found.append((candidate.file, record))
            if len(found) > 1:
                raise self._ambiguous(key, [name for name, _ in found])
            return found[0][1] if found else None

    def record_exists(self, key: str) -> bool:
        """Whether a record exists under ``key``."""
        with self._mutex:
            self._check_usable()
            return any(os.path.isfile(self._path(c.file)) for c in self._locate(key))

    def set_record(self, key: str, body: bytes, content_type: str) -> None:
        """Write a record: value file, then sidecar; then remove other files of the key."""
        name = quote(key, safe='')
        if len(name) > _MAX_FILE_NAME:
            raise InvalidStorageArgumentError(
                f'key {key!r} is too long to be stored locally: its file name is {len(name)} '
                f'characters once quoted, and with the sidecar suffix it must fit in 255 bytes '
                f'({_MAX_FILE_NAME} for the name): use a shorter key'
            )
        path = self._path(name)
        sidecar = sidecar_bytes(key, content_type, len(body))
        with self._mutex:
            self._check_usable()
            self._sweep()
            others = [c.file for c in self._other_files(key, name)]
            try:
                self._write_pair(path, body, sidecar)
            except FileNotFoundError:  # the folder was dropped by someone else: bring it back
                os.makedirs(self._dir, exist_ok=True)
                self._write_metadata()
                self._write_pair(path, body, sidecar)
            self._remove_files(others)
            self._index.file_added(key, name)
            self._index.after_own_change()
            self._touch()

    def _write_pair(self, path: str, body: bytes, sidecar: bytes) -> None:
        value_temp = write_temp_file(path, body)
        try:
            sidecar_temp = write_temp_file(path + SIDECAR_SUFFIX, sidecar)
        except BaseException:
            os.unlink(value_temp)
            raise
        try:
            os.replace(value_temp, path)
            os.replace(sidecar_temp, path + SIDECAR_SUFFIX)
        except BaseException:
            for temp in (value_temp, sidecar_temp):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp)
            raise

    def _remove_files(self, names: list[str]) -> None:
        # Value first, then sidecar: in between, the record reads as missing, never wrong.
        for name in names:
            for path in (self._path(name), self._path(name + SIDECAR_SUFFIX)):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
        self._index.files_removed(names)

    def delete_record(self, key: str) -> None:
        """Delete every file of a record; deleting a missing record is not an error."""
        with self._mutex:
            self._check_usable()
            self._sweep()
            names = [c.file for c in self._locate(key)]
            if not names:
                return
            self._remove_files(names)
            self._index.key_removed(key)
            self._index.after_own_change()
            self._touch()

    def list_keys(
        self, *, exclusive_start_key: str | None, limit: int, prefix: str | None
    ) -> KeyListPage:
        """Return one page of keys in ascending order (sizes are the value files' sizes).

        Costs a binary search in the sorted keys plus, for each key of the page, one ``stat``
        and one sidecar read; the folder is listed only when someone else changed it.
        """
        with self._mutex:
            self._check_usable()
            keys, files = self._index.sorted_keys()
            position = 0 if prefix is None else bisect.bisect_left(keys, prefix)
            if exclusive_start_key is not None:
                position = max(position, bisect.bisect_right(keys, exclusive_start_key))
            items: list[KeyInfo] = []
            while position < len(keys) and len(items) < limit:
                key = keys[position]
                if prefix is not None and not key.startswith(prefix):
                    position = len(keys)
                    break
                position += 1
                info = self._key_info(key, files[key])
                if info is not None:
                    items.append(info)
            truncated = position < len(keys) and (
                prefix is None or keys[position].startswith(prefix)
            )
            next_key = keys[position - 1] if truncated else None
        return KeyListPage(
            items=tuple(items),
            count=len(items),
            limit=limit,
            is_truncated=truncated,
            exclusive_start_key=exclusive_start_key,
            next_exclusive_start_key=next_key,
        )

    def _key_info(self, key: str, name: str) -> KeyInfo | None:
        """Return a listed key's size and content type, or ``None`` if its file is gone."""
        try:
            size = os.stat(self._path(name)).st_size
        except FileNotFoundError:
            return None
        sidecar = self._read_sidecar(name)
        if sidecar is not None:
            content_type: str = sidecar['content_type']
        else:
            extension = split_extension(name)[1]
            content_type = content_type_for_extension(extension) if extension else ''
        return KeyInfo(key=key, size=size, content_type=content_type or None)

    def get_public_url(self, key: str) -> str:
        """Return a ``file://`` URL of the file holding ``key`` (the would-be file if none)."""
        with self._mutex:
            candidates = self._locate(key)
        name = candidates[0].file if candidates else quote(key, safe='')
        return Path(self._path(name)).absolute().as_uri()

    # ------------------------------------------------------------------ whole store

    def purge(self) -> None:
        """Delete every record except the input (``input_key`` and ``input_key.<ext>``)."""
        kept = {quote(self._input_key, safe=''), self._input_key}
        with self._lock, self._mutex:
            self._check_usable()
            with os.scandir(self._dir) as scan:
                names = [entry.name for entry in scan if not entry.is_dir()]
            for name in names:
                if name == METADATA_FILE or any(
                    name == keep or name.startswith(keep + '.') for keep in kept
                ):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._path(name))
            self._index.reset()
            self._modified_at = self._accessed_at = now()
            self._write_metadata()

    def drop(self) -> None:
        """Delete the store's folder; the client is unusable afterwards."""
        with self._lock, self._mutex:
            import shutil  # noqa: PLC0415 (only to drop; it pulls in compression modules)

            shutil.rmtree(self._dir, ignore_errors=True)
            self._dropped = True
            self._index.reset()
        if self._on_drop is not None:
            self._on_drop()


def metadata_from_file(data: dict[str, Any], *, name: str | None) -> KeyValueStoreMetadata:
    """Build the metadata of a store from its parsed ``__metadata__.json``."""
    created = parse_datetime(data.get('created_at'), None) or now()
    modified = parse_datetime(data.get('modified_at'), None) or created
    accessed = parse_datetime(data.get('accessed_at'), None) or modified
    return KeyValueStoreMetadata(
        id=str(data['id']),
        name=name,
        created_at=created,
        modified_at=modified,
        accessed_at=accessed,
    )
