"""Serve one FakePlatform for one at-home benchmark run, in a process of its own.

Started by ``home.py`` with the actorkit venv's python. It starts a ``FakePlatform``, starts a
run on it (fresh default dataset, key-value store and request queue), prints the run's
environment as one JSON line on stdout, and serves until its stdin is closed. A line ``calls``
on its stdin makes it print the API calls received so far, counted by method and path shape,
as one JSON line. Keeping the
server in its own process keeps its CPU out of the measured worker's process (on a 2-core
machine they still share the cores).

Usage: python home_server.py   (read one JSON line; write 'calls'; close stdin to stop it)
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _accept_brotli() -> None:
    """Let the FakePlatform read brotli bodies, as the API does (``Content-Encoding: br``).

    The official SDK compresses request bodies with brotli when the ``brotli`` package is
    installed (it is, with crawlee); the FakePlatform reads gzip and deflate only, so the bench
    decodes brotli here first and hands the plain body on.
    """
    import brotli

    from actorkit.testing._fake_platform import _platform_serving as _platform

    decode = _platform._decode_body

    def decode_with_brotli(raw: bytes | None, encoding: str | None) -> bytes:
        if raw is not None and (encoding or '').strip().lower() == 'br':
            return decode(brotli.decompress(raw), None)
        return decode(raw, encoding)

    _platform._decode_body = decode_with_brotli


def main() -> int:
    from actorkit.testing import FakePlatform

    _accept_brotli()

    with FakePlatform() as platform:
        env = platform.run_env(input={'bench': True})
        sys.stdout.write(json.dumps(env) + '\n')
        sys.stdout.flush()
        for line in sys.stdin:  # serve until the orchestrator closes our stdin
            if line.strip() == 'calls':
                sys.stdout.write(json.dumps(_count_calls(platform.received)) + '\n')
                sys.stdout.flush()
    return 0


_WORDS = frozenset({'lock', 'batch'})
"""Path parts in an id's place that are words of the API (``head/lock``, ``requests/batch``)."""


def _count_calls(received: list[Any]) -> dict[str, int]:
    """Count the API calls by method and path shape (ids and keys replaced by ``*``)."""
    counts: dict[str, int] = {}
    for call in received:
        parts = call.path.strip('/').split('/')
        # /v2/{kind}/{id}/{what}/{key}/...: keep the kinds and words, hide ids and keys
        shape = '/'.join(
            part if index % 2 == 1 or index == 0 or part in _WORDS else '*'
            for index, part in enumerate(parts)
        )
        name = f'{call.method} /{shape}'
        counts[name] = counts.get(name, 0) + 1
    return counts


if __name__ == '__main__':
    sys.exit(main())
