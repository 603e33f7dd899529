"""Shared fixtures: a leak check for actorkit threads, fast local Actors, Actors at home."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from actorkit import Actor, Configuration
from tests._home import home_env

if TYPE_CHECKING:
    from actorkit.storages._platform import PlatformStorageBackend
    from actorkit.testing import FakePlatform


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


@pytest.fixture
def platform(fake_platform: FakePlatform) -> FakePlatform:
    """A fake platform on 127.0.0.1 for one test (the plugin's ``fake_platform``).

    tests/test_fake_platform*.py import the spec-checked one of tests/_fake_platform_spec.py
    instead, which overrides this one in their module.
    """
    return fake_platform


@pytest.fixture
def home_actor(platform: FakePlatform) -> Iterator[Callable[..., Actor]]:
    """Build running Actors at home on the fake platform; exit them after the test.

    ``home_actor(env)`` runs with that env; ``home_actor(**run_env)`` with
    ``platform.run_env(**run_env)``; either through :func:`home_env`.
    """
    made: list[Actor] = []

    def make(env: Mapping[str, str] | None = None, **run_env: Any) -> Actor:
        config = Configuration.from_env(
            home_env(env if env is not None else platform.run_env(**run_env))
        )
        actor = Actor(config=config, configure_logging=False, exit_process=False)
        actor.init()
        made.append(actor)
        return actor

    yield make
    for actor in made:
        actor.exit(event_listeners_timeout=1)


@pytest.fixture
def fast_backend(platform: FakePlatform) -> Iterator[PlatformStorageBackend]:
    """A platform backend whose client retries quickly (2 retries, 10 ms apart)."""
    from actorkit.client import ApifyClient
    from actorkit.storages._platform import PlatformStorageBackend

    config = Configuration.from_env(platform.run_env())
    api = ApifyClient(
        str(config.token),
        api_url=config.api_base_url,
        max_retries=2,
        min_delay_between_retries=0.01,
    )
    backend = PlatformStorageBackend(config, api=api)
    yield backend
    backend.close()
