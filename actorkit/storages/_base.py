"""What every public storage class shares: its backend client, id and name, and its run."""

from __future__ import annotations

from typing import Any, ClassVar, Generic, Protocol, TypeVar

from actorkit._errors import ActorStateError, InvalidStorageArgumentError


class _Metadata(Protocol):
    @property
    def name(self) -> str | None: ...


class _Client(Protocol):
    @property
    def id(self) -> str: ...

    def get_metadata(self) -> _Metadata: ...


ClientT = TypeVar('ClientT', bound=_Client)
StorageT = TypeVar('StorageT', bound='Storage[Any]')

_KIND_WORDS = {
    'KeyValueStore': 'key-value store',
    'Dataset': 'dataset',
    'RequestQueue': 'request queue',
}


def check_official_open_args(configuration: Any, storage_client: Any) -> None:
    """Refuse the official ``open()`` arguments actorkit cannot honour when they are given.

    ``configuration`` and ``storage_client`` choose crawlee's configuration and storage client;
    actorkit opens storages through the running Actor, whose configuration decides.

    Raises:
        InvalidStorageArgumentError: One of them is not ``None``.
    """
    for label, value in (('configuration', configuration), ('storage_client', storage_client)):
        if value is not None:
            raise InvalidStorageArgumentError(
                f'{label}= is not supported: actorkit opens storages through the running '
                f'Actor and its configuration (APIFY_* environment variables); leave {label} '
                f'out, or pass force_cloud=True for a platform storage'
            )


def running_actor() -> Any:
    """Return the Actor that ``Dataset.open()`` and its twins open storages through.

    The default ``actorkit.actor`` when it is running; else the one running Actor of this process.

    Raises:
        ActorStateError: No Actor is running, or several are and none is the default.
    """
    from actorkit import _process, actor  # noqa: PLC0415 (the package imports this module)

    if actor.is_running:
        return actor
    running = [one for one in _process.running_actors() if getattr(one, 'is_running', False)]
    if len(running) == 1:
        return running[0]
    if not running:
        raise ActorStateError(
            'no Actor is running: call actor.init() (or use `with actor:`) before opening storages'
        )
    raise ActorStateError(
        f'{len(running)} Actors are running and none is actorkit.actor: open the storage '
        'through the one you mean, e.g. my_actor.open_dataset()'
    )


class Storage(Generic[ClientT]):
    """Base of KeyValueStore, Dataset and RequestQueue: a thin layer over a backend client.

    Once the run that opened a storage ends (``actor.exit()``), every call on it raises
    :class:`~actorkit.ActorStateError`; ``id``, ``name`` and ``repr`` keep working.
    """

    _OPEN_METHOD: ClassVar[str]
    """The Actor method that opens a storage of this class (``open_dataset``...)."""

    def __init__(self, client: ClientT) -> None:
        self._client = client
        self._name_cache: tuple[str | None] | None = None
        self._ended = False

    @classmethod
    def open(
        cls: type[StorageT],
        *,
        id: str | None = None,
        name: str | None = None,
        alias: str | None = None,
        configuration: Any = None,
        storage_client: Any = None,
        force_cloud: bool = False,
    ) -> StorageT:
        """Open a storage of this class through the running Actor, as the official ``open()`` does.

        The same as ``actor.open_dataset(...)``, ``actor.open_key_value_store(...)`` or
        ``actor.open_request_queue(...)`` for this class, and the same object.

        Args:
            id: The id of an existing storage.
            name: A global named storage, created if missing.
            alias: An unnamed storage scoped to this run, created if missing.
            configuration: Accepted for the official signature; must be ``None``.
            storage_client: Accepted for the official signature; must be ``None``.
            force_cloud: Open the storage on the Apify platform even when running locally.

        Raises:
            ActorStateError: No Actor is running.
            InvalidStorageArgumentError: ``configuration`` or ``storage_client`` is given.
        """
        check_official_open_args(configuration, storage_client)
        opener = getattr(running_actor(), cls._OPEN_METHOD)
        storage: StorageT = opener(id=id, name=name, alias=alias, force_cloud=force_cloud)
        return storage

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
            self._name_cache = (self._live().get_metadata().name,)
        return self._name_cache[0]

    def end_run(self) -> None:
        """Mark the run that opened this storage as ended: later calls raise (actorkit's own)."""
        if self._name_cache is None:
            try:
                self._name_cache = (self._client.get_metadata().name,)
            except Exception:  # only a nicer repr is at stake
                self._name_cache = (None,)
        self._ended = True

    def _live(self) -> ClientT:
        """Return the client, or raise if the run that opened this storage has ended."""
        if self._ended:
            raise ActorStateError(
                f'{self._describe()} belongs to an Actor run that has ended (actor.exit() was '
                f'called): storages cannot be used after exit; call actor.init() and open it '
                f'again'
            )
        return self._client

    def _describe(self) -> str:
        kind = _KIND_WORDS.get(type(self).__name__, 'storage')
        name = self._name_cache[0] if self._name_cache is not None else None
        label = f'named {name!r}' if name else f'{self.id!r}'
        return f'the {kind} {label}'

    def __repr__(self) -> str:
        name = self._name_cache[0] if self._name_cache is not None else self.name
        return f'<{type(self).__name__} id={self.id!r} name={name!r}>'

    def _repr_html_(self) -> str:
        """Jupyter's view: name, counts and (for a dataset) the first items as a table."""
        from actorkit import _html  # noqa: PLC0415 (only notebooks need it)

        return _html.storage_html(self)
