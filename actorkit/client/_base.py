"""What every resource client shares: paths, query parameters, JSON answers, 404 handling."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from actorkit._errors import ApifyApiError
from actorkit.client._http import MEDIUM, SHORT, HttpClient, Response, encode_json
from actorkit.client._models import ListPage

if TYPE_CHECKING:
    from collections.abc import Iterable

TERMINAL_STATUSES = frozenset({'SUCCEEDED', 'FAILED', 'TIMED-OUT', 'ABORTED'})
"""Statuses after which a run (or build) never changes again."""


def resource_segment(resource_id: str, what: str = 'id') -> str:
    """A resource id (or ``username/name``) as one percent-encoded path segment."""
    if not isinstance(resource_id, str):
        raise TypeError(f'the {what} must be a str, got {type(resource_id).__name__}')
    return path_segment(resource_id.replace('/', '~'), what)


def path_segment(value: str, what: str) -> str:
    """``value`` percent-encoded so that it stays one path segment."""
    if not isinstance(value, str):
        raise TypeError(f'the {what} must be a str, got {type(value).__name__}')
    if value in ('', '.', '..'):
        raise ValueError(f'the {what} {value!r} cannot be used in a URL path; pick another one')
    return quote(value, safe='')


def query(**params: Any) -> dict[str, str]:
    """The query parameters in the API's text form, without those that are ``None``.

    Booleans become ``true``/``false``, lists become comma-separated, timedeltas whole seconds.
    """
    result: dict[str, str] = {}
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            result[name] = 'true' if value else 'false'
        elif isinstance(value, (list, tuple)):
            result[name] = ','.join(str(part) for part in value)
        elif isinstance(value, timedelta):
            result[name] = str(int(value.total_seconds()))
        else:
            result[name] = str(value)
    return result


def data_of(response: Response) -> Any:
    """The ``data`` object of a JSON answer."""
    payload = json.loads(response.data) if response.data else {}
    if isinstance(payload, dict) and 'data' in payload:
        return payload['data']
    return payload


def drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` without the keys whose value is ``None``."""
    return {name: value for name, value in values.items() if value is not None}


def seconds_alias(
    seconds: float | None, duration: timedelta | None, seconds_name: str, duration_name: str
) -> int | None:
    """One whole number of seconds given either as ``seconds`` or as a ``timedelta``."""
    if seconds is not None and duration is not None:
        raise TypeError(f'give {seconds_name} or {duration_name}, not both')
    if duration is not None:
        return int(duration.total_seconds())
    if seconds is not None:
        return int(seconds)
    return None


def is_not_found(error: ApifyApiError) -> bool:
    """Whether an API error says the resource does not exist."""
    return error.status_code == 404


class ResourceClient:
    """The base of every resource client: a path below ``/v2`` and the HTTP client."""

    def __init__(self, http: HttpClient, path: str) -> None:
        self._http = http
        self._path = path

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self._http.redact(self._path)!r})'

    @property
    def resource_path(self) -> str:
        """The path of the resource below ``/v2`` (e.g. ``/datasets/abc``)."""
        return self._path

    def _call(
        self,
        method: str,
        suffix: str = '',
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = SHORT,
        extra_timeout: float = 0.0,
    ) -> Response:
        return self._http.call(
            method,
            self._path + suffix,
            params=params,
            body=body,
            content_type=content_type,
            headers=headers,
            timeout=timeout,
            extra_timeout=extra_timeout,
        )

    def _get_data(
        self, suffix: str = '', *, params: Mapping[str, str] | None = None, timeout: float = SHORT
    ) -> Any:
        return data_of(self._call('GET', suffix, params=params, timeout=timeout))

    def _get_or_none(
        self, suffix: str = '', *, params: Mapping[str, str] | None = None, timeout: float = SHORT
    ) -> Any:
        try:
            return self._get_data(suffix, params=params, timeout=timeout)
        except ApifyApiError as error:
            if is_not_found(error):
                return None
            raise

    def _send_json(
        self,
        method: str,
        suffix: str = '',
        value: Any = None,
        *,
        params: Mapping[str, str] | None = None,
        timeout: float = SHORT,
        what: str = 'the request body',
    ) -> Any:
        body = None if value is None else encode_json(value, what)
        response = self._call(
            method,
            suffix,
            params=params,
            body=body,
            content_type=None if body is None else 'application/json',
            timeout=timeout,
        )
        return data_of(response)

    def _delete_quietly(
        self, suffix: str = '', *, params: Mapping[str, str] | None = None, timeout: float = SHORT
    ) -> None:
        try:
            self._call('DELETE', suffix, params=params, timeout=timeout)
        except ApifyApiError as error:
            if not is_not_found(error):
                raise


class StorageCollectionClient(ResourceClient):
    """The storages of one kind in the account: list them, get or create one by name."""

    def list(
        self,
        *,
        unnamed: bool | None = None,
        limit: int | None = None,
        offset: int | None = None,
        desc: bool | None = None,
    ) -> ListPage[dict[str, Any]]:
        """List the storages of this kind.

        Args:
            unnamed: Include the unnamed ones (runs' default storages) too.
            limit: The most storages to return.
            offset: How many storages to skip.
            desc: Newest first.
        """
        data = self._get_data(
            params=query(unnamed=unnamed, limit=limit, offset=offset, desc=desc), timeout=MEDIUM
        )
        return ListPage.from_data(data)

    def get_or_create(self, name: str | None = None) -> dict[str, Any]:
        """Return the storage called ``name``, creating it when missing (unnamed: a new one)."""
        return dict(self._send_json('POST', params=query(name=name), timeout=SHORT))


class StorageClient(ResourceClient):
    """One storage (dataset, key-value store or request queue): its metadata, rename, delete."""

    def get(self) -> dict[str, Any] | None:
        """Return the storage's metadata, or ``None`` when it does not exist."""
        result = self._get_or_none()
        return None if result is None else dict(result)

    def update(self, name: str | None = None) -> dict[str, Any]:
        """Rename the storage (``None`` leaves the name as it is) and return its metadata."""
        return dict(self._send_json('PUT', value=drop_none({'name': name}), timeout=SHORT))

    def delete(self) -> None:
        """Delete the storage (nothing happens when it does not exist)."""
        self._delete_quietly()


def camel_webhooks(webhooks: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Ad-hoc webhooks in the API's camelCase form (snake_case keys are accepted too)."""
    allowed = {
        'eventTypes',
        'requestUrl',
        'payloadTemplate',
        'headersTemplate',
        'shouldInterpolateStrings',
        'idempotencyKey',
        'ignoreSslErrors',
        'doNotRetry',
        'description',
    }
    result = []
    for webhook in webhooks:
        converted: dict[str, Any] = {}
        for key, value in webhook.items():
            head, *rest = key.split('_')
            name = head + ''.join(part.title() for part in rest)
            if name in allowed and value is not None:
                converted[name] = list(value) if name == 'eventTypes' else value
        result.append(converted)
    return result
