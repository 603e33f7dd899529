"""Value objects of datasets, shared by the public class and every backend."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs


@attrs.frozen(kw_only=True)
class DatasetMetadata:
    """What a dataset says about itself."""

    id: str
    """The storage id."""
    name: str | None
    """The global name, or ``None`` for the default and alias datasets."""
    created_at: datetime
    """When the dataset was created (timezone-aware, UTC)."""
    modified_at: datetime
    """When items were last pushed."""
    accessed_at: datetime
    """When the dataset was last opened or read, as far as the backend records it."""
    item_count: int
    """How many items the dataset holds."""


@attrs.frozen(kw_only=True)
class DatasetPage:
    """One page of dataset items from :meth:`Dataset.get_data`."""

    items: list[dict[str, Any]]
    """The items of this page."""
    offset: int
    """How many items were skipped before this page."""
    limit: int | None
    """The page size that was asked for (``None``: no limit)."""
    count: int
    """How many items this page holds."""
    total: int
    """How many items the dataset holds in all."""
    desc: bool
    """Whether the items are in reverse order (newest first)."""
