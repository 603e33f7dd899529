"""What every public storage class shares: its backend client, id and name."""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar


class _Metadata(Protocol):
    @property
    def name(self) -> str | None: ...


class _Client(Protocol):
    @property
    def id(self) -> str: ...

    def get_metadata(self) -> _Metadata: ...


ClientT = TypeVar('ClientT', bound=_Client)


class Storage(Generic[ClientT]):
    """Base of KeyValueStore, Dataset and RequestQueue: a thin layer over a backend client."""

    def __init__(self, client: ClientT) -> None:
        self._client = client
        self._name_cache: tuple[str | None] | None = None

    @property
    def client(self) -> ClientT:
        """The backend client under this storage (for actorkit's own modules)."""
        return self._client

    @property
    def id(self) -> str:
        """The storage's id."""
        return self._client.id

    @property
    def name(self) -> str | None:
        """The storage's global name, or ``None`` for the default and alias storages."""
        if self._name_cache is None:
            self._name_cache = (self._client.get_metadata().name,)
        return self._name_cache[0]

    def __repr__(self) -> str:
        return f'<{type(self).__name__} id={self.id!r} name={self.name!r}>'
