"""The blocking, thread-safe client of the Apify API v2 (over requests).

Shaped as the official ``apify-client`` (its sync client): the same resource clients, method
names and keywords; answers are the API's ``data`` objects as plain dicts with camelCase keys
(``None`` from ``get()`` when the resource does not exist), listings are :class:`ListPage`::

    from actorkit.client import ApifyClient

    with ApifyClient(token) as client:
        run = client.actor('apify/hello-world').call(run_input={'message': 'hi'}, wait_secs=300)
        for item in client.dataset(run['defaultDatasetId']).iterate_items():
            print(item)

One client serves any number of threads (each gets its own connection). Calls are retried on
429, 5xx, broken connections and timeouts, never on other 4xx; errors are
:class:`ApifyApiError`, :class:`ApifyConnectionError` and :class:`ApifyTimeoutError`. Importing
this package does not import requests: it is imported on the first call.
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
