"""The Actor's platform methods: its environment, API clients and proxies.

``get_env``, ``is_at_home``, ``apify_client``, ``new_client`` and
``create_proxy_configuration``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import timedelta

    from actorkit._config import Configuration
    from actorkit._proxy import NewUrlFunction, ProxyConfiguration
    from actorkit.client import ApifyClient


_OFFICIAL_ENV_KEYS = {
    'id': 'actor_id',
    'run_id': 'actor_run_id',
    'task_id': 'actor_task_id',
    'build_id': 'actor_build_id',
    'build_number': 'actor_build_number',
    'build_tags': 'actor_build_tags',
    'full_name': 'actor_full_name',
    'permission_level': 'actor_permission_level',
    'storages_json': 'actor_storages_json',
    'charged_actor_event_counts': 'charged_event_counts',
}
"""The official SDK's ``get_env()`` keys (``ACTOR_ID`` -> ``id``) that name a field differently."""


class ActorPlatformMethods:
    """The environment, API clients and proxies: :class:`~actorkit.Actor` inherits them."""

    _client_lock: threading.Lock
    _client: ApifyClient | None

    if TYPE_CHECKING:  # provided by Actor

        @property
        def config(self) -> Configuration: ...

    # -- environment -----------------------------------------------------------------------------

    def get_env(self) -> dict[str, Any]:
        """Return the typed configuration as a dict keyed by snake_case name.

        Each field is there under its own name and, where the official SDK names it after its
        variable (``ACTOR_ID`` -> ``id``, ``ACTOR_RUN_ID`` -> ``run_id``), under that name too.
        Secret values are :class:`~actorkit.Secret` strings, which hide themselves in ``repr``.
        """
        env = self.config.to_dict()
        env.update({official: env[ours] for official, ours in _OFFICIAL_ENV_KEYS.items()})
        return env

    def is_at_home(self) -> bool:
        """Whether the Actor runs on the Apify platform."""
        return self.config.is_at_home

    # -- API client ------------------------------------------------------------------------------

    @property
    def apify_client(self) -> ApifyClient:
        """The run's API client (``new_client()`` with the defaults), made on first use.

        One client serves every thread; it is closed when the run exits, and the next run
        makes its own.
        """
        with self._client_lock:
            if self._client is None:
                self._client = self.new_client()
            return self._client

    def new_client(
        self,
        token: str | None = None,
        api_url: str | None = None,
        max_retries: int | None = None,
        timeout: float | timedelta | None = None,
        min_delay_between_retries: float | timedelta | None = None,
    ) -> ApifyClient:
        """Return a new API client, configured from the run's configuration.

        Args:
            token: The API token; by default ``APIFY_TOKEN``.
            api_url: The API base URL; by default ``APIFY_API_BASE_URL``.
            max_retries: How many times a failed call is retried; by default the client's (4).
            timeout: The per-attempt timeout (seconds or a timedelta); by default the client's
                tiers.
            min_delay_between_retries: The first backoff before a retry (seconds or a
                timedelta); by default the client's (0.5 s).

        Returns:
            The client (``actorkit.client.ApifyClient``).
        """
        from actorkit.client import ApifyClient  # noqa: PLC0415 (loads requests)

        config = self.config
        options: dict[str, Any] = {}
        if max_retries is not None:
            options['max_retries'] = max_retries
        if timeout is not None:
            options['timeout'] = timeout
        if min_delay_between_retries is not None:
            options['min_delay_between_retries'] = min_delay_between_retries
        if token is None and config.token:
            token = str(config.token)
        if api_url is None:
            api_url = config.api_base_url
            options['api_public_url'] = config.api_public_base_url
        return ApifyClient(token, api_url=api_url, **options)

    # -- proxies ---------------------------------------------------------------------------------

    def create_proxy_configuration(
        self,
        *,
        actor_proxy_input: Mapping[str, Any] | None = None,
        password: str | None = None,
        groups: Iterable[str] | None = None,
        country_code: str | None = None,
        subdivision_code: str | None = None,
        proxy_urls: Iterable[str | None] | None = None,
        new_url_function: NewUrlFunction | None = None,
    ) -> ProxyConfiguration | None:
        """Return a proxy configuration, checked and ready to hand out proxy URLs.

        For Apify Proxy it gets the password (``password``, ``APIFY_PROXY_PASSWORD``, or the
        account's through the API when ``APIFY_TOKEN`` is set) and checks that the proxy is
        reachable (a request to ``APIFY_PROXY_STATUS_URL`` through it), as the official SDK.

        Args:
            actor_proxy_input: The value of a ``proxy`` editor field of the Actor input
                (``useApifyProxy``, ``apifyProxyGroups``, ``apifyProxyCountry``,
                ``proxyUrls``), as it is in the input; the other arguments fill what it leaves.
            password: The Apify Proxy password.
            groups: Apify Proxy groups, e.g. ``['RESIDENTIAL']``.
            country_code: Two-letter country code of the Apify Proxy IPs.
            subdivision_code: ISO 3166-2 subdivision (e.g. a US state); needs ``country_code``.
            proxy_urls: Your own proxy URLs, rotated round robin.
            new_url_function: A plain function ``(session_id, request) -> URL or None``.

        Returns:
            The :class:`~actorkit.ProxyConfiguration`, or ``None`` when ``actor_proxy_input``
            asks for no proxy (no Apify Proxy and no URLs).

        Raises:
            ValueError: Invalid options (a :class:`~actorkit.ConfigurationError` when no
                Apify Proxy password can be found).
            ConnectionError: Apify Proxy says it is not available for these options.
        """
        if actor_proxy_input is not None:
            if not isinstance(actor_proxy_input, Mapping):
                raise TypeError(
                    f'actor_proxy_input must be the dict of a proxy input field, not '
                    f'{type(actor_proxy_input).__name__}'
                )
            if actor_proxy_input.get('useApifyProxy', False):
                groups = groups or actor_proxy_input.get('apifyProxyGroups')
                country_code = country_code or actor_proxy_input.get('apifyProxyCountry')
                subdivision_code = subdivision_code or actor_proxy_input.get(
                    'apifyProxySubdivision'
                )
            else:
                proxy_urls = actor_proxy_input.get('proxyUrls') or []
                if not proxy_urls:
                    return None
        config = self.config
        from actorkit._proxy import ProxyConfiguration  # noqa: PLC0415 (off actorkit's import)

        proxy_configuration = ProxyConfiguration(
            password=password,
            groups=groups,
            country_code=country_code,
            subdivision_code=subdivision_code,
            proxy_urls=proxy_urls,
            new_url_function=new_url_function,
            config=config,
        )
        if not (
            proxy_configuration.uses_apify_proxy
            and not (password or config.proxy_password)
            and config.token
        ):
            proxy_configuration.initialize()
            return proxy_configuration
        # The password is the account's: fetched with the run's token, as the official SDK.
        with self.new_client() as client:
            proxy_configuration.initialize(client)
        return proxy_configuration
