"""Routing: path templates to handlers, and the aliases the platform resolves first.

Aliases are rewritten to canonical paths before routing:

- ``/v2/acts/...`` is ``/v2/actors/...``;
- ``/v2/actors/{actorId}/runs/last/...`` and ``/v2/actor-tasks/{taskId}/runs/last/...`` are the
  newest run (``?status=`` narrows it) of that Actor or task;
- ``/v2/actors/{actorId}/runs/{runId}/...`` is ``/v2/actor-runs/{runId}/...``;
- ``/v2/actor-runs/{runId}/dataset|key-value-store|request-queue/...`` is that run's default
  storage.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote

from actorkit.testing._fake_platform._common import ApiError, Call, Reply

_PARAM = re.compile(r'\{(\w+)\}')
_RUN_STORAGE = re.compile(r'^/v2/actor-runs/([^/]+)/(dataset|key-value-store|request-queue)(/.*)?$')
_LAST_RUN = re.compile(r'^/v2/(actors|actor-tasks)/([^/]+)/runs/last(/.*)?$')
_ACTOR_RUN = re.compile(r'^/v2/actors/[^/]+/runs/(?!last(?:/|$))([^/]+)(/.*)?$')
_STORAGE_SEGMENTS = {
    'dataset': 'datasets',
    'key-value-store': 'key-value-stores',
    'request-queue': 'request-queues',
}

RunStorages = Callable[[str], dict[str, str]]
"""Maps a run id to its default storage ids by segment (404 when there is no such run)."""
LastRun = Callable[[str, str, str | None], str]
"""Maps (``actors`` or ``actor-tasks``, id, status) to the newest run's id (404 when none)."""


def canonical_path(
    path: str, run_storages: RunStorages, last_run: LastRun, status: str | None
) -> str:
    """Resolve the aliases in a (still percent-encoded) path."""
    if path.startswith('/v2/acts/') or path == '/v2/acts':
        path = '/v2/actors' + path[len('/v2/acts') :]
    match = _LAST_RUN.match(path)
    if match:
        kind, owner, rest = match.groups()
        run_id = last_run(kind, unquote(owner), status)
        path = f'/v2/actor-runs/{run_id}{rest or ""}'
    match = _ACTOR_RUN.match(path)
    if match:
        run_id, rest = match.groups()
        path = f'/v2/actor-runs/{run_id}{rest or ""}'
    match = _RUN_STORAGE.match(path)
    if match:
        run_id, segment, rest = match.groups()
        storage_id = run_storages(unquote(run_id))[segment]
        path = f'/v2/{_STORAGE_SEGMENTS[segment]}/{storage_id}{rest or ""}'
    return path


class Router:
    """Finds the handler of a method and canonical path."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Callable[[Call], Reply]]] = []
        self._templates: list[tuple[str, str]] = []

    def add(self, method: str, template: str, handler: Callable[[Call], Reply]) -> None:
        """Route ``method template`` (``{name}`` matches one path segment) to ``handler``."""
        pattern = _PARAM.sub(lambda match: f'(?P<{match.group(1)}>[^/]+)', template)
        self._routes.append((method, re.compile(f'^{pattern}$'), handler))
        self._templates.append((method, template))

    def templates(self) -> list[tuple[str, str]]:
        """Every routed ``(method, template)``, in the order added."""
        return list(self._templates)

    def find(self, method: str, path: str) -> tuple[Callable[[Call], Reply], dict[str, str]]:
        """The handler and decoded path parameters (404 / 405 errors as the platform gives)."""
        allowed = []
        for route_method, pattern, handler in self._routes:
            match = pattern.match(path)
            if match is None:
                continue
            if route_method == method:
                return handler, {name: unquote(value) for name, value in match.groupdict().items()}
            allowed.append(route_method)
        if allowed:
            raise ApiError(
                405,
                'method-not-allowed',
                f'This API end-point can only be accessed using the following HTTP methods: '
                f'{",".join(sorted(set(allowed)))}',
            )
        raise ApiError(404, 'page-not-found', f'The path {path} is not served by the fake platform')
