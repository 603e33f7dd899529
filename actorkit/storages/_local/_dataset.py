"""The local dataset: one JSON file per item, numbered, plus the metadata with the item count.

Layout (``datasets/<dir>/``), as the official SDK writes it: ``000000001.json``,
``000000002.json``, ... (9 digits, 1-based, ``indent=2``, non-ASCII kept), in the numeric order
of their names, and ``__metadata__.json`` whose ``item_count`` equals the number of items.

Crash safety, the point of this module:

- An item file is created with :func:`create_new_file`: written completely under no name, then
  linked to its name, which fails if the name exists. So a push never overwrites an item,
  whatever the metadata says (stale after a crash, or missing because the CLI wrote the items),
  and a ``kill -9`` at any moment leaves whole items only: no torn file, no temp file.
- When a name is taken, the folder is listed and numbering goes on after the highest item.
- The metadata (``item_count``, ``modified_at``) is rewritten atomically after every push, before
  the push returns, so it is exact after every acknowledged push. A crash between the items and
  the metadata leaves the count low; the next client that opens the dataset (or pushes to it)
  notices, counts the files and fixes the metadata.

Concurrency: pushes hold the storage's lock (threads and processes). Between pushes the client
keeps the count and the next number in memory; under the lock it compares the metadata file's
identity (inode, size, mtime) with what it last wrote: unchanged means nobody else pushed;
changed means it reads the count again and checks it cheaply (item ``count`` exists, item
``count + 1`` does not), listing the folder only when that fails. Even a wrong guess cannot
overwrite an item: the exclusive create catches it.

Reads take no lock, list no folder and cost what the page costs: items are numbered
contiguously from 1 and the count is exact, so a page of items ``offset + 1 .. offset + limit``
opens exactly those files by number. The count comes from memory while the metadata file is the
one this client last wrote or checked (one ``stat``), else from the metadata file (item
``count`` must exist); items beyond it (another process's push in flight, a crashed writer's
last items) are found by probing numbers. Only when a file is missing (an item deleted by hand,
a purge meanwhile) is the folder listed, and the listing's order used. An item file is complete
from the moment it has its name. Reading never writes (no ``accessed_at`` rewrite).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

from actorkit._convert import parse_datetime
from actorkit._errors import StorageError
from actorkit.storages._dataset_models import DatasetMetadata, DatasetPage
from actorkit.storages._local._fs import (
    METADATA_FILE,
    StorageLock,
    create_new_file,
    format_datetime,
    now,
    read_file,
    read_storage_metadata,
    remove_stale_temp_files,
    write_temp_file,
)
from actorkit.storages._serialization import filter_items, serialize_items

_ITEM_NAME = re.compile(r'[0-9]+\.json')
"""What an item file's name fully matches (anything else in the folder is not an item)."""


def item_file_name(number: int) -> str:
    """Return the file name of item ``number`` (1-based), as the official SDK names it."""
    return f'{number:09d}.json'


def _null_or_string(value: str | None) -> str:
    return 'null' if value is None else encode_basestring(value)


class LocalDatasetClient:
    """Row access to one dataset folder (see the module docstring for the layout)."""

    def __init__(
        self,
        *,
        directory: Path,
        lock: StorageLock,
        metadata: DatasetMetadata,
        on_drop: Callable[[], None] | None = None,
    ) -> None:
        """Wrap an existing dataset folder; call :meth:`reconcile` before using it.

        Args:
            directory: The dataset folder; it and its ``__metadata__.json`` exist.
            lock: The cross-process lock of this dataset.
            metadata: The dataset's metadata as read from its folder.
            on_drop: Called after :meth:`drop` removed the folder.
        """
        self._directory = Path(directory)
        self._dir = str(directory)
        self._prefix = os.path.join(self._dir, '')
        self._meta_path = self._prefix + METADATA_FILE
        self._lock = lock
        self._id = metadata.id
        self._name = metadata.name
        self._created_at = metadata.created_at
        self._modified_at = metadata.modified_at
        self._accessed_at = metadata.accessed_at
        self._count = metadata.item_count
        self._next = metadata.item_count + 1
        self._on_drop = on_drop
        self._dropped = False
        self._meta_signature: tuple[int, int, int] | None = None
        self._swept = False
        self._contiguous = True
        """Whether the items are known to be numbered 1..count (false after a listing with gaps)."""
        self._read_view: tuple[tuple[int, int, int], int] | None = None
        """(metadata file signature, item count) checked for reads; replaced as a whole."""
        # The constant start of the metadata file; only the times and the count change.
        self._meta_head = (
            f'{{\n  "id": {encode_basestring(self._id)},\n  "name": {_null_or_string(self._name)}'
            ',\n  "accessed_at": '
        )
        self._meta_created = (
            f',\n  "created_at": {encode_basestring(format_datetime(self._created_at))}'
            ',\n  "modified_at": '
        )

    # ------------------------------------------------------------------ properties

    @property
    def id(self) -> str:
        """The dataset's id."""
        return self._id

    @property
    def directory(self) -> Path:
        """The dataset's folder."""
        return self._directory

    def __repr__(self) -> str:
        return f'<LocalDatasetClient id={self._id!r} directory={self._dir!r}>'

    # ------------------------------------------------------------------ metadata

    def get_metadata(self) -> DatasetMetadata:
        """Return the dataset's metadata as its file says (another process may have pushed)."""
        self._check_usable()
        data = read_storage_metadata(Path(self._meta_path)) or {}
        count = data.get('item_count')
        return DatasetMetadata(
            id=self._id,
            name=self._name,
            created_at=parse_datetime(data.get('created_at'), None) or self._created_at,
            modified_at=parse_datetime(data.get('modified_at'), None) or self._modified_at,
            accessed_at=parse_datetime(data.get('accessed_at'), None) or self._accessed_at,
            item_count=count if isinstance(count, int) and count >= 0 else self._count,
        )

    def _metadata_bytes(self) -> bytes:
        # Exactly dump_json({id, name, accessed_at, created_at, modified_at, item_count}),
        # without the cost of the pure-Python indenting encoder on every push.
        stamp = encode_basestring(format_datetime(self._modified_at))
        return (
            f'{self._meta_head}{encode_basestring(format_datetime(self._accessed_at))}'
            f'{self._meta_created}{stamp},\n  "item_count": {self._count}\n}}'
        ).encode()

    def _write_metadata_locked(self) -> None:
        temp = write_temp_file(self._meta_path, self._metadata_bytes())
        try:
            stat = os.stat(temp)
            os.replace(temp, self._meta_path)
        except BaseException:
            # An interrupt may land after the replace: the temp file is gone then.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        self._meta_signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        self._read_view = (self._meta_signature, self._count) if self._contiguous else None

    # ------------------------------------------------------------------ count keeping

    def _item_names(self) -> list[str]:
        """List the item files, in item order."""
        try:
            with os.scandir(self._dir) as scan:
                names = [entry.name for entry in scan if _ITEM_NAME.fullmatch(entry.name)]
        except FileNotFoundError:
            return []
        names.sort(key=lambda name: int(name[:-5]))
        return names

    def _rescan_locked(self) -> None:
        names = self._item_names()
        self._count = len(names)
        self._next = int(names[-1][:-5]) + 1 if names else 1
        self._contiguous = _numbered_from_one(names)
        if not self._contiguous:
            self._read_view = None

    def _exists(self, number: int) -> bool:
        return os.path.exists(self._prefix + item_file_name(number))

    def _adopt_count_locked(self, count: object) -> bool:
        """Take ``count`` from the metadata if the files agree cheaply; say whether they did."""
        if not isinstance(count, int) or count < 0:
            return False
        if (count and not self._exists(count)) or self._exists(count + 1):
            return False
        self._count = count
        self._next = count + 1
        return True

    def _refresh_locked(self) -> None:
        """Make the in-memory count right again if another process may have pushed."""
        try:
            stat = os.stat(self._meta_path)
        except FileNotFoundError:
            stat = None
        if stat is not None:
            signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
            if signature == self._meta_signature:
                return
        data = read_storage_metadata(Path(self._meta_path)) if stat is not None else None
        if data is None:  # the folder was dropped or its metadata deleted: bring them back
            os.makedirs(self._dir, exist_ok=True)
            self._rescan_locked()
            self._write_metadata_locked()
            return
        if not self._adopt_count_locked(data.get('item_count')):
            self._rescan_locked()
        self._meta_signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns) if stat else None

    def _sweep_locked(self) -> None:
        """Delete the temp files of crashed processes (metadata writes in flight), once.

        It lists the folder, so it runs at the first push of this client, or at open when a
        stale count shows that a writer crashed; opening a dataset to read it lists nothing.
        """
        if not self._swept:
            remove_stale_temp_files(self._dir)
            self._swept = True

    def reconcile(self) -> None:
        """Check the metadata against the item files and fix a stale count (at open)."""
        with self._lock:
            data = read_storage_metadata(Path(self._meta_path)) or {}
            recorded = data.get('item_count')
            if not self._adopt_count_locked(recorded):
                self._sweep_locked()
                self._rescan_locked()
            if recorded != self._count or 'item_count' not in data:
                self._write_metadata_locked()
            else:
                stat = os.stat(self._meta_path)
                self._meta_signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
                if self._contiguous:
                    self._read_view = (self._meta_signature, self._count)

    # ------------------------------------------------------------------ writes

    def push_items(self, items: Sequence[dict[str, Any]]) -> None:
        """Append items as one batch, after checking all of them.

        Raises:
            InvalidStorageArgumentError: An item is not a dict or not JSON (nothing written).
            StorageLimitError: An item is over the platform's size limit (nothing written).
        """
        bodies = serialize_items(items)
        if not bodies:
            return
        prefix = self._prefix
        with self._lock:
            self._check_usable()
            self._sweep_locked()
            self._refresh_locked()
            written = 0
            try:
                for body in bodies:
                    while not create_new_file(f'{prefix}{self._next:09d}.json', body):
                        self._rescan_locked()  # the name is taken: go on after the last item
                    self._next += 1
                    self._count += 1
                    written += 1
            finally:
                if written:
                    self._modified_at = self._accessed_at = now()
                    self._write_metadata_locked()

    def purge(self) -> None:
        """Delete every item and set the count to 0."""
        with self._lock:
            self._check_usable()
            with os.scandir(self._dir) as scan:
                names = [entry.name for entry in scan if not entry.is_dir()]
            for name in names:
                if name != METADATA_FILE:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self._prefix + name)
            self._count = 0
            self._next = 1
            self._contiguous = True
            self._modified_at = self._accessed_at = now()
            self._write_metadata_locked()

    def drop(self) -> None:
        """Delete the dataset's folder; the client is unusable afterwards."""
        with self._lock:
            import shutil  # noqa: PLC0415 (only to drop; it pulls in compression modules)

            shutil.rmtree(self._dir, ignore_errors=True)
            self._dropped = True
        if self._on_drop is not None:
            self._on_drop()

    def close(self) -> None:
        """Nothing is buffered: every push is written before it returns."""

    def _check_usable(self) -> None:
        if self._dropped:
            raise StorageError(
                f'the dataset {self._id} ({self._dir}) was dropped; open it again to create a '
                f'new one'
            )

    # ------------------------------------------------------------------ reads

    def _read_item(self, name: str) -> dict[str, Any]:
        """Read and check one item file (raises ``FileNotFoundError`` when it is gone)."""
        body = read_file(self._prefix + name)
        try:
            item = json.loads(body)
        except ValueError as exc:
            raise StorageError(
                f'item file {name} in {self._dir} is not valid JSON ({exc}): fix the file or '
                f'delete it'
            ) from exc
        if not isinstance(item, dict):
            raise StorageError(
                f'item file {name} in {self._dir} holds a JSON {type(item).__name__}, not an '
                f'object: fix the file or delete it'
            )
        return item

    def _known_count(self) -> int | None:
        """Return the item count when the items are known to be files 1..count, else ``None``.

        Costs two ``stat`` calls (the metadata file, and item ``count + 1`` that should not
        exist) while the metadata file is unchanged since it was last checked; otherwise one
        small read and two more ``stat`` calls. Items beyond the count (a push of another
        process in flight, a writer that died before updating the metadata, files added by
        hand) are found by probing numbers, a few ``stat`` calls more. ``None`` means: list
        the folder.
        """
        try:
            stat = os.stat(self._meta_path)
        except FileNotFoundError:
            return None
        signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        view = self._read_view
        if view is not None and view[0] == signature:
            count = view[1]
        else:
            try:
                data = read_storage_metadata(Path(self._meta_path))
            except StorageError:
                return None
            recorded = data.get('item_count') if data is not None else None
            if not isinstance(recorded, int) or isinstance(recorded, bool) or recorded < 0:
                return None
            count = recorded
            if count and not self._exists(count):
                return None  # fewer files than the count says: deleted by hand, or a purge
            self._read_view = (signature, count)
        return self._last_number_from(count) if self._exists(count + 1) else count

    def _last_number_from(self, known: int) -> int:
        """Return the highest item number from ``known + 1`` on, probing numbers (no listing).

        Item ``known + 1`` exists. Galloping then halving costs about ``2 log2(k)`` ``stat``
        calls for ``k`` items beyond ``known``; items are created in order, so none is missing
        below the highest one found (a gap left by hand is noticed when its page is read).
        """
        low, step = known + 1, 1
        while self._exists(low + step):
            low += step
            step *= 2
        high = low + step  # does not exist
        while high - low > 1:
            middle = (low + high) // 2
            if self._exists(middle):
                low = middle
            else:
                high = middle
        return low

    def _listed_names(self) -> list[str]:
        """List the item files (the slow path) and note whether they have gaps."""
        names = self._item_names()
        self._contiguous = _numbered_from_one(names)
        if not self._contiguous:
            self._read_view = None
        return names

    def _numbers(self, offset: int, limit: int | None, desc: bool, total: int) -> range:
        """Return the item numbers of a page of a dataset of items 1..``total``."""
        if desc:
            first = total - offset
            last = first - limit if limit is not None else 0
            return range(first, max(last, 0), -1)
        stop = total if limit is None else min(total, offset + limit)
        return range(offset + 1, stop + 1)

    def _select(self, offset: int, limit: int | None, desc: bool) -> tuple[list[str], int]:
        """Return the names of a page's item files (from one folder listing) and the total."""
        names = self._listed_names()
        total = len(names)
        if desc:
            names.reverse()
        end = None if limit is None else offset + limit
        return names[offset:end], total

    def _page(self, offset: int, limit: int | None, desc: bool) -> tuple[list[dict[str, Any]], int]:
        """Return a page's items (unfiltered) and the total number of items."""
        total = self._known_count() if self._contiguous else None
        if total is not None:
            try:
                items = [
                    self._read_item(item_file_name(number))
                    for number in self._numbers(offset, limit, desc, total)
                ]
            except FileNotFoundError:
                pass  # an item deleted by hand, or a purge meanwhile: list the folder
            else:
                return items, total
        names, total = self._select(offset, limit, desc)
        return list(self._read_existing(names)), total

    def _read_existing(self, names: Iterable[str]) -> Iterator[dict[str, Any]]:
        for name in names:
            try:
                yield self._read_item(name)
            except FileNotFoundError:  # deleted since the listing (a purge)
                continue

    def _iterate(self, offset: int, limit: int | None, desc: bool) -> Iterator[dict[str, Any]]:
        """Yield a range of items lazily, opening each file by its number."""
        total = self._known_count() if self._contiguous else None
        if total is None:
            names, _ = self._select(offset, limit, desc)
            yield from self._read_existing(names)
            return
        yielded = 0
        last = 0
        for number in self._numbers(offset, limit, desc, total):
            try:
                item = self._read_item(item_file_name(number))
            except FileNotFoundError:
                break
            yield item
            yielded += 1
            last = number
        else:
            return
        # A file is missing (an item deleted by hand, or a purge): go on in the order of a
        # folder listing, after the last item yielded.
        if yielded == 0:
            names, _ = self._select(offset, limit, desc)
        else:
            listed = self._listed_names()
            if desc:
                names = [name for name in reversed(listed) if int(name[:-5]) < last]
            else:
                names = [name for name in listed if int(name[:-5]) > last]
            if limit is not None:
                names = names[: limit - yielded]
        yield from self._read_existing(names)

    def get_items(
        self,
        *,
        offset: int,
        limit: int | None,
        desc: bool,
        fields: Sequence[str] | None,
        omit: Sequence[str] | None,
        clean: bool,
        skip_empty: bool,
        skip_hidden: bool = False,
    ) -> DatasetPage:
        """Return a page of items: ``offset`` and ``limit`` count items before filtering.

        ``total`` is the number of item files, as the official SDK reports it.
        """
        self._check_usable()
        stored, total = self._page(offset, limit, desc)
        items = list(
            filter_items(
                stored,
                fields=fields,
                omit=omit,
                clean=clean,
                skip_empty=skip_empty,
                skip_hidden=skip_hidden,
            )
        )
        return DatasetPage(
            items=items, offset=offset, limit=limit, count=len(items), total=total, desc=desc
        )

    def iterate_items(
        self,
        *,
        offset: int,
        limit: int | None,
        desc: bool,
        fields: Sequence[str] | None,
        omit: Sequence[str] | None,
        clean: bool,
        skip_empty: bool,
        skip_hidden: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Yield items lazily, each file opened by its number when it is reached.

        Not part of the backend contract: :class:`~actorkit.storages.Dataset` uses it when a
        client has it, and pages through :meth:`get_items` otherwise. The items are those
        stored when the iteration starts (later pushes are not included).
        """
        self._check_usable()
        yield from filter_items(
            self._iterate(offset, limit, desc),
            fields=fields,
            omit=omit,
            clean=clean,
            skip_empty=skip_empty,
            skip_hidden=skip_hidden,
        )


def _numbered_from_one(names: Sequence[str]) -> bool:
    """Whether item file names sorted by number are exactly ``item_file_name(1 .. len)``.

    Distinct 9-digit names sorted by number whose highest is ``len(names)`` can only be those.
    """
    width = len(item_file_name(1))
    return not names or (
        names[-1] == item_file_name(len(names)) and all(len(name) == width for name in names)
    )


def metadata_from_file(data: dict[str, Any], *, name: str | None) -> DatasetMetadata:
    """Build the metadata of a dataset from its parsed ``__metadata__.json``."""
    created = parse_datetime(data.get('created_at'), None) or now()
    modified = parse_datetime(data.get('modified_at'), None) or created
    accessed = parse_datetime(data.get('accessed_at'), None) or modified
    count = data.get('item_count')
    return DatasetMetadata(
        id=str(data['id']),
        name=name,
        created_at=created,
        modified_at=modified,
        accessed_at=accessed,
        item_count=count if isinstance(count, int) and count >= 0 else 0,
    )
