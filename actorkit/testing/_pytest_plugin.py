"""The pytest plugin actorkit registers (entry point ``pytest11``): the ``fake_platform`` fixture.

It imports nothing heavy: the fake platform is imported when a test first asks for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from actorkit.testing._fake_platform import FakePlatform


@pytest.fixture
def fake_platform() -> Iterator[FakePlatform]:
    """A started :class:`actorkit.testing.FakePlatform`, stopped after the test.

    Example::

        def test_results_are_pushed(fake_platform, monkeypatch):
            for name, value in fake_platform.run_env(input={'n': 2}).items():
                monkeypatch.setenv(name, value)
            main()
            items = fake_platform.dataset_items(os.environ['ACTOR_DEFAULT_DATASET_ID'])
            assert len(items) == 2
    """
    from actorkit.testing._fake_platform import FakePlatform  # noqa: PLC0415 (kept lazy)

    with FakePlatform() as platform:
        yield platform
