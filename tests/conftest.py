"""Shared fixtures: a leak check for actorkit threads, and fast local Actors."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from actorkit import Actor, Configuration


def _actorkit_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith('actorkit-') and t.is_alive()]


@pytest.fixture(autouse=True)
def _no_leaked_actorkit_threads() -> Iterator[None]:
    """Fail a test that leaves an actorkit thread running."""
    before = set(_actorkit_threads())
    yield
    deadline = time.monotonic() + 2.0
    leaked = [t for t in _actorkit_threads() if t not in before]
    while leaked and time.monotonic() < deadline:
        leaked[0].join(0.05)
        leaked = [t for t in _actorkit_threads() if t not in before]
    assert not leaked, f'test leaked actorkit threads: {[t.name for t in leaked]}'


@pytest.fixture
def make_actor(tmp_path: Path) -> Iterator[Callable[..., Actor]]:
    """Build local Actors with fast timers and storage in tmp_path; exit them after the test."""
    made: list[Actor] = []

    def make(**overrides: Any) -> Actor:
        actor_kwargs = {
            key: overrides.pop(key)
            for key in ('exit_process', 'event_listeners_timeout', 'interrupt_on_abort')
            if key in overrides
        }
        settings: dict[str, Any] = {
            'local_storage_dir': str(tmp_path / 'storage'),
            'persist_state_interval_millis': 60_000,
            'system_info_interval_millis': 60_000,
        }
        settings.update(overrides)
        new = Actor(
            config=Configuration(**settings),
            configure_logging=False,
            exit_process=actor_kwargs.pop('exit_process', False),
            **actor_kwargs,
        )
        made.append(new)
        return new

    yield make
    for actor in made:
        actor.exit(event_listeners_timeout=1)
