"""actorkit's API client takes the official ``apify-client`` (3.x, sync) keywords.

For every method actorkit's resource clients offer that the official client of the same name
has, each official parameter is accepted the same way: by its name, at the same place when the
official one is positional, and optional when the official one is. What actorkit does not take
is listed below with the reason; the lists are checked too, so they cannot go stale. Official
methods actorkit does not offer at all are out of scope (it offers a subset, see
CLIENT_CONTRACT).
"""

from __future__ import annotations

import inspect
from typing import Any

import apify_client
import pytest
from apify_client import _resource_clients as official_clients

import actorkit.client as ours

CLASSES = [
    'ApifyClient',
    'DatasetClient',
    'DatasetCollectionClient',
    'KeyValueStoreClient',
    'KeyValueStoreCollectionClient',
    'RequestQueueClient',
    'RequestQueueCollectionClient',
    'RunClient',
    'RunCollectionClient',
    'ActorClient',
    'TaskClient',
    'WebhookClient',
    'WebhookCollectionClient',
    'UserClient',
]

NOT_TAKEN_ANYWHERE: dict[str, str] = {
    'timeout': (
        "per-call timeout tier ('short', 'medium', 'long', 'no_timeout' or a timedelta): "
        'actorkit picks the tier per endpoint and takes one timeout in the constructor'
    ),
}
"""Official parameters of every method that actorkit does not take, and why."""

NOT_TAKEN: dict[tuple[str, str, str], str] = {
    ('ActorClient', 'call', 'logger'): 'no log streaming of the called run',
    ('ActorClient', 'call', 'wait_for_resources'): 'no waiting for free memory before a start',
    ('ActorClient', 'start', 'wait_for_resources'): 'no waiting for free memory before a start',
    ('TaskClient', 'call', 'wait_for_resources'): 'no waiting for free memory before a start',
    ('TaskClient', 'start', 'wait_for_resources'): 'no waiting for free memory before a start',
    ('DatasetClient', 'iterate_items', 'signature'): 'no signed (token-less) storage access',
    ('DatasetClient', 'list_items', 'signature'): 'no signed (token-less) storage access',
    ('KeyValueStoreClient', 'get_record', 'signature'): 'no signed (token-less) storage access',
    ('KeyValueStoreClient', 'get_record_as_bytes', 'signature'): 'no signed storage access',
    ('KeyValueStoreClient', 'iterate_keys', 'signature'): 'no signed (token-less) storage access',
    ('KeyValueStoreClient', 'list_keys', 'signature'): 'no signed (token-less) storage access',
    ('KeyValueStoreClient', 'set_record', 'content_encoding'): 'values are sent as given',
    ('DatasetClient', 'update', 'general_access'): 'storage sharing settings are not offered',
    ('KeyValueStoreClient', 'update', 'general_access'): 'storage sharing is not offered',
    ('RequestQueueClient', 'update', 'general_access'): 'storage sharing is not offered',
    ('RunClient', 'update', 'general_access'): 'run sharing settings are not offered',
    ('DatasetClient', 'update', 'title'): 'only the name of a storage is updated',
    ('KeyValueStoreClient', 'update', 'title'): 'only the name of a storage is updated',
    ('RequestQueueClient', 'update', 'title'): 'only the name of a storage is updated',
    ('DatasetCollectionClient', 'get_or_create', 'schema'): 'no storage schemas',
    ('KeyValueStoreCollectionClient', 'get_or_create', 'schema'): 'no storage schemas',
    ('DatasetCollectionClient', 'list', 'ownership'): 'no shared-storage filter',
    ('KeyValueStoreCollectionClient', 'list', 'ownership'): 'no shared-storage filter',
    ('RequestQueueCollectionClient', 'list', 'ownership'): 'no shared-storage filter',
    ('RequestQueueClient', 'list_requests', 'filter'): 'no pending/locked filter',
    ('RequestQueueClient', 'iterate_requests', 'filter'): 'no pending/locked filter',
    ('RequestQueueClient', 'iterate_requests', 'cursor'): 'pages by exclusive_start_id',
    ('RequestQueueClient', 'iterate_requests', 'chunk_size'): 'pages of the default size',
    ('RunClient', 'charge', 'request_id'): 'no multi-tenant Actor Server charging',
    ('RunCollectionClient', 'list', 'started_after'): 'no start-time filter',
    ('RunCollectionClient', 'list', 'started_before'): 'no start-time filter',
}
"""Official parameters of single methods that actorkit does not take, and why."""


def _official_class(name: str) -> type:
    found = getattr(apify_client, name, None) or getattr(official_clients, name)
    assert isinstance(found, type)
    return found


def _methods(cls: type) -> dict[str, Any]:
    return {
        name: member
        for name, member in inspect.getmembers(cls, callable)
        if not name.startswith('_') and not isinstance(member, type)
    }


def _parameters(function: Any) -> list[inspect.Parameter]:
    params = list(inspect.signature(function).parameters.values())
    return [p for p in params[1:] if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _differences(cls_name: str) -> tuple[list[str], set[tuple[str, str, str]]]:
    """Return the unexplained differences of one class and the explained ones it has."""
    problems: list[str] = []
    explained: set[tuple[str, str, str]] = set()
    official_methods = _methods(_official_class(cls_name))
    for method, ours_function in _methods(getattr(ours, cls_name)).items():
        official_function = official_methods.get(method)
        if official_function is None:
            continue
        our_params = _parameters(ours_function)
        by_name = {param.name: param for param in our_params}
        for index, param in enumerate(_parameters(official_function)):
            where = f'{cls_name}.{method}({param.name})'
            mine = by_name.get(param.name)
            if mine is None:
                key = (cls_name, method, param.name)
                if param.name in NOT_TAKEN_ANYWHERE or key in NOT_TAKEN:
                    explained.add(key)
                else:
                    problems.append(f'{where}: not accepted')
                continue
            if mine.kind is mine.POSITIONAL_ONLY:
                problems.append(f'{where}: positional-only here, so not accepted by name')
            if param.kind is param.POSITIONAL_OR_KEYWORD and (
                index >= len(our_params) or our_params[index].name != param.name
            ):
                problems.append(f'{where}: positional at another place')
            if param.default is not param.empty and mine.default is mine.empty:
                problems.append(f'{where}: required here, optional in the official client')
    return problems, explained


@pytest.mark.parametrize('cls_name', CLASSES)
def test_official_client_keywords_are_accepted(cls_name: str) -> None:
    """Every official parameter is accepted by name, in place and as optional (or listed)."""
    assert _differences(cls_name)[0] == []


def test_the_not_taken_lists_name_only_what_is_missing() -> None:
    """Each listed parameter is really not accepted yet, so the lists cannot go stale."""
    explained: set[tuple[str, str, str]] = set()
    for cls_name in CLASSES:
        explained |= _differences(cls_name)[1]
    assert sorted(set(NOT_TAKEN) - explained) == []
    assert {name for _, _, name in explained} >= set(NOT_TAKEN_ANYWHERE)
