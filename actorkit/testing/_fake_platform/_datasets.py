"""Datasets: push items, list them with every filter and the pagination headers."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import attrs

from actorkit.testing._fake_platform._common import (
    NO_LIMIT,
    Call,
    Reply,
    data_reply,
    invalid,
    json_bytes,
)
from actorkit.testing._fake_platform._state import State, Storage
from actorkit.testing._fake_platform._storages import Route, StorageKind

FORMATS = {
    'json': 'application/json; charset=utf-8',
    'jsonl': 'application/jsonl; charset=utf-8',
    'csv': 'text/csv; charset=utf-8',
}


@attrs.define(kw_only=True)
class Dataset(Storage):
    """A dataset: an append-only list of JSON objects."""

    items: list[dict[str, Any]] = attrs.field(factory=list)
    """The items in push order."""


def _is_clean_empty(item: dict[str, Any]) -> bool:
    return not any(not name.startswith('#') for name in item)


def show_dataset(state: State, dataset: Dataset) -> dict[str, Any]:
    """The API object of a dataset."""
    return {
        **dataset.common_fields(),
        'itemCount': len(dataset.items),
        'cleanItemCount': sum(1 for item in dataset.items if not _is_clean_empty(item)),
        'consoleUrl': f'https://console.apify.com/storage/datasets/{dataset.id}',
        'itemsPublicUrl': f'{state.public_base_url}/v2/datasets/{dataset.id}/items',
        'fields': sorted({name for item in dataset.items for name in item}),
        'stats': {
            'readCount': dataset.reads,
            'writeCount': dataset.writes,
            'storageBytes': sum(len(json_bytes(item)) for item in dataset.items),
        },
    }


def _names(value: str | None) -> list[str] | None:
    if value is None or value == '':
        return None
    return [name.strip() for name in value.split(',') if name.strip()]


def _unwind(items: list[dict[str, Any]], field: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for item in items:
        value = item.get(field)
        rest = {name: inner for name, inner in item.items() if name != field}
        if isinstance(value, list):
            for element in value:
                if isinstance(element, dict):
                    result.append({**rest, **element})
                else:
                    result.append({**rest, field: element})
        elif isinstance(value, dict):
            result.append({**rest, **value})
        else:
            result.append(item)
    return result


def _flatten_value(prefix: str, value: Any, into: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for name, inner in value.items():
            _flatten_value(f'{prefix}.{name}', inner, into)
    elif isinstance(value, list) and value:
        for index, inner in enumerate(value):
            _flatten_value(f'{prefix}.{index}', inner, into)
    else:
        into[prefix] = value


def _flatten(item: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in item.items():
        if name in fields and isinstance(value, (dict, list)):
            _flatten_value(name, value, result)
        else:
            result[name] = value
    return result


def transform_items(items: list[dict[str, Any]], call: Call) -> list[dict[str, Any]]:
    """Apply unwind, flatten, fields, omit, skipHidden and skipEmpty to a page of items."""
    clean = call.flag('clean')
    skip_hidden = clean or call.flag('skipHidden')
    skip_empty = clean or call.flag('skipEmpty')
    for field in _names(call.query.get('unwind')) or []:
        items = _unwind(items, field)
    flatten = _names(call.query.get('flatten'))
    if flatten:
        items = [_flatten(item, flatten) for item in items]
    fields = _names(call.query.get('fields'))
    omit = set(_names(call.query.get('omit')) or [])
    result = []
    for item in items:
        kept = item
        if fields is not None:
            kept = {name: kept[name] for name in fields if name in kept}
        if omit:
            kept = {name: value for name, value in kept.items() if name not in omit}
        if skip_hidden:
            kept = {name: value for name, value in kept.items() if not name.startswith('#')}
        if skip_empty and not kept:
            continue
        result.append(kept)
    return result


def _csv_cell(value: Any) -> str:
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(',', ':'))
    return str(value)


def encode_items(items: list[dict[str, Any]], call: Call) -> tuple[bytes, str]:
    """Encode items in the requested ``format`` (json, jsonl or csv)."""
    export_format = (call.query.get('format') or 'json').lower()
    if export_format not in FORMATS:
        raise invalid(
            f'Format "{export_format}" is not supported by this fake platform: use json, '
            f'jsonl or csv'
        )
    if export_format == 'json':
        body = json.dumps(items, ensure_ascii=False, indent=2).encode('utf-8')
    elif export_format == 'jsonl':
        body = b''.join(json_bytes(item) + b'\n' for item in items)
    else:
        header = list(dict.fromkeys(name for item in items for name in item))
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator='\r\n')
        if not call.flag('skipHeaderRow'):
            writer.writerow(header)
        for item in items:
            writer.writerow([_csv_cell(item.get(name)) for name in header])
        body = buffer.getvalue().encode('utf-8')
    if call.flag('bom'):
        body = b'\xef\xbb\xbf' + body
    return body, FORMATS[export_format]


def parse_push(call: Call) -> list[dict[str, Any]]:
    """The items of a push body: one object or an array of objects (400 otherwise)."""
    value = call.json()
    items = value if isinstance(value, list) else [value]
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise invalid(
                f'Dataset item at index {index} must be a JSON object, got '
                f'{type(item).__name__}: push objects or an array of objects'
            )
    return items


class DatasetsApi:
    """The dataset endpoints."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.kind = StorageKind(
            state,
            state.datasets,
            'datasets',
            'Dataset',
            Dataset,
            lambda dataset: show_dataset(state, dataset),
        )

    def routes(self) -> list[Route]:
        """Every dataset route."""
        items = '/v2/datasets/{storeId}/items'
        return [
            *self.kind.routes(),
            ('GET', items, self.list_items),
            ('HEAD', items, self.list_items),
            ('POST', items, self.push_items),
            ('GET', '/v2/datasets/{storeId}/statistics', self.statistics),
        ]

    def push_items(self, call: Call) -> Reply:
        items = parse_push(call)
        with self.state.lock:
            dataset = self.kind.find(call.params['storeId'])
            dataset.items.extend(items)
            dataset.touch(write=True)
        location = f'{call.base_url}/v2/datasets/{dataset.id}/items'
        return Reply(201, b'{}', 'application/json; charset=utf-8', {'Location': location})

    def list_items(self, call: Call) -> Reply:
        offset = call.number('offset', 0) or 0
        limit = call.number('limit', None)
        desc = call.flag('desc')
        with self.state.lock:
            dataset = self.kind.find(call.params['storeId'])
            dataset.touch()
            total = len(dataset.items)
            ordered = list(reversed(dataset.items)) if desc else list(dataset.items)
        end = None if limit is None else offset + limit
        page = transform_items(ordered[offset:end], call)
        body, content_type = encode_items(page, call)
        headers = {
            'X-Apify-Pagination-Offset': str(offset),
            'X-Apify-Pagination-Limit': str(NO_LIMIT if limit is None else limit),
            'X-Apify-Pagination-Count': str(len(page)),
            'X-Apify-Pagination-Total': str(total),
            'X-Apify-Pagination-Desc': 'true' if desc else 'false',
        }
        if call.flag('attachment'):
            extension = (call.query.get('format') or 'json').lower()
            headers['Content-Disposition'] = f'attachment; filename="dataset.{extension}"'
        return Reply(200, body, content_type, headers)

    def statistics(self, call: Call) -> Reply:
        with self.state.lock:
            dataset = self.kind.find(call.params['storeId'])
            fields: dict[str, dict[str, Any]] = {}
            for item in dataset.items:
                for name, value in item.items():
                    stats = fields.setdefault(name, {'nullCount': 0, 'emptyCount': 0})
                    if value is None:
                        stats['nullCount'] += 1
                    if value in ('', [], {}):
                        stats['emptyCount'] += 1
        return data_reply({'fieldStatistics': fields})
