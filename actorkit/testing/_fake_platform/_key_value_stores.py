"""Key-value stores: records that keep their Content-Type, and key listings with paging."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import attrs

from actorkit.testing._fake_platform._common import (
    Call,
    Reply,
    data_reply,
    empty_reply,
    invalid,
    not_found,
)
from actorkit.testing._fake_platform._state import State, Storage
from actorkit.testing._fake_platform._storages import Route, StorageKind

_KEY = re.compile(r"[a-zA-Z0-9!\-_.'()]{1,256}")


@attrs.frozen
class Record:
    """One stored record."""

    value: bytes
    """The body as uploaded (decompressed)."""
    content_type: str
    """The Content-Type it was uploaded with."""


@attrs.define(kw_only=True)
class KeyValueStore(Storage):
    """A key-value store."""

    records: dict[str, Record] = attrs.field(factory=dict)
    """The records by key."""
    deletes: int = 0
    """Delete operations so far."""
    lists: int = 0
    """Key listings so far."""


def show_store(state: State, store: KeyValueStore) -> dict[str, Any]:
    """The API object of a key-value store."""
    base = f'{state.public_base_url}/v2/key-value-stores/{store.id}'
    return {
        **store.common_fields(),
        'consoleUrl': f'https://console.apify.com/storage/key-value-stores/{store.id}',
        'keysPublicUrl': f'{base}/keys',
        'recordsPublicUrl': f'{base}/records',
        'stats': {
            'readCount': store.reads,
            'writeCount': store.writes,
            'deleteCount': store.deletes,
            'listCount': store.lists,
            'storageBytes': sum(len(record.value) for record in store.records.values()),
        },
    }


def check_key(key: str) -> str:
    """Refuse a record key the platform refuses."""
    if not _KEY.fullmatch(key):
        raise invalid(
            f"Record key {key!r} is not valid: use 1-256 characters of a-z, A-Z, 0-9 and !-_.'()",
            'invalid-record-key',
        )
    return key


class KeyValueStoresApi:
    """The key-value store endpoints."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.kind = StorageKind(
            state,
            state.key_value_stores,
            'key-value-stores',
            'Key-value store',
            KeyValueStore,
            lambda store: show_store(state, store),
        )

    def routes(self) -> list[Route]:
        """Every key-value store route."""
        record = '/v2/key-value-stores/{storeId}/records/{recordKey}'
        return [
            *self.kind.routes(),
            ('GET', '/v2/key-value-stores/{storeId}/keys', self.list_keys),
            ('GET', record, self.get_record),
            ('HEAD', record, self.get_record),
            ('PUT', record, self.put_record),
            ('POST', record, self.put_record),
            ('DELETE', record, self.delete_record),
        ]

    def public_url(self, store: KeyValueStore, key: str) -> str:
        """The signed public URL of a record."""
        return (
            f'{self.state.public_base_url}/v2/key-value-stores/{store.id}/records/'
            f'{quote(key, safe="")}?signature={store.record_signature(key)}'
        )

    def signature_valid(self, call: Call) -> bool:
        """Whether the call carries a signature that opens it without a token."""
        signature = call.query.get('signature', '')
        with self.state.lock:
            store = self.state.key_value_stores.get(call.params.get('storeId', ''))
            if store is None or not signature:
                return False
            key = call.params.get('recordKey')
            if key is not None:
                return signature == store.record_signature(key)
            return store.content_signature_valid(signature)

    def list_keys(self, call: Call) -> Reply:
        limit = call.number('limit', 1000, minimum=1, maximum=1000) or 1000
        start = call.query.get('exclusiveStartKey') or None
        prefix = call.query.get('prefix') or ''
        with self.state.lock:
            store = self.kind.find(call.params['storeId'])
            store.lists += 1
            store.touch()
            keys = sorted(
                key
                for key in store.records
                if key.startswith(prefix) and (start is None or key > start)
            )
            page = keys[:limit]
            items = [
                {
                    'key': key,
                    'size': len(store.records[key].value),
                    'recordPublicUrl': self.public_url(store, key),
                }
                for key in page
            ]
        truncated = len(keys) > limit
        return data_reply(
            {
                'items': items,
                'count': len(items),
                'limit': limit,
                'exclusiveStartKey': start,
                'isTruncated': truncated,
                'nextExclusiveStartKey': page[-1] if truncated and page else None,
            }
        )

    def get_record(self, call: Call) -> Reply:
        key = call.params['recordKey']
        with self.state.lock:
            store = self.kind.find(call.params['storeId'])
            store.touch()
            record = store.records.get(key)
        if record is None:
            raise not_found('Record')
        headers = {}
        if call.flag('attachment'):
            headers['Content-Disposition'] = f'attachment; filename="{quote(key, safe="")}"'
        return Reply(200, record.value, record.content_type, headers)

    def put_record(self, call: Call) -> Reply:
        key = check_key(call.params['recordKey'])
        content_type = call.headers.get('Content-Type') or 'application/octet-stream'
        with self.state.lock:
            store = self.kind.find(call.params['storeId'])
            store.records[key] = Record(call.body, content_type)
            store.touch(write=True)
        location = f'{call.base_url}/v2/key-value-stores/{store.id}/records/{quote(key, safe="")}'
        return Reply(201, b'{}', 'application/json; charset=utf-8', {'Location': location})

    def delete_record(self, call: Call) -> Reply:
        key = call.params['recordKey']
        with self.state.lock:
            store = self.kind.find(call.params['storeId'])
            store.records.pop(key, None)
            store.deletes += 1
            store.touch(write=True)
        return empty_reply()
