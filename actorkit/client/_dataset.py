"""Datasets: the collection and one dataset (items pushed and listed page by page)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from actorkit.client._base import StorageClient, StorageCollectionClient, query
from actorkit.client._http import LONG, MEDIUM, encode_json
from actorkit.client._models import ListPage

DEFAULT_PAGE_SIZE = 1000
"""How many items ``iterate_items`` asks for per call by default."""


def _flag(value: str | None, default: bool) -> bool:
    return default if value is None else value.strip().lower() == 'true'


class DatasetCollectionClient(StorageCollectionClient):
    """The datasets of the account: list them, get or create one by name."""


class DatasetClient(StorageClient):
    """One dataset."""

    def push_items(self, items: Any) -> None:
        """Append items to the dataset.

        Args:
            items: One item (a dict), a list of them, or the JSON text (``str`` or ``bytes``) of
                either, sent as it is.
        """
        if isinstance(items, str):
            body = items.encode('utf-8')
        elif isinstance(items, (bytes, bytearray, memoryview)):
            body = bytes(items)
        else:
            body = encode_json(items, 'the dataset items')
        self._call(
            'POST',
            '/items',
            body=body,
            content_type='application/json; charset=utf-8',
            timeout=MEDIUM,
        )

    def list_items(
        self,
        *,
        offset: int | None = None,
        limit: int | None = None,
        clean: bool | None = None,
        desc: bool | None = None,
        fields: list[str] | None = None,
        omit: list[str] | None = None,
        unwind: list[str] | str | None = None,
        skip_empty: bool | None = None,
        skip_hidden: bool | None = None,
        flatten: list[str] | None = None,
        view: str | None = None,
    ) -> ListPage[Any]:
        """Return one page of items.

        Args:
            offset: How many items to skip.
            limit: The most items to return (no limit when ``None``).
            clean: Skip empty items and hidden (``#``) fields.
            desc: Newest first.
            fields: Keep only these fields, in this order.
            omit: Drop these fields.
            unwind: Fields whose array or object is unwound into items.
            skip_empty: Skip empty items.
            skip_hidden: Drop the hidden (``#``) fields.
            flatten: Fields to flatten.
            view: The dataset view to apply.

        Returns:
            The page, with ``offset``/``limit``/``count``/``total``/``desc`` read from the
            ``X-Apify-Pagination-*`` headers.
        """
        params = query(
            offset=offset,
            limit=limit,
            desc=desc,
            clean=clean,
            fields=fields,
            omit=omit,
            unwind=unwind,
            skipEmpty=skip_empty,
            skipHidden=skip_hidden,
            flatten=flatten,
            view=view,
        )
        response = self._call('GET', '/items', params=params, timeout=LONG)
        items = json.loads(response.data) if response.data else []
        if not isinstance(items, list):
            items = [items]
        headers = response.headers
        return ListPage(
            items=items,
            offset=int(headers.get('X-Apify-Pagination-Offset') or offset or 0),
            limit=int(headers.get('X-Apify-Pagination-Limit') or limit or len(items)),
            # The header counts the rows read, which unwinding can leave below the items.
            count=max(int(headers.get('X-Apify-Pagination-Count') or 0), len(items)),
            total=int(headers.get('X-Apify-Pagination-Total') or 0),
            desc=_flag(headers.get('X-Apify-Pagination-Desc'), bool(desc)),
        )

    def iterate_items(
        self,
        *,
        offset: int | None = None,
        limit: int | None = None,
        clean: bool | None = None,
        desc: bool | None = None,
        fields: list[str] | None = None,
        omit: list[str] | None = None,
        unwind: list[str] | str | None = None,
        skip_empty: bool | None = None,
        skip_hidden: bool | None = None,
        flatten: list[str] | None = None,
        view: str | None = None,
        chunk_size: int | None = None,
    ) -> Iterator[Any]:
        """Yield the items of every page, fetching each page only when it is reached.

        Takes the arguments of :meth:`list_items`; ``limit`` caps the rows read across all pages
        and ``chunk_size`` is the page size (1000 by default).
        """
        page_size = chunk_size or DEFAULT_PAGE_SIZE
        start = offset or 0
        done = 0
        while True:
            page_limit = page_size if not limit else min(page_size, limit - done)
            page = self.list_items(
                offset=start + done,
                limit=page_limit,
                clean=clean,
                desc=desc,
                fields=fields,
                omit=omit,
                unwind=unwind,
                skip_empty=skip_empty,
                skip_hidden=skip_hidden,
                flatten=flatten,
                view=view,
            )
            yield from page.items
            # Filters can drop items from a page whose rows were still read: advance by rows.
            read = min(max(page.count, len(page.items)), page_limit)
            done += read
            if not read or (limit and done >= limit) or start + done >= page.total:
                return
