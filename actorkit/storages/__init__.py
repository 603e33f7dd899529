"""Storages of an Actor: key-value stores, datasets and request queues.

Open them through the Actor (``actor.open_dataset()`` ...); these classes are what you get.
The names load on first use, so a run that touches only its key-value store never imports the
dataset or request queue code (start-up time is measured).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actorkit.storages._dataset import Dataset
    from actorkit.storages._key_value_store import KeyValueStore
    from actorkit.storages._models import (
        DatasetMetadata,
        DatasetPage,
        KeyInfo,
        KeyListPage,
        KeyValueStoreMetadata,
        ProcessedRequest,
        Request,
        RequestQueueMetadata,
    )
    from actorkit.storages._request_queue import RequestQueue

_HOMES = {
    'Dataset': '_dataset',
    'DatasetMetadata': '_models',
    'DatasetPage': '_models',
    'KeyInfo': '_models',
    'KeyListPage': '_models',
    'KeyValueStore': '_key_value_store',
    'KeyValueStoreMetadata': '_models',
    'ProcessedRequest': '_models',
    'Request': '_models',
    'RequestQueue': '_request_queue',
    'RequestQueueMetadata': '_models',
}

__all__ = [
    'Dataset',
    'DatasetMetadata',
    'DatasetPage',
    'KeyInfo',
    'KeyListPage',
    'KeyValueStore',
    'KeyValueStoreMetadata',
    'ProcessedRequest',
    'Request',
    'RequestQueue',
    'RequestQueueMetadata',
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module(f'{__name__}.{home}'), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
