"""Key-value stores: the collection and one store (records and key listings)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from actorkit._errors import ApifyApiError
from actorkit.client._base import (
    StorageClient,
    StorageCollectionClient,
    is_not_found,
    path_segment,
    query,
    resource_segment,
)
from actorkit.client._http import LONG, MEDIUM, SHORT, Response, encode_json

_TEXT = re.compile(r'^(text/|application/([\w.+-]*\+)?xml$)', re.IGNORECASE)


def _record_path(key: str) -> str:
    return '/records/' + path_segment(key, 'record key')


def _decode(response: Response, content_type: str) -> Any:
    media_type = content_type.split(';', 1)[0].strip().lower()
    data = response.data
    if media_type == 'application/json' or media_type.endswith('+json'):
        try:
            return json.loads(data) if data else None
        except ValueError as exc:
            raise ValueError(
                f'the record is not valid JSON though its content type is {content_type!r} '
                f'({exc}); read it with get_record_as_bytes()'
            ) from exc
    if _TEXT.match(media_type):
        return data.decode(_charset(content_type), 'replace')
    return data


def _charset(content_type: str) -> str:
    for part in content_type.split(';')[1:]:
        name, _, value = part.partition('=')
        if name.strip().lower() == 'charset' and value.strip():
            return value.strip().strip('"')
    return 'utf-8'


def encode_record(value: Any, content_type: str | None) -> tuple[bytes, str]:
    """The body and Content-Type of a record value.

    ``bytes`` are sent as they are (``application/octet-stream`` unless told), ``str`` as UTF-8
    (``text/plain; charset=utf-8``), anything else as JSON (``application/json; charset=utf-8``).
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value), content_type or 'application/octet-stream'
    if isinstance(value, str):
        return value.encode('utf-8'), content_type or 'text/plain; charset=utf-8'
    content_type = content_type or 'application/json; charset=utf-8'
    if 'json' not in content_type.lower():
        raise TypeError(
            f'a {type(value).__name__} value cannot be stored as {content_type!r}: pass bytes '
            f'or str, or a JSON content type'
        )
    return encode_json(value, 'the record value'), content_type


class KeyValueStoreCollectionClient(StorageCollectionClient):
    """The key-value stores of the account: list them, get or create one by name."""


class KeyValueStoreClient(StorageClient):
    """One key-value store."""

    def list_keys(
        self,
        *,
        limit: int | None = None,
        exclusive_start_key: str | None = None,
        prefix: str | None = None,
        collection: str | None = None,
    ) -> dict[str, Any]:
        """Return one page of keys, as the API gives it.

        Returns:
            ``{'items': [{'key', 'size'}, ...], 'count', 'limit', 'isTruncated',
            'exclusiveStartKey', 'nextExclusiveStartKey'}``.
        """
        params = query(
            limit=limit, exclusiveStartKey=exclusive_start_key, prefix=prefix, collection=collection
        )
        return dict(self._get_data('/keys', params=params, timeout=MEDIUM))

    def iterate_keys(
        self,
        *,
        limit: int | None = None,
        exclusive_start_key: str | None = None,
        prefix: str | None = None,
        collection: str | None = None,
        chunk_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield the keys (``{'key', 'size'}``) of every page, fetching pages as they are reached.

        Args:
            limit: The most keys to yield in all.
            exclusive_start_key: Start after this key.
            prefix: Only keys starting with this.
            collection: Only keys of this collection.
            chunk_size: Keys per call (the API's default when ``None``).
        """
        cursor = exclusive_start_key
        yielded = 0
        while True:
            page_limit = chunk_size
            if limit:
                page_limit = min(chunk_size or limit, limit - yielded)
            page = self.list_keys(
                limit=page_limit,
                exclusive_start_key=cursor,
                prefix=prefix,
                collection=collection,
            )
            items = page.get('items') or []
            yield from items
            yielded += len(items)
            cursor = page.get('nextExclusiveStartKey')
            if not page.get('isTruncated') or not cursor or (limit and yielded >= limit):
                return

    def get_record(self, key: str) -> dict[str, Any] | None:
        """Return ``{'key', 'value', 'content_type'}`` of a record, or ``None`` when missing.

        The value is parsed JSON for a JSON record, ``str`` for text (and XML), ``bytes`` else.
        """
        response = self._record(key)
        if response is None:
            return None
        content_type = response.headers.get('Content-Type') or 'application/octet-stream'
        return {'key': key, 'value': _decode(response, content_type), 'content_type': content_type}

    def get_record_as_bytes(self, key: str) -> dict[str, Any] | None:
        """Return ``{'key', 'value', 'content_type'}`` with the raw ``bytes`` value, or ``None``."""
        response = self._record(key)
        if response is None:
            return None
        content_type = response.headers.get('Content-Type') or 'application/octet-stream'
        return {'key': key, 'value': response.data, 'content_type': content_type}

    def _record(self, key: str) -> Response | None:
        try:
            return self._call('GET', _record_path(key), params={'attachment': 'true'}, timeout=LONG)
        except ApifyApiError as error:
            if is_not_found(error):
                return None
            raise

    def record_exists(self, key: str) -> bool:
        """Whether the record exists (a HEAD call: its value is not downloaded)."""
        try:
            self._call('HEAD', _record_path(key), timeout=LONG)
        except ApifyApiError as error:
            if is_not_found(error):
                return False
            raise
        return True

    def set_record(self, key: str, value: Any, content_type: str | None = None) -> None:
        """Store a record.

        Args:
            key: The record key.
            value: ``bytes`` (sent as they are), ``str`` (UTF-8 text) or a JSON-able value.
            content_type: The Content-Type to store; by default ``application/octet-stream``
                for bytes, ``text/plain; charset=utf-8`` for str and
                ``application/json; charset=utf-8`` for anything else.
        """
        path = _record_path(key)
        body, content_type = encode_record(value, content_type)
        self._call('PUT', path, body=body, content_type=content_type, timeout=LONG)

    def delete_record(self, key: str) -> None:
        """Delete a record."""
        self._call('DELETE', _record_path(key), timeout=SHORT)

    def get_record_public_url(self, key: str) -> str:
        """A URL anyone can download the record from (signed when the store has a signing key).

        The URL never contains the token.
        """
        from actorkit.client._signing import hmac_signature  # noqa: PLC0415

        record_path = _record_path(key)
        metadata = self.get()
        store_path = self._path
        if metadata and metadata.get('id'):
            store_path = '/key-value-stores/' + resource_segment(str(metadata['id']))
        url = f'{self._http.public_base}{store_path}{record_path}'
        secret = (metadata or {}).get('urlSigningSecretKey')
        if secret:
            url += '?signature=' + hmac_signature(str(secret), key)
        return url
