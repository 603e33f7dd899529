"""A key-value store on the platform, through the API client."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from actorkit.storages._kvs_models import KeyInfo, KeyListPage, KeyValueStoreMetadata
from actorkit.storages._platform._common import PlatformStorageClient, is_not_found, timestamp

if TYPE_CHECKING:
    from actorkit.client import ApifyClient
    from actorkit.client._key_value_store import KeyValueStoreClient  # noqa: F401 (quoted in the base)

_PAGE = 1000
"""The most keys the API lists per call."""


def kvs_metadata(data: dict[str, Any]) -> KeyValueStoreMetadata:
    """Read the API's key-value store object."""
    return KeyValueStoreMetadata(
        id=str(data['id']),
        name=data.get('name') or None,
        created_at=timestamp(data, 'createdAt'),
        modified_at=timestamp(data, 'modifiedAt'),
        accessed_at=timestamp(data, 'accessedAt'),
    )


class PlatformKeyValueStoreClient(
    PlatformStorageClient['KeyValueStoreClient', KeyValueStoreMetadata]
):
    """Records of one key-value store on the platform. Thread-safe (the API client is)."""

    _KIND = 'key_value_stores'

    def __init__(
        self,
        api: ApifyClient,
        metadata: dict[str, Any],
        *,
        kept_on_purge: Collection[str] = (),
        on_drop: Callable[[], None] | None = None,
    ) -> None:
        """Wrap the store ``metadata['id']``.

        Args:
            api: The run's API client.
            metadata: The store as the API returned it when it was opened.
            kept_on_purge: Keys that :meth:`purge` keeps (the input, the alias mapping).
            on_drop: Called after the store is deleted, so the backend forgets it.
        """
        super().__init__(metadata, api.key_value_store(str(metadata['id'])), on_drop)
        self._kept = frozenset(kept_on_purge)

    def _read_metadata(self, data: dict[str, Any]) -> KeyValueStoreMetadata:
        return kvs_metadata(data)

    def get_record(self, key: str) -> tuple[bytes, str] | None:
        record = self._resource.get_record_as_bytes(key)
        if record is None:
            return None
        value = record['value']
        body = value if isinstance(value, bytes) else str(value).encode('utf-8')
        return body, record.get('content_type') or 'application/octet-stream'

    def set_record(self, key: str, body: bytes, content_type: str) -> None:
        self._resource.set_record(key, body, content_type=content_type)

    def delete_record(self, key: str) -> None:
        try:
            self._resource.delete_record(key)
        except Exception as exc:
            if not is_not_found(exc):  # a missing record is not an error (the contract)
                raise

    def record_exists(self, key: str) -> bool:
        return bool(self._resource.record_exists(key))

    def list_keys(
        self, *, exclusive_start_key: str | None, limit: int, prefix: str | None
    ) -> KeyListPage:
        data = self._resource.list_keys(
            limit=limit, exclusive_start_key=exclusive_start_key, prefix=prefix
        )
        items = tuple(
            KeyInfo(key=str(item['key']), size=int(item.get('size') or 0))
            for item in data.get('items') or ()
        )
        truncated = bool(data.get('isTruncated'))
        next_key = data.get('nextExclusiveStartKey') if truncated else None
        if truncated and next_key is None and items:
            next_key = items[-1].key
        return KeyListPage(
            items=items,
            count=len(items),
            limit=int(data.get('limit') or limit),
            is_truncated=truncated,
            exclusive_start_key=data.get('exclusiveStartKey', exclusive_start_key),
            next_exclusive_start_key=next_key,
        )

    def get_public_url(self, key: str) -> str:
        return str(self._resource.get_record_public_url(key))

    def purge(self) -> None:
        """Delete every record except the kept ones (the input, the alias mapping)."""
        start: str | None = None
        doomed: list[str] = []
        while True:
            page = self.list_keys(exclusive_start_key=start, limit=_PAGE, prefix=None)
            doomed.extend(item.key for item in page.items if item.key not in self._kept)
            if not page.is_truncated or page.next_exclusive_start_key is None:
                break
            start = page.next_exclusive_start_key
        for key in doomed:
            self.delete_record(key)
