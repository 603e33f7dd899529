"""Code written for the official SDK calls actorkit with the same names and keywords.

For every public method of the official ``Actor``, ``Dataset``, ``KeyValueStore``,
``RequestQueue`` and ``Request`` that actorkit offers, each official parameter is accepted the
same way: positional ones at the same place, every one by its name, optional ones optional
(actorkit may add parameters, if they are optional). The official signatures come from the
live packages when ``apify`` is importable (the ``official`` tox env), else from
``official_signatures.json`` (regenerate it with ``tests/official_signatures.py``). What
actorkit does not offer yet is listed below, each with its reason; the lists are checked too,
so they cannot go stale.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
from typing import Any

import pytest

from actorkit import Actor
from actorkit.storages import Dataset, KeyValueStore, Request, RequestQueue
from tests import official_signatures

OURS: dict[str, type] = {
    'Actor': Actor,
    'Dataset': Dataset,
    'KeyValueStore': KeyValueStore,
    'RequestQueue': RequestQueue,
    'Request': Request,
}

NOT_YET: dict[tuple[str, str], str] = {
    ('RequestQueue', 'to_tandem'): 'crawlee crawler plumbing (request managers), not an SDK call',
    ('Request', 'crawlee_data'): 'crawlee crawler internals (a pydantic model of __crawlee)',
    ('Request', 'enqueue_strategy'): 'crawlee crawler internals; kept in user_data["__crawlee"]',
    ('Request', 'forefront'): 'crawlee crawler internals; pass forefront= to add_request',
    ('Request', 'last_proxy_tier'): 'crawlee crawler internals (proxy tiers)',
    ('Request', 'session_rotation_count'): 'crawlee crawler internals (sessions)',
    ('Request', 'state'): 'crawlee crawler internals (the crawler lifecycle state)',
}
"""Official members actorkit does not offer yet, and why."""

NOT_YET_PARAMETERS: dict[tuple[str, str, str], str] = {}
"""Official parameters of offered methods that actorkit does not accept yet, and why."""


def official() -> dict[str, Any]:
    """The official signatures: live when the official SDK is importable, else pinned."""
    if importlib.util.find_spec('apify') is not None:
        return official_signatures.collect()
    return json.loads(official_signatures.PINNED.read_text(encoding='utf-8'))


OFFICIAL = official()


def _offered(cls: type, name: str) -> bool:
    return any(name in vars(klass) for klass in cls.__mro__ if klass is not object)


def _problems(label: str, method: str, expected: list[dict[str, Any]], ours: Any) -> list[str]:
    """Return how ``ours`` fails to accept the official parameters ``expected``."""
    signature = inspect.signature(ours)
    params = list(signature.parameters.values())
    if params and params[0].name in ('self', 'cls'):
        params = params[1:]
    by_name = {param.name: param for param in params}
    kinds = {param.kind for param in params}
    positional = [
        param
        for param in params
        if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD)
    ]
    problems = []
    official_names = set()
    for index, spec in enumerate(expected):
        name, kind = spec['name'], spec['kind']
        official_names.add(name)
        where = f'{label}.{method}({name})'
        if (label, method, name) in NOT_YET_PARAMETERS:
            continue
        if kind == 'VAR_POSITIONAL':
            if inspect.Parameter.VAR_POSITIONAL not in kinds:
                problems.append(f'{where}: takes no *args')
            continue
        if kind == 'VAR_KEYWORD':
            if inspect.Parameter.VAR_KEYWORD not in kinds:
                problems.append(f'{where}: takes no **kwargs')
            continue
        param = by_name.get(name)
        if param is None:
            problems.append(f'{where}: no such parameter')
            continue
        if kind in ('POSITIONAL_OR_KEYWORD', 'POSITIONAL_ONLY') and index >= len(positional):
            problems.append(f'{where}: cannot be passed as positional argument {index + 1}')
        if kind != 'POSITIONAL_ONLY' and param.kind == param.POSITIONAL_ONLY:
            problems.append(f'{where}: cannot be passed by keyword')
        if spec['has_default'] and param.default is inspect.Parameter.empty:
            problems.append(f'{where}: required, but optional in the official SDK')
    for param in params:
        required = param.default is inspect.Parameter.empty and param.kind not in (
            param.VAR_POSITIONAL,
            param.VAR_KEYWORD,
        )
        if required and param.name not in official_names:
            problems.append(f'{label}.{method}({param.name}): required, but not official')
    return problems


@pytest.mark.parametrize('label', sorted(OURS))
def test_official_parameters_are_accepted(label: str) -> None:
    """Every official parameter of every offered method is accepted the official way."""
    cls = OURS[label]
    problems = []
    for method, spec in OFFICIAL['classes'][label]['methods'].items():
        if (label, method) in NOT_YET:
            continue
        if not _offered(cls, method):
            problems.append(f'{label}.{method}: missing (offer it, or list it in NOT_YET)')
            continue
        problems.extend(_problems(label, method, spec['parameters'], getattr(cls, method)))
    assert problems == []


@pytest.mark.parametrize('label', sorted(OURS))
def test_official_properties_are_offered(label: str) -> None:
    """Every official property is a property (or attribute) of actorkit's class too."""
    cls = OURS[label]
    missing = [
        name
        for name in OFFICIAL['classes'][label]['properties']
        if (label, name) not in NOT_YET
        and not _offered(cls, name)
        and name not in getattr(cls, '__annotations__', {})
        and name not in {field.name for field in getattr(cls, '__attrs_attrs__', ())}
    ]
    assert missing == []


def test_the_not_yet_lists_name_only_what_is_missing() -> None:
    """An entry of NOT_YET is official and still missing; a stale entry fails here."""
    stale = []
    for label, name in NOT_YET:
        official_class = OFFICIAL['classes'][label]
        if name not in official_class['methods'] and name not in official_class['properties']:
            stale.append(f'{label}.{name}: not in the official SDK')
        elif _offered(OURS[label], name):
            stale.append(f'{label}.{name}: offered now, remove it from NOT_YET')
    for label, method, name in NOT_YET_PARAMETERS:
        ours = inspect.signature(getattr(OURS[label], method)).parameters
        if name in ours:
            stale.append(f'{label}.{method}({name}): accepted now, remove it')
    assert stale == []


def test_the_pinned_signatures_match_the_installed_official_sdk() -> None:
    """When the official SDK is importable, the pinned JSON is what it says (else skipped)."""
    if importlib.util.find_spec('apify') is None:
        pytest.skip('the official SDK is not installed here (the official tox env has it)')
    pinned = json.loads(official_signatures.PINNED.read_text(encoding='utf-8'))
    assert pinned['classes'] == official_signatures.collect()['classes']
