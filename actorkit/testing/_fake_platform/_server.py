"""A small threaded HTTP/1.1 server on 127.0.0.1 with keep-alive.

One daemon thread accepts connections (it waits in a selector on the listening socket and a
wake-up socket, so stopping is immediate); each connection gets its own daemon thread that
serves requests until the client closes it or the server stops. Every thread is named
``actorkit-fake-platform-...``.

The server knows nothing of the API: it hands each request to a responder, which returns an
:class:`Answer` (a reply, or "drop the connection", after an optional delay).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
import selectors
import socket
import struct
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

import attrs

from actorkit._threads import Deadline, join_all, start_thread
from actorkit.testing._fake_platform._common import Reply

_log = logging.getLogger('actorkit.testing')
_TOKEN_IN_QUERY = re.compile(r'([?&]token=)[^&\s"]*')
_READ_CAP = 64 * 1024 * 1024
"""Bodies above this raw size are not read (the connection is closed after a 413)."""


@attrs.frozen
class RawRequest:
    """A request as read from the socket."""

    method: str
    """The method."""
    target: str
    """The request target (path and query string)."""
    headers: Any
    """The headers (an ``email.message.Message``: case-insensitive ``get``)."""
    body: bytes | None
    """The raw body (still compressed if it was sent compressed); ``None`` when too big to read."""


@attrs.frozen
class Answer:
    """What to do with a request: send a reply, or drop the connection, maybe after a delay."""

    reply: Reply | None
    """The reply; ``None`` means drop the connection without answering."""
    delay: float = 0.0
    """Seconds to hold the answer first."""


Responder = Callable[[RawRequest], Answer]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'actorkit-FakePlatform'

    def version_string(self) -> str:
        return 'actorkit-FakePlatform'

    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        if _log.isEnabledFor(logging.DEBUG):
            text = _TOKEN_IN_QUERY.sub(r'\1<redacted>', format % args)
            _log.debug('fake platform: %s', text)

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            self._serve()
            self.wfile.flush()
        except (OSError, ValueError):
            self.close_connection = True

    def _read_body(self) -> bytes | None:
        if 'chunked' in (self.headers.get('Transfer-Encoding') or '').lower():
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b';')[0].strip() or b'0', 16)
                if size == 0:
                    while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                        pass
                    break
                total += size
                if total > _READ_CAP:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b''.join(chunks)
        length = int(self.headers.get('Content-Length') or 0)
        if length > _READ_CAP:
            return None
        return self.rfile.read(length) if length else b''

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            self.close_connection = True
        request = RawRequest(self.command, self.path, self.headers, body)
        answer = self.server.responder(request)
        if answer.delay and self.server.stopping.wait(answer.delay):
            self.close_connection = True
            return
        if answer.reply is None:
            self._drop()
            return
        self._send(answer.reply)

    def _drop(self) -> None:
        """Close the connection with a TCP reset, answering nothing."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        with contextlib.suppress(OSError):
            self.connection.close()

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        if reply.content_type:
            self.send_header('Content-Type', reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(reply.body)))
        if self.close_connection:
            self.send_header('Connection', 'close')
        self.end_headers()
        if self.command != 'HEAD' and reply.body:
            self.wfile.write(reply.body)

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().finish()


class HttpServer:
    """The listening socket and its threads.

    Args:
        responder: Turns each request into an :class:`Answer`; called on connection threads.
        host: The address to bind.
        port: The port; 0 picks a free one.
    """

    def __init__(self, responder: Responder, host: str = '127.0.0.1', port: int = 0) -> None:
        self.responder = responder
        self.stopping = threading.Event()
        self._listener = socket.create_server((host, port))
        self._listener.setblocking(False)
        self._wake_read, self._wake_write = socket.socketpair()
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._accept_thread: threading.Thread | None = None
        self.address: tuple[str, int] = self._listener.getsockname()[:2]

    def start(self) -> None:
        """Start accepting connections."""
        self._accept_thread = start_thread('fake-platform-http', self._accept_loop)

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_read, selectors.EVENT_READ)
            while not self.stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._wake_read:
                        return
                    try:
                        connection, peer = self._listener.accept()
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        return
                    self._serve_connection(connection, peer)

    def _serve_connection(self, connection: socket.socket, peer: Any) -> None:
        connection.setblocking(True)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def serve() -> None:
            try:
                _Handler(connection, peer, self)  # type: ignore[arg-type]
            except OSError:
                pass
            finally:
                with contextlib.suppress(OSError):
                    connection.close()
                with self._lock:
                    self._connections.pop(connection, None)

        with self._lock:
            if self.stopping.is_set():
                connection.close()
                return
            number = next(self._counter)
            thread = threading.Thread(
                target=serve, name=f'actorkit-fake-platform-conn-{number}', daemon=True
            )
            self._connections[connection] = thread
        thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, close every open connection and join the threads."""
        deadline = Deadline(timeout)
        self.stopping.set()
        with contextlib.suppress(OSError):
            self._wake_write.send(b'x')
        if self._accept_thread is not None:
            join_all([self._accept_thread], deadline)
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            connections = dict(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        join_all(connections.values(), deadline)
        for sock in (self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                sock.close()
