"""Open a local request queue folder's client directly, as the local backend does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from actorkit.storages._local._fs import StorageLock, read_storage_metadata
from actorkit.storages._local._request_queue import LocalRequestQueueClient, metadata_from_file


def queue_client(directory: Path, **kwargs: Any) -> LocalRequestQueueClient:
    """Return a client of the queue in ``directory`` (its metadata exists), with its own lock.

    ``kwargs`` go to the client (``lock_expiry``, ``on_drop``). The lock file is where the
    backend keeps it, beside the folder, so these clients and the backend's share the lock.
    """
    data = read_storage_metadata(directory / '__metadata__.json')
    assert data is not None, f'{directory} has no __metadata__.json'
    return LocalRequestQueueClient(
        directory=directory,
        lock=StorageLock(directory.parent / f'.{directory.name}.lock'),
        metadata=metadata_from_file(data, name=None),
        **kwargs,
    )
