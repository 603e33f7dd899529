"""Value objects of request queues, shared by the public class and every backend."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs


@attrs.frozen(kw_only=True)
class RequestQueueMetadata:
    """What a request queue says about itself."""

    id: str
    """The storage id."""
    name: str | None
    """The global name, or ``None`` for the default and alias queues."""
    created_at: datetime
    """When the queue was created (timezone-aware, UTC)."""
    modified_at: datetime
    """When a request was last added or changed."""
    accessed_at: datetime
    """When the queue was last opened or read, as far as the backend records it."""
    had_multiple_clients: bool
    """Whether more than one client (process) has used the queue."""
    handled_request_count: int
    """How many requests are handled."""
    pending_request_count: int
    """How many requests are not handled yet (in progress ones included)."""
    total_request_count: int
    """How many distinct requests the queue holds."""


@attrs.frozen(kw_only=True)
class ProcessedRequest:
    """The outcome of adding (or updating) one request in a request queue."""

    id: str
    """The request id, derived from its unique key."""
    unique_key: str
    """The key that makes requests distinct."""
    was_already_present: bool
    """Whether a request with this unique key was already in the queue."""
    was_already_handled: bool
    """Whether that request was already handled."""


def normalize_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-case and strip header names, strip values, sort by name: as crawlee stores them."""
    return dict(sorted((name.strip().lower(), value.strip()) for name, value in headers.items()))


def request_id_from_unique_key(unique_key: str) -> str:
    """Return the platform's request id for a unique key.

    It is the first 15 characters of base64(sha256(unique_key)) with ``+``, ``/`` and ``=``
    removed, as the platform and the official clients compute it.

    Args:
        unique_key: The request's unique key.

    Returns:
        The 15-character request id.
    """
    import base64  # noqa: PLC0415 (kept off start-up: only request queues need it)
    import hashlib  # noqa: PLC0415

    digest = hashlib.sha256(unique_key.encode('utf-8')).digest()
    encoded = base64.b64encode(digest).decode('ascii')
    return encoded.replace('+', '').replace('/', '').replace('=', '')[:15]


@attrs.define(kw_only=True, eq=True)
class Request:
    """A request (a URL to process) in a request queue.

    Unlike most actorkit models it is mutable: handlers update ``user_data``, ``retry_count``
    and ``loaded_url`` before reclaiming or marking it handled. Build one with
    :meth:`Request.from_url`, or pass a URL string or a dict to ``add_request``.
    """

    url: str
    """The URL to process."""
    unique_key: str
    """The key that makes requests distinct: by default the normalized URL."""
    id: str
    """The request id, derived from ``unique_key``."""
    method: str = 'GET'
    """The HTTP method."""
    payload: str | None = None
    """The HTTP body to send, if any."""
    headers: dict[str, str] = attrs.field(factory=dict)
    """The HTTP headers to send."""
    user_data: dict[str, Any] = attrs.field(factory=dict)
    """Free-form data for the handler of this request."""
    retry_count: int = 0
    """How many times processing the request has been retried."""
    no_retry: bool = False
    """Whether the request must not be retried after a failure."""
    loaded_url: str | None = None
    """The URL finally loaded, after redirects."""
    handled_at: datetime | None = None
    """When the request was marked handled, or ``None`` while it is not."""

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        unique_key: str | None = None,
        method: str = 'GET',
        payload: str | None = None,
        headers: Mapping[str, str] | None = None,
        user_data: Mapping[str, Any] | None = None,
        keep_url_fragment: bool = False,
        use_extended_unique_key: bool = False,
    ) -> Request:
        """Build a request for a URL, computing its unique key and id.

        Args:
            url: The URL to process; must be an absolute http(s) URL.
            unique_key: An explicit unique key; by default the normalized URL.
            method: The HTTP method.
            payload: The HTTP body.
            headers: The HTTP headers.
            user_data: Free-form data for the handler.
            keep_url_fragment: Whether the ``#fragment`` makes URLs distinct.
            use_extended_unique_key: Whether method and payload make requests distinct too.

        Returns:
            The new request.
        """
        from actorkit.storages._urls import compute_unique_key  # noqa: PLC0415 (keeps import light)

        if unique_key is None:
            unique_key = compute_unique_key(
                url,
                method=method,
                payload=payload,
                keep_url_fragment=keep_url_fragment,
                use_extended_unique_key=use_extended_unique_key,
                headers=headers,
            )
        return cls(
            url=url,
            unique_key=unique_key,
            id=request_id_from_unique_key(unique_key),
            method=method.upper(),
            payload=payload,
            headers=normalize_headers(headers or {}),
            user_data=dict(user_data or {}),
        )
