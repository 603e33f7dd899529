"""The platform's memory: every resource, behind one lock.

One re-entrant lock guards all of it, so a handler sees and changes a consistent world; the
condition on that lock wakes waiters (``waitForFinish``) when a run changes.
"""

from __future__ import annotations

import hashlib
import hmac
import string
import threading
from base64 import urlsafe_b64decode
from typing import TYPE_CHECKING, Any

import attrs

from actorkit.testing._fake_platform._common import iso, new_id, not_found, now

if TYPE_CHECKING:
    from datetime import datetime

    from actorkit.testing._fake_platform._datasets import Dataset
    from actorkit.testing._fake_platform._key_value_stores import KeyValueStore
    from actorkit.testing._fake_platform._request_queues import RequestQueue
    from actorkit.testing._fake_platform._run_models import Actor, Build, Run, Task
    from actorkit.testing._fake_platform._webhooks import Webhook

_BASE62 = string.digits + string.ascii_letters


@attrs.define(kw_only=True)
class Storage:
    """What datasets, key-value stores and request queues have in common."""

    id: str = attrs.field(factory=new_id)
    """The storage id."""
    name: str | None = None
    """Its name; ``None`` for an unnamed storage."""
    user_id: str
    """The owner's id."""
    username: str
    """The owner's username (for ``username~name`` addressing)."""
    created_at: datetime = attrs.field(factory=now)
    """Creation time."""
    modified_at: datetime = attrs.field(factory=now)
    """Last change."""
    accessed_at: datetime = attrs.field(factory=now)
    """Last access."""
    act_id: str | None = None
    """The Actor whose run created it, for a run's default storage."""
    act_run_id: str | None = None
    """The run that created it, for a run's default storage."""
    signing_key: str = attrs.field(factory=new_id)
    """The secret behind signed public URLs."""
    reads: int = 0
    """Read operations so far."""
    writes: int = 0
    """Write operations so far."""

    def touch(self, *, write: bool = False) -> None:
        """Note an access (and a change when ``write``)."""
        moment = now()
        self.accessed_at = moment
        if write:
            self.modified_at = moment
            self.writes += 1
        else:
            self.reads += 1

    def common_fields(self) -> dict[str, Any]:
        """The fields every storage object of the API carries."""
        return {
            'id': self.id,
            'name': self.name,
            'title': None,
            'userId': self.user_id,
            'username': self.username,
            'createdAt': iso(self.created_at),
            'modifiedAt': iso(self.modified_at),
            'accessedAt': iso(self.accessed_at),
            'actId': self.act_id,
            'actRunId': self.act_run_id,
            'generalAccess': 'FOLLOW_USER_SETTING',
            'urlSigningSecretKey': self.signing_key,
        }

    def record_signature(self, message: str) -> str:
        """The signature the official clients put on a public record URL (base62 HMAC)."""
        digest = hmac.new(
            self.signing_key.encode(), message.encode('utf-8'), hashlib.sha256
        ).hexdigest()[:30]
        number = int(digest, 16)
        encoded = ''
        while number:
            number, remainder = divmod(number, 62)
            encoded = _BASE62[remainder] + encoded
        return encoded or '0'

    def content_signature_valid(self, signature: str) -> bool:
        """Whether a storage content signature (``base64url(version.expiresAt.hmac)``) is good."""
        try:
            version, expires_at, mac = urlsafe_b64decode(signature).decode().split('.', 2)
            expires = int(expires_at)
        except (ValueError, UnicodeDecodeError):
            return False
        if expires and expires < now().timestamp() * 1000:
            return False
        expected = self.record_signature(f'{version}.{expires_at}.{self.id}')
        return hmac.compare_digest(mac, expected)


class State:
    """Every resource of one fake platform and the lock that guards them."""

    def __init__(self, token: str) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.stopping = threading.Event()
        self.token = token
        self.user_id = new_id()
        self.username = 'fake-user'
        self.proxy_password = new_id()
        self.created_at = now()
        self.base_url = ''
        self.public_base_url = ''
        self.datasets: dict[str, Dataset] = {}
        self.key_value_stores: dict[str, KeyValueStore] = {}
        self.request_queues: dict[str, RequestQueue] = {}
        self.actors: dict[str, Actor] = {}
        self.builds: dict[str, Build] = {}
        self.tasks: dict[str, Task] = {}
        self.runs: dict[str, Run] = {}
        self.webhooks: dict[str, Webhook] = {}

    def find_storage(self, collection: dict[str, Any], id_or_name: str, what: str) -> Any:
        """Find a storage by id or ``username~name`` (404 otherwise)."""
        found = collection.get(id_or_name)
        if found is not None:
            return found
        username, sep, name = id_or_name.replace('/', '~').rpartition('~')
        if sep and username in (self.username, 'me'):
            for storage in collection.values():
                if storage.name == name:
                    return storage
        raise not_found(what)
