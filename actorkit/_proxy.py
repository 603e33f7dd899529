"""Proxies: Apify Proxy URLs (groups, country, sessions) or your own proxy URLs, rotated.

:class:`ProxyConfiguration` hands out proxy URLs, blocking and thread-safe: Apify Proxy URLs
built from ``APIFY_PROXY_HOSTNAME``/``APIFY_PROXY_PORT`` and the proxy password, with the
groups, country and session encoded in the user name as the platform reads them
(``groups-A+B,session-X,country-US``, or ``auto``); or your own ``proxy_urls``, rotated round
robin, a session keeping the URL it got first; or whatever a ``new_url_function`` returns.
The password never shows in a ``repr`` or a log message.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

import attrs

from actorkit._config import Configuration, Secret

if TYPE_CHECKING:
    from actorkit.client import ApifyClient

_log = logging.getLogger('actorkit.proxy')

NewUrlFunction = Callable[[str | None, Any], 'str | None']
"""Returns the proxy URL to use for a session id (or ``None``) and a request (or ``None``)."""

SESSION_ID_MAX_LENGTH = 50
"""The longest session id Apify Proxy takes."""

_PROXY_VALUE = re.compile(r'^[\w._~]+$')
_COUNTRY_CODE = re.compile(r'^[A-Z]{2}$')
_SUBDIVISION_CODE = re.compile(r'^[A-Z0-9]{1,3}$')
_DEFAULT_PORTS = {
    'http': 80,
    'https': 443,
    'socks4': 1080,
    'socks4a': 1080,
    'socks5': 1080,
    'socks5h': 1080,
}
_STATUS_CHECK_TIMEOUT_SECS = 10.0
_STATUS_CHECK_ATTEMPTS = 2


def _mask_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (for reprs and messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return repr(url)
    netloc = parts.netloc.rsplit('@', 1)[1]
    return repr(f'{parts.scheme}://{parts.username}:***@{netloc}{parts.path}')


def _str_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _secret(value: str) -> Secret:
    return value if isinstance(value, Secret) else Secret(value)


@attrs.frozen(kw_only=True)
class ProxyInfo:
    """One proxy to use: its URL and the parts of it (as the official SDK's ``ProxyInfo``)."""

    url: str = attrs.field(repr=_mask_url)
    """The proxy URL, with the user name and password in it (masked in ``repr``)."""
    scheme: str
    """The URL scheme, e.g. ``http``."""
    hostname: str
    """The proxy host."""
    port: int
    """The proxy port."""
    username: str = ''
    """The user name (for Apify Proxy it carries the groups, session and country)."""
    password: Secret = attrs.field(default=Secret(''), converter=_secret)
    """The password, a :class:`~actorkit.Secret` (hidden in ``repr``)."""
    session_id: str | None = None
    """The session the URL belongs to: the same session gets the same proxy (and IP)."""
    proxy_tier: int | None = None
    """The proxy tier (always ``None``: actorkit has no tiered proxies)."""
    groups: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    """The Apify Proxy groups; empty for automatic selection or your own proxies."""
    country_code: str | None = None
    """The two-letter country code of the Apify Proxy IPs, if one was asked for."""
    subdivision_code: str | None = None
    """The ISO 3166-2 subdivision (e.g. US state) of the Apify Proxy IPs, if asked for."""


def _check_value(value: str, what: str, pattern: re.Pattern[str], rule: str) -> str:
    if not pattern.fullmatch(value):
        raise ValueError(f'invalid {what} {value!r}: {rule}')
    return value


def check_session_id(session_id: str | int) -> str:
    """Return the session id as a string, or raise ``ValueError`` saying what is allowed."""
    if isinstance(session_id, bool) or not isinstance(session_id, (str, int)):
        raise TypeError(f'session_id must be a str (or int), not {type(session_id).__name__}')
    text = str(session_id)
    if len(text) > SESSION_ID_MAX_LENGTH:
        raise ValueError(
            f'session_id {text[:20]!r}... is {len(text)} characters long: Apify Proxy takes at '
            f'most {SESSION_ID_MAX_LENGTH}'
        )
    return _check_value(
        text,
        'session_id',
        _PROXY_VALUE,
        'use only letters, digits, "_", "." and "~" (at least one character)',
    )


def _parse_proxy_url(url: str) -> tuple[str, str, int, str, str]:
    """Split a proxy URL into scheme, host, port, user name and password; raise if unusable."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port
    except ValueError as exc:
        raise ValueError(f'invalid proxy URL {_mask_url(url)}: {exc}') from None
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(
            f'invalid proxy URL {_mask_url(url)}: give scheme://[user:password@]host[:port] '
            f'with a scheme of {", ".join(sorted(_DEFAULT_PORTS))}'
        )
    return (
        scheme,
        parts.hostname,
        port if port is not None else _DEFAULT_PORTS[scheme],
        unquote(parts.username or ''),
        unquote(parts.password or ''),
    )


class ProxyConfiguration:
    """Hands out proxy URLs: Apify Proxy, your own rotated URLs, or a function's.

    Build it with :meth:`actorkit.Actor.create_proxy_configuration`, which also checks that
    Apify Proxy can be reached. All methods are blocking and safe to call from any thread.

    Args:
        password: The Apify Proxy password; by default ``APIFY_PROXY_PASSWORD``, else (with a
            token) the account's, fetched by :meth:`initialize`.
        groups: Apify Proxy groups, e.g. ``['RESIDENTIAL']``.
        country_code: Two-letter country code (``US``) of the Apify Proxy IPs.
        subdivision_code: 1-3 character ISO 3166-2 subdivision (``CA``); needs ``country_code``.
        proxy_urls: Your own proxy URLs, rotated round robin; a ``None`` entry means "no
            proxy" for its turn.
        new_url_function: A function ``(session_id, request) -> URL or None`` that picks the
            URL itself (a plain, blocking function).
        config: The configuration with the proxy host, port, password and status URL; read
            from the environment by default.

    Raises:
        ValueError: An invalid group, country, subdivision or proxy URL, or custom proxies
            combined with Apify Proxy options.
    """

    def __init__(
        self,
        *,
        password: str | None = None,
        groups: Iterable[str] | None = None,
        country_code: str | None = None,
        subdivision_code: str | None = None,
        proxy_urls: Iterable[str | None] | None = None,
        new_url_function: NewUrlFunction | None = None,
        config: Configuration | None = None,
    ) -> None:
        if isinstance(groups, str):
            raise TypeError(f'groups must be a list of group names, not the string {groups!r}')
        group_list = [
            _check_value(
                str(group),
                'proxy group',
                _PROXY_VALUE,
                'use only letters, digits, "_", "." and "~"',
            )
            for group in groups or ()
        ]
        if country_code:
            _check_value(
                str(country_code), 'country_code', _COUNTRY_CODE, 'use two capital letters, e.g. US'
            )
        if subdivision_code:
            if not country_code:
                raise ValueError('subdivision_code needs country_code too (e.g. country_code="US")')
            _check_value(
                str(subdivision_code),
                'subdivision_code',
                _SUBDIVISION_CODE,
                'use 1-3 capital letters or digits, e.g. CA',
            )
        url_list = list(proxy_urls or ())
        custom = bool(url_list) or new_url_function is not None
        if custom and (group_list or country_code):
            raise ValueError(
                'custom proxies (proxy_urls, new_url_function) cannot be combined with Apify '
                'Proxy options (groups, country_code, subdivision_code): use one or the other'
            )
        if url_list and new_url_function is not None:
            raise ValueError('give proxy_urls or new_url_function, not both')
        for url in url_list:
            if url is not None:
                _parse_proxy_url(url)
        if any(url is not None and 'apify.com' in url for url in url_list):
            _log.warning(
                'proxy_urls point to Apify Proxy: give groups/country_code instead, so that '
                'sessions and the access check work'
            )
        self._config = config if config is not None else Configuration.from_env()
        self._uses_apify_proxy = not custom
        self._password = _secret(password) if password else self._config.proxy_password
        self._groups = tuple(group_list)
        self._country_code = str(country_code) if country_code else None
        self._subdivision_code = str(subdivision_code) if subdivision_code else None
        self._proxy_urls = url_list
        self._new_url_function = new_url_function
        self._lock = threading.Lock()
        self._next_index = 0
        self._session_urls: dict[str, str | None] = {}
        self.is_man_in_the_middle = False
        """Whether Apify Proxy said it intercepts HTTPS (set by :meth:`initialize`)."""

    def __repr__(self) -> str:
        if self._uses_apify_proxy:
            return (
                f'<actorkit.ProxyConfiguration Apify Proxy {self._config.proxy_hostname}:'
                f'{self._config.proxy_port} groups={list(self._groups)} '
                f'country_code={self._country_code!r}>'
            )
        if self._new_url_function is not None:
            return f'<actorkit.ProxyConfiguration new_url_function={self._new_url_function!r}>'
        return f'<actorkit.ProxyConfiguration {len(self._proxy_urls)} proxy URLs>'

    @property
    def uses_apify_proxy(self) -> bool:
        """Whether the URLs are Apify Proxy's (not your own proxies)."""
        return self._uses_apify_proxy

    # -- URLs ----------------------------------------------------------------------------------

    def new_url(self, session_id: str | int | None = None, request: Any = None) -> str | None:
        """Return a proxy URL (with its credentials) to use for a connection.

        Args:
            session_id: A session: the same id always gets the same proxy (for Apify Proxy,
                the same IP while it lasts). At most 50 letters, digits, ``_``, ``.``, ``~``.
            request: Passed to ``new_url_function``, for its choice.

        Returns:
            The URL, or ``None`` when this turn uses no proxy (a ``None`` in ``proxy_urls``).

        Raises:
            ValueError: An invalid session id, or a ``new_url_function`` that failed or
                returned something that is not a proxy URL.
        """
        info = self.new_proxy_info(session_id, request)
        return None if info is None else info.url

    def new_proxy_info(
        self, session_id: str | int | None = None, request: Any = None
    ) -> ProxyInfo | None:
        """Return a proxy with its parts (host, port, user name, groups, ...).

        Args:
            session_id: As in :meth:`new_url`.
            request: As in :meth:`new_url`.

        Returns:
            The :class:`ProxyInfo`, or ``None`` when this turn uses no proxy.

        Raises:
            ValueError: As in :meth:`new_url`.
        """
        session = None if session_id is None else check_session_id(session_id)
        if self._uses_apify_proxy:
            return self._apify_proxy_info(session)
        url = self._pick_url(session, request)
        if url is None:
            return None
        scheme, hostname, port, username, password = _parse_proxy_url(url)
        return ProxyInfo(
            url=url,
            scheme=scheme,
            hostname=hostname,
            port=port,
            username=username,
            password=password,
            session_id=session,
        )

    def new_requests_proxies(
        self, session_id: str | int | None = None, request: Any = None
    ) -> dict[str, str]:
        """Return a proxy as the ``proxies`` argument of ``requests``.

        ``requests.get(url, proxies=proxy_configuration.new_requests_proxies('s1'))``.

        Args:
            session_id: As in :meth:`new_url`.
            request: As in :meth:`new_url`.

        Returns:
            ``{'http': url, 'https': url}``, or ``{}`` when this turn uses no proxy.

        Raises:
            ValueError: As in :meth:`new_url`.
        """
        url = self.new_url(session_id, request)
        return {} if url is None else {'http': url, 'https': url}

    def _apify_proxy_info(self, session: str | None) -> ProxyInfo:
        hostname = self._config.proxy_hostname
        port = self._config.proxy_port
        username = self._username(session)
        password = self._password or ''
        return ProxyInfo(
            url=f'http://{username}:{quote(password, safe="")}@{hostname}:{port}',
            scheme='http',
            hostname=hostname,
            port=port,
            username=username,
            password=password,
            session_id=session,
            groups=self._groups,
            country_code=self._country_code,
            subdivision_code=self._subdivision_code,
        )

    def _username(self, session: str | None) -> str:
        parts = []
        if self._groups:
            parts.append('groups-' + '+'.join(self._groups))
        if session is not None:
            parts.append(f'session-{session}')
        if self._country_code:
            country = self._country_code
            if self._subdivision_code:
                country += f'_{self._subdivision_code}'
            parts.append(f'country-{country}')
        return ','.join(parts) or 'auto'

    def _pick_url(self, session: str | None, request: Any) -> str | None:
        function = self._new_url_function
        if function is not None:
            return self._call_new_url_function(function, session, request)
        with self._lock:
            if session is not None and session in self._session_urls:
                return self._session_urls[session]
            url = self._proxy_urls[self._next_index % len(self._proxy_urls)]
            self._next_index += 1
            if session is not None:
                self._session_urls[session] = url
            return url

    @staticmethod
    def _call_new_url_function(
        function: NewUrlFunction, session: str | None, request: Any
    ) -> str | None:
        name = getattr(function, '__qualname__', repr(function))
        try:
            result: Any = function(session, request)
        except Exception as exc:
            raise ValueError(f'new_url_function {name} raised {type(exc).__name__}') from exc
        if result is None:
            return None
        if not isinstance(result, str):
            hint = (
                ': give a plain (blocking) function, not a coroutine function'
                if hasattr(result, '__await__')
                else ''
            )
            close = getattr(result, 'close', None)
            if hint and callable(close):
                close()  # (no "never awaited" warning on top of the error)
            raise ValueError(
                f'new_url_function {name} returned {type(result).__name__}, not a proxy URL '
                f'string or None{hint}'
            )
        _parse_proxy_url(result)
        return result

    # -- the access check ----------------------------------------------------------------------

    def initialize(self, client: ApifyClient | None = None) -> None:
        """Get the Apify Proxy password if missing, and check that Apify Proxy is reachable.

        Nothing to do for custom proxies. :meth:`actorkit.Actor.create_proxy_configuration`
        calls it for you.

        Args:
            client: The API client to fetch the account's proxy password with, when neither
                ``password`` nor ``APIFY_PROXY_PASSWORD`` gives one.

        Raises:
            ConfigurationError: No password could be found.
            ConnectionError: Apify Proxy answered that it is not connected (its reason is in
                the message).
        """
        if not self._uses_apify_proxy:
            return
        if not self._password and client is not None:
            self._password = _fetch_password(client)
        if not self._password:
            from actorkit._errors import ConfigurationError  # noqa: PLC0415

            raise ConfigurationError(
                [
                    'APIFY_PROXY_PASSWORD: Apify Proxy needs a password: pass password=..., set '
                    'APIFY_PROXY_PASSWORD, or set APIFY_TOKEN so that the password is fetched '
                    'from your account'
                ]
            )
        self._check_access()

    def _check_access(self) -> None:
        import requests  # noqa: PLC0415 (only when Apify Proxy is used)

        status_url = self._config.proxy_status_url.rstrip('/') + '/?format=json'
        proxy_url = self._apify_proxy_info(None).url
        status: Any = None
        problem = 'no answer'
        with requests.Session() as session:
            # Not the environment's proxy settings (NO_PROXY could skip the proxy under test).
            session.trust_env = False
            for _ in range(_STATUS_CHECK_ATTEMPTS):
                try:
                    response = session.get(
                        status_url,
                        proxies={'http': proxy_url, 'https': proxy_url},
                        timeout=_STATUS_CHECK_TIMEOUT_SECS,
                    )
                    if response.status_code == 407:
                        problem = 'HTTP 407: the proxy refused the password'
                        break
                    status = json.loads(response.text)
                    break
                except (requests.RequestException, ValueError) as exc:
                    problem = type(exc).__name__
        if not isinstance(status, dict):
            _log.warning(
                'Apify Proxy access check (%s through %s:%s) failed (%s): if requests through '
                'the proxy get HTTP 407, you have no access to the proxies you asked for',
                status_url,
                self._config.proxy_hostname,
                self._config.proxy_port,
                problem,
            )
            return
        if not status.get('connected'):
            reason = status.get('connectionError') or 'no reason given'
            raise ConnectionError(f'Apify Proxy is not available for this configuration: {reason}')
        self.is_man_in_the_middle = bool(status.get('isManInTheMiddle'))
        _log.debug('Apify Proxy is connected (checked at %s)', status_url)


def _fetch_password(client: ApifyClient) -> Secret | None:
    user = client.user().get()
    proxy = (user or {}).get('proxy')
    password = proxy.get('password') if isinstance(proxy, dict) else None
    return Secret(password) if isinstance(password, str) and password else None
