"""An RSA key pair as the platform hands it out, and the platform's encryption of secrets."""

from __future__ import annotations

import base64
import json
import secrets
import string
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PASSPHRASE = 'correct horse battery staple'
_ALPHABET = string.ascii_letters + string.digits


class KeyPair:
    """An RSA key pair as the platform hands it out, and the platform's encryption."""

    def __init__(self, passphrase: str = PASSPHRASE) -> None:
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase.encode()),
        )
        self.private_key_file = base64.b64encode(pem).decode('ascii')
        public_pem = self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key_file = base64.b64encode(public_pem).decode('ascii')
        self.passphrase = passphrase

    def encrypt(self, value: Any, *, as_json: bool = False) -> str:
        """Encrypt as the platform does: a random AES-GCM key and nonce wrapped with RSA-OAEP."""
        key = ''.join(secrets.choice(_ALPHABET) for _ in range(32)).encode()
        nonce = ''.join(secrets.choice(_ALPHABET) for _ in range(16)).encode()
        plain = json.dumps(value) if as_json else value
        data = AESGCM(key).encrypt(nonce, plain.encode('utf-8'), None)
        wrapped = self.private_key.public_key().encrypt(
            key + nonce,
            padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None),
        )
        prefix = 'ENCRYPTED_JSON' if as_json else 'ENCRYPTED_VALUE'
        return f'{prefix}:{base64.b64encode(wrapped).decode()}:{base64.b64encode(data).decode()}'

    def env(self) -> dict[str, str]:
        """The run's variables that carry this key."""
        return {
            'APIFY_INPUT_SECRETS_PRIVATE_KEY_FILE': self.private_key_file,
            'APIFY_INPUT_SECRETS_PRIVATE_KEY_PASSPHRASE': self.passphrase,
        }
