"""actorkit: write Apify Actors in plain, blocking Python.

``from actorkit import actor`` gives the default :class:`Actor`; ``actor.init()`` starts a
run and ``actor.exit()`` ends it (or use ``with actor:`` or ``@actor.main``).
"""

from typing import TYPE_CHECKING, Any

from actorkit._actor import Actor
from actorkit._config import Configuration, Secret
from actorkit._errors import (
    ActorkitError,
    ActorStateError,
    ApifyApiError,
    ApifyClientError,
    ApifyConnectionError,
    ApifyTimeoutError,
    ConfigurationError,
    InputError,
    InvalidStorageArgumentError,
    StorageError,
    StorageLimitError,
    StorageNotFoundError,
)
from actorkit._proxy import ProxyConfiguration, ProxyInfo
from actorkit._run_models import Run, Webhook, WebhookEventType
from actorkit._version import __version__
from actorkit.charging import ChargeResult, ChargingManager
from actorkit.events._models import (
    AbortingData,
    Event,
    EventAbortingData,
    EventData,
    EventExitData,
    EventMigratingData,
    EventPersistStateData,
    EventSystemInfoData,
    ExitData,
    MigratingData,
    PersistStateData,
    SystemInfoData,
)

if TYPE_CHECKING:
    from actorkit.client import ApifyClient
    from actorkit.storages import Request

actor = Actor()
"""The default Actor of the process."""


def __getattr__(name: str) -> Any:
    # The API client and the storage models load on first use: importing actorkit stays light
    # (and never imports requests).
    if name == 'ApifyClient':
        from actorkit.client import ApifyClient  # noqa: PLC0415

        globals()[name] = ApifyClient
        return ApifyClient
    if name == 'Request':
        from actorkit.storages import Request  # noqa: PLC0415

        globals()[name] = Request
        return Request
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = [
    'AbortingData',
    'Actor',
    'ActorStateError',
    'ActorkitError',
    'ApifyApiError',
    'ApifyClient',
    'ApifyClientError',
    'ApifyConnectionError',
    'ApifyTimeoutError',
    'ChargeResult',
    'ChargingManager',
    'Configuration',
    'ConfigurationError',
    'Event',
    'EventAbortingData',
    'EventData',
    'EventExitData',
    'EventMigratingData',
    'EventPersistStateData',
    'EventSystemInfoData',
    'ExitData',
    'InputError',
    'InvalidStorageArgumentError',
    'MigratingData',
    'PersistStateData',
    'ProxyConfiguration',
    'ProxyInfo',
    'Request',
    'Run',
    'Secret',
    'StorageError',
    'StorageLimitError',
    'StorageNotFoundError',
    'SystemInfoData',
    'Webhook',
    'WebhookEventType',
    '__version__',
    'actor',
]
