"""actorkit: write Apify Actors in plain, blocking Python.

``from actorkit import actor`` gives the default :class:`Actor`; ``actor.init()`` starts a
run and ``actor.exit()`` ends it (or use ``with actor:`` or ``@actor.main``).
"""

import importlib
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
from actorkit._version import __version__
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
    from actorkit._proxy import ProxyConfiguration, ProxyInfo
    from actorkit._run_models import Run, Webhook, WebhookEventType
    from actorkit.charging import ChargeResult, ChargingManager
    from actorkit.client import ApifyClient
    from actorkit.storages import Request

actor = Actor()
"""The default Actor of the process."""


_LAZY = {
    'ApifyClient': 'actorkit.client',
    'ChargeResult': 'actorkit.charging',
    'ChargingManager': 'actorkit.charging',
    'ProxyConfiguration': 'actorkit._proxy',
    'ProxyInfo': 'actorkit._proxy',
    'Request': 'actorkit.storages',
    'Run': 'actorkit._run_models',
    'Webhook': 'actorkit._run_models',
    'WebhookEventType': 'actorkit._run_models',
}
"""Names loaded on first use, so that importing actorkit stays light (and never imports
requests): the API client, the storage, run, proxy and charging models."""


def __getattr__(name: str) -> Any:
    home = _LAZY.get(name)
    if home is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


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
