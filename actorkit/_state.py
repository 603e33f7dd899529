"""``actor.use_state()``: a dict that is saved to a key-value store on every PERSIST_STATE."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

_log = logging.getLogger('actorkit.state')

DEFAULT_STATE_KEY = 'APIFY_GLOBAL_STATE'
"""The record the official SDK keeps ``use_state`` values in."""


class State(dict):  # type: ignore[type-arg]
    """A dict that actorkit saves on every PERSIST_STATE and at exit.

    Use it as a plain dict. Each single operation is atomic with respect to saving; to keep
    several related changes together in one saved snapshot, make them under ``state.lock``::

        with state.lock:
            state['done'].append(url)
            state['pending'].remove(url)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lock = threading.RLock()
        """Hold it to make several changes that must be saved together."""

    def __setitem__(self, key: Any, value: Any) -> None:
        with self.lock:
            super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        with self.lock:
            super().__delitem__(key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        with self.lock:
            super().update(*args, **kwargs)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        with self.lock:
            return super().setdefault(key, default)

    def pop(self, key: Any, *default: Any) -> Any:
        with self.lock:
            return super().pop(key, *default)

    def popitem(self) -> tuple[Any, Any]:
        with self.lock:
            return super().popitem()

    def clear(self) -> None:
        with self.lock:
            super().clear()

    def __ior__(self, other: Any) -> State:  # type: ignore[misc]
        with self.lock:
            super().update(other)
        return self


class StateSaver:
    """Saves one :class:`State` to one record, skipping saves when nothing changed."""

    def __init__(self, state: State, key: str, write: Callable[[str, Any], None]) -> None:
        """Keep ``state`` saved in record ``key``.

        Args:
            state: The state to save.
            key: The record it is saved to.
            write: Writes a JSON value to a record (``store.set_value``).
        """
        self.state = state
        self._key = key
        self._write = write
        self._save_lock = threading.Lock()
        self._last_saved: str | None = None

    @property
    def key(self) -> str:
        """The record the state is saved to."""
        return self._key

    def mark_loaded(self) -> None:
        """Remember the loaded value as saved, so an unchanged state is not rewritten."""
        from actorkit.storages._serialization import compact_json  # noqa: PLC0415 (start-up)

        with self._save_lock, self.state.lock:
            self._last_saved = compact_json(self.state)

    def save(self) -> None:
        """Write a consistent snapshot of the state, if it changed since the last save."""
        from actorkit.storages._serialization import compact_json  # noqa: PLC0415 (start-up)

        with self._save_lock:
            with self.state.lock:
                # The C JSON encoder takes each dict's items at once under the GIL, and the
                # lock keeps State's own mutations out: the snapshot is consistent.
                try:
                    encoded = compact_json(self.state)
                except (TypeError, ValueError, RecursionError) as exc:
                    reason = 'it is nested too deeply' if isinstance(exc, RecursionError) else exc
                    _log.error(
                        'state %r cannot be saved as JSON (%s); keep only dicts, lists, str, '
                        'numbers, bools and None in it; it is saved again at the next '
                        'PERSIST_STATE',
                        self._key,
                        reason,
                    )
                    return
            if encoded == self._last_saved:
                return
            self._write(self._key, json.loads(encoded))
            self._last_saved = encoded


def initial_state(stored: object, default_value: Mapping[str, Any] | None, key: str) -> State:
    """Build the State from the stored record, or from a copy of the default."""
    from actorkit.storages._serialization import check_json, compact_json  # noqa: PLC0415

    if stored is None:
        default = dict(default_value or {})
        check_json(default, f'the default value of state {key!r}', 'it could never be saved')
        return State(json.loads(compact_json(default)))
    if not isinstance(stored, dict):
        raise TypeError(
            f'the record {key!r} holds a {type(stored).__name__}, not a dict, so it cannot be '
            'used as state: pass another key to use_state() or delete the record'
        )
    return State(stored)
