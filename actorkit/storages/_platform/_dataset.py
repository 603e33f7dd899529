"""A dataset on the platform, through the API client.

A push is split into requests whose JSON body stays under the platform's limit of 9,437,184
bytes (decompressed): as many consecutive items per request as fit, in order, and one request
when the whole batch fits. Every item is checked and serialized before the first request, so
an item that cannot be stored, or that alone is too large for a request, fails the push with
nothing sent. A batch is encoded as one array first (the common case: it fits); only a batch
over the limit is encoded again item by item, to be cut between items.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from actorkit._errors import StorageError, StorageLimitError
from actorkit.storages._dataset_models import DatasetMetadata, DatasetPage
from actorkit.storages._platform._common import PlatformStorageClient, count, timestamp
from actorkit.storages._serialization import encode_items_compact, serialize_items_compact

if TYPE_CHECKING:
    from actorkit.client import ApifyClient
    from actorkit.client._dataset import DatasetClient  # noqa: F401 (quoted in the base)

MAX_PAYLOAD_BYTES = 9_437_184
"""The platform's limit on a request body (decompressed); every push body stays under it."""

_PAGE = 10_000
"""Items per API call when reading without a limit, or iterating."""


def dataset_metadata(data: dict[str, Any]) -> DatasetMetadata:
    """Read the API's dataset object."""
    return DatasetMetadata(
        id=str(data['id']),
        name=data.get('name') or None,
        created_at=timestamp(data, 'createdAt'),
        modified_at=timestamp(data, 'modifiedAt'),
        accessed_at=timestamp(data, 'accessedAt'),
        item_count=count(data, 'itemCount'),
    )


def split_bodies(bodies: Sequence[bytes], limit: int = MAX_PAYLOAD_BYTES) -> list[bytes]:
    """Join serialized items into JSON arrays, each shorter than ``limit`` bytes, in order.

    Raises:
        StorageLimitError: An item alone does not fit in a request (nothing is returned).
    """
    for index, body in enumerate(bodies):
        if len(body) + 2 >= limit:
            raise StorageLimitError(
                f'dataset item {index} is {len(body):,} bytes as JSON, too large for one push '
                f'request to the platform (its body must stay under {limit:,} bytes): split the '
                f'item or store its large part in a key-value store; nothing of this push was '
                f'sent'
            )
    chunks: list[bytes] = []
    current: list[bytes] = []
    size = 2  # the brackets
    for body in bodies:
        extra = len(body) + (1 if current else 0)  # the comma before it
        if current and size + extra >= limit:
            chunks.append(b'[' + b','.join(current) + b']')
            current, size = [], 2
            extra = len(body)
        current.append(body)
        size += extra
    if current:
        chunks.append(b'[' + b','.join(current) + b']')
    return chunks


class PlatformDatasetClient(PlatformStorageClient['DatasetClient', DatasetMetadata]):
    """Items of one dataset on the platform. Thread-safe (the API client is)."""

    _KIND = 'datasets'

    def __init__(
        self,
        api: ApifyClient,
        metadata: dict[str, Any],
        *,
        on_drop: Callable[[], None] | None = None,
    ) -> None:
        """Wrap the dataset ``metadata['id']``.

        Args:
            api: The run's API client.
            metadata: The dataset as the API returned it when it was opened.
            on_drop: Called after the dataset is deleted, so the backend forgets it.
        """
        super().__init__(metadata, api.dataset(str(metadata['id'])), on_drop)

    def _read_metadata(self, data: dict[str, Any]) -> DatasetMetadata:
        return dataset_metadata(data)

    def push_items(self, items: Sequence[dict[str, Any]]) -> None:
        """Send the items in as few requests as the size limit allows, in order.

        Raises:
            InvalidStorageArgumentError: An item is not a dict or not JSON (nothing sent).
            StorageLimitError: An item alone is over the request limit (nothing sent).
            ApifyApiError: The platform refused a request after the retries; the requests
                before it were stored.
        """
        if not items:
            return
        body = encode_items_compact(items)
        if len(body) < MAX_PAYLOAD_BYTES:
            self._resource.push_items(body)
            return
        # Over the limit: serialized again item by item, to cut the batch between items.
        for chunk in split_bodies(serialize_items_compact(items)):
            self._resource.push_items(chunk)

    def get_items(
        self,
        *,
        offset: int,
        limit: int | None,
        desc: bool,
        fields: Sequence[str] | None,
        omit: Sequence[str] | None,
        clean: bool,
        skip_empty: bool,
        skip_hidden: bool,
    ) -> DatasetPage:
        options = _options(desc, fields, omit, clean, skip_empty, skip_hidden)
        if limit is not None:
            page = self._resource.list_items(offset=offset, limit=limit, **options)
            return DatasetPage(
                items=list(page.items),
                offset=offset,
                limit=limit,
                count=len(page.items),
                total=int(page.total),
                desc=desc,
            )
        # No limit means every item: the API caps a page, so read page by page.
        items: list[dict[str, Any]] = []
        start = offset
        while True:
            page = self._resource.list_items(offset=start, limit=_PAGE, **options)
            items.extend(page.items)
            total = int(page.total)
            start += _PAGE
            if start >= total:
                break
        return DatasetPage(
            items=items, offset=offset, limit=None, count=len(items), total=total, desc=desc
        )

    def iterate_items(
        self,
        *,
        offset: int,
        limit: int | None,
        desc: bool,
        fields: Sequence[str] | None,
        omit: Sequence[str] | None,
        clean: bool,
        skip_empty: bool,
        skip_hidden: bool,
    ) -> Iterator[dict[str, Any]]:
        """Yield items page by page (``limit`` counts stored items, as in :meth:`get_items`)."""
        options = _options(desc, fields, omit, clean, skip_empty, skip_hidden)
        start = offset
        remaining = limit
        while remaining is None or remaining > 0:
            size = _PAGE if remaining is None else min(_PAGE, remaining)
            page = self._resource.list_items(offset=start, limit=size, **options)
            yield from page.items
            start += size
            if remaining is not None:
                remaining -= size
            if start >= int(page.total):
                return

    def purge(self) -> None:
        """Refuse: the API cannot delete a dataset's items."""
        raise StorageError(
            f'dataset {self._id} cannot be purged on the platform (the API cannot delete '
            f'items): drop() it and open a new one, or open a new dataset by alias'
        )


def _options(  # noqa: PLR0917 (the dataset filters, passed on as they come)
    desc: bool,
    fields: Sequence[str] | None,
    omit: Sequence[str] | None,
    clean: bool,
    skip_empty: bool,
    skip_hidden: bool,
) -> dict[str, Any]:
    return {
        'desc': desc,
        'fields': list(fields) if fields is not None else None,
        'omit': list(omit) if omit is not None else None,
        'clean': clean,
        'skip_empty': skip_empty,
        'skip_hidden': skip_hidden,
    }
