"""The blocking, thread-safe client of the Apify API v2 (over requests).

Shaped as the official ``apify-client`` (its sync client): the same resource clients, method
names and keywords; answers are the API's ``data`` objects as plain dicts with camelCase keys.
Importing this package does not import requests: it is imported on the first call.
"""

from actorkit._errors import (
    ApifyApiError,
    ApifyClientError,
    ApifyConnectionError,
    ApifyTimeoutError,
)
from actorkit.client._client import DEFAULT_API_URL, ApifyClient
from actorkit.client._dataset import DatasetClient, DatasetCollectionClient
from actorkit.client._key_value_store import KeyValueStoreClient, KeyValueStoreCollectionClient
from actorkit.client._models import ListPage
from actorkit.client._request_queue import RequestQueueClient, RequestQueueCollectionClient
from actorkit.client._runs import ActorClient, RunClient, RunCollectionClient, TaskClient
from actorkit.client._webhooks import UserClient, WebhookClient, WebhookCollectionClient

__all__ = [
    'DEFAULT_API_URL',
    'ActorClient',
    'ApifyApiError',
    'ApifyClient',
    'ApifyClientError',
    'ApifyConnectionError',
    'ApifyTimeoutError',
    'DatasetClient',
    'DatasetCollectionClient',
    'KeyValueStoreClient',
    'KeyValueStoreCollectionClient',
    'ListPage',
    'RequestQueueClient',
    'RequestQueueCollectionClient',
    'RunClient',
    'RunCollectionClient',
    'TaskClient',
    'UserClient',
    'WebhookClient',
    'WebhookCollectionClient',
]
