"""Secret input fields: values the platform encrypted for this Actor, decrypted in ``get_input()``.

The platform encrypts the value of each ``isSecret`` input field before it stores the input, as
``ENCRYPTED_VALUE:<key>:<data>`` (a string) or ``ENCRYPTED_JSON:<key>:<data>`` (any JSON value),
with an optional extra segment after the prefix that the decryption does not need. ``<key>`` is
base64 of a 48-byte AES key and nonce (32 + 16), wrapped with the Actor's RSA public key
(OAEP, SHA-1 for both the hash and MGF1); ``<data>`` is base64 of the AES-256-GCM ciphertext
followed by its 16-byte tag. The run gets the private key as base64 of a passphrase-protected
PEM in ``APIFY_INPUT_SECRETS_PRIVATE_KEY_FILE`` and the passphrase in
``APIFY_INPUT_SECRETS_PRIVATE_KEY_PASSPHRASE``.

As in the official SDK, every top-level string field of a dict input that has that form is
decrypted, whatever the input schema says. ``cryptography`` is imported only when the input
holds such a value. No message ever shows a value, encrypted or not.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from actorkit._errors import InputError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    from actorkit._config import Configuration

_log = logging.getLogger('actorkit.input')

_BASE64 = r'[-A-Za-z0-9+/]*={0,3}'
ENCRYPTED_VALUE = re.compile(
    rf'^(ENCRYPTED_VALUE|ENCRYPTED_JSON):(?:{_BASE64}:)?({_BASE64}):({_BASE64})$'
)
"""A value the platform encrypted: its prefix, wrapped key and data are groups 1 to 3."""

_KEY_BYTES = 32
_NONCE_BYTES = 16
_TAG_BYTES = 16

_KEY_VARIABLES = (
    'APIFY_INPUT_SECRETS_PRIVATE_KEY_FILE and APIFY_INPUT_SECRETS_PRIVATE_KEY_PASSPHRASE'
)


def encrypted_fields(value: Any) -> list[str]:
    """Return the names of the top-level fields of ``value`` that hold an encrypted value."""
    if not isinstance(value, Mapping):
        return []
    return [
        str(name)
        for name, field in value.items()
        if isinstance(field, str) and ENCRYPTED_VALUE.match(field)
    ]


def decrypt_input_secrets(value: Any, config: Configuration) -> Any:
    """Return the input with its encrypted fields decrypted (a new dict; ``value`` is untouched).

    Args:
        value: The input as read from its record.
        config: The run's configuration, which holds the private key and its passphrase.

    Returns:
        ``value`` itself when nothing in it is encrypted, or when the run has no private key
        (then a warning names the fields left encrypted, as the official SDK leaves them);
        otherwise a copy with each encrypted field replaced by its plain value.

    Raises:
        InputError: The private key cannot be loaded (wrong passphrase, not a base64 PEM RSA
            key), or a field cannot be decrypted with it; the message names the field or the
            variables, never a value.
    """
    names = encrypted_fields(value)
    if not names:
        return value
    key_text = config.input_secrets_private_key_file
    passphrase = config.input_secrets_private_key_passphrase
    if not key_text or not passphrase:
        _log.warning(
            'the input fields %s are encrypted secrets, but the run has no private key to '
            'decrypt them (%s are not both set): they are left encrypted',
            ', '.join(names),
            _KEY_VARIABLES,
        )
        return value
    private_key = _load_private_key(str(key_text), str(passphrase), names)
    decrypted = dict(value)
    for name in names:
        decrypted[name] = _decrypt_field(name, value[name], private_key)
    return decrypted


def _load_private_key(key_text: str, passphrase: str, names: list[str]) -> RSAPrivateKey:
    from cryptography.hazmat.primitives.asymmetric.rsa import (  # noqa: PLC0415 (only with secrets)
        RSAPrivateKey,
    )
    from cryptography.hazmat.primitives.serialization import (  # noqa: PLC0415
        load_pem_private_key,
    )

    fields = ', '.join(names)
    try:
        pem = base64.b64decode(key_text.encode('ascii'), validate=False)
        key = load_pem_private_key(pem, password=passphrase.encode('utf-8'))
    except (ValueError, TypeError, UnicodeError, binascii.Error) as exc:
        # The library's messages name no key material, but say little more than the class.
        raise InputError(
            f'cannot decrypt the secret input fields {fields}: the private key in {_KEY_VARIABLES} '
            f'does not load ({type(exc).__name__}: a wrong passphrase, or not a base64-encoded '
            f'PEM key); check both variables'
        ) from None
    if not isinstance(key, RSAPrivateKey):
        raise InputError(
            f'cannot decrypt the secret input fields {fields}: the private key in '
            f'APIFY_INPUT_SECRETS_PRIVATE_KEY_FILE is not an RSA key'
        )
    return key


def _decrypt_field(name: str, text: str, private_key: RSAPrivateKey) -> Any:
    from cryptography.exceptions import InvalidTag  # noqa: PLC0415 (only with secrets)

    match = ENCRYPTED_VALUE.match(text)
    assert match is not None  # (encrypted_fields() picked only matching values)
    prefix, wrapped_key, data = match.groups()
    try:
        text_value = _open(wrapped_key, data, private_key).decode('utf-8')
    except (ValueError, InvalidTag, UnicodeError, binascii.Error) as exc:
        raise InputError(
            f'the secret input field {name!r} cannot be decrypted with the private key in '
            f'APIFY_INPUT_SECRETS_PRIVATE_KEY_FILE ({type(exc).__name__}): the key belongs to '
            f'another Actor, or the value was damaged; set the field again'
        ) from None
    if prefix == 'ENCRYPTED_VALUE':
        return text_value
    try:
        return json.loads(text_value)
    except ValueError:
        raise InputError(
            f'the secret input field {name!r} decrypts to something that is not JSON, though '
            f'it is marked ENCRYPTED_JSON; set the field again'
        ) from None


def _open(wrapped_key: str, data: str, private_key: RSAPrivateKey) -> bytes:
    """Unwrap the AES key and nonce, then decrypt and authenticate the data."""
    from cryptography.hazmat.primitives import hashes  # noqa: PLC0415 (only with secrets)
    from cryptography.hazmat.primitives.asymmetric import padding  # noqa: PLC0415
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: PLC0415

    # SHA-1 in OAEP is the platform's choice, not ours; it is still sound there.
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303
    secret = private_key.decrypt(base64.b64decode(wrapped_key), oaep)
    body = base64.b64decode(data)
    if len(secret) != _KEY_BYTES + _NONCE_BYTES or len(body) < _TAG_BYTES:
        raise ValueError('the wrapped key or the data has the wrong length')
    return AESGCM(secret[:_KEY_BYTES]).decrypt(secret[_KEY_BYTES:], body, None)
