"""What the commands share: errors, the configuration, storages and stdout."""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actorkit._config import Configuration
    from actorkit._storage_manager import StorageManager

EXIT_USAGE = 2
"""The exit code of a command used wrongly (argparse's)."""


class CliError(Exception):
    """An error the command reports as one line on stderr, ending with ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class Missing(CliError):  # noqa: N818 (it is an outcome, not a failure of the command)
    """The value asked for does not exist: exit 1 with nothing on stdout."""


def load_config(storage_dir: str | None = None) -> Configuration:
    """The configuration from the environment, with purge on start always off.

    Commands of a shell script must see what the earlier ones wrote, so none of them purges.
    """
    import attrs  # noqa: PLC0415

    from actorkit._config import Configuration  # noqa: PLC0415

    config = Configuration.from_env()
    changes: dict[str, Any] = {'purge_on_start': False}
    if storage_dir is not None:
        changes['local_storage_dir'] = storage_dir
    return attrs.evolve(config, **changes)


_opened: list[StorageManager] = []


def open_storages(config: Configuration) -> StorageManager:
    """A storage manager over the local folder, or the platform at home.

    It is closed (buffers flushed, locks and connections released) when the command ends.
    """
    from actorkit._storage_manager import StorageManager  # noqa: PLC0415

    manager = StorageManager(config)
    _opened.append(manager)
    return manager


def close_storages() -> None:
    """Close what :func:`open_storages` opened (at the end of the command)."""
    while _opened:
        _opened.pop().close()


def stdout_is_terminal() -> bool:
    """Whether stdout is a terminal (tables) rather than a pipe or a file (JSON)."""
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def write_bytes(data: bytes) -> None:
    """Write raw bytes to stdout."""
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def write_json(value: Any, *, indent: int | None = None) -> None:
    """Write ``value`` as JSON and a newline to stdout."""
    text = json.dumps(value, ensure_ascii=False, indent=indent, default=_json_default)
    write_bytes(text.encode('utf-8') + b'\n')


def write_value(value: Any) -> None:
    """Write a stored value: bytes as they are, text as UTF-8, anything else as JSON."""
    if isinstance(value, bytes | bytearray):
        write_bytes(bytes(value))
    elif isinstance(value, str):
        write_bytes(value.encode('utf-8'))
    else:
        write_json(value)


def _json_default(value: Any) -> Any:
    from datetime import datetime  # noqa: PLC0415
    from decimal import Decimal  # noqa: PLC0415

    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode('utf-8', 'replace')
    raise TypeError(f'{type(value).__name__} is not JSON serializable')


def plural(count: int, word: str) -> str:
    """``1 item``, ``2 items``, ``1,000 items``."""
    return f'{count:,} {word}' + ('' if count == 1 else 's')


def parse_json_arg(text: str, what: str) -> Any:
    """Parse JSON given on the command line, or fail with a usage error naming ``what``."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f'{what} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}): '
            'quote it for the shell, e.g. \'{"url": "https://example.com"}\'',
            EXIT_USAGE,
        ) from None


def read_stdin_bytes() -> bytes:
    """All of stdin, as bytes."""
    return sys.stdin.buffer.read()


def where(config: Configuration) -> str:
    """Where the storages are, for messages."""
    if config.is_at_home:
        return 'the Apify platform'
    return os.path.abspath(config.local_storage_dir)
