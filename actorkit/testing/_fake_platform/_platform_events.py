"""The events side of :class:`~actorkit.testing.FakePlatform`: drive a run's events websocket.

The events websocket server (``_events.py``) runs beside the HTTP server: each run's
environment has its ``ACTOR_EVENTS_WEBSOCKET_URL``; tests send events with
:meth:`~actorkit.testing.FakePlatform.send_event` and break connections with
:meth:`~actorkit.testing.FakePlatform.drop_events_connection`. The abort endpoint
calls ``_on_abort`` with the state lock held (a graceful abort sends ``aborting`` and
``persistState`` from there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actorkit.testing._fake_platform._events import EventsConnection, EventsServer

if TYPE_CHECKING:
    from actorkit.testing._fake_platform._run_models import Run


class PlatformEventControls:
    """The runs' events websocket as a test drives it: FakePlatform inherits them."""

    if TYPE_CHECKING:  # provided by FakePlatform
        _events: EventsServer | None

        def _find_run(self, run_id: str) -> Run: ...

    def _events_server(self) -> EventsServer:
        if self._events is None:
            raise RuntimeError('FakePlatform is not running: call start() or use `with`')
        return self._events

    def send_event(self, run_id: str, name: str, data: Any = None) -> int:
        """Send an event on the run's events websocket, as the platform does.

        Example: ``platform.send_event(run_id, 'migrating', {'timeRemainingSecs': 30})``.

        Args:
            run_id: The run.
            name: The event name (``persistState``, ``systemInfo``, ``migrating``,
                ``aborting``, ``exit`` or any other).
            data: The event's ``data`` (JSON-able); left out of the frame when ``None``.

        Returns:
            How many open connections of the run it was sent to (0 if none is open).

        Raises:
            LookupError: There is no such run.
        """
        self._find_run(run_id)
        return self._events_server().send(run_id, name, data)

    def drop_events_connection(self, run_id: str, close_code: int | None = None) -> int:
        """Close the run's events connections, as a network failure or the platform would.

        Args:
            run_id: The run.
            close_code: Send a close frame with this code (1008: the platform refuses the run
                for good); ``None`` drops the TCP connection without one.

        Returns:
            How many connections were closed.
        """
        self._find_run(run_id)
        return self._events_server().drop(run_id, close_code)

    def wait_for_events_connection(self, run_id: str, timeout: float = 10.0) -> None:
        """Wait until the run has an open events connection (after a drop: a new one).

        Raises:
            TimeoutError: None was opened within ``timeout`` seconds.
            LookupError: There is no such run.
        """
        self._find_run(run_id)
        self._events_server().wait_for_connection(run_id, timeout)

    def events_connections(self, run_id: str) -> list[EventsConnection]:
        """The run's open events connections, with their ping and event counts."""
        self._find_run(run_id)
        return self._events_server().connections(run_id)

    def stall_events_connection(self, run_id: str) -> int:
        """Make the run's events connections silent (no pings, pongs or events): half-open.

        A client whose pings go unanswered should drop such a connection and reconnect.

        Returns:
            How many connections were stalled.
        """
        self._find_run(run_id)
        return self._events_server().stall(run_id)

    # ------------------------------------------------------------------ part 2 seams

    def _on_abort(self, run: Run, *, gracefully: bool) -> None:
        """A run was aborted: a graceful abort sends ``aborting`` and ``persistState``."""
        if gracefully and self._events is not None:
            self._events.send(run.id, 'aborting')
            self._events.send(run.id, 'persistState', {'isMigrating': False})
