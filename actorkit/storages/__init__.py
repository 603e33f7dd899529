"""Storages of an Actor: key-value stores, datasets and request queues.

Open them through the Actor (``actor.open_dataset()`` ...); these classes are what you get.
"""

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
