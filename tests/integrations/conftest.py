"""Fixtures of the framework integration tests (Django, Flask)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from actorkit import actor


@pytest.fixture
def storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Local storage for the default Actor, which the example command uses."""
    for name in ('APIFY_IS_AT_HOME', 'APIFY_TOKEN', 'ACTOR_INPUT_KEY', 'APIFY_INPUT_KEY'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('APIFY_LOCAL_STORAGE_DIR', str(tmp_path / 'storage'))
    monkeypatch.setenv('APIFY_PERSIST_STATE_INTERVAL_MILLIS', '60000')
    yield tmp_path / 'storage'
    actor.exit(event_listeners_timeout=1)
