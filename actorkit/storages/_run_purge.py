"""Purge on start, once per run, shared by every process of the run.

The official SDK purges the unnamed (default and alias) storages the first time a process opens
them, so a worker process started by the Actor would wipe what the Actor already wrote. actorkit
scopes the purge to the run instead:

- The first ``init()`` of a run puts a run token in ``os.environ`` (:data:`RUN_TOKEN_ENV`).
  Processes the run starts inherit it: ``subprocess`` with the inherited environment,
  ``multiprocessing`` (fork and spawn), ``os.fork``. A process that finds a token joins that run.
- ``<storage root>/.actorkit-purged.json`` records which storages the run holding the token has
  purged. Whichever process of the run opens an unnamed storage first purges it (under a
  cross-process lock) and records it; the others find it recorded and leave it alone.
- A process started outside the run has no token (or another one), so it purges, as the
  official SDK does. The run that set the token removes it from ``os.environ`` when it ends, so
  a later run in the same process purges again.

The record and its lock file sit in the storage root, beside the storage folders, where the
official tools never look.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any, Protocol

_log = logging.getLogger('actorkit.storage')

RUN_TOKEN_ENV = 'ACTORKIT_RUN_TOKEN'  # noqa: S105 (the variable's name, not a secret)
"""The environment variable that carries the run token to the processes of a run."""

RECORD_FILE = '.actorkit-purged.json'
"""The file in the storage root that lists the storages the current run has purged."""

LOCK_FILE = '.actorkit-purged.lock'
"""The lock file that serializes purges across the processes of a run."""


class _Purgeable(Protocol):
    @property
    def id(self) -> str: ...

    def purge(self) -> None: ...


class RunPurge:
    """Purges each unnamed local storage once per run, whichever process opens it first."""

    def __init__(self, root: Path, environ: MutableMapping[str, str] | None = None) -> None:
        """Join the run named in ``environ``, or start one and name it there.

        Args:
            root: The local storage folder.
            environ: The environment to read and set the token in (``os.environ``).
        """
        self._root = Path(root)
        self._environ = os.environ if environ is None else environ
        inherited = self._environ.get(RUN_TOKEN_ENV)
        self._owns_token = not inherited
        if inherited:
            self._token = inherited
        else:
            self._token = f'{os.getpid()}-{os.urandom(8).hex()}'
            self._environ[RUN_TOKEN_ENV] = self._token
        self._lock: Any = None

    @property
    def token(self) -> str:
        """The run token shared by the processes of this run."""
        return self._token

    @property
    def inherited(self) -> bool:
        """Whether this process joined a run started by another process."""
        return not self._owns_token

    def purge_once(self, kind: str, client: _Purgeable) -> bool:
        """Purge ``client`` unless a process of this run already did.

        Args:
            kind: The storage kind's folder (``datasets``, ``key_value_stores``...).
            client: The backend client of an unnamed storage.

        Returns:
            Whether this call purged it.
        """
        from actorkit.storages._local._fs import StorageLock, atomic_write  # noqa: PLC0415
        from actorkit.storages._serialization import dump_json  # noqa: PLC0415

        if self._lock is None:
            self._lock = StorageLock(self._root / LOCK_FILE)
        entry = f'{kind}/{client.id}'
        with self._lock:
            record = self._read()
            purged = record.get('purged') if record.get('run') == self._token else None
            done = purged if isinstance(purged, list) else []
            if entry in done:
                return False
            client.purge()
            self._root.mkdir(parents=True, exist_ok=True)
            atomic_write(
                self._root / RECORD_FILE, dump_json({'run': self._token, 'purged': [*done, entry]})
            )
        return True

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads((self._root / RECORD_FILE).read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            _log.warning('%s is unreadable (%s); starting it afresh', self._root / RECORD_FILE, exc)
            return {}
        return data if isinstance(data, dict) else {}

    def close(self) -> None:
        """End this process's part in the run: the run that set the token removes it."""
        if self._owns_token and self._environ.get(RUN_TOKEN_ENV) == self._token:
            del self._environ[RUN_TOKEN_ENV]
        if self._lock is not None:
            self._lock.close()
