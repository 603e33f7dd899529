"""Signatures of public storage URLs (the platform's HMAC-SHA256, base62-encoded)."""

from __future__ import annotations

import hashlib
import hmac
import string

_BASE62 = string.digits + string.ascii_letters


def hmac_signature(secret_key: str, message: str) -> str:
    """The platform's URL signature of ``message``.

    The first 30 hex digits of its HMAC-SHA256 under ``secret_key``, written in base 62.
    """
    digest = hmac.new(secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()[:30]
    number = int(digest, 16)
    if number == 0:
        return _BASE62[0]
    digits = []
    while number:
        number, remainder = divmod(number, 62)
        digits.append(_BASE62[remainder])
    return ''.join(reversed(digits))
