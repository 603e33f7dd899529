"""Secret input fields and proxies: actorkit and the official SDK agree at home.

The official SDK encrypts a secret as the platform does and decrypts the input actorkit's test
key pair encrypted, and both SDKs build the same proxy URLs and make the same access check
through a local proxy, with the proxy password fetched from the (fake) account.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from actorkit import Actor, Configuration
from actorkit.testing import FakePlatform
from tests._proxy_server import LocalProxy
from tests._secrets import KeyPair

OfficialRunner = Callable[..., Any]

SECRETS_AT_HOME = """
import os
from apify import Actor
from apify._crypto import _load_public_key, public_encrypt


async def main():
    async with Actor:
        actor_input = await Actor.get_input()
        key = _load_public_key(os.environ['TEST_PUBLIC_KEY_FILE'])
        parts = public_encrypt('from the official SDK', public_key=key)
        encrypted = f"ENCRYPTED_VALUE:{parts['encrypted_password']}:{parts['encrypted_value']}"
        emit({'input': actor_input, 'encrypted': encrypted})


asyncio.run(main())
"""

PROXIES_AT_HOME = """
from apify import Actor


def describe(info):
    return {
        'url': info.url, 'username': info.username, 'hostname': info.hostname,
        'port': info.port, 'session_id': info.session_id, 'groups': list(info.groups),
        'country_code': info.country_code,
    }


async def main():
    async with Actor:
        apify = await Actor.create_proxy_configuration(actor_proxy_input={
            'useApifyProxy': True, 'apifyProxyGroups': ['RESIDENTIAL'], 'apifyProxyCountry': 'US',
        })
        custom = await Actor.create_proxy_configuration(
            actor_proxy_input={'useApifyProxy': False, 'proxyUrls': ['http://a:1', 'http://b:2']}
        )
        none = await Actor.create_proxy_configuration(actor_proxy_input={'useApifyProxy': False})
        emit({
            'apify': [
                describe(await apify.new_proxy_info(s)) for s in (None, 's1', 's1', 'a.b~c_2')
            ],
            'custom': [await custom.new_url(s) for s in (None, 'x', None, 'x', None)],
            'none': none,
        })


asyncio.run(main())
"""


def _without_events(env: dict[str, str]) -> dict[str, str]:
    env = dict(env)
    env.pop('ACTOR_EVENTS_WEBSOCKET_URL', None)
    return env


def test_secrets_encrypted_by_either_side_decrypt_on_the_other(
    run_official: OfficialRunner, platform: FakePlatform
) -> None:
    """The official SDK decrypts the test's secrets; actorkit decrypts the official SDK's."""
    keys = KeyPair()
    env = _without_events(
        platform.run_env(
            {
                'token': keys.encrypt('tok-ünï'),
                'headers': keys.encrypt({'a': [1, 2]}, as_json=True),
                'plain': 'shoes',
            }
        )
    )
    env.update(keys.env(), TEST_PUBLIC_KEY_FILE=keys.public_key_file)
    result = run_official(SECRETS_AT_HOME, env=env)
    assert result['input'] == {'token': 'tok-ünï', 'headers': {'a': [1, 2]}, 'plain': 'shoes'}

    platform.set_record(
        env['ACTOR_DEFAULT_KEY_VALUE_STORE_ID'], 'INPUT', {'s': result['encrypted']}
    )
    actor = Actor(config=Configuration.from_env(env), configure_logging=False, exit_process=False)
    with actor:
        assert actor.get_input() == {'s': 'from the official SDK'}


def test_both_sdks_build_the_same_proxy_urls_and_check_access_alike(
    run_official: OfficialRunner, platform: FakePlatform
) -> None:
    """Same input, same URLs and rotation; both check access through the proxy, signed in alike."""
    proxy = LocalProxy()
    try:
        env = _without_events(platform.run_env())
        env.update(APIFY_PROXY_HOSTNAME='127.0.0.1', APIFY_PROXY_PORT=str(proxy.port))
        official = run_official(PROXIES_AT_HOME, env=env)
        official_checks = list(proxy.requests)
        proxy.requests.clear()

        actor = Actor(config=Configuration.from_env(env), configure_logging=False)
        apify = actor.create_proxy_configuration(
            actor_proxy_input={
                'useApifyProxy': True,
                'apifyProxyGroups': ['RESIDENTIAL'],
                'apifyProxyCountry': 'US',
            }
        )
        custom = actor.create_proxy_configuration(
            actor_proxy_input={'useApifyProxy': False, 'proxyUrls': ['http://a:1', 'http://b:2']}
        )
        assert apify is not None
        assert custom is not None
        ours: dict[str, Any] = {'apify': [], 'custom': [], 'none': None}
        for session in (None, 's1', 's1', 'a.b~c_2'):
            info = apify.new_proxy_info(session)
            assert info is not None
            ours['apify'].append(
                {
                    'url': info.url,
                    'username': info.username,
                    'hostname': info.hostname,
                    'port': info.port,
                    'session_id': info.session_id,
                    'groups': list(info.groups),
                    'country_code': info.country_code,
                }
            )
        ours['custom'] = [custom.new_url(s) for s in (None, 'x', None, 'x', None)]
        ours['none'] = actor.create_proxy_configuration(actor_proxy_input={'useApifyProxy': False})
        assert ours == official
        assert proxy.requests == official_checks
        assert len(official_checks) == 1
    finally:
        proxy.close()
