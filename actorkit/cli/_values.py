"""The commands for shell scripts: input, records, items, status, charging, metamorph, exit.

They follow the SDK's environment rules (local storage, or the run's storages through the API
when ``APIFY_IS_AT_HOME`` is set) and never purge, so the commands of one script see what the
earlier ones wrote. Values go to stdout as JSON (raw bytes for records that are not JSON or
text); messages go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, BinaryIO

from actorkit.cli._common import (
    EXIT_USAGE,
    CliError,
    Missing,
    load_config,
    open_storages,
    parse_json_arg,
    read_stdin_bytes,
    write_bytes,
    write_json,
    write_value,
)
from actorkit.cli._progress import Progress

if TYPE_CHECKING:
    from actorkit._config import Configuration
    from actorkit.storages._dataset import Dataset
    from actorkit.storages._key_value_store import KeyValueStore

PUSH_BATCH = 500
"""Items pushed at once when reading stdin."""

_JSON_TYPE = 'application/json; charset=utf-8'


def _log(message: str) -> None:
    sys.stderr.write(f'actorkit: {message}\n')


def _store(config: Configuration, name: str | None) -> KeyValueStore:
    return open_storages(config).open_key_value_store(name=name)


def get_input(args: argparse.Namespace) -> int:
    """``actorkit get-input``."""
    config = load_config(args.storage_dir)
    value = open_storages(config).get_input()
    if value is None:
        raise Missing('no input')
    write_value(value)
    return 0


def write_record(record: tuple[bytes, str] | None) -> None:
    """Print a record: JSON and text as they are stored, anything else as raw bytes."""
    if record is None:
        raise Missing('no such record')
    body, content_type = record
    if content_type.split(';')[0].strip().lower() == 'application/x-none':
        write_bytes(b'null\n')
        return
    is_json = content_type.split(';')[0].strip().lower().endswith('json')
    write_bytes(body + b'\n' if is_json and not body.endswith(b'\n') else body)


def get_value(args: argparse.Namespace) -> int:
    """``actorkit get-value KEY``."""
    config = load_config(args.storage_dir)
    write_record(_store(config, args.store).client.get_record(args.key))
    return 0


def _guess_type(body: bytes) -> str:
    try:
        text = body.decode('utf-8')
    except UnicodeDecodeError:
        return 'application/octet-stream'
    try:
        json.loads(text)
    except ValueError:
        return 'text/plain; charset=utf-8'
    return _JSON_TYPE


def set_value(args: argparse.Namespace) -> int:
    """``actorkit set-value KEY [VALUE | -]``."""
    from actorkit.storages._serialization import check_key  # noqa: PLC0415

    key = check_key(args.key)
    if args.value is None or args.value == '-':
        if args.value is None and sys.stdin.isatty():
            raise CliError('give VALUE, or pipe the value into stdin with -', EXIT_USAGE)
        body = read_stdin_bytes()
    else:
        body = args.value.encode('utf-8')
    content_type = args.content_type or _guess_type(body)
    config = load_config(args.storage_dir)
    _store(config, args.store).client.set_record(key, body, content_type)
    return 0


def _items_of(value: Any, where: str) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise CliError(
                f'{where}: item {number} is not an object (it is of type '
                f'{type(item).__name__}): push JSON objects, or an array of them'
            )
    return items


def push_data(args: argparse.Namespace) -> int:
    """``actorkit push-data [JSON | -]``."""
    config = load_config(args.storage_dir)
    data: str | None = args.data
    if data is not None and data != '-' and not data.startswith('@'):
        items = _items_of(parse_json_arg(data, 'the data'), 'the data')
        open_storages(config).open_dataset(name=args.dataset).push_data(items)
        return 0
    if data is None and sys.stdin.isatty():
        raise CliError('give the items as JSON, or pipe them into stdin with -', EXIT_USAGE)
    if data is not None and data.startswith('@'):
        try:
            source: BinaryIO = open(data[1:], 'rb')  # noqa: SIM115 (closed below)
        except OSError as exc:
            raise CliError(f'cannot read {data[1:]}: {exc.strerror or exc}') from None
        what = data[1:]
    else:
        source, what = sys.stdin.buffer, 'stdin'
    try:
        return _push_stream(open_storages(config).open_dataset(name=args.dataset), source, what)
    finally:
        if source is not sys.stdin.buffer:
            source.close()


def _push_stream(dataset: Dataset, source: BinaryIO, what: str) -> int:
    from actorkit.cli._json_stream import JsonItems  # noqa: PLC0415

    stream = JsonItems(source, what)
    pushed = 0
    batch: list[Any] = []
    with Progress('pushing', unit='items') as progress:
        try:
            for value in stream:
                batch.extend(_items_of(value, f'{what} item {pushed + len(batch) + 1}'))
                if len(batch) >= PUSH_BATCH:
                    dataset.push_data(batch)
                    pushed += len(batch)
                    progress.set(pushed)
                    batch = []
        except CliError as exc:
            if batch:
                dataset.push_data(batch)
                pushed += len(batch)
            raise CliError(f'{exc}; the {pushed} items before it were pushed') from None
        if batch:
            dataset.push_data(batch)
            pushed += len(batch)
    return 0


def set_status_message(args: argparse.Namespace) -> int:
    """``actorkit set-status-message MSG [--terminal]``."""
    from actorkit._status import platform_publisher  # noqa: PLC0415

    config = load_config()
    publish = platform_publisher(config)
    if publish is None:
        # Off the platform a status message is only shown, as the SDK logs it.
        _log(f'status: {args.message}' + (' (terminal)' if args.terminal else ''))
        return 0
    publish(args.message, args.terminal)
    return 0


def charge(args: argparse.Namespace) -> int:
    """``actorkit charge EVENT [--count N]``."""
    from actorkit.charging import ChargingManager  # noqa: PLC0415
    from actorkit.charging._local_log import LOG_DATASET_NAME  # noqa: PLC0415

    config = load_config(args.storage_dir)
    if config.is_at_home:
        manager = ChargingManager(config)
    else:
        storages = open_storages(config)
        manager = ChargingManager(
            config,
            open_log=lambda: storages.backend().open_dataset(
                id=None, name=LOG_DATASET_NAME, alias=None
            ),
            lock_path=storages.root / 'datasets' / f'.{LOG_DATASET_NAME}.charging.lock',
            purge_log=None,  # commands never purge
        )
    try:
        result = manager.charge(args.event, args.count, idempotency_key=args.idempotency_key)
    finally:
        manager.close()
    write_json(
        {
            'chargedCount': result.charged_count,
            'eventChargeLimitReached': result.event_charge_limit_reached,
            'chargeableWithinLimit': result.chargeable_within_limit,
        }
    )
    return 0


def read_input_option(args: argparse.Namespace) -> tuple[bool, Any]:
    """The input given with ``--input JSON`` or ``--input-file FILE|-``: ``(given, value)``."""
    if args.input is not None and args.input.startswith('@'):
        args.input_file, args.input = args.input[1:], None
    if args.input is not None:
        return True, parse_json_arg(args.input, '--input')
    if args.input_file is None:
        return False, None
    if args.input_file == '-':
        body = read_stdin_bytes()
        where = 'the input on stdin'
    else:
        try:
            with open(args.input_file, 'rb') as file:
                body = file.read()
        except OSError as exc:
            raise CliError(
                f'cannot read the input file {args.input_file}: {exc.strerror or exc}'
            ) from None
        where = f'the input file {args.input_file}'
    try:
        return True, json.loads(body.decode('utf-8-sig'))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CliError(f'{where} is not valid JSON ({exc}): fix it', EXIT_USAGE) from None


def metamorph(args: argparse.Namespace) -> int:
    """``actorkit metamorph TARGET [--input JSON]``."""
    config = load_config()
    _, run_input = read_input_option(args)
    if not config.is_at_home:
        _log(
            f'metamorph into {args.target} only works on the Apify platform '
            '(APIFY_IS_AT_HOME is not set): nothing was done'
        )
        return 0
    if not config.actor_run_id or not config.token:
        raise CliError('metamorph needs ACTOR_RUN_ID and APIFY_TOKEN, as the platform sets them')
    from actorkit.client import ApifyClient  # noqa: PLC0415

    with ApifyClient(str(config.token), api_url=config.api_base_url) as client:
        client.run(config.actor_run_id).metamorph(
            args.target, run_input, target_actor_build=args.build
        )
    _log(f'the run is turning into {args.target}: end the script now')
    return 0


def exit_command(args: argparse.Namespace) -> int:
    """``actorkit exit [--code N] [--message M]``."""
    from actorkit._status import platform_publisher, terminal_message  # noqa: PLC0415

    config = load_config()
    publish = platform_publisher(config)
    message = args.message if args.message is not None else terminal_message(args.code)
    if publish is None:
        if args.message is not None:
            _log(f'status: {message}')
    else:
        publish(message, True)
    code: int = args.code
    return code
