"""Helpers for testing Actors without the platform.

``emit`` injects an event exactly as the platform's websocket would, so the same rules apply
(MIGRATING is followed by one PERSIST_STATE with ``is_migrating=True`` and stops the periodic
timer; ABORTING triggers PERSIST_STATE). ``wait_for_listeners`` waits until the listeners it
scheduled have finished, so tests never need to sleep::

    from actorkit import Event, actor
    from actorkit.testing import emit, wait_for_listeners

    def test_state_is_saved_on_migration():
        with actor:
            ...
            emit(Event.MIGRATING)
            wait_for_listeners()
            assert actor.get_value('STATE') == ...

``FakePlatform`` is a local Apify platform (the API v2 over HTTP on 127.0.0.1, and each run's
events websocket) to run Actors and API clients against; it is imported on first use, so
``import actorkit.testing`` stays light. With pytest, the ``fake_platform`` fixture gives a
started one. ``platform.send_event(run_id, 'migrating', {'timeRemainingSecs': 30})`` sends a
platform event to the run's process over the real websocket, after
``platform.wait_for_events_connection(run_id)``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from actorkit._actor import Actor
from actorkit._errors import ActorStateError
from actorkit._threads import Deadline
from actorkit.events._models import (
    PAYLOAD_TYPES,
    AbortingData,
    Event,
    EventData,
    MigratingData,
    PersistStateData,
    SystemInfoData,
)

if TYPE_CHECKING:
    from actorkit.testing._fake_platform import FakePlatform

__all__ = ['FakePlatform', 'default_payload', 'emit', 'wait_for_listeners']


def __getattr__(name: str) -> Any:
    if name == 'FakePlatform':
        from actorkit.testing._fake_platform import FakePlatform  # noqa: PLC0415 (kept lazy)

        return FakePlatform
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def default_payload(event: Event) -> EventData:
    """Return a plausible payload for ``event`` (what ``emit`` uses when given none)."""
    if event is Event.PERSIST_STATE:
        return PersistStateData(is_migrating=False)
    if event is Event.MIGRATING:
        return MigratingData()
    if event is Event.ABORTING:
        return AbortingData()
    if event is Event.SYSTEM_INFO:
        return SystemInfoData(
            created_at=datetime.now(timezone.utc),
            cpu_current_usage=0.0,
            mem_current_bytes=0,
            is_cpu_overloaded=False,
        )
    raise ValueError(
        f'{event.name} is emitted by actor.exit() itself; call exit() instead of emitting it'
    )


def _resolve(actor: Actor | None) -> Actor:
    if actor is None:
        from actorkit import actor as default_actor  # noqa: PLC0415

        return default_actor
    return actor


def emit(event: Event | str, data: EventData | None = None, *, actor: Actor | None = None) -> int:
    """Deliver an event to a running Actor as the platform would.

    Args:
        event: The event (``Event.EXIT`` is refused: call ``exit()``).
        data: Its payload; a default one when ``None``.
        actor: The Actor; the default ``actorkit.actor`` when ``None``.

    Returns:
        How many listener calls were scheduled (the follow-up PERSIST_STATE included).

    Raises:
        ActorStateError: The Actor is not running.
        TypeError: ``data`` is not the payload type of ``event``.
    """
    target = _resolve(actor)
    parsed = Event.parse(event)
    if not target.is_running:
        raise ActorStateError(f'cannot emit {parsed.name}: the Actor is not running; init() it')
    payload = default_payload(parsed) if data is None else data
    if not isinstance(payload, PAYLOAD_TYPES[parsed]):
        raise TypeError(
            f'{parsed.name} carries {PAYLOAD_TYPES[parsed].__name__}, not {type(payload).__name__}'
        )
    return target._event_manager.deliver(parsed, payload)


def wait_for_listeners(*, actor: Actor | None = None, timeout: float = 10.0) -> None:
    """Wait until every listener call scheduled so far has finished.

    Raises:
        TimeoutError: Some listener was still running after ``timeout`` seconds; the message
            names them.
    """
    pending = _resolve(actor)._event_manager.wait_idle(Deadline(timeout))
    if pending:
        raise TimeoutError(f'event listeners still running after {timeout} s: {", ".join(pending)}')
