"""Checks that every request a FakePlatform received is an operation of the API v2 spec."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from actorkit.testing import FakePlatform

OPERATIONS_FILE = Path(__file__).parent / 'data' / 'apify_api_v2_operations.txt'


def load_operations() -> list[tuple[str, str]]:
    """The spec's operations as (METHOD, path template)."""
    operations = []
    for line in OPERATIONS_FILE.read_text().splitlines():
        if line and not line.startswith('#'):
            method, template = line.split(' ', 1)
            operations.append((method, template))
    return operations


def _compile(template: str) -> re.Pattern[str]:
    return re.compile('^' + re.sub(r'\\\{\w+\\\}', '[^/]+', re.escape(template)) + '$')


_PATTERNS = [(method, _compile(template)) for method, template in load_operations()]


def off_spec(requests: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (method, path) pairs that match no operation of the spec (/v2/acts/ = /v2/actors/)."""
    unmatched = []
    for method, path in requests:
        canonical = '/v2/actors' + path[len('/v2/acts') :] if path.startswith('/v2/acts') else path
        if not any(m == method and p.match(canonical) for m, p in _PATTERNS):
            unmatched.append((method, path))
    return unmatched


def assert_on_spec(fake: FakePlatform) -> None:
    """Fail when the platform received a request that is no operation of the spec."""
    stray = off_spec((received.method, received.path) for received in fake.received)
    assert not stray, f'requests outside the API v2 spec: {stray}'


@pytest.fixture(name='platform')
def spec_checked_platform() -> Iterator[FakePlatform]:
    """A started FakePlatform whose received requests must all be operations of the spec.

    A module that imports it gets it as its ``platform``, over the one in tests/conftest.py.
    """
    with FakePlatform() as fake:
        yield fake
    assert_on_spec(fake)
