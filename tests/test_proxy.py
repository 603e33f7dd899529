"""Proxies: Apify Proxy URLs, custom URLs rotated, the access check through a local proxy."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from actorkit import (
    Actor,
    Configuration,
    ConfigurationError,
    ProxyConfiguration,
    ProxyInfo,
)
from actorkit.client import ApifyClient
from actorkit.testing import FakePlatform
from tests._proxy_server import LocalProxy

PASSWORD = 'pr0xy-Pa55'


@pytest.fixture
def local_proxy() -> Iterator[LocalProxy]:
    """A local forward proxy standing in for Apify Proxy."""
    proxy = LocalProxy()
    yield proxy
    proxy.close()


def _config(proxy: LocalProxy | None = None, **settings: Any) -> Configuration:
    values: dict[str, Any] = {
        'proxy_hostname': '127.0.0.1',
        'proxy_port': proxy.port if proxy is not None else 9,
        'proxy_password': PASSWORD,
    }
    values.update(settings)
    return Configuration(**values)


@pytest.fixture
def actor_with(make_actor: Callable[..., Actor]) -> Callable[..., Actor]:
    """A local Actor whose proxy settings point at ``proxy``."""

    def make(proxy: LocalProxy | None = None, **settings: Any) -> Actor:
        values: dict[str, Any] = {
            'proxy_hostname': '127.0.0.1',
            'proxy_port': proxy.port if proxy is not None else 9,
            'proxy_password': PASSWORD,
        }
        values.update(settings)
        return make_actor(**values)

    return make


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port: int = sock.getsockname()[1]
        return port


# -- Apify Proxy URLs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('options', 'session', 'username'),
    [
        ({}, None, 'auto'),
        ({}, 'abc', 'session-abc'),
        ({'groups': ['RESIDENTIAL']}, None, 'groups-RESIDENTIAL'),
        ({'groups': ['A', 'B'], 'country_code': 'US'}, 's_1', 'groups-A+B,session-s_1,country-US'),
        ({'country_code': 'US', 'subdivision_code': 'CA'}, None, 'country-US_CA'),
        ({'country_code': 'GB'}, 42, 'session-42,country-GB'),
    ],
)
def test_apify_proxy_urls_carry_groups_session_and_country_in_the_username(
    options: dict[str, Any], session: str | int | None, username: str
) -> None:
    """The user name is built as the platform reads it; the URL points at the proxy host."""
    configuration = ProxyConfiguration(config=_config(proxy_port=8011), **options)
    info = configuration.new_proxy_info(session)
    assert info is not None
    assert info.username == username
    assert info.url == f'http://{username}:{PASSWORD}@127.0.0.1:8011'
    assert (info.scheme, info.hostname, info.port, info.password) == (
        'http',
        '127.0.0.1',
        8011,
        PASSWORD,
    )
    assert info.groups == tuple(options.get('groups', ()))
    assert info.country_code == options.get('country_code')
    assert info.session_id == (None if session is None else str(session))
    assert configuration.new_url(session) == info.url
    assert configuration.new_requests_proxies(session) == {'http': info.url, 'https': info.url}


def test_the_proxy_host_port_and_password_come_from_the_environment() -> None:
    """APIFY_PROXY_HOSTNAME, APIFY_PROXY_PORT and APIFY_PROXY_PASSWORD build the URL."""
    config = Configuration.from_env(
        {
            'APIFY_PROXY_HOSTNAME': 'proxy.example.net',
            'APIFY_PROXY_PORT': '8123',
            'APIFY_PROXY_PASSWORD': 'envpass',
        }
    )
    url = ProxyConfiguration(groups=['X'], config=config).new_url()
    assert url == 'http://groups-X:envpass@proxy.example.net:8123'


@pytest.mark.parametrize(
    ('session', 'message'),
    [
        ('x' * 51, 'at most 50'),
        ('has space', 'letters, digits'),
        ('semi;colon', 'letters, digits'),
        ('', 'letters, digits'),
    ],
)
def test_an_invalid_session_id_is_a_clear_error(session: str, message: str) -> None:
    """Session ids are up to 50 of letters, digits, '_', '.', '~'; others are refused."""
    configuration = ProxyConfiguration(config=_config())
    with pytest.raises(ValueError, match=message):
        configuration.new_url(session)
    assert configuration.new_url('a.b_c~D9' + 'x' * 42) is not None


@pytest.mark.parametrize(
    ('options', 'message'),
    [
        ({'groups': ['bad group']}, 'invalid proxy group'),
        ({'groups': 'RESIDENTIAL'}, 'list of group names'),
        ({'country_code': 'usa'}, 'invalid country_code'),
        ({'subdivision_code': 'CA'}, 'needs country_code'),
        ({'country_code': 'US', 'subdivision_code': 'CALI'}, 'invalid subdivision_code'),
        ({'groups': ['A'], 'proxy_urls': ['http://p:1']}, 'cannot be combined'),
        ({'proxy_urls': ['ftp://p:1']}, 'invalid proxy URL'),
        ({'proxy_urls': ['http://:1']}, 'invalid proxy URL'),
        ({'proxy_urls': ['http://p:notaport']}, 'invalid proxy URL'),
    ],
)
def test_invalid_options_are_refused_with_a_clear_error(
    options: dict[str, Any], message: str
) -> None:
    """Bad groups, countries, subdivisions, URLs and mixes fail at construction."""
    with pytest.raises((ValueError, TypeError), match=message):
        ProxyConfiguration(config=_config(), **options)


# -- custom proxies -----------------------------------------------------------------------------


def test_custom_urls_rotate_round_robin_and_a_session_keeps_its_url() -> None:
    """Without a session the URLs rotate; a session gets the next URL once and keeps it."""
    urls = ['http://u:p@one:1001', 'http://two:1002', 'socks5://three']
    configuration = ProxyConfiguration(proxy_urls=urls, config=_config())
    assert [configuration.new_url() for _ in range(4)] == [urls[0], urls[1], urls[2], urls[0]]
    first = configuration.new_url('s1')
    assert first == urls[1]
    assert [configuration.new_url('s1') for _ in range(3)] == [first] * 3
    assert configuration.new_url('s2') == urls[2]
    info = configuration.new_proxy_info()
    assert info == ProxyInfo(
        url=urls[0], scheme='http', hostname='one', port=1001, username='u', password='p'
    )
    third = configuration.new_proxy_info('s2')
    assert third is not None
    assert (third.scheme, third.port, third.session_id) == ('socks5', 1080, 's2')


def test_a_none_entry_means_no_proxy_for_its_turn() -> None:
    """None in proxy_urls gives no URL and an empty requests proxies dict."""
    configuration = ProxyConfiguration(proxy_urls=[None, 'http://p:1'], config=_config())
    assert configuration.new_url() is None
    assert configuration.new_url() == 'http://p:1'
    assert configuration.new_requests_proxies() == {}
    assert configuration.new_proxy_info() == ProxyInfo(
        url='http://p:1', scheme='http', hostname='p', port=1
    )


def test_rotation_is_even_across_threads() -> None:
    """Many threads drawing URLs at once get each URL equally often."""
    urls = [f'http://p{index}:80' for index in range(4)]
    configuration = ProxyConfiguration(proxy_urls=urls, config=_config())
    drawn: list[str | None] = []
    lock = threading.Lock()

    def draw() -> None:
        mine = [configuration.new_url() for _ in range(100)]
        with lock:
            drawn.extend(mine)

    threads = [threading.Thread(target=draw) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(drawn.count(url) for url in urls) == [200, 200, 200, 200]


def test_new_url_function_picks_the_url_from_the_session_and_request() -> None:
    """The function gets (session_id, request); its URL is parsed into the proxy info."""
    calls: list[tuple[str | None, Any]] = []

    def pick(session_id: str | None, request: Any) -> str | None:
        calls.append((session_id, request))
        return None if session_id == 'direct' else f'http://user:pw@{session_id or "any"}.p:3128'

    configuration = ProxyConfiguration(new_url_function=pick, config=_config())
    assert configuration.new_url('abc', request='req') == 'http://user:pw@abc.p:3128'
    assert configuration.new_url('direct') is None
    info = configuration.new_proxy_info()
    assert info is not None
    assert (info.hostname, info.port, info.username, info.password) == ('any.p', 3128, 'user', 'pw')
    assert calls == [('abc', 'req'), ('direct', None), (None, None)]


def test_a_failing_or_async_new_url_function_is_a_clear_error() -> None:
    """A raising function, a non-URL result or a coroutine function fail naming the function."""

    def broken(session_id: str | None, request: Any) -> str:
        raise KeyError('boom')

    async def asynchronous(session_id: str | None, request: Any) -> str:
        return 'http://p:1'

    def not_a_url(session_id: str | None, request: Any) -> str:
        return 'not a url'

    with pytest.raises(ValueError, match='broken raised KeyError'):
        ProxyConfiguration(new_url_function=broken, config=_config()).new_url()
    with pytest.raises(ValueError, match='not a coroutine function'):
        ProxyConfiguration(new_url_function=asynchronous, config=_config()).new_url()  # type: ignore[arg-type]
    with pytest.raises(ValueError, match='invalid proxy URL'):
        ProxyConfiguration(new_url_function=not_a_url, config=_config()).new_url()


# -- create_proxy_configuration and the access check -----------------------------------------------


def test_the_proxy_input_field_configures_apify_proxy_and_checks_access(
    local_proxy: LocalProxy, actor_with: Callable[..., Actor]
) -> None:
    """useApifyProxy with groups and country: the status URL is fetched through the proxy."""
    actor = actor_with(local_proxy)
    configuration = actor.create_proxy_configuration(
        actor_proxy_input={
            'useApifyProxy': True,
            'apifyProxyGroups': ['RESIDENTIAL'],
            'apifyProxyCountry': 'DE',
        }
    )
    assert configuration is not None
    assert configuration.uses_apify_proxy
    assert configuration.is_man_in_the_middle is True
    assert local_proxy.requests == [
        ('http://proxy.apify.com/?format=json', 'groups-RESIDENTIAL,country-DE', PASSWORD)
    ]
    assert configuration.new_url('s9') == (
        f'http://groups-RESIDENTIAL,session-s9,country-DE:{PASSWORD}@127.0.0.1:{local_proxy.port}'
    )


def test_requests_goes_through_the_proxy_with_the_proxies_dict(
    local_proxy: LocalProxy, actor_with: Callable[..., Actor]
) -> None:
    """new_requests_proxies() is what requests takes: the request reaches the proxy, signed in."""
    configuration = actor_with(local_proxy).create_proxy_configuration(groups=['SHADER'])
    assert configuration is not None
    with requests.Session() as session:
        session.trust_env = False
        response = session.get(
            'http://example.test/page?q=1',
            proxies=configuration.new_requests_proxies('sess1'),
            timeout=10,
        )
    assert response.text == 'proxied http://example.test/page?q=1'
    assert local_proxy.requests[-1] == (
        'http://example.test/page?q=1',
        'groups-SHADER,session-sess1',
        PASSWORD,
    )


def test_a_proxy_that_is_not_connected_fails_with_its_reason(
    local_proxy: LocalProxy, actor_with: Callable[..., Actor]
) -> None:
    """When the status says not connected, create_proxy_configuration raises ConnectionError."""
    local_proxy.status = {'connected': False, 'connectionError': 'Group SHADER not available'}
    with pytest.raises(ConnectionError, match='Group SHADER not available'):
        actor_with(local_proxy).create_proxy_configuration(groups=['SHADER'])


def test_a_refused_password_or_no_proxy_is_a_warning_without_the_password(
    local_proxy: LocalProxy,
    actor_with: Callable[..., Actor],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 407 from the proxy, or no proxy at all, logs one warning and never the password."""
    local_proxy.reply_code = 407
    with caplog.at_level(logging.DEBUG, logger='actorkit'):
        refused = actor_with(local_proxy).create_proxy_configuration()
        unreachable = actor_with(None, proxy_port=_free_port()).create_proxy_configuration()
    assert refused is not None
    assert unreachable is not None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert 'HTTP 407' in warnings[0]
    assert 'ProxyError' in warnings[1]
    assert f'through 127.0.0.1:{local_proxy.port}' in warnings[0]
    assert PASSWORD not in caplog.text


def test_custom_proxy_input_rotates_its_urls_and_no_proxy_gives_none(
    actor_with: Callable[..., Actor],
) -> None:
    """proxyUrls in the input are rotated; an input without any proxy gives None."""
    actor = actor_with()
    configuration = actor.create_proxy_configuration(
        actor_proxy_input={'useApifyProxy': False, 'proxyUrls': ['http://a:1', 'http://b:2']}
    )
    assert configuration is not None
    assert not configuration.uses_apify_proxy
    assert [configuration.new_url() for _ in range(3)] == ['http://a:1', 'http://b:2', 'http://a:1']
    assert actor.create_proxy_configuration(actor_proxy_input={'useApifyProxy': False}) is None
    assert actor.create_proxy_configuration(actor_proxy_input={'proxyUrls': []}) is None


def test_without_a_password_or_token_apify_proxy_is_a_configuration_error(
    actor_with: Callable[..., Actor],
) -> None:
    """No password anywhere: the error says to pass it, set APIFY_PROXY_PASSWORD or a token."""
    with pytest.raises(ConfigurationError, match='APIFY_PROXY_PASSWORD') as info:
        actor_with(proxy_password=None).create_proxy_configuration()
    assert 'APIFY_TOKEN' in str(info.value)


def test_at_home_the_password_is_fetched_from_the_account(local_proxy: LocalProxy) -> None:
    """With a token and no APIFY_PROXY_PASSWORD, the account's proxy password is used."""
    with FakePlatform() as platform:
        env = platform.run_env()
        env.pop('ACTOR_EVENTS_WEBSOCKET_URL', None)
        env.pop('APIFY_PROXY_PASSWORD', None)
        env.update({'APIFY_PROXY_HOSTNAME': '127.0.0.1', 'APIFY_PROXY_PORT': str(local_proxy.port)})
        actor = Actor(config=Configuration.from_env(env), configure_logging=False)
        configuration = actor.create_proxy_configuration(country_code='US')
        me = ApifyClient(platform.token, api_url=platform.api_url).user().get()
    assert me is not None
    password = me['proxy']['password']
    assert configuration is not None
    assert configuration.new_url() == f'http://country-US:{password}@127.0.0.1:{local_proxy.port}'
    assert local_proxy.requests == [('http://proxy.apify.com/?format=json', 'country-US', password)]


def test_the_password_never_shows_in_reprs_or_errors() -> None:
    """ProxyInfo and ProxyConfiguration reprs, and URL errors, mask the password."""
    configuration = ProxyConfiguration(groups=['A'], config=_config())
    info = configuration.new_proxy_info('s')
    assert info is not None
    custom = ProxyConfiguration(proxy_urls=[f'http://me:{PASSWORD}@h:1'], config=_config())
    custom_info = custom.new_proxy_info()
    assert custom_info is not None
    shown = [repr(info), str(info), repr(configuration), repr(custom), repr(custom_info)]
    for text in shown:
        assert PASSWORD not in text
    assert ':***@' in repr(info)
    with pytest.raises(ValueError, match='invalid proxy URL') as error:
        ProxyConfiguration(proxy_urls=[f'gopher://me:{PASSWORD}@h:1'], config=_config())
    assert PASSWORD not in str(error.value)
