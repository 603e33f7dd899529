"""The journal of a local request queue: an append-only file of events, compacted now and then.

``__actorkit_journal__.jsonl`` in the queue folder (not ``*.json``: the official SDK skips it)
holds one JSON array per line: a header, then the events of
:mod:`~actorkit.storages._local._queue_state`. Every client applies the events other clients
appended since its last operation, then appends its own with a single ``write``; all of this
happens under the queue's lock, so a reader never sees a line being written.

What bounds the journal: it is compacted, rewritten as a snapshot (one line per request, plus
one per request in progress) and atomically replaced, as soon as it holds more than
``COMPACT_MIN_LINES + COMPACT_FACTOR x`` the snapshot's lines. So it never grows past twice the
size of a fresh snapshot plus a thousand lines (and one batch of events), however many times
requests are fetched, reclaimed or handled; a rewrite costs no more than the lines appended
since the last one, so compaction stays cheap per event. A crawl that adds, fetches and handles
each request writes three lines per request: its journal is first compacted at about 1,000
requests, then about every time its number of requests doubles (20,000 such requests leave at
most about 41,000 lines instead of 60,000). The other clients notice the new file and reload it.

A line cut short by a writer killed mid-write is skipped when reading, and cut off by the next
client that appends, so reading never writes.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from actorkit.storages._local._fs import atomic_write

logger = logging.getLogger('actorkit.storages')

JOURNAL_FILE = '__actorkit_journal__.jsonl'
"""The journal of queue state in the queue folder (not ``*.json``: the official SDK skips it)."""

JOURNAL_HEADER = ['actorkit-request-queue-journal', 1]
"""The start of the first line (a random tag follows, so that every rewrite differs)."""

COMPACT_MIN_LINES = 1000
"""Lines a journal may always hold before it is compacted."""
COMPACT_FACTOR = 2
"""A journal is compacted when it holds more than this many times its snapshot's lines (plus
:data:`COMPACT_MIN_LINES`)."""


def dump_line(event: Sequence[Any]) -> str:
    """Return one journal line."""
    return json.dumps(event, ensure_ascii=False, separators=(',', ':')) + '\n'


class Journal:
    """The journal file of one queue, read incrementally (see the module docstring).

    Not thread-safe: the queue client calls it under its lock.
    """

    def __init__(self, path: Path) -> None:
        """Point at the journal file ``path``; nothing is opened until :meth:`load`."""
        self.path = path
        self.lines = 0
        """Lines read or written since the file was loaded (the header included)."""
        self._fd: int | None = None
        self._file_key: tuple[int, int] | None = None
        self._offset = 0
        self._torn: tuple[int, int] | None = None
        """The file's (size, mtime) when its last line was found cut (nothing appended since)."""

    def exists(self) -> bool:
        """Whether the journal file exists."""
        return self.path.exists()

    def close(self) -> None:
        """Close the file; the next :meth:`status` asks for a reload."""
        if self._fd is not None:
            os.close(self._fd)
        self._fd = None
        self._file_key = None

    def invalidate(self) -> None:
        """Forget what was read (the memory may be ahead of the file): reload next time."""
        self._file_key = None

    def status(self) -> str:
        """Compare the file with what was read: ``same``, ``grown``, ``replaced`` or ``missing``."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return 'missing'
        if (stat.st_dev, stat.st_ino) != self._file_key or stat.st_size < self._offset:
            return 'replaced'
        if stat.st_size > self._offset and (stat.st_size, stat.st_mtime_ns) != self._torn:
            return 'grown'
        return 'same'

    def load(self) -> list[list[Any]]:
        """Open the file afresh and return all its events (raises ``FileNotFoundError``)."""
        self.close()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
        stat = os.fstat(fd)
        self._fd = fd
        self._file_key = (stat.st_dev, stat.st_ino)
        self._offset = 0
        self._torn = None
        self.lines = 0
        return self.read_new()

    def read_new(self) -> list[list[Any]]:
        """Return the events of the complete lines appended since the last read."""
        assert self._fd is not None
        stat = os.fstat(self._fd)
        size, signature = stat.st_size, (stat.st_size, stat.st_mtime_ns)
        data = os.pread(self._fd, size - self._offset, self._offset) if size > self._offset else b''
        end = data.rfind(b'\n') + 1
        if end < len(data) and signature != self._torn:
            # Only a writer killed mid-write leaves a partial line: every write happens under
            # the lock the caller holds. The next append cuts it.
            logger.warning(
                'request queue %s: skipping a torn journal line left by a crashed process',
                self.path.parent,
            )
        self._torn = signature if end < len(data) else None
        self._offset += end
        events: list[list[Any]] = []
        for line in data[:end].splitlines():
            self.lines += 1
            try:
                event = json.loads(line)
                if isinstance(event, list) and event and event[0] in ('p', 'l', 'h', 'x'):
                    events.append(event)
                    continue
                if isinstance(event, list) and event[:1] == JOURNAL_HEADER[:1]:
                    continue
            except ValueError:
                pass
            logger.warning(
                'request queue %s: skipping an unreadable journal line: %.200r',
                self.path.parent,
                line,
            )
        return events

    def append(self, events: Sequence[Sequence[Any]]) -> None:
        """Append ``events`` in one write (first cutting a torn last line off)."""
        if not events:
            return
        assert self._fd is not None
        if self._torn is not None:
            os.truncate(self.path, self._offset)
            self._torn = None
        data = ''.join(dump_line(event) for event in events).encode('utf-8')
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except BaseException:
            # Disk full or interrupted: the memory is ahead of the file. Reload it (and cut a
            # partial line) at the next operation.
            self.invalidate()
            raise
        self._offset += len(data)
        self.lines += len(events)

    def needs_compaction(self, snapshot_lines: int) -> bool:
        """Whether the journal has grown enough past a snapshot of ``snapshot_lines`` lines."""
        return self.lines > COMPACT_MIN_LINES + COMPACT_FACTOR * (snapshot_lines + 1)

    def replace(self, events: Sequence[Sequence[Any]]) -> list[list[Any]]:
        """Replace the file atomically by a header and ``events``; return them as read back."""
        header = [*JOURNAL_HEADER, secrets.token_hex(8)]
        body = ''.join(dump_line(event) for event in [header, *events]).encode('utf-8')
        atomic_write(self.path, body)
        return self.load()
