"""What every resource of the fake platform shares: calls, replies, errors, ids and times."""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

import attrs

ID_ALPHABET = string.ascii_letters + string.digits
MAX_PAYLOAD_BYTES = 9_437_184
"""The platform's request body limit, counted after decompression."""
NO_LIMIT = 999_999_999_999
"""What the platform reports as the limit of a listing that was given none."""


class ApiError(Exception):
    """An error answer: raised by a handler, turned into ``{"error": {"type", "message"}}``."""

    def __init__(
        self, status: int, error_type: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.headers = dict(headers or {})


def not_found(what: str) -> ApiError:
    """The platform's 404 for a missing resource (its type is always ``record-not-found``)."""
    return ApiError(404, 'record-not-found', f'{what} was not found')


def invalid(message: str, error_type: str = 'invalid-input') -> ApiError:
    """A 400 for bad input."""
    return ApiError(400, error_type, message)


@attrs.frozen
class Reply:
    """One HTTP answer."""

    status: int
    """The status code."""
    body: bytes = b''
    """The body, already encoded."""
    content_type: str | None = None
    """The Content-Type header, if any."""
    headers: Mapping[str, str] = attrs.field(factory=dict)
    """More headers."""


def json_bytes(value: Any) -> bytes:
    """Encode ``value`` as compact UTF-8 JSON."""
    return json.dumps(value, ensure_ascii=False, separators=(',', ':')).encode('utf-8')


def data_reply(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Reply:
    """Answer ``{"data": data}``."""
    return Reply(
        status, json_bytes({'data': data}), 'application/json; charset=utf-8', headers or {}
    )


def empty_reply(status: int = 204) -> Reply:
    """Answer with no body."""
    return Reply(status)


def error_reply(error: ApiError) -> Reply:
    """Answer an :class:`ApiError`."""
    body = json_bytes({'error': {'type': error.error_type, 'message': error.message}})
    return Reply(error.status, body, 'application/json; charset=utf-8', error.headers)


@attrs.define
class Call:
    """One request as the handlers see it (path already resolved to its canonical form)."""

    method: str
    """The HTTP method, upper-case."""
    path: str
    """The canonical path (``/v2/acts/`` mapped to ``/v2/actors/``, run sub-storages resolved)."""
    params: dict[str, str]
    """The path parameters, URL-decoded."""
    query: dict[str, str]
    """The query parameters (the last value of each name wins), the token removed."""
    headers: Mapping[str, str]
    """The request headers (case-insensitive lookup)."""
    body: bytes
    """The body, decompressed."""
    base_url: str
    """The server's own base URL, e.g. ``http://127.0.0.1:5000``."""

    def json(self) -> Any:
        """The body parsed as JSON.

        Raises:
            ApiError: 400 when the body is empty or not JSON.
        """
        if not self.body:
            raise invalid('The request body is empty: send a JSON document')
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise invalid(f'The request body is not valid JSON: {exc}') from exc

    def json_object(self) -> dict[str, Any]:
        """The body parsed as a JSON object (400 otherwise)."""
        value = self.json()
        if not isinstance(value, dict):
            raise invalid('The request body must be a JSON object')
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean query parameter (``true``/``1`` are true, as the platform reads them)."""
        value = self.query.get(name)
        if value is None or value == '':
            return default
        return value.lower() in ('true', '1')

    def number(
        self, name: str, default: int | None = None, *, minimum: int = 0, maximum: int | None = None
    ) -> int | None:
        """An integer query parameter, checked against its bounds (400 otherwise)."""
        value = self.query.get(name)
        if value is None or value == '':
            return default
        try:
            number = int(float(value))
        except ValueError:
            raise invalid(f'Query parameter "{name}" must be a number, got {value!r}') from None
        if number < minimum or (maximum is not None and number > maximum):
            bound = f'between {minimum} and {maximum}' if maximum is not None else f'>= {minimum}'
            raise invalid(f'Query parameter "{name}" must be {bound}, got {number}')
        return number

    def decimal_number(self, name: str) -> float | None:
        """A decimal query parameter (400 when not a number)."""
        value = self.query.get(name)
        if value is None or value == '':
            return None
        try:
            return float(value)
        except ValueError:
            raise invalid(f'Query parameter "{name}" must be a number, got {value!r}') from None


Handler = Callable[[Call], Reply]


def new_id() -> str:
    """A fresh 17-character resource id, as the platform makes them."""
    return ''.join(secrets.choice(ID_ALPHABET) for _ in range(17))


def now() -> datetime:
    """The current UTC time."""
    return datetime.now(timezone.utc)


def iso(moment: datetime | None) -> str | None:
    """Format a time as the platform does: ``2024-01-02T03:04:05.678Z``."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.') + (
        f'{moment.microsecond // 1000:03d}Z'
    )


def paginated(
    items: list[Any], *, offset: int, limit: int | None, desc: bool, **extra: Any
) -> dict[str, Any]:
    """A list answer: ``{total, offset, limit, desc, count, items}`` over ``items``."""
    ordered = list(reversed(items)) if desc else items
    effective = 1000 if limit is None else min(limit, 1000)
    page = ordered[offset : offset + effective]
    return {
        'total': len(items),
        'offset': offset,
        'limit': effective,
        'desc': desc,
        'count': len(page),
        'items': page,
        **extra,
    }


def list_reply(call: Call, shown: list[Any], **extra: Any) -> Reply:
    """Answer a page of ``shown`` as the call's ``offset``, ``limit`` and ``desc`` ask."""
    return data_reply(
        paginated(
            shown,
            offset=call.number('offset', 0) or 0,
            limit=call.number('limit', None, minimum=1),
            desc=call.flag('desc'),
            **extra,
        )
    )
