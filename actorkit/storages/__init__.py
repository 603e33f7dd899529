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
    from actorkit.storages._dataset_models import DatasetMetadata, DatasetPage
    from actorkit.storages._key_value_store import KeyValueStore
    from actorkit.storages._kvs_models import KeyInfo, KeyListPage, KeyValueStoreMetadata
    from actorkit.storages._request_models import ProcessedRequest, Request, RequestQueueMetadata
    from actorkit.storages._request_queue import RequestQueue

_HOMES = {
    'Dataset': '_dataset',
    'DatasetMetadata': '_dataset_models',
    'DatasetPage': '_dataset_models',
    'KeyInfo': '_kvs_models',
    'KeyListPage': '_kvs_models',
    'KeyValueStore': '_key_value_store',
    'KeyValueStoreMetadata': '_kvs_models',
    'ProcessedRequest': '_request_models',
    'Request': '_request_models',
    'RequestQueue': '_request_queue',
    'RequestQueueMetadata': '_request_models',
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
