"""Value objects of request queues, shared by the public class and every backend.

Also the checks of a request's fields: a request is checked when it is built
(:meth:`Request.from_url`) and again when it goes into a queue (``add_request``, and
``reclaim_request``/``mark_request_as_handled`` after a handler edited it), with the rules of
dataset items for ``user_data`` (JSON only: no NaN or infinity, str keys, bounded nesting).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from actorkit._errors import InvalidStorageArgumentError
from actorkit.storages._serialization import SURROGATES, check_json

HTTP_METHODS = ('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH')
"""The HTTP methods a request may use (the official SDK rejects any other)."""

CRAWLEE_KEY = '__crawlee'
"""The ``user_data`` entry where crawlee keeps its own fields (``maxRetries``, ``crawlDepth``,
``session_id``...), in crawlee's spelling, so request files stay compatible."""


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

    crawlee's own fields (``max_retries``, ``session_id``, ``crawl_depth``) live in
    ``user_data['__crawlee']`` and ``label`` in ``user_data['label']``, laid out as crawlee lays
    them out, so the request files of both stay readable by the other.
    """

    url: str
    """The URL to process."""
    unique_key: str
    """The key that makes requests distinct: by default the normalized URL."""
    id: str = attrs.field(
        default=attrs.Factory(lambda self: request_id_from_unique_key(self.unique_key), True)
    )
    """The request id, derived from ``unique_key`` (computed when not given)."""
    method: str = 'GET'
    """The HTTP method."""
    payload: str | None = None
    """The HTTP body to send, if any."""
    headers: dict[str, str] = attrs.field(factory=dict)
    """The HTTP headers to send."""
    user_data: dict[str, Any] = attrs.field(factory=dict)
    """Free-form data for the handler of this request (JSON values only)."""
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
        method: str = 'GET',
        headers: Mapping[str, str] | None = None,
        payload: str | bytes | None = None,
        label: str | None = None,
        session_id: str | None = None,
        unique_key: str | None = None,
        keep_url_fragment: bool = False,
        use_extended_unique_key: bool = False,
        always_enqueue: bool = False,
        enqueue_strategy: str | None = None,
        max_retries: int | None = None,
        **kwargs: Any,
    ) -> Request:
        """Build a request for a URL, computing its unique key and id (crawlee's signature).

        Args:
            url: The URL to process; must be an absolute http(s) URL.
            method: The HTTP method.
            headers: The HTTP headers.
            payload: The HTTP body (str, or UTF-8 bytes).
            label: A label for routing, kept in ``user_data['label']``.
            session_id: The session the request is bound to (``user_data['__crawlee']``); with
                ``use_extended_unique_key`` it is part of the unique key.
            unique_key: An explicit unique key; by default the normalized URL.
            keep_url_fragment: Whether the ``#fragment`` makes URLs distinct.
            use_extended_unique_key: Whether method, headers, payload and session make requests
                distinct too.
            always_enqueue: Add the request even if the same URL is already in the queue (a
                random prefix makes its unique key new); not with ``unique_key``.
            enqueue_strategy: crawlee's enqueue strategy, kept in ``user_data['__crawlee']``.
            max_retries: The most retries for this request (``user_data['__crawlee']``).
            **kwargs: Other fields: ``user_data``, ``retry_count``, ``no_retry``,
                ``loaded_url``, ``handled_at``, ``id`` (camelCase spellings accepted).

        Returns:
            The new request.

        Raises:
            InvalidStorageArgumentError: A field is not valid (the message names it); e.g.
                ``user_data`` holding NaN or a non-str key.
        """
        return build_request(
            url,
            where='Request.from_url()',
            method=method,
            headers=headers,
            payload=payload,
            label=label,
            session_id=session_id,
            unique_key=unique_key,
            keep_url_fragment=keep_url_fragment,
            use_extended_unique_key=use_extended_unique_key,
            always_enqueue=always_enqueue,
            enqueue_strategy=enqueue_strategy,
            max_retries=max_retries,
            fields=kwargs,
        )

    def _crawlee(self) -> Mapping[str, Any]:
        data = self.user_data.get(CRAWLEE_KEY)
        return data if isinstance(data, Mapping) else {}

    @property
    def label(self) -> str | None:
        """The label used for routing (``user_data['label']``), or ``None``."""
        label = self.user_data.get('label')
        return label if isinstance(label, str) else None

    @property
    def session_id(self) -> str | None:
        """The id of the session the request is bound to, or ``None``."""
        value = self._crawlee().get('session_id')
        return value if isinstance(value, str) else None

    @property
    def max_retries(self) -> int | None:
        """The most retries for this request, or ``None`` for the crawler's setting."""
        value = self._crawlee().get('maxRetries')
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def crawl_depth(self) -> int:
        """The depth of the request in the crawl tree (0 for a start URL)."""
        value = self._crawlee().get('crawlDepth', 0)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    @crawl_depth.setter
    def crawl_depth(self, value: int) -> None:
        depth = check_count(value, 'crawl_depth')
        crawlee = dict(self._crawlee())
        crawlee['crawlDepth'] = depth
        self.user_data[CRAWLEE_KEY] = crawlee

    def get_query_param_from_url(self, param: str, *, default: str | None = None) -> str | None:
        """Return the first value of the query parameter ``param`` of the URL, or ``default``.

        Args:
            param: The parameter's name (decoded, as it reads in the URL).
            default: What to return when the URL has no such parameter.
        """
        from urllib.parse import parse_qs, urlsplit  # noqa: PLC0415 (rarely needed)

        values = parse_qs(urlsplit(self.url).query, keep_blank_values=True).get(param)
        return values[0] if values else default

    @property
    def was_already_handled(self) -> bool:
        """Whether the request was handled (``handled_at`` is set)."""
        return self.handled_at is not None


# ----------------------------------------------------------------------------- field checks


def check_text(value: object, what: str, *, optional: bool = False) -> str | None:
    """Return ``value`` if it is a str of valid Unicode (or ``None`` when ``optional``).

    Raises:
        InvalidStorageArgumentError: It is not.
    """
    if value is None and optional:
        return None
    if not isinstance(value, str):
        expected = 'a str or None' if optional else 'a str'
        raise InvalidStorageArgumentError(f'{what} must be {expected}, got {type(value).__name__}')
    if SURROGATES.search(value):
        raise InvalidStorageArgumentError(f'{what} contains a lone surrogate (invalid Unicode)')
    return value


def check_bool(value: object, what: str) -> bool:
    """Return ``value`` if it is a bool.

    Raises:
        InvalidStorageArgumentError: It is not.
    """
    if not isinstance(value, bool):
        raise InvalidStorageArgumentError(f'{what} must be True or False, got {value!r}')
    return value


def check_method(value: object, what: str) -> str:
    """Return the upper-cased HTTP method.

    Raises:
        InvalidStorageArgumentError: It is not one of :data:`HTTP_METHODS`.
    """
    method = check_text(value, what)
    assert method is not None
    if method.upper() not in HTTP_METHODS:
        raise InvalidStorageArgumentError(
            f'{what} {method!r} is not an HTTP method; use one of {", ".join(HTTP_METHODS)}'
        )
    return method.upper()


def check_headers(value: object, what: str) -> dict[str, str]:
    """Return the headers normalized as crawlee stores them.

    Raises:
        InvalidStorageArgumentError: They are not a dict of str to str.
    """
    if not isinstance(value, Mapping):
        raise InvalidStorageArgumentError(
            f'{what} must be a dict of str to str, got {type(value).__name__}'
        )
    for key, header in value.items():
        check_text(key, f'{what} key {key!r}')
        check_text(header, f'{what}[{key!r}]')
    return normalize_headers(value)


def check_user_data(value: object, what: str) -> dict[str, Any]:
    """Return ``user_data`` as a dict, checked by the rules of dataset items.

    Raises:
        InvalidStorageArgumentError: It is not a dict, has a value with no JSON form (NaN,
            infinity, a set...), a non-str key or too deep a nesting, or a ``label`` or
            ``__crawlee`` entry of the wrong type.
    """
    if not isinstance(value, Mapping):
        raise InvalidStorageArgumentError(f'{what} must be a dict, got {type(value).__name__}')
    check_json(value if isinstance(value, dict) else dict(value), what)
    label = value.get('label')
    if label is not None and not isinstance(label, str):
        raise InvalidStorageArgumentError(
            f"{what}['label'] must be a str or None, got {type(label).__name__}"
        )
    crawlee = value.get(CRAWLEE_KEY)
    if crawlee is not None and not isinstance(crawlee, Mapping):
        raise InvalidStorageArgumentError(
            f"{what}[{CRAWLEE_KEY!r}] holds crawlee's own fields and must be a dict, got "
            f'{type(crawlee).__name__}'
        )
    return dict(value)


def check_count(value: object, what: str) -> int:
    """Return ``value`` if it is an int of 0 or more.

    Raises:
        InvalidStorageArgumentError: It is not.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidStorageArgumentError(f'{what} must be an int >= 0, got {value!r}')
    return value


def check_request(
    request: Request, where: str = 'request', *, checked: tuple[str, str, str] | None = None
) -> Request:
    """Check every field of a request; raise an error naming the first bad one.

    Args:
        request: The request.
        where: How messages name it.
        checked: ``(url, unique_key, id)`` of this request as they were checked before (e.g.
            when it was handed out): if it still has exactly these, they are not parsed again.

    Raises:
        InvalidStorageArgumentError: A field has a wrong type or value.
    """
    from actorkit.storages._urls import validate_url  # noqa: PLC0415 (keeps import light)

    if checked is None or not _same_identity(request, checked):
        validate_url(request.url, field=f'{where}.url')
        unique_key = check_text(request.unique_key, f'{where}.unique_key')
        if not unique_key:
            raise InvalidStorageArgumentError(f'{where}.unique_key must not be empty')
        expected_id = request_id_from_unique_key(unique_key)
        if request.id != expected_id:
            raise InvalidStorageArgumentError(
                f'{where}.id {request.id!r} does not belong to its unique key {unique_key!r} '
                f'(the id is derived from it: {expected_id!r}); build requests with '
                f'Request.from_url()'
            )
    if request.method not in HTTP_METHODS:
        raise InvalidStorageArgumentError(
            f'{where}.method {request.method!r} is not an HTTP method; use one of '
            f'{", ".join(HTTP_METHODS)}'
        )
    check_text(request.payload, f'{where}.payload', optional=True)
    request.headers = check_headers(request.headers, f'{where}.headers')
    check_user_data(request.user_data, f'{where}.user_data')
    check_count(request.retry_count, f'{where}.retry_count')
    check_bool(request.no_retry, f'{where}.no_retry')
    if request.loaded_url is not None:
        validate_url(request.loaded_url, field=f'{where}.loaded_url')
    if request.handled_at is not None and not isinstance(request.handled_at, datetime):
        raise InvalidStorageArgumentError(f'{where}.handled_at must be a datetime or None')
    return request


def _same_identity(request: Request, checked: tuple[str, str, str]) -> bool:
    """Whether the request's url, unique key and id are still exactly the checked strs."""
    url, unique_key, request_id = request.url, request.unique_key, request.id
    return (
        type(url) is str
        and type(unique_key) is str
        and type(request_id) is str
        and (url, unique_key, request_id) == checked
    )


_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'


def _random_id(length: int = 17) -> str:
    chars: list[str] = []
    while len(chars) < length:  # rejection sampling keeps the 62 characters uniform
        chars.extend(_ID_ALPHABET[b % 62] for b in os.urandom(length * 2) if b < 248)
    return ''.join(chars[:length])


# Fields a request may be built with beyond from_url's keywords: each spelling -> the field.
REQUEST_FIELDS = {
    'id': 'id',
    'user_data': 'user_data',
    'userData': 'user_data',
    'retry_count': 'retry_count',
    'retryCount': 'retry_count',
    'no_retry': 'no_retry',
    'noRetry': 'no_retry',
    'loaded_url': 'loaded_url',
    'loadedUrl': 'loaded_url',
    'handled_at': 'handled_at',
    'handledAt': 'handled_at',
}


def build_request(
    url: object,
    *,
    where: str = 'request',
    method: object = 'GET',
    headers: object = None,
    payload: object = None,
    label: object = None,
    session_id: object = None,
    unique_key: object = None,
    keep_url_fragment: object = False,
    use_extended_unique_key: object = False,
    always_enqueue: object = False,
    enqueue_strategy: object = None,
    max_retries: object = None,
    fields: Mapping[str, Any] | None = None,
) -> Request:
    """Build a checked request, as crawlee's ``Request.from_url`` does.

    ``fields`` holds the other fields by name (see :data:`REQUEST_FIELDS`). Every argument is
    checked; the error names ``where`` and the field.

    Raises:
        InvalidStorageArgumentError: A field has a wrong type or value.
    """
    from actorkit.storages._urls import compute_unique_key, validate_url  # noqa: PLC0415

    extra: dict[str, Any] = {}
    for key, value in (fields or {}).items():
        field = REQUEST_FIELDS.get(key)
        if field is None:
            raise InvalidStorageArgumentError(
                f'{where} got an unknown field {key!r}; a request takes: url, method, headers, '
                f'payload, label, session_id, unique_key, keep_url_fragment, '
                f'use_extended_unique_key, always_enqueue, enqueue_strategy, max_retries, '
                f'{", ".join(sorted(set(REQUEST_FIELDS)))}'
            )
        if field in extra:
            raise InvalidStorageArgumentError(f'{where} sets {field!r} twice (as {key!r})')
        extra[field] = value
    checked_url = validate_url(url, field=f'{where}.url')
    checked_method = check_method(method, f'{where}.method')
    if isinstance(payload, (bytes, bytearray)):
        try:
            payload = bytes(payload).decode('utf-8')
        except UnicodeDecodeError as exc:
            raise InvalidStorageArgumentError(
                f'{where}.payload must be text (UTF-8 bytes are accepted): {exc}'
            ) from exc
    checked_payload = check_text(payload, f'{where}.payload', optional=True)
    checked_headers = check_headers(headers if headers is not None else {}, f'{where}.headers')
    given_data = extra.get('user_data')
    user_data = check_user_data({} if given_data is None else given_data, f'{where}.user_data')
    crawlee = dict(user_data.get(CRAWLEE_KEY) or {})
    if label is not None:
        user_data['label'] = check_text(label, f'{where}.label')
    if session_id is not None:
        crawlee['session_id'] = check_text(session_id, f'{where}.session_id')
    if max_retries is not None:
        crawlee['maxRetries'] = check_count(max_retries, f'{where}.max_retries')
    if enqueue_strategy is not None:
        crawlee['enqueueStrategy'] = check_text(enqueue_strategy, f'{where}.enqueue_strategy')
    if crawlee:
        user_data[CRAWLEE_KEY] = crawlee
    keep_fragment = check_bool(keep_url_fragment, f'{where}.keep_url_fragment')
    extended = check_bool(use_extended_unique_key, f'{where}.use_extended_unique_key')
    enqueue_always = check_bool(always_enqueue, f'{where}.always_enqueue')
    given_key = check_text(unique_key, f'{where}.unique_key', optional=True)
    if given_key == '':
        raise InvalidStorageArgumentError(
            f'{where}.unique_key must not be empty: leave it out to derive it from the URL'
        )
    if given_key is not None and enqueue_always:
        raise InvalidStorageArgumentError(
            f'{where}: always_enqueue cannot be used with a unique_key (it makes a new unique '
            'key each time); leave one of them out'
        )
    if given_key is None:
        given_key = compute_unique_key(
            checked_url,
            method=checked_method,
            payload=checked_payload,
            headers=checked_headers,
            session_id=crawlee.get('session_id'),
            keep_url_fragment=keep_fragment,
            use_extended_unique_key=extended,
        )
        if enqueue_always:
            given_key = f'{_random_id()}|{given_key}'
    request_id = request_id_from_unique_key(given_key)
    if extra.get('id') is not None and extra['id'] != request_id:
        raise InvalidStorageArgumentError(
            f'{where}.id {extra["id"]!r} does not belong to the unique key {given_key!r} '
            f'(expected {request_id!r}); leave "id" out, it is derived from the unique key'
        )
    loaded_url = extra.get('loaded_url')
    request = Request(
        url=checked_url,
        unique_key=given_key,
        id=request_id,
        method=checked_method,
        payload=checked_payload,
        headers=checked_headers,
        user_data=user_data,
        retry_count=check_count(extra.get('retry_count', 0), f'{where}.retry_count'),
        no_retry=check_bool(extra.get('no_retry', False), f'{where}.no_retry'),
        loaded_url=None
        if loaded_url is None
        else validate_url(loaded_url, field=f'{where}.loaded_url'),
        handled_at=extra.get('handled_at'),
    )
    if request.handled_at is not None and not isinstance(request.handled_at, datetime):
        raise InvalidStorageArgumentError(f'{where}.handled_at must be a datetime or None')
    return request
