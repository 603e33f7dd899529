"""The value objects the API client returns besides plain dicts."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import attrs

T = TypeVar('T')


@attrs.frozen
class ListPage(Generic[T]):
    """One page of a listing (dataset items, storages, runs, webhooks)."""

    items: list[T]
    """The items of this page."""
    offset: int
    """How many items were skipped before this page."""
    limit: int
    """The most items the page could hold (the API says 999999999999 for no limit)."""
    count: int
    """How many items (or dataset rows) the page covers."""
    total: int
    """How many items the whole listing has."""
    desc: bool
    """Whether the listing runs newest first."""

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ListPage[Any]:
        """Build a page from the API's listing object (``items``, ``offset``, ``limit``, ...)."""
        items = list(data.get('items') or [])
        return ListPage(
            items=items,
            offset=int(data.get('offset') or 0),
            limit=int(data.get('limit') or 0),
            count=int(data.get('count', len(items)) or 0),
            total=int(data.get('total', len(items)) or 0),
            desc=bool(data.get('desc', False)),
        )
