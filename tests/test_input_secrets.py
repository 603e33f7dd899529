"""Secret input fields: values the platform encrypted are decrypted by get_input()."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from actorkit import Actor, InputError
from actorkit.testing import FakePlatform
from tests._secrets import KeyPair
from tests._subprocess import describe, run_script


@pytest.fixture(scope='module')
def keys() -> KeyPair:
    """One key pair for the module (RSA key generation takes a while)."""
    return KeyPair()


@pytest.fixture
def local_actor(make_actor: Callable[..., Actor]) -> Callable[..., Actor]:
    """A running local Actor whose default store holds ``input`` as its INPUT record."""

    def make(input: Any, **settings: Any) -> Actor:
        actor = make_actor(**settings)
        actor.init()
        actor.set_value('INPUT', input)
        return actor

    return make


def test_get_input_decrypts_string_and_json_secrets(
    keys: KeyPair, local_actor: Callable[..., Actor]
) -> None:
    """ENCRYPTED_VALUE fields become strings, ENCRYPTED_JSON fields their JSON value."""
    actor = local_actor(
        {
            'apiKey': keys.encrypt('s3cr3t-ünïcode'),
            'headers': keys.encrypt({'Authorization': 'Bearer x', 'n': [1, 2]}, as_json=True),
            'plain': 'ENCRYPTED_VALUE is just text here',
            'count': 3,
        },
        input_secrets_private_key_file=keys.private_key_file,
        input_secrets_private_key_passphrase=keys.passphrase,
    )
    assert actor.get_input() == {
        'apiKey': 's3cr3t-ünïcode',
        'headers': {'Authorization': 'Bearer x', 'n': [1, 2]},
        'plain': 'ENCRYPTED_VALUE is just text here',
        'count': 3,
    }


def test_get_input_decrypts_secrets_at_home(
    keys: KeyPair, platform: FakePlatform, home_actor: Callable[..., Actor]
) -> None:
    """An input record on the platform with an encrypted field reads back decrypted."""
    env = platform.run_env({'token': keys.encrypt('tok-123'), 'query': 'shoes'})
    env.update(keys.env())
    actor = home_actor(env)
    assert actor.get_input() == {'token': 'tok-123', 'query': 'shoes'}
    stored, _ = platform.record(env['ACTOR_DEFAULT_KEY_VALUE_STORE_ID'], 'INPUT') or (b'', '')
    assert b'tok-123' not in stored


def test_a_wrong_passphrase_is_a_clear_error_without_values(
    keys: KeyPair, local_actor: Callable[..., Actor]
) -> None:
    """A passphrase that does not open the key names the variables and fields, no secret."""
    encrypted = keys.encrypt('the-plain-secret')
    actor = local_actor(
        {'apiKey': encrypted},
        input_secrets_private_key_file=keys.private_key_file,
        input_secrets_private_key_passphrase='not the passphrase',
    )
    with pytest.raises(InputError) as info:
        actor.get_input()
    message = str(info.value)
    assert 'apiKey' in message
    assert 'APIFY_INPUT_SECRETS_PRIVATE_KEY_PASSPHRASE' in message
    assert 'not the passphrase' not in message
    assert encrypted.split(':')[2] not in message
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_a_key_of_another_actor_is_a_clear_error_naming_the_field(
    keys: KeyPair, local_actor: Callable[..., Actor]
) -> None:
    """A value encrypted for another key fails naming the field, never showing the value."""
    other = KeyPair(passphrase='other')
    encrypted = other.encrypt('the-plain-secret')
    actor = local_actor(
        {'fine': keys.encrypt('ok'), 'password': encrypted},
        input_secrets_private_key_file=keys.private_key_file,
        input_secrets_private_key_passphrase=keys.passphrase,
    )
    with pytest.raises(InputError, match="'password' cannot be decrypted") as info:
        actor.get_input()
    assert 'the-plain-secret' not in str(info.value)
    assert encrypted.split(':')[1] not in str(info.value)


def test_a_damaged_value_is_a_clear_error(keys: KeyPair, local_actor: Callable[..., Actor]) -> None:
    """A value whose data was altered fails its authentication tag: an error names the field."""
    prefix, wrapped, data = keys.encrypt('the-plain-secret').split(':')
    raw = bytearray(base64.b64decode(data))
    raw[0] ^= 1
    damaged = f'{prefix}:{wrapped}:{base64.b64encode(bytes(raw)).decode()}'
    actor = local_actor(
        {'apiKey': damaged},
        input_secrets_private_key_file=keys.private_key_file,
        input_secrets_private_key_passphrase=keys.passphrase,
    )
    with pytest.raises(InputError, match="'apiKey' cannot be decrypted"):
        actor.get_input()


def test_without_a_key_secrets_stay_encrypted_with_a_warning(
    keys: KeyPair, local_actor: Callable[..., Actor], caplog: pytest.LogCaptureFixture
) -> None:
    """With no private key configured the values are returned as stored, and a warning says so."""
    encrypted = keys.encrypt('the-plain-secret')
    actor = local_actor({'apiKey': encrypted, 'n': 1})
    with caplog.at_level(logging.WARNING, logger='actorkit.input'):
        assert actor.get_input() == {'apiKey': encrypted, 'n': 1}
    assert 'apiKey' in caplog.text
    assert encrypted not in caplog.text


def test_an_input_that_is_not_a_dict_is_returned_as_is(
    keys: KeyPair, local_actor: Callable[..., Actor]
) -> None:
    """A string input shaped like a secret is not a field: it is left alone, as officially."""
    encrypted = keys.encrypt('x')
    actor = local_actor(
        [encrypted],
        input_secrets_private_key_file=keys.private_key_file,
        input_secrets_private_key_passphrase=keys.passphrase,
    )
    assert actor.get_input() == [encrypted]


def test_cryptography_is_imported_only_when_a_secret_is_present(
    keys: KeyPair, tmp_path: Path
) -> None:
    """Reading an input without encrypted fields never imports cryptography."""
    (tmp_path / 'INPUT.json').write_text('{"query": "shoes"}', encoding='utf-8')
    result = run_script(
        tmp_path,
        """
        import sys
        from actorkit import actor
        with actor:
            assert actor.get_input() == {'query': 'shoes'}
            print('loaded' if 'cryptography' in sys.modules else 'not loaded')
        """,
        env=keys.env(),
    )
    assert result.returncode == 0, describe(result)
    assert result.stdout.strip().endswith('not loaded'), describe(result)
