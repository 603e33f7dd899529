"""Events of an Actor run: their models, the manager that delivers them, and their sources.

Locally a timer emits PERSIST_STATE and a psutil sampler SYSTEM_INFO; on the platform the
events websocket feeds the same manager. Listeners always run on ``actorkit-callback-*``
worker threads, never on a source's thread.
"""

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

__all__ = [
    'AbortingData',
    'Event',
    'EventAbortingData',
    'EventData',
    'EventExitData',
    'EventMigratingData',
    'EventPersistStateData',
    'EventSystemInfoData',
    'ExitData',
    'MigratingData',
    'PersistStateData',
    'SystemInfoData',
]
