"""The platform's events websocket: the event source of a run at home.

:meth:`PlatformEventSource.connect` opens the first connection (``actor.init()`` calls it and
fails when it fails); :meth:`PlatformEventSource.start` then starts the ``actorkit-events-ws``
reader thread, which turns each text frame ``{"name", "createdAt", "data"}`` into an event
and hands it to the :class:`~actorkit.events._manager.EventManager` (listeners run on the
manager's workers, never on the reader). The reader also sends keep-alive pings and, after a
drop, reconnects with jittered exponential backoff, except after the close codes that mean
the platform will never take the connection (1002, 1003, 1007, 1008, 1010).

websocket-client is imported only here, and only when a run at home connects.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import socket
import struct
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from actorkit._errors import ActorkitError
from actorkit._threads import start_thread
from actorkit.events._models import (
    AbortingData,
    Event,
    EventData,
    ExitData,
    MigratingData,
    PersistStateData,
    SystemInfoData,
)

if TYPE_CHECKING:
    import websocket

_log = logging.getLogger('actorkit.events')

Deliver = Callable[[Event, EventData], object]

NO_RECONNECT_CLOSE_CODES = frozenset({1002, 1003, 1007, 1008, 1010})
"""Close codes after which the platform will not take the connection again (1008: unknown run
or too many connections of one run; the others: protocol, data or extension failures)."""

CONNECT_TIMEOUT_SECS = 10.0
"""How long one connection attempt (TCP and handshake) may take."""

BACKOFF_FIRST_SECS = 0.25
"""The first retry after a drop comes within this many seconds (jittered down to half)."""

BACKOFF_MAX_SECS = 30.0
"""Retries back off exponentially up to this many seconds (jittered down to half)."""

HEALTHY_CONNECTION_SECS = 5.0
"""A connection that stayed open this long resets the backoff: its drop retries at once."""

_MAX_LOGGED_FRAME = 200


def backoff_delay(retry: int) -> float:
    """Seconds to wait before reconnect attempt ``retry`` (0 first): doubling, capped, jittered.

    Each delay is drawn between half and all of ``min(BACKOFF_MAX_SECS, BACKOFF_FIRST_SECS *
    2**retry)``, so processes dropped together do not reconnect in step.
    """
    ceiling: float = min(BACKOFF_MAX_SECS, BACKOFF_FIRST_SECS * 2.0 ** min(retry, 30))
    return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not security)


class EventsConnectionError(ActorkitError, RuntimeError):
    """The platform's events websocket could not be reached when the run started."""


def redact_url(url: str) -> str:
    """The URL without a password or query values (a token may be in either)."""
    try:
        parts = urlsplit(url)
        netloc = parts.hostname or ''
        if parts.port is not None:
            netloc = f'{netloc}:{parts.port}'
        if parts.username:
            netloc = f'{parts.username}:***@{netloc}'
        query = urlencode([(key, '***') for key, _ in parse_qsl(parts.query, True)], safe='*')
        return urlunsplit((parts.scheme, netloc, parts.path, query, ''))
    except ValueError:
        return '<an unparsable URL>'


def _secrets_of(url: str) -> list[str]:
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    found = [value for _, value in parse_qsl(parts.query, True) if value]
    if parts.password:
        found.append(parts.password)
    return found


def _clean(text: str, url: str) -> str:
    """``text`` with every secret of ``url`` (and the raw URL itself) masked."""
    text = text.replace(url, redact_url(url))
    for secret in _secrets_of(url):
        text = text.replace(secret, '***')
    return text


# -- frames -> events ---------------------------------------------------------------------------


class MalformedFrameError(ValueError):
    """A frame that is not an event the platform sends."""


def _number(data: dict[str, Any], key: str, *, required: bool) -> float | None:
    value = data.get(key)
    if value is None:
        if required:
            raise MalformedFrameError(f'data.{key} is missing')
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedFrameError(f'data.{key} is {value!r}, not a number')
    return float(value)


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace('Z', '+00:00'))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def _system_info(
    data: dict[str, Any], created_at: datetime, dedicated_cpus: float
) -> SystemInfoData:
    # The platform's CPU figures are percentages summed over the CPUs.
    def ratio(key: str, *, required: bool) -> float | None:
        percent = _number(data, key, required=required)
        return None if percent is None else percent / 100 / dedicated_cpus

    def bytes_(key: str, *, required: bool) -> int | None:
        value = _number(data, key, required=required)
        return None if value is None else int(value)

    overloaded = data.get('isCpuOverloaded', False)
    if not isinstance(overloaded, bool):
        raise MalformedFrameError(f'data.isCpuOverloaded is {overloaded!r}, not a boolean')
    return SystemInfoData(
        created_at=_timestamp(data.get('createdAt')) or created_at,
        cpu_current_usage=ratio('cpuCurrentUsage', required=True) or 0.0,
        mem_current_bytes=bytes_('memCurrentBytes', required=True) or 0,
        is_cpu_overloaded=overloaded,
        cpu_avg_usage=ratio('cpuAvgUsage', required=False),
        cpu_max_usage=ratio('cpuMaxUsage', required=False),
        mem_avg_bytes=bytes_('memAvgBytes', required=False),
        mem_max_bytes=bytes_('memMaxBytes', required=False),
    )


def parse_frame(
    text: str | bytes, *, dedicated_cpus: float, exit_timeout: float
) -> tuple[Event, EventData] | None:
    """Turn one frame of the events websocket into an event and its payload.

    Args:
        text: The frame's text.
        dedicated_cpus: ``APIFY_DEDICATED_CPUS``, which the CPU percentages are divided by.
        exit_timeout: The listeners' timeout put in the payload of an ``exit`` frame.

    Returns:
        The event and payload; ``None`` for a frame to ignore (``cpuInfo``, unknown names).

    Raises:
        MalformedFrameError: The frame is not a JSON event of the shape the platform sends.
    """
    try:
        frame = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedFrameError(f'not JSON ({exc})') from None
    if not isinstance(frame, dict) or not isinstance(frame.get('name'), str):
        raise MalformedFrameError('not an object with a "name" string')
    name: str = frame['name']
    data = frame.get('data')
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise MalformedFrameError(f'"data" of {name} is {type(data).__name__}, not an object')
    created_at = _timestamp(frame.get('createdAt')) or datetime.now(timezone.utc)
    if name == 'persistState':
        migrating = data.get('isMigrating', False)
        if not isinstance(migrating, bool):
            raise MalformedFrameError(f'data.isMigrating is {migrating!r}, not a boolean')
        return Event.PERSIST_STATE, PersistStateData(is_migrating=migrating)
    if name == 'systemInfo':
        return Event.SYSTEM_INFO, _system_info(data, created_at, dedicated_cpus)
    if name == 'migrating':
        remaining = _number(data, 'timeRemainingSecs', required=False)
        delta = None if remaining is None else timedelta(seconds=remaining)
        return Event.MIGRATING, MigratingData(time_remaining=delta)
    if name == 'aborting':
        return Event.ABORTING, AbortingData()
    if name == 'exit':
        code = data.get('exitCode', 0)
        message = data.get('statusMessage')
        if isinstance(code, bool) or not isinstance(code, int):
            raise MalformedFrameError(f'data.exitCode is {code!r}, not an integer')
        return Event.EXIT, ExitData(
            exit_code=code,
            status_message=message if isinstance(message, str) else None,
            timeout=timedelta(seconds=exit_timeout),
        )
    if name == 'cpuInfo':
        _log.debug('ignored the deprecated cpuInfo event of the platform')
    else:
        _log.debug('ignored an unknown platform event %r', name)
    return None


# -- the source ---------------------------------------------------------------------------------


class _ClosedError(Exception):
    """The connection closed; ``code`` is the close code, or ``None`` for a drop."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class PlatformEventSource:
    """Reads the platform's events websocket on ``actorkit-events-ws`` (at home only).

    Args:
        url: ``ACTOR_EVENTS_WEBSOCKET_URL``.
        dedicated_cpus: ``APIFY_DEDICATED_CPUS`` (1 when unknown).
        ping_interval: Seconds between keep-alive pings.
        ping_timeout: Seconds a ping may wait for an answer before the connection counts as
            dropped (any frame from the platform counts as an answer).
        exit_timeout: The listeners' timeout given in the payload of a platform ``exit``.
        connect_timeout: Seconds one connection attempt may take.
    """

    def __init__(
        self,
        url: str,
        *,
        dedicated_cpus: float = 1.0,
        ping_interval: float = 10.0,
        ping_timeout: float = 20.0,
        exit_timeout: float = 5.0,
        connect_timeout: float = CONNECT_TIMEOUT_SECS,
    ) -> None:
        self._url = url
        self._dedicated_cpus = dedicated_cpus
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._exit_timeout = exit_timeout
        self._connect_timeout = connect_timeout
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._ws: websocket.WebSocket | None = None
        self._thread: threading.Thread | None = None
        self._retries = 0
        self.connections = 0
        """How many connections were opened (the first one and each reconnect)."""

    def __repr__(self) -> str:
        return f'<PlatformEventSource {redact_url(self._url)}>'

    # -- the EventSource protocol ------------------------------------------------------------

    def connect(self) -> None:
        """Open the first connection (before :meth:`start`).

        Raises:
            EventsConnectionError: It failed; the message names the URL without its secrets.
        """
        try:
            ws = self._open()
        except Exception as exc:
            reason = _clean(f'{type(exc).__name__}: {exc}', self._url)
            # Not chained: websocket-client's own errors may quote the URL with its token.
            raise EventsConnectionError(
                f'cannot connect to the platform events websocket at {redact_url(self._url)} '
                f'(ACTOR_EVENTS_WEBSOCKET_URL): {reason}; check that the run is still going '
                'and the URL is right, or unset the variable to run without platform events'
            ) from None
        with self._lock:
            self._ws = ws

    def start(self, deliver: Deliver) -> None:
        """Start the reader thread on the connection :meth:`connect` opened."""
        self._thread = start_thread('events-ws', lambda: self._run(deliver))

    def signal_stop(self) -> None:
        """Close the connection and stop the reader, without waiting for it."""
        with self._lock:
            self._stop.set()
            ws = self._ws
        if ws is not None:
            _close(ws, 1000)

    def threads(self) -> list[threading.Thread]:
        """The reader thread, once started."""
        return [self._thread] if self._thread is not None else []

    # -- the reader --------------------------------------------------------------------------

    def _open(self) -> websocket.WebSocket:
        import websocket  # noqa: PLC0415 (only at home)

        ws = websocket.WebSocket(enable_multithread=True)
        ws.connect(  # type: ignore[no-untyped-call]
            self._url, timeout=self._connect_timeout, suppress_origin=True
        )
        self.connections += 1
        return ws

    def _run(self, deliver: Deliver) -> None:
        with self._lock:
            ws = self._ws
        while ws is not None:
            opened_at = time.monotonic()
            try:
                self._read(ws, deliver)
                closed = _ClosedError(None, 'the reader stopped')
            except _ClosedError as exc:
                closed = exc
            finally:
                ws.shutdown()  # type: ignore[no-untyped-call]
            if self._stop.is_set():
                return
            if time.monotonic() - opened_at >= HEALTHY_CONNECTION_SECS:
                self._retries = 0
            if closed.code in NO_RECONNECT_CLOSE_CODES:
                _log.error(
                    'the platform closed the events websocket with code %d (%s): not '
                    'reconnecting, so no more platform events (migration, abort, system info) '
                    'reach this run',
                    closed.code,
                    closed.reason or 'no reason given',
                )
                return
            how = 'dropped' if closed.code is None else f'closed with code {closed.code}'
            _log.warning(
                'the events websocket was %s (%s); reconnecting', how, closed.reason or '-'
            )
            ws = self._reconnect()

    def _reconnect(self) -> websocket.WebSocket | None:
        """Open a new connection, backing off between attempts; ``None`` once stopped."""
        while True:
            delay = backoff_delay(self._retries)
            self._retries = min(self._retries + 1, 30)
            if self._stop.wait(delay):
                return None
            try:
                ws = self._open()
            except Exception as exc:
                _log.warning(
                    'reconnecting the events websocket failed (%s); retrying',
                    _clean(f'{type(exc).__name__}: {exc}', self._url),
                )
                continue
            with self._lock:
                if self._stop.is_set():
                    ws.shutdown()  # type: ignore[no-untyped-call]
                    return None
                self._ws = ws
            _log.info('reconnected to the platform events websocket')
            return ws

    def _read(self, ws: websocket.WebSocket, deliver: Deliver) -> None:
        """Read frames until the connection ends (raises :class:`_ClosedError`) or stop is set."""
        import websocket  # noqa: PLC0415 (only at home)

        next_ping = time.monotonic() + self._ping_interval
        answer_by: float | None = None
        while not self._stop.is_set():
            now = time.monotonic()
            wake = next_ping if answer_by is None else min(next_ping, answer_by)
            try:
                ws.settimeout(max(wake - now, 0.001))
                opcode, frame = ws.recv_data_frame(control_frame=True)
            except websocket.WebSocketTimeoutException:
                now = time.monotonic()
                if answer_by is not None and now >= answer_by:
                    raise _ClosedError(
                        None, f'no answer to a ping in {self._ping_timeout:g} s'
                    ) from None
                if now >= next_ping:
                    _send_ping(ws)
                    next_ping = now + self._ping_interval
                    if answer_by is None:
                        answer_by = now + self._ping_timeout
                continue
            except (websocket.WebSocketException, OSError, struct.error) as exc:
                raise _ClosedError(
                    None, f'{type(exc).__name__}: {exc}' if str(exc) else ''
                ) from None
            answer_by = None
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                code, reason = _close_status(frame.data)
                raise _ClosedError(code, reason)
            if opcode == websocket.ABNF.OPCODE_TEXT:
                self._handle(frame.data, deliver)
            elif opcode == websocket.ABNF.OPCODE_BINARY:
                _log.warning('skipped a binary frame of the events websocket (events are text)')

    def _handle(self, payload: str | bytes, deliver: Deliver) -> None:
        try:
            parsed = parse_frame(
                payload, dedicated_cpus=self._dedicated_cpus, exit_timeout=self._exit_timeout
            )
        except MalformedFrameError as exc:
            text = payload.decode('utf-8', 'replace') if isinstance(payload, bytes) else payload
            shown = text if len(text) <= _MAX_LOGGED_FRAME else text[:_MAX_LOGGED_FRAME] + '...'
            _log.warning('skipped a malformed frame of the events websocket (%s): %r', exc, shown)
            return
        if parsed is None:
            return
        event, data = parsed
        try:
            deliver(event, data)
        except Exception:
            _log.exception('delivering the platform event %s failed', event.name)


def _send_ping(ws: websocket.WebSocket) -> None:
    import websocket  # noqa: PLC0415 (only at home)

    try:
        ws.ping()
    except (websocket.WebSocketException, OSError):
        # The next read sees the broken connection.
        _log.debug('sending a ping on the events websocket failed', exc_info=True)


def _close_status(data: bytes) -> tuple[int | None, str]:
    if len(data) < 2:
        return 1005, ''
    (code,) = struct.unpack('!H', data[:2])
    return code, data[2:].decode('utf-8', 'replace')


def _close(ws: websocket.WebSocket, code: int) -> None:
    """Say goodbye (best effort) and wake a reader blocked on the socket."""
    try:
        ws.send_close(code)
    except Exception:  # the connection may be gone already
        _log.debug('sending the close frame failed', exc_info=True)
    sock = ws.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
