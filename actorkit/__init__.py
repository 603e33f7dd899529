"""actorkit: write Apify Actors in plain, blocking Python.

``from actorkit import actor`` gives the default :class:`Actor`; ``actor.init()`` starts a
run and ``actor.exit()`` ends it (or use ``with actor:`` or ``@actor.main``).
"""

from actorkit._actor import Actor
from actorkit._config import Configuration, Secret
from actorkit._errors import (
    ActorkitError,
    ActorStateError,
    ConfigurationError,
    InputError,
    InvalidStorageArgumentError,
    StorageError,
    StorageLimitError,
    StorageNotFoundError,
)
from actorkit._version import __version__
from actorkit.events._models import (
    AbortingData,
    Event,
    EventData,
    ExitData,
    MigratingData,
    PersistStateData,
    SystemInfoData,
)

actor = Actor()
"""The default Actor of the process."""

__all__ = [
    'AbortingData',
    'Actor',
    'ActorStateError',
    'ActorkitError',
    'Configuration',
    'ConfigurationError',
    'Event',
    'EventData',
    'ExitData',
    'InputError',
    'InvalidStorageArgumentError',
    'MigratingData',
    'PersistStateData',
    'Secret',
    'StorageError',
    'StorageLimitError',
    'StorageNotFoundError',
    'SystemInfoData',
    '__version__',
    'actor',
]
