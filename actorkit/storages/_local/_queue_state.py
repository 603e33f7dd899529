"""The in-memory state of a local request queue, built by replaying its journal's events.

Events (one JSON array per journal line):

- ``["p", unique_key, seq, forefront]``: the request waits at position ``seq`` (forefront
  requests come first, the newest first; the others oldest first); clears any hold.
- ``["l", unique_key, pid, create_time, token, expires_at]``: the request is in progress, held
  by the client ``token`` of the process ``pid`` started at ``create_time`` (a
  :class:`~actorkit.storages._local._owners.Hold`).
- ``["h", unique_key]``: the request is handled.
- ``["x", unique_key]``: the request file is gone (deleted by someone else); forget it.

The waiting requests sit in a heap ordered by (forefront first, position); an entry that moved
leaves a stale heap item behind, which :meth:`QueueState.pop_candidate` skips.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from actorkit.storages._local._owners import Hold
from actorkit.storages._request_models import request_id_from_unique_key

EVENT_KINDS = frozenset({'p', 'l', 'h', 'x'})
"""The first element of every event the state understands."""


class Entry:
    """What the journal says about one request."""

    __slots__ = ('forefront', 'handled', 'hold', 'seq')

    def __init__(self) -> None:
        self.seq = -1
        self.forefront = False
        self.handled = False
        self.hold: Hold | None = None


class QueueState:
    """The requests of a queue: order, holds and handled state (no files; see the module doc)."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        """Every request the queue holds, by unique key."""
        self.held: dict[str, Hold] = {}
        """The requests in progress, by unique key."""
        self.handled_count = 0
        self.next_seq = 0
        """The position the next ``p`` event gets (one more than the highest seen)."""
        self._heap: list[tuple[int, int, str]] = []
        self._ids: dict[str, str] | None = None

    @property
    def total(self) -> int:
        """How many distinct requests the queue holds."""
        return len(self.entries)

    @property
    def pending(self) -> int:
        """How many requests are not handled yet (waiting or in progress)."""
        return len(self.entries) - self.handled_count

    def snapshot_size(self) -> int:
        """How many events :meth:`snapshot_events` returns (a compacted journal's length)."""
        return len(self.entries) + len(self.held)

    def unique_key_of(self, request_id: str) -> str | None:
        """Return the unique key of the request with id ``request_id`` (or that unique key)."""
        if self._ids is None:
            self._ids = {request_id_from_unique_key(key): key for key in self.entries}
        unique_key = self._ids.get(request_id)
        if unique_key is None and request_id in self.entries:
            unique_key = request_id
        return unique_key

    def _new_entry(self, unique_key: str) -> Entry:
        entry = self.entries[unique_key] = Entry()
        if self._ids is not None:
            self._ids[request_id_from_unique_key(unique_key)] = unique_key
        return entry

    def _drop_hold(self, unique_key: str, entry: Entry) -> None:
        if entry.hold is not None:
            entry.hold = None
            del self.held[unique_key]

    def push(self, unique_key: str, entry: Entry) -> None:
        """Put a waiting request in the heap at its position."""
        key = (0, -entry.seq, unique_key) if entry.forefront else (1, entry.seq, unique_key)
        heapq.heappush(self._heap, key)

    def release(self, unique_key: str) -> None:
        """Free a held request in memory only (its holder died): it waits where it was."""
        entry = self.entries[unique_key]
        self._drop_hold(unique_key, entry)
        self.push(unique_key, entry)

    def apply(self, event: list[Any]) -> None:
        """Apply one journal event (see the module docstring)."""
        kind = event[0]
        unique_key = event[1]
        entry = self.entries.get(unique_key)
        if kind == 'p':
            if entry is None:
                entry = self._new_entry(unique_key)
            elif entry.handled:
                entry.handled = False
                self.handled_count -= 1
            entry.seq = int(event[2])
            entry.forefront = bool(event[3])
            self._drop_hold(unique_key, entry)
            self.next_seq = max(self.next_seq, entry.seq + 1)
            self.push(unique_key, entry)
        elif kind == 'l':
            if entry is not None and not entry.handled:
                hold = Hold(int(event[2]), float(event[3]), str(event[4]), event[5])
                entry.hold = self.held[unique_key] = hold
        elif kind == 'h':
            if entry is None:
                entry = self._new_entry(unique_key)
            if not entry.handled:
                entry.handled = True
                self.handled_count += 1
                self._drop_hold(unique_key, entry)
        elif kind == 'x' and entry is not None:
            del self.entries[unique_key]
            if entry.handled:
                self.handled_count -= 1
            self._drop_hold(unique_key, entry)
            if self._ids is not None:
                self._ids.pop(request_id_from_unique_key(unique_key), None)

    def pop_candidate(self, busy: Callable[[Hold], bool]) -> str | None:
        """Take the first waiting request out of the heap; ``busy`` says whether a hold holds.

        A request whose hold is still busy stays out of the heap: it comes back with a ``p``
        event, or through :meth:`release` when its holder is found dead.
        """
        heap = self._heap
        while heap:
            group, key, unique_key = heapq.heappop(heap)
            entry = self.entries.get(unique_key)
            if entry is None or entry.handled or entry.forefront != (group == 0):
                continue
            if entry.seq != (-key if group == 0 else key):
                continue  # moved since: a newer heap item stands for it
            if entry.hold is not None and busy(entry.hold):
                continue
            return unique_key
        return None

    def snapshot_events(self) -> list[list[Any]]:
        """Return the fewest events that rebuild this state (a compacted journal)."""
        events: list[list[Any]] = []
        for unique_key, entry in self.entries.items():
            if entry.handled:
                events.append(['h', unique_key])
                continue
            events.append(['p', unique_key, entry.seq, int(entry.forefront)])
            if entry.hold is not None:
                events.append(entry.hold.event(unique_key))
        return events
