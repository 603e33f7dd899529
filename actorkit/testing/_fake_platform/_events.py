"""The FakePlatform's events websocket: a small RFC 6455 server on 127.0.0.1.

Each run has its URL, ``ws://127.0.0.1:PORT/runs/{run_id}``; a process connecting there gets
the run's events as text frames ``{"name", "createdAt", "data"}``, as the platform sends them.
The server pings every connection periodically and answers the client's pings. As the
platform, it refuses an unknown run or an eleventh connection of one run with close code 1008.

One daemon thread accepts connections (a selector on the listening socket and a wake-up
socket, so stopping is immediate), one reads each connection, and one sends the pings; all
are named ``actorkit-fake-platform-events...``. Nothing else is needed from the client side
than a standard websocket client (websocket-client, websockets).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import itertools
import json
import logging
import re
import selectors
import socket
import struct
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import attrs

from actorkit._threads import Deadline, join_all, start_thread

_log = logging.getLogger('actorkit.testing')

_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
_PATH = re.compile(r'^/runs/([^/?#]+)/?(?:\?.*)?$')
_OP_CONT, _OP_TEXT, _OP_BINARY, _OP_CLOSE, _OP_PING, _OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_MAX_FRAME = 1 << 20
_MAX_HANDSHAKE = 16 * 1024
MAX_CONNECTIONS_PER_RUN = 10
"""The platform takes at most this many connections of one run (the next gets close 1008)."""


@attrs.frozen(kw_only=True)
class EventsConnection:
    """What the FakePlatform knows of one open events connection of a run."""

    number: int
    """Its number, counted from 1 over the whole server (a reconnect gets a new one)."""
    pings_received: int
    """Pings the client sent (each was answered, unless the connection is stalled)."""
    pongs_received: int
    """Answers the client gave to the server's pings."""
    events_sent: int
    """Event frames sent to it."""
    stalled: bool
    """Whether it was stalled with :meth:`FakePlatform.stall_events_connection`."""


def _iso_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec='milliseconds').replace('+00:00', 'Z')


def frame_bytes(opcode: int, payload: bytes) -> bytes:
    """An unmasked (server-to-client) frame."""
    length = len(payload)
    if length < 126:
        header = struct.pack('!BB', 0x80 | opcode, length)
    elif length < 1 << 16:
        header = struct.pack('!BBH', 0x80 | opcode, 126, length)
    else:
        header = struct.pack('!BBQ', 0x80 | opcode, 127, length)
    return header + payload


class _Connection:
    def __init__(self, number: int, run_id: str, sock: socket.socket) -> None:
        self.number = number
        self.run_id = run_id
        self.sock = sock
        self.send_lock = threading.Lock()
        self.open = True
        self.closing = False
        self.stalled = False
        self.pings_received = 0
        self.pongs_received = 0
        self.events_sent = 0

    def send(self, opcode: int, payload: bytes) -> bool:
        with self.send_lock:
            if not self.open:
                return False
            try:
                self.sock.sendall(frame_bytes(opcode, payload))
            except OSError:
                return False
            return True

    def close_with(self, code: int, reason: str = '') -> None:
        with self.send_lock:
            if not self.open or self.closing:
                return
            self.closing = True
            with contextlib.suppress(OSError):
                self.sock.sendall(frame_bytes(_OP_CLOSE, struct.pack('!H', code) + reason.encode()))

    def drop(self) -> None:
        with self.send_lock:
            self.open = False
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def info(self) -> EventsConnection:
        return EventsConnection(
            number=self.number,
            pings_received=self.pings_received,
            pongs_received=self.pongs_received,
            events_sent=self.events_sent,
            stalled=self.stalled,
        )


class _Reader:
    """Reads exactly n bytes from a socket (``None`` at the end of the stream)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b''

    def read(self, n: int) -> bytes | None:
        while len(self._buffer) < n:
            try:
                chunk = self._sock.recv(max(65536, n - len(self._buffer)))
            except OSError:
                return None
            if not chunk:
                return None
            self._buffer += chunk
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    def read_until(self, marker: bytes, limit: int) -> bytes | None:
        while marker not in self._buffer:
            if len(self._buffer) > limit:
                return None
            try:
                chunk = self._sock.recv(4096)
            except OSError:
                return None
            if not chunk:
                return None
            self._buffer += chunk
        head, _, self._buffer = self._buffer.partition(marker)
        return head


class EventsServer:
    """The events websocket server of one FakePlatform.

    Args:
        run_exists: Tells whether a run id is known (unknown ones are refused with 1008).
        ping_interval: Seconds between the server's pings to each connection.
    """

    def __init__(self, run_exists: Callable[[str], bool], *, ping_interval: float = 10.0) -> None:
        self._run_exists = run_exists
        self.ping_interval = ping_interval
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._connections: dict[str, list[_Connection]] = {}
        self._threads: set[threading.Thread] = set()
        self._numbers = itertools.count(1)
        self._stop = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(('127.0.0.1', 0))
        self._listener.listen(64)
        self._listener.setblocking(False)
        self._wake_read, self._wake_write = socket.socketpair()
        self._accept_thread: threading.Thread | None = None
        self._ping_thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port it listens on."""
        port: int = self._listener.getsockname()[1]
        return port

    def url_for(self, run_id: str) -> str:
        """The run's ``ACTOR_EVENTS_WEBSOCKET_URL``."""
        return f'ws://127.0.0.1:{self.port}/runs/{run_id}'

    def start(self) -> None:
        """Start accepting connections and pinging them."""
        self._accept_thread = start_thread('fake-platform-events', self._accept_loop)
        self._ping_thread = start_thread('fake-platform-events-ping', self._ping_loop)

    def stop(self, deadline: Deadline) -> None:
        """Close every connection (code 1001) and the listener, and join the threads."""
        self._stop.set()
        with contextlib.suppress(OSError):
            self._wake_write.send(b'x')
        with self._lock:
            connections = [c for conns in self._connections.values() for c in conns]
            self._connections.clear()
            self._changed.notify_all()
        for connection in connections:
            connection.close_with(1001, 'the platform is stopping')
            connection.drop()
        threads = [self._accept_thread, self._ping_thread]
        join_all([t for t in threads if t is not None], deadline)
        with self._lock:
            readers = list(self._threads)
        join_all(readers, deadline)
        for sock in (self._listener, self._wake_read, self._wake_write):
            sock.close()

    # -- what tests call ---------------------------------------------------------------------

    def send(self, run_id: str, name: str, data: Any = None) -> int:
        """Send an event to every open connection of the run; return how many got it."""
        frame: dict[str, Any] = {'name': name, 'createdAt': _iso_now()}
        if data is not None:
            frame['data'] = data
        payload = json.dumps(frame).encode()
        sent = 0
        for connection in self._open(run_id):
            if connection.send(_OP_TEXT, payload):
                connection.events_sent += 1
                sent += 1
        return sent

    def drop(self, run_id: str, close_code: int | None = None) -> int:
        """Close the run's connections: with a close frame, or (``None``) by a TCP drop.

        Returns:
            How many connections were closed.
        """
        with self._lock:
            connections = self._connections.pop(run_id, [])
            self._changed.notify_all()
        for connection in connections:
            if close_code is None:
                connection.drop()
            else:
                connection.close_with(close_code, f'closed by the test (code {close_code})')
        return len(connections)

    def stall(self, run_id: str) -> int:
        """Make the run's connections silent (no pings, no answers): a half-open link."""
        connections = self._open(run_id)
        for connection in connections:
            connection.stalled = True
        return len(connections)

    def wait_for_connection(self, run_id: str, timeout: float) -> None:
        """Wait until the run has an open connection.

        Raises:
            TimeoutError: None came within ``timeout`` seconds.
        """
        deadline = Deadline(timeout)
        with self._lock:
            while not self._connections.get(run_id):
                if deadline.expired() or self._stop.is_set():
                    raise TimeoutError(
                        f'run {run_id} did not connect to the events websocket within '
                        f'{timeout:g} s: is the process running at home with this run env?'
                    )
                self._changed.wait(deadline.remaining())

    def connections(self, run_id: str) -> list[EventsConnection]:
        """The run's open connections."""
        with self._lock:
            return [connection.info() for connection in self._connections.get(run_id, [])]

    def _open(self, run_id: str) -> list[_Connection]:
        with self._lock:
            return [c for c in self._connections.get(run_id, []) if not c.stalled]

    # -- serving -----------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_read, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._wake_read or self._stop.is_set():
                        return
                    try:
                        sock, _ = self._listener.accept()
                    except OSError:
                        continue
                    sock.setblocking(True)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    number = next(self._numbers)
                    with self._lock:
                        self._threads = {t for t in self._threads if t.is_alive()}
                        thread = start_thread(
                            f'fake-platform-events-{number}',
                            functools.partial(self._serve, sock, number),
                        )
                        self._threads.add(thread)

    def _ping_loop(self) -> None:
        while not self._stop.wait(self.ping_interval):
            with self._lock:
                connections = [c for conns in self._connections.values() for c in conns]
            for connection in connections:
                if not connection.stalled:
                    connection.send(_OP_PING, b'fake-platform')

    def _serve(self, sock: socket.socket, number: int) -> None:
        connection: _Connection | None = None
        try:
            reader = _Reader(sock)
            sock.settimeout(10.0)
            run_id = self._handshake(sock, reader)
            if run_id is None:
                return
            sock.settimeout(None)
            connection = _Connection(number, run_id, sock)
            refusal = self._register(connection)
            if refusal is not None:
                connection.close_with(1008, refusal)
            self._read_frames(connection, reader)
        except Exception:
            _log.exception('fake platform: the events connection %d failed', number)
        finally:
            if connection is not None:
                self._unregister(connection)
                connection.open = False
            with contextlib.suppress(OSError):
                sock.close()

    def _handshake(self, sock: socket.socket, reader: _Reader) -> str | None:
        head = reader.read_until(b'\r\n\r\n', _MAX_HANDSHAKE)
        if head is None:
            return None
        lines = head.decode('latin-1').split('\r\n')
        parts = lines[0].split(' ')
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(':')
            headers[name.strip().lower()] = value.strip()
        key = headers.get('sec-websocket-key')
        upgrade = headers.get('upgrade', '').lower() == 'websocket'
        match = _PATH.match(parts[1]) if len(parts) == 3 and parts[0] == 'GET' else None
        if match is None or not upgrade or key is None:
            body = b'expected a websocket upgrade of GET /runs/{runId}\n'
            status = '404 Not Found' if upgrade and key else '400 Bad Request'
            sock.sendall(
                f'HTTP/1.1 {status}\r\nContent-Type: text/plain\r\n'
                f'Content-Length: {len(body)}\r\nConnection: close\r\n\r\n'.encode()
                + body
            )
            return None
        accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()  # noqa: S324
        sock.sendall(
            (
                'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n'
                f'Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n'
            ).encode()
        )
        return match.group(1)

    def _register(self, connection: _Connection) -> str | None:
        """Add the connection to its run; return why it is refused, if it is."""
        if not self._run_exists(connection.run_id):
            return f'unknown run {connection.run_id}'
        with self._lock:
            if self._stop.is_set():
                return 'the platform is stopping'
            connections = self._connections.setdefault(connection.run_id, [])
            if len(connections) >= MAX_CONNECTIONS_PER_RUN:
                return f'more than {MAX_CONNECTIONS_PER_RUN} connections of one run'
            connections.append(connection)
            self._changed.notify_all()
        return None

    def _unregister(self, connection: _Connection) -> None:
        with self._lock:
            connections = self._connections.get(connection.run_id, [])
            if connection in connections:
                connections.remove(connection)
                if not connections:
                    del self._connections[connection.run_id]
                self._changed.notify_all()

    def _read_frames(self, connection: _Connection, reader: _Reader) -> None:
        while True:
            frame = _read_frame(reader)
            if frame is None:
                return
            opcode, payload = frame
            if opcode == _OP_CLOSE:
                code = struct.unpack('!H', payload[:2])[0] if len(payload) >= 2 else 1000
                # Echo the client's close, unless this side started the closing.
                connection.close_with(code)
                return
            if opcode == _OP_PING:
                connection.pings_received += 1
                if not connection.stalled:
                    connection.send(_OP_PONG, payload)
            elif opcode == _OP_PONG:
                connection.pongs_received += 1


def _read_frame(reader: _Reader) -> tuple[int, bytes] | None:
    """One whole message (continuations joined) or control frame; ``None`` when it ends."""
    message: list[bytes] = []
    message_opcode = _OP_TEXT
    while True:
        head = reader.read(2)
        if head is None:
            return None
        fin, opcode = head[0] & 0x80, head[0] & 0x0F
        masked, length = head[1] & 0x80, head[1] & 0x7F
        if length == 126:
            extra = reader.read(2)
            if extra is None:
                return None
            (length,) = struct.unpack('!H', extra)
        elif length == 127:
            extra = reader.read(8)
            if extra is None:
                return None
            (length,) = struct.unpack('!Q', extra)
        if length > _MAX_FRAME:
            return None
        mask = reader.read(4) if masked else b'\0\0\0\0'
        payload = reader.read(length) if length else b''
        if mask is None or payload is None:
            return None
        if masked:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        if opcode >= _OP_CLOSE:
            return opcode, payload
        if opcode != _OP_CONT:
            message_opcode = opcode
        message.append(payload)
        if fin:
            return message_opcode, b''.join(message)
