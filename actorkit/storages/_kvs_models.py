"""Value objects of key-value stores, shared by the public class and every backend."""

from __future__ import annotations

from datetime import datetime

import attrs


@attrs.frozen(kw_only=True)
class KeyValueStoreMetadata:
    """What a key-value store says about itself."""

    id: str
    """The storage id (17 random alphanumerics locally)."""
    name: str | None
    """The global name, or ``None`` for the default and alias stores."""
    created_at: datetime
    """When the store was created (timezone-aware, UTC)."""
    modified_at: datetime
    """When a record was last written or deleted."""
    accessed_at: datetime
    """When the store was last opened or read, as far as the backend records it."""


@attrs.frozen(kw_only=True)
class KeyInfo:
    """One key of a key-value store listing."""

    key: str
    """The record key."""
    size: int
    """The size of the stored value in bytes."""
    content_type: str | None = None
    """The record's content type, or ``None`` when the backend lists keys without reading it."""


@attrs.frozen(kw_only=True)
class KeyListPage:
    """One page of keys from :meth:`KeyValueStore.list_keys`."""

    items: tuple[KeyInfo, ...]
    """The keys of this page, in ascending key order."""
    count: int
    """How many keys this page holds."""
    limit: int
    """The page size that was asked for."""
    is_truncated: bool
    """Whether more keys follow this page."""
    exclusive_start_key: str | None
    """The key this page started after, if any."""
    next_exclusive_start_key: str | None
    """The key to pass to get the next page, or ``None`` on the last page."""
