"""The events an Actor receives, and their payloads."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs


class Event(str, enum.Enum):
    """The events an Actor can listen to with :meth:`Actor.on`.

    The values are the names the platform uses on its events websocket.
    """

    PERSIST_STATE = 'persistState'
    """Save your state now: emitted periodically, on migration, on abort and at exit."""
    SYSTEM_INFO = 'systemInfo'
    """Resource usage of the run: from the platform, or sampled locally with psutil."""
    MIGRATING = 'migrating'
    """The run is about to move to another server; it will be restarted there."""
    ABORTING = 'aborting'
    """The run is being aborted gracefully; it is killed about 30 s later."""
    EXIT = 'exit'
    """The Actor is exiting (emitted by :meth:`Actor.exit`)."""

    @classmethod
    def parse(cls, value: Event | str) -> Event:
        """Return the event for an :class:`Event` or its name or value (``'persistState'``).

        Raises:
            ValueError: The value names no event.
        """
        if isinstance(value, Event):
            return value
        if isinstance(value, str):
            for event in cls:
                if value in (event.value, event.name):
                    return event
        known = ', '.join(f'Event.{event.name}' for event in cls)
        raise ValueError(f'{value!r} is not an actorkit event; use one of {known}')


@attrs.frozen(kw_only=True)
class PersistStateData:
    """Payload of :attr:`Event.PERSIST_STATE`."""

    is_migrating: bool = False
    """Whether the state is persisted because the run is migrating to another server."""


@attrs.frozen(kw_only=True)
class SystemInfoData:
    """Payload of :attr:`Event.SYSTEM_INFO`."""

    created_at: datetime
    """When the sample was taken (timezone-aware)."""
    cpu_current_usage: float
    """CPU use as a ratio of the CPUs available to the run (0.0-1.0, may exceed 1 briefly)."""
    mem_current_bytes: int
    """Memory used by the run (this process and its children), in bytes."""
    is_cpu_overloaded: bool
    """Whether CPU use is above ``max_used_cpu_ratio`` (platform: as the platform judges it)."""
    cpu_avg_usage: float | None = None
    """Average CPU use ratio over the platform's sampling window, when the platform sends it."""
    cpu_max_usage: float | None = None
    """Peak CPU use ratio over the platform's sampling window, when the platform sends it."""
    mem_avg_bytes: int | None = None
    """Average memory use in bytes, when the platform sends it."""
    mem_max_bytes: int | None = None
    """Memory limit of the run in bytes, when the platform sends it."""


@attrs.frozen(kw_only=True)
class MigratingData:
    """Payload of :attr:`Event.MIGRATING`."""

    time_remaining: timedelta | None = None
    """How long until the run is moved, when the platform says."""


@attrs.frozen(kw_only=True)
class AbortingData:
    """Payload of :attr:`Event.ABORTING` (the platform sends no details)."""


@attrs.frozen(kw_only=True)
class ExitData:
    """Payload of :attr:`Event.EXIT`."""

    exit_code: int
    """The exit code the Actor is exiting with."""
    status_message: str | None
    """The terminal status message, if one was given."""
    timeout: timedelta
    """How long listeners have before the Actor stops waiting for them."""


EventData = PersistStateData | SystemInfoData | MigratingData | AbortingData | ExitData
"""Any event payload."""

PAYLOAD_TYPES: dict[Event, type[EventData]] = {
    Event.PERSIST_STATE: PersistStateData,
    Event.SYSTEM_INFO: SystemInfoData,
    Event.MIGRATING: MigratingData,
    Event.ABORTING: AbortingData,
    Event.EXIT: ExitData,
}
"""The payload class of each event."""

# The official SDK's names (crawlee's), so code written for it imports what it expects.
EventPersistStateData = PersistStateData
EventSystemInfoData = SystemInfoData
EventMigratingData = MigratingData
EventAbortingData = AbortingData
EventExitData = ExitData
