"""The API client: the entry point that hands out resource clients."""

from __future__ import annotations

from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING

from actorkit.client._base import resource_segment
from actorkit.client._dataset import DatasetClient, DatasetCollectionClient
from actorkit.client._http import HttpClient, to_seconds
from actorkit.client._key_value_store import KeyValueStoreClient, KeyValueStoreCollectionClient
from actorkit.client._request_queue import RequestQueueClient, RequestQueueCollectionClient
from actorkit.client._runs import ActorClient, RunClient, RunCollectionClient, TaskClient
from actorkit.client._webhooks import UserClient, WebhookClient, WebhookCollectionClient

if TYPE_CHECKING:
    from typing_extensions import Self

DEFAULT_API_URL = 'https://api.apify.com'
"""The platform API (calls go to ``{api_url}/v2/...``)."""


class ApifyClient:
    """A blocking, thread-safe client of the Apify API v2.

    One client can be shared by any number of threads: each thread gets its own connection pool
    on its first call. Calls are retried on 429, 5xx, broken connections and timeouts (with
    jittered exponential backoff, honouring ``Retry-After``), never on other 4xx. Errors are
    :class:`~actorkit.ApifyApiError`, :class:`~actorkit.ApifyConnectionError` and
    :class:`~actorkit.ApifyTimeoutError`; none of them, nor any log line or repr, shows the token.

    Example::

        from actorkit.client import ApifyClient

        client = ApifyClient(token)
        dataset = client.datasets().get_or_create(name='results')
        client.dataset(dataset['id']).push_items([{'url': 'https://example.com'}])
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        api_url: str | None = None,
        api_public_url: str | None = None,
        max_retries: int = 4,
        min_delay_between_retries: float | timedelta = 0.5,
        timeout: float | timedelta | None = None,
    ) -> None:
        """Make a client (no connection is opened until the first call).

        Args:
            token: The API token, sent as ``Authorization: Bearer``.
            api_url: The API's base URL (``https://api.apify.com`` when ``None``).
            api_public_url: The base URL put in links given to others (public record URLs);
                ``api_url`` when ``None``.
            max_retries: How many times a failed call is retried (0: never).
            min_delay_between_retries: The first backoff (seconds or a timedelta); each retry
                waits uniform(1, 2) x this x 2^(retry - 1).
            timeout: The most one attempt may take (seconds or a timedelta). Attempts time out
                after 5 s, 30 s or 360 s by kind of call, doubled on each retry, never above this.

        Raises:
            ValueError: A URL is not an http(s) URL, or a number is negative.
        """
        delay = to_seconds(min_delay_between_retries, 'min_delay_between_retries')
        cap = to_seconds(timeout, 'timeout')
        if cap is not None and cap <= 0:
            raise ValueError(f'timeout must be more than 0 seconds, got {timeout!r}')
        self._token = token or None
        self._http = HttpClient(
            token=self._token,
            api_url=api_url or DEFAULT_API_URL,
            api_public_url=api_public_url or api_url or DEFAULT_API_URL,
            max_retries=max_retries,
            min_delay_between_retries=delay or 0.0,
            timeout=cap,
        )

    def __repr__(self) -> str:
        token = 'None' if self._token is None else "'***'"
        return f'ApifyClient(api_url={self.api_url!r}, token={token})'

    @property
    def token(self) -> str | None:
        """The API token the client sends."""
        return self._token

    @property
    def api_url(self) -> str:
        """The API's base URL (without ``/v2``)."""
        return self._http.api_url

    def close(self) -> None:
        """Close the connections of every thread (a later call reconnects)."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def datasets(self) -> DatasetCollectionClient:
        """The datasets of the account."""
        return DatasetCollectionClient(self._http, '/datasets')

    def dataset(self, dataset_id: str) -> DatasetClient:
        """One dataset, by id or ``username/name``."""
        return DatasetClient(self._http, '/datasets/' + resource_segment(dataset_id, 'dataset id'))

    def key_value_stores(self) -> KeyValueStoreCollectionClient:
        """The key-value stores of the account."""
        return KeyValueStoreCollectionClient(self._http, '/key-value-stores')

    def key_value_store(self, key_value_store_id: str) -> KeyValueStoreClient:
        """One key-value store, by id or ``username/name``."""
        segment = resource_segment(key_value_store_id, 'key-value store id')
        return KeyValueStoreClient(self._http, '/key-value-stores/' + segment)

    def request_queues(self) -> RequestQueueCollectionClient:
        """The request queues of the account."""
        return RequestQueueCollectionClient(self._http, '/request-queues')

    def request_queue(
        self, request_queue_id: str, client_key: str | None = None
    ) -> RequestQueueClient:
        """One request queue, by id or ``username/name``, seen as the client ``client_key``."""
        segment = resource_segment(request_queue_id, 'request queue id')
        return RequestQueueClient(self._http, '/request-queues/' + segment, client_key=client_key)

    def run(self, run_id: str) -> RunClient:
        """One Actor run."""
        path = '/actor-runs/' + resource_segment(run_id, 'run id')
        return RunClient(self._http, path, run_id=run_id)

    def runs(self) -> RunCollectionClient:
        """The runs of the account."""
        return RunCollectionClient(self._http, '/actor-runs')

    def actor(self, actor_id: str) -> ActorClient:
        """One Actor, by id or ``username/name``."""
        return ActorClient(self._http, '/actors/' + resource_segment(actor_id, 'Actor id'))

    def task(self, task_id: str) -> TaskClient:
        """One saved task, by id or ``username/name``."""
        return TaskClient(self._http, '/actor-tasks/' + resource_segment(task_id, 'task id'))

    def webhooks(self) -> WebhookCollectionClient:
        """The webhooks of the account."""
        return WebhookCollectionClient(self._http, '/webhooks')

    def webhook(self, webhook_id: str) -> WebhookClient:
        """One webhook."""
        return WebhookClient(self._http, '/webhooks/' + resource_segment(webhook_id, 'webhook id'))

    def user(self, user_id: str = 'me') -> UserClient:
        """A user account; ``me`` (the default) is the token's owner."""
        return UserClient(self._http, '/users/' + resource_segment(user_id, 'user id'))
