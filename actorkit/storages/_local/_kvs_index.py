"""What a local key-value store folder holds, from one listing kept up to date.

Finding a key's CLI files (``KEY.<ext>`` without sidecar) and listing keys would each need a
folder listing per call. A :class:`FolderIndex` lists the folder once (names only, no ``stat``)
and keeps two views of that listing:

- the files that are not simply ``<quote(key)>`` (those with an extension, and odd names), by
  the key they may hold, for lookups;
- every record key, sorted, with the value file listed for it, built on the first listing of
  keys, for pages of keys (a binary search each).

Both are updated in place by the client's own writes and deletes. The listing is taken again
when the folder's mtime shows that someone else changed it; and, since file-system timestamps
can be coarse (a change in the same clock tick as the listing would go unnoticed), once more
when the folder has been quiet for a moment, at least once a second while it is being written,
and on a lookup that finds nothing while the listing is that recent (at most every 50 ms for
folders of 1,000 files or more). Listing every key page by page therefore lists the folder about
once, not once per page.
"""

from __future__ import annotations

import bisect
import os
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote

from actorkit.storages._local._fs import METADATA_FILE, TEMP_PREFIX

SIDECAR_SUFFIX = '.' + METADATA_FILE
"""What a record's sidecar file name adds to the value file name."""

_FINE_MARGIN_NS = 100_000_000
"""How long after a folder change its mtime may still miss another change (coarse clocks)."""
_COARSE_MARGIN_NS = 2_000_000_000
"""The same for file systems with whole-second timestamps."""
_RESCAN_INTERVAL = 1.0
"""Seconds between listings while the folder keeps changing."""
_MISS_RESCAN_SMALL = 1000
"""Folders with fewer entries are listed again on every miss while their listing is not trusted."""
_MISS_RESCAN_INTERVAL = 0.05
"""Seconds between such listings for bigger folders."""

_PLAIN_NAME = re.compile(r'[A-Za-z0-9_.~-]+')
"""Names that ``quote(name, safe='')`` returns unchanged."""

Lookup = dict[str, list[tuple[str, bool]]]
"""Key -> the files (name, has a sidecar) that may hold it, besides ``<quote(key)>``."""


def split_extension(name: str) -> tuple[str, str]:
    """Split a file name into stem and extension (``''`` when there is none)."""
    dot = name.rfind('.')
    if dot <= 0 or dot == len(name) - 1:
        return name, ''
    return name[:dot], name[dot:]


def _lookup_key(name: str) -> str | None:
    """Return the key under which the lookup lists a value file, or ``None`` if it need not."""
    stem, extension = split_extension(name)
    if extension:
        return unquote(stem)
    key = unquote(name)
    return key if quote(key, safe='') != name else None


def is_record_file(name: str, names: set[str] | frozenset[str]) -> bool:
    """Whether the file ``name`` of a folder holding ``names`` is a record's value file."""
    if name == METADATA_FILE or name.endswith(SIDECAR_SUFFIX) or name.startswith(TEMP_PREFIX):
        return False
    if name + SIDECAR_SUFFIX in names:
        return True
    # Without a sidecar: not a dot file (.DS_Store) nor an official SDK temp file (*.tmp).
    return not name.startswith('.') and not name.endswith('.tmp')


class FolderIndex:
    """The listing of one store folder and its two views (see the module docstring).

    Not thread-safe: the client calls it under its mutex.
    """

    def __init__(
        self, directory: str, read_sidecar: Callable[[str], dict[str, Any] | None]
    ) -> None:
        """Index ``directory``; nothing is listed until first needed.

        Args:
            directory: The store folder.
            read_sidecar: Returns the parsed sidecar of a value file name (``None`` if none),
                for the keys of files whose name does not tell their key.
        """
        self._dir = directory
        self._read_sidecar = read_sidecar
        self._lookup: Lookup = {}
        self._snapshot: tuple[int, int] | None = None
        self._snapshot_clean = False
        self._margin_ns = _FINE_MARGIN_NS
        self._scanned_at = float('-inf')
        self._listing: list[str] = []
        self._names: frozenset[str] = frozenset()
        self._listing_stale = False
        """Whether own changes happened since the listing, while no sorted keys were built."""
        self._keys: list[str] | None = None
        """Every record key, sorted; ``None``: not built from the current listing yet."""
        self._key_files: dict[str, str] = {}
        """Key -> the value file listed for it (the first one found), beside ``_keys``."""

    def reset(self) -> None:
        """Forget everything: the next use lists the folder (after a purge or a drop)."""
        self._snapshot = None
        self._lookup = {}
        self._keys = None

    # ------------------------------------------------------------------ listing

    def _scan(self) -> None:
        self._keys = None
        self._listing, self._names = [], frozenset()
        self._listing_stale = False
        self._lookup = {}
        try:
            with os.scandir(self._dir) as entries:
                listed = [entry.name for entry in entries if not entry.is_dir()]
        except FileNotFoundError:
            return
        names = frozenset(listed)
        self._listing, self._names = listed, names
        for name in listed:
            if not is_record_file(name, names):
                continue
            key = _lookup_key(name)
            if key is not None:
                self._lookup.setdefault(key, []).append((name, name + SIDECAR_SUFFIX in names))

    def _rescan(self) -> None:
        started = time.time_ns()
        try:
            stat = os.stat(self._dir)
        except FileNotFoundError:
            self.reset()
            return
        self._scan()
        mtime = stat.st_mtime_ns
        self._snapshot = (stat.st_ino, mtime)
        self._margin_ns = _COARSE_MARGIN_NS if mtime % 1_000_000_000 == 0 else _FINE_MARGIN_NS
        self._snapshot_clean = started - mtime > self._margin_ns
        self._scanned_at = time.monotonic()

    def current(self) -> Lookup:
        """Return the lookup view, listing the folder again if it may be out of date."""
        try:
            stat = os.stat(self._dir)
        except FileNotFoundError:
            self.reset()
            return self._lookup
        if (stat.st_ino, stat.st_mtime_ns) != self._snapshot or (
            not self._snapshot_clean
            and (
                time.time_ns() - stat.st_mtime_ns > self._margin_ns
                or time.monotonic() - self._scanned_at > _RESCAN_INTERVAL
            )
        ):
            self._rescan()
        return self._lookup

    def rescan_on_miss(self) -> bool:
        """On a miss, list the folder again if the listing may miss a very recent file."""
        if self._snapshot_clean or self._snapshot is None:
            return False
        if (
            len(self._listing) >= _MISS_RESCAN_SMALL
            and time.monotonic() - self._scanned_at < _MISS_RESCAN_INTERVAL
        ):
            return False
        self._rescan()
        return True

    # ------------------------------------------------------------------ own changes

    def after_own_change(self) -> None:
        """Take the folder's new mtime as known (the change is applied in place already)."""
        try:
            stat = os.stat(self._dir)
        except FileNotFoundError:
            self.reset()
            return
        if self._snapshot is not None:
            self._snapshot = (stat.st_ino, stat.st_mtime_ns)
            self._snapshot_clean = False

    def file_added(self, key: str, name: str) -> None:
        """Note that this client wrote the record ``key`` to the value file ``name``."""
        lookup_key = _lookup_key(name)
        if lookup_key is not None:
            files = self._lookup.setdefault(lookup_key, [])
            if (name, True) not in files:
                files.append((name, True))
        if self._keys is None:
            self._listing_stale = True  # the listing misses this change: list again first
            return
        if key not in self._key_files:
            bisect.insort(self._keys, key)
        self._key_files[key] = name

    def files_removed(self, names: list[str]) -> None:
        """Note that this client deleted the value files ``names``."""
        for name in names:
            key = _lookup_key(name)
            files = self._lookup.get(key) if key is not None else None
            if files:
                files[:] = [entry for entry in files if entry[0] != name]

    def key_removed(self, key: str) -> None:
        """Note that this client deleted every file of the record ``key``."""
        if self._keys is None:
            self._listing_stale = True
            return
        if self._key_files.pop(key, None) is None:
            return
        position = bisect.bisect_left(self._keys, key)
        if position < len(self._keys) and self._keys[position] == key:
            del self._keys[position]

    # ------------------------------------------------------------------ sorted keys

    def sorted_keys(self) -> tuple[list[str], dict[str, str]]:
        """Return every record key, sorted, and the value file listed for each."""
        self.current()  # lists the folder again if someone else changed it
        if self._keys is None and self._listing_stale:
            self._rescan()
        if self._keys is None:
            names = self._names
            files: dict[str, str] = {}
            for name in self._listing:
                if is_record_file(name, names):
                    files.setdefault(self._key_of(name, names), name)
            self._keys = sorted(files)
            self._key_files = files
        return self._keys, self._key_files

    def _key_of(self, name: str, names: frozenset[str]) -> str:
        """Return the key a listed record file holds (its sidecar says, for odd names)."""
        stem, extension = split_extension(name)
        if name + SIDECAR_SUFFIX not in names:
            return unquote(stem) if extension else unquote(name)
        if not extension and _PLAIN_NAME.fullmatch(name):
            return name  # quote() leaves such a name as it is: it is its own key
        key = unquote(name)
        if extension or quote(key, safe='') != name:
            sidecar = self._read_sidecar(name)
            if sidecar is not None and isinstance(sidecar.get('key'), str):
                return str(sidecar['key'])
        return key
