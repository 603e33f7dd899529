"""The event methods of the Actor: adding and removing listeners, and its event manager."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from actorkit.events._manager import EventManager
from actorkit.events._models import Event

_Callback = TypeVar('_Callback', bound=Callable[..., Any])


def _event_argument(event: Event | str | None, event_name: Event | str | None) -> Event:
    if event is not None and event_name is not None:
        raise TypeError('pass the event once: as event or as event_name')
    chosen = event if event is not None else event_name
    if chosen is None:
        raise TypeError('pass the event, e.g. Event.PERSIST_STATE')
    return Event.parse(chosen)


class ActorEventMethods:
    """``on``, ``off`` and ``event_manager``: :class:`~actorkit.Actor` inherits them."""

    _events: EventManager

    def on(
        self,
        event: Event | str | None = None,
        listener: _Callback | None = None,
        *,
        event_name: Event | str | None = None,
    ) -> _Callback:
        """Call ``listener`` on a worker thread each time ``event`` happens.

        The listener takes no argument or one (the event's payload). It never runs on the
        thread that reads events; whatever it raises is logged and stops no later event.
        Calls of one listener never overlap: an event arriving while it is still busy waits
        for it (several such events are merged into one call with the newest payload).
        Registering before ``init()`` works.

        Args:
            event: The event, e.g. ``Event.PERSIST_STATE`` or ``'persistState'``.
            listener: The function (or coroutine function) to call.
            event_name: The official SDK's name of ``event``.

        Returns:
            ``listener`` itself, so ``on`` works as a decorator factory's target.
        """
        parsed = _event_argument(event, event_name)
        if listener is None:
            raise TypeError(f'actor.on({parsed.name}) needs a listener: pass listener=function')
        self._events.dispatcher.on(parsed, listener)
        return listener

    def off(
        self,
        event: Event | str | None = None,
        listener: Callable[..., Any] | None = None,
        *,
        event_name: Event | str | None = None,
    ) -> None:
        """Remove one listener of ``event``, or all of them when ``listener`` is ``None``.

        Args:
            event: The event.
            listener: The listener to remove; every listener of ``event`` when ``None``.
            event_name: The official SDK's name of ``event``.
        """
        self._events.dispatcher.off(_event_argument(event, event_name), listener)

    @property
    def event_manager(self) -> EventManager:
        """The Actor's event manager, with the official SDK's ``on``, ``off`` and ``emit``."""
        return self._events

    @property
    def _event_manager(self) -> EventManager:
        return self._events
