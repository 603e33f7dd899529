"""The Actor's proxy method: ``create_proxy_configuration``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import timedelta

    from actorkit._config import Configuration
    from actorkit._proxy import NewUrlFunction, ProxyConfiguration
    from actorkit.client import ApifyClient


class ActorPlatformMethods:
    """Proxies: :class:`~actorkit.Actor` inherits them."""

    if TYPE_CHECKING:  # provided by Actor

        @property
        def config(self) -> Configuration: ...

        def new_client(
            self,
            token: str | None = None,
            api_url: str | None = None,
            max_retries: int | None = None,
            timeout: float | timedelta | None = None,
        ) -> ApifyClient: ...

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
