"""Storage inspection: ``storages``, ``dataset show/export``, ``kv get/list``, ``queue stats``.

Locally these read the storage folder (and never create or purge a storage); at home the same
commands read the run's storages through the API.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from actorkit.cli._common import (
    EXIT_USAGE,
    CliError,
    load_config,
    open_storages,
    stdout_is_terminal,
    write_json,
)
from actorkit.cli._progress import Progress

if TYPE_CHECKING:
    from actorkit._config import Configuration
    from actorkit.storages._dataset import Dataset

KINDS = ('datasets', 'key_value_stores', 'request_queues')
_KIND_LABEL = {
    'datasets': 'dataset',
    'key_value_stores': 'key-value store',
    'request_queues': 'request queue',
}
_SIDECAR = '.__metadata__.json'
_STORE_METADATA = '__metadata__.json'
_CELL = 40


def missing_subcommand(args: argparse.Namespace) -> int:
    """``actorkit dataset`` (and the other groups) without a subcommand."""
    raise CliError(
        f'{args.command} needs a subcommand (see actorkit {args.command} --help)', EXIT_USAGE
    )


# -- the local folder ------------------------------------------------------------------------


def _read_metadata(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / _STORE_METADATA).read_text('utf-8'))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _pick(metadata: dict[str, Any], snake: str, camel: str) -> Any:
    return metadata.get(snake, metadata.get(camel))


def scan_storage(kind: str, folder: Path) -> dict[str, Any]:
    """The counts and size of one local storage folder, read without opening it."""
    metadata = _read_metadata(folder)
    size = 0
    files = 0
    records = 0
    items = 0
    latest = 0.0
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if not entry.is_file():
                continue
            try:
                stat = entry.stat()
            except OSError:
                continue
            size += stat.st_size
            files += 1
            latest = max(latest, stat.st_mtime)
            name = entry.name
            if name == _STORE_METADATA or name.startswith('.'):
                continue
            if kind == 'key_value_stores' and not name.endswith(_SIDECAR):
                records += 1
            elif kind == 'datasets' and name.endswith('.json') and name[:-5].isdigit():
                items += 1
    row: dict[str, Any] = {
        'kind': _KIND_LABEL[kind],
        'name': folder.name,
        'id': _pick(metadata, 'id', 'id'),
        'path': str(folder),
        'sizeBytes': size,
        'files': files,
    }
    if kind == 'datasets':
        row['itemCount'] = items
    elif kind == 'key_value_stores':
        row['recordCount'] = records
    else:
        for snake, camel in (
            ('total_request_count', 'totalRequestCount'),
            ('handled_request_count', 'handledRequestCount'),
            ('pending_request_count', 'pendingRequestCount'),
        ):
            row[camel] = _pick(metadata, snake, camel) or 0
    return row


def scan_storages(root: Path) -> list[dict[str, Any]]:
    """Every local storage under ``root``, by kind and name."""
    rows: list[dict[str, Any]] = []
    for kind in KINDS:
        base = root / kind
        with contextlib.suppress(OSError):
            rows.extend(
                scan_storage(kind, folder)
                for folder in sorted(p for p in base.iterdir() if p.is_dir())
            )
    return rows


def _local_folder(config: Configuration, kind: str, name: str | None) -> Path:
    root = Path(config.local_storage_dir)
    folder = root / kind / (name or 'default')
    if not folder.is_dir():
        label = _KIND_LABEL[kind]
        what = f'{label} {name}' if name else f'default {label}'
        raise CliError(
            f'no {what} in {root.absolute() / kind}: `actorkit storages` lists the storages '
            '(or set --storage-dir / APIFY_LOCAL_STORAGE_DIR)'
        )
    return folder


def _open_kwargs(config: Configuration, kind: str, name: str | None) -> dict[str, Any]:
    """How to open ``name``: locally by its folder (which must exist), at home by id or name."""
    if config.is_at_home:
        if name is None:
            return {}
        looks_like_id = len(name) == 17 and name.isalnum()
        return {'id': name} if looks_like_id else {'name': name}
    _local_folder(config, kind, name)
    return {} if name in (None, 'default') else {'name': name}


# -- commands ----------------------------------------------------------------------------------


def _size(size: int) -> str:
    value = float(size)
    for unit in ('B', 'KB', 'MB', 'GB'):
        if value < 1024 or unit == 'GB':
            return f'{value:.0f} {unit}' if unit == 'B' else f'{value:.1f} {unit}'
        value /= 1024
    return f'{size} B'


def storages(args: argparse.Namespace) -> int:
    """``actorkit storages``."""
    config = load_config(args.storage_dir)
    if config.is_at_home:
        rows = _platform_storages(config)
    else:
        rows = scan_storages(Path(config.local_storage_dir).absolute())
        if not rows and not args.json and stdout_is_terminal():
            sys.stderr.write(
                f'actorkit: no storages in {Path(config.local_storage_dir).absolute()}\n'
            )
            return 0
    if args.json or not stdout_is_terminal():
        write_json(rows)
        return 0
    table = []
    for row in rows:
        if 'itemCount' in row:
            counts = f'{row["itemCount"]:,} items'
        elif 'recordCount' in row:
            counts = f'{row["recordCount"]:,} records'
        else:
            counts = f'{row["handledRequestCount"]:,}/{row["totalRequestCount"]:,} requests handled'
        size = _size(row['sizeBytes']) if row.get('sizeBytes') is not None else ''
        table.append({'kind': row['kind'], 'name': row['name'], 'counts': counts, 'size': size})
    _print_table(table, ['kind', 'name', 'counts', 'size'])
    if not config.is_at_home:
        sys.stdout.write(f'(in {Path(config.local_storage_dir).absolute()})\n')
    return 0


def _platform_storages(config: Configuration) -> list[dict[str, Any]]:
    manager = open_storages(config)
    rows: list[dict[str, Any]] = []
    dataset = manager.open_dataset().get_metadata()
    rows.append(
        {
            'kind': 'dataset',
            'name': dataset.name or 'default',
            'id': dataset.id,
            'itemCount': dataset.item_count,
        }
    )
    store = manager.open_key_value_store()
    count = sum(1 for _ in store.iterate_keys())
    rows.append(
        {
            'kind': 'key-value store',
            'name': store.name or 'default',
            'id': store.id,
            'recordCount': count,
        }
    )
    queue = manager.open_request_queue().get_metadata()
    rows.append(
        {
            'kind': 'request queue',
            'name': queue.name or 'default',
            'id': queue.id,
            'totalRequestCount': queue.total_request_count,
            'handledRequestCount': queue.handled_request_count,
            'pendingRequestCount': queue.pending_request_count,
        }
    )
    return rows


def _dataset(config: Configuration, name: str | None) -> Dataset:
    return open_storages(config).open_dataset(**_open_kwargs(config, 'datasets', name))


def dataset_show(args: argparse.Namespace) -> int:
    """``actorkit dataset show [NAME] [--limit N]``."""
    config = load_config(args.storage_dir)
    dataset = _dataset(config, args.name)
    items = list(dataset.iterate_items(offset=args.offset, limit=args.limit))
    if args.json or not stdout_is_terminal():
        write_json(items)
        return 0
    total = dataset.get_metadata().item_count
    if not items:
        sys.stdout.write(f'(no items; the dataset holds {total:,})\n')
        return 0
    columns: dict[str, None] = {}
    for item in items:
        columns.update(dict.fromkeys(item))
    rows = [
        {'#': str(args.offset + n), **{k: _cell(item.get(k, '')) for k in item}}
        for n, item in enumerate(items, 1)
    ]
    _print_table(rows, ['#', *columns])
    shown = f'{args.offset + 1:,}-{args.offset + len(items):,}'
    sys.stdout.write(f'(items {shown} of {total:,}; --limit and --offset show others)\n')
    return 0


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(',', ':'))


def _print_table(rows: list[dict[str, str]], columns: list[str]) -> None:
    width = shutil.get_terminal_size((100, 20)).columns
    limit = max(8, min(_CELL, width // max(1, len(columns)) - 2))
    widths = {
        c: min(limit, max(len(c), *(len(_flat(r.get(c, ''))) for r in rows))) for c in columns
    }

    def line(values: dict[str, str]) -> str:
        cells = []
        for column in columns:
            text = _flat(values.get(column, ''))
            if len(text) > widths[column]:
                text = text[: widths[column] - 1] + '…'
            cells.append(text.ljust(widths[column]))
        return '  '.join(cells).rstrip()[: max(width, 20)] + '\n'

    out = sys.stdout
    out.write(line({c: c for c in columns}))
    out.write(line({c: '-' * widths[c] for c in columns}))
    for row in rows:
        out.write(line(row))


def _flat(text: str) -> str:
    return text.replace('\n', ' ').replace('\r', ' ').replace('\t', ' ')


@contextlib.contextmanager
def _output(path: str | None, *, newline: str | None = None) -> Iterator[IO[str]]:
    if path is None or path == '-':
        yield sys.stdout
        sys.stdout.flush()
        return
    try:
        file = open(path, 'w', encoding='utf-8', newline=newline)  # noqa: SIM115
    except OSError as exc:
        raise CliError(f'cannot write {path}: {exc.strerror or exc}') from None
    with file:
        yield file


def dataset_export(args: argparse.Namespace) -> int:
    """``actorkit dataset export [NAME] --format json|jsonl|csv [-o FILE]``."""
    config = load_config(args.storage_dir)
    dataset = _dataset(config, args.name)
    total = dataset.get_metadata().item_count
    with Progress('exporting', total) as progress:
        if args.output in (None, '-') and stdout_is_terminal():
            progress.enabled = False  # the items go to the same terminal
        if args.format == 'csv':
            _export_csv(dataset, args.output, progress)
        else:
            _export_json(dataset, args.output, progress, lines=args.format == 'jsonl')
    return 0


def _export_json(dataset: Dataset, path: str | None, progress: Progress, *, lines: bool) -> None:
    with _output(path) as out:
        first = True
        if not lines:
            out.write('[')
        for item in dataset.iterate_items():
            text = json.dumps(item, ensure_ascii=False)
            if lines:
                out.write(text + '\n')
            else:
                out.write(('\n' if first else ',\n') + text)
            first = False
            progress.update()
        if not lines:
            out.write('\n]\n' if not first else ']\n')


def _export_csv(dataset: Dataset, path: str | None, progress: Progress) -> None:
    # Two passes over the dataset, so that memory holds the column names and not the items.
    columns: dict[str, None] = {}
    for item in dataset.iterate_items():
        columns.update(dict.fromkeys(item))
    with _output(path, newline='') as out:
        writer = csv.writer(out)
        writer.writerow(list(columns))
        for item in dataset.iterate_items():
            writer.writerow([_csv_cell(item[c]) if c in item else '' for c in columns])
            progress.update()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ''
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(',', ':'))


def kv_get(args: argparse.Namespace) -> int:
    """``actorkit kv get [STORE] KEY``."""
    from actorkit.cli._values import write_record  # noqa: PLC0415

    if len(args.names) > 2:
        raise CliError('kv get takes [STORE] KEY: at most two names', EXIT_USAGE)
    store_name, key = (None, args.names[0]) if len(args.names) == 1 else args.names
    config = load_config(args.storage_dir)
    store = open_storages(config).open_key_value_store(
        **_open_kwargs(config, 'key_value_stores', store_name)
    )
    write_record(store.client.get_record(key))
    return 0


def kv_list(args: argparse.Namespace) -> int:
    """``actorkit kv list [STORE]``."""
    config = load_config(args.storage_dir)
    store = open_storages(config).open_key_value_store(
        **_open_kwargs(config, 'key_value_stores', args.store)
    )
    keys = store.iterate_keys()
    if args.json or not stdout_is_terminal():
        out = sys.stdout
        out.write('[')
        written = 0
        for info in keys:
            row = {'key': info.key, 'size': info.size, 'contentType': info.content_type}
            out.write((',\n' if written else '\n') + json.dumps(row, ensure_ascii=False))
            written += 1
        out.write('\n]\n' if written else ']\n')
        return 0
    rows = [
        {'key': i.key, 'size': _size(i.size), 'content type': i.content_type or ''} for i in keys
    ]
    if not rows:
        sys.stdout.write('(no records)\n')
        return 0
    _print_table(rows, ['key', 'size', 'content type'])
    return 0


def queue_stats(args: argparse.Namespace) -> int:
    """``actorkit queue stats [NAME]``."""
    config = load_config(args.storage_dir)
    queue = open_storages(config).open_request_queue(
        **_open_kwargs(config, 'request_queues', args.name)
    )
    metadata = queue.get_metadata()
    write_json(
        {
            'id': metadata.id,
            'name': metadata.name or args.name or 'default',
            'totalRequestCount': metadata.total_request_count,
            'handledRequestCount': metadata.handled_request_count,
            'pendingRequestCount': metadata.pending_request_count,
            'hadMultipleClients': metadata.had_multiple_clients,
            'isFinished': queue.is_finished(),
        },
        indent=2 if stdout_is_terminal() else None,
    )
    return 0
