"""``FakePlatform``: the Apify API v2 served from memory on 127.0.0.1, for tests.

This module holds the object itself (its state, servers and lifecycle); its methods come from
one mixin per concern: ``_platform_runs`` (Actors, tasks, runs), ``_platform_storages``
(storages and webhooks), ``_platform_events`` (the events websocket) and
``_platform_serving`` (the request path, injected faults and the received requests).
"""

from __future__ import annotations

import secrets
import threading
from types import TracebackType

from actorkit._threads import Deadline, join_all
from actorkit.testing._fake_platform._datasets import DatasetsApi
from actorkit.testing._fake_platform._events import EventsServer
from actorkit.testing._fake_platform._faults import FaultBook
from actorkit.testing._fake_platform._key_value_stores import KeyValueStoresApi
from actorkit.testing._fake_platform._platform_events import PlatformEventControls
from actorkit.testing._fake_platform._platform_runs import PlatformRunControls
from actorkit.testing._fake_platform._platform_serving import (
    PlatformServing,
    Received,
    ReceivedRequest,
)
from actorkit.testing._fake_platform._platform_storages import PlatformStorageControls
from actorkit.testing._fake_platform._request_queues import RequestQueuesApi
from actorkit.testing._fake_platform._routes import Router
from actorkit.testing._fake_platform._runs import RunsApi
from actorkit.testing._fake_platform._server import HttpServer
from actorkit.testing._fake_platform._state import State
from actorkit.testing._fake_platform._webhooks import WebhooksApi

__all__ = ['FakePlatform']


class FakePlatform(
    PlatformRunControls,
    PlatformStorageControls,
    PlatformEventControls,
    PlatformServing,
):
    """A local Apify platform for tests: the API v2 over real HTTP, state in memory.

    It serves datasets, key-value stores, request queues, Actors, tasks, runs, webhooks and
    the user on ``127.0.0.1`` with the real paths, status codes, error types and object shapes,
    so an Actor (or the official ``apify-client``) runs against it as on the platform. Faults
    can be injected to test retries. Use it as a context manager::

        from actorkit.testing import FakePlatform

        with FakePlatform() as platform:
            env = platform.run_env(input={'query': 'shoes'})
            subprocess.run([sys.executable, 'main.py'], env={**os.environ, **env}, check=True)
            assert platform.dataset_items(env['ACTOR_DEFAULT_DATASET_ID']) == [...]

    Each run also has its events websocket (``ACTOR_EVENTS_WEBSOCKET_URL`` in its env): a
    process running as the run connects there, and :meth:`send_event` and
    :meth:`drop_events_connection` act on it as the platform and the network would.

    Nothing really runs: a run stays RUNNING until the test finishes it (:meth:`finish_run`),
    it is aborted, it times out, or the handler of its Actor (:meth:`create_actor`) returns.
    All methods are thread-safe.

    Args:
        token: The API token it accepts; a random one when ``None``.
        port: The port to listen on; 0 picks a free one.
        abort_grace_secs: How long a graceful abort stays ABORTING before it is ABORTED
            (the platform waits 30 s).
        events_ping_interval: Seconds between the pings the events websocket sends.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        port: int = 0,
        abort_grace_secs: float = 30.0,
        events_ping_interval: float = 10.0,
    ) -> None:
        self._state = State(token or f'apify_api_fake_{secrets.token_hex(12)}')
        self._port = port
        self.abort_grace_secs = abort_grace_secs
        self._server: HttpServer | None = None
        self._faults = FaultBook()
        self._received: list[Received] = []
        self._received_details: list[ReceivedRequest] = []
        self._received_lock = threading.Lock()
        self._logs: dict[str, str] = {}
        self._datasets = DatasetsApi(self._state)
        self._key_value_stores = KeyValueStoresApi(self._state)
        self._request_queues = RequestQueuesApi(self._state)
        self._runs = RunsApi(self._state, self)
        self._webhooks = WebhooksApi(self._state)
        self._router = Router()
        for api in (
            self._datasets,
            self._key_value_stores,
            self._request_queues,
            self._runs,
            self._webhooks,
        ):
            for method, template, handler in api.routes():
                self._router.add(method, template, handler)
        self._events: EventsServer | None = None
        """The events websocket server (``ACTOR_EVENTS_WEBSOCKET_URL``), while serving."""
        self.events_ping_interval = events_ping_interval
        """Seconds between the pings the events websocket sends each connection."""

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakePlatform:
        """Start serving (on a free port unless one was given).

        Returns:
            The platform itself.

        Raises:
            RuntimeError: It is already running.
        """
        if self._server is not None:
            raise RuntimeError('FakePlatform is already running; stop() it first')
        self._state.stopping.clear()
        server = HttpServer(self._respond, port=self._port)
        host, port = server.address
        with self._state.lock:
            self._state.base_url = f'http://{host}:{port}'
            self._state.public_base_url = self._state.base_url
        server.start()
        self._server = server
        self._events = EventsServer(self._run_exists, ping_interval=self.events_ping_interval)
        self._events.start()
        return self

    def _run_exists(self, run_id: str) -> bool:
        with self._state.lock:
            return run_id in self._state.runs

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving: close every connection, wake every waiting request, join the threads.

        The state stays readable (``dataset_items``, ``run`` and so on still work).

        Args:
            timeout: Seconds to wait for the threads, in all.
        """
        server, self._server = self._server, None
        if server is None:
            return
        deadline = Deadline(timeout)
        self._state.stopping.set()
        with self._state.lock:
            self._state.changed.notify_all()
        server.stop(deadline.remaining())
        events, self._events = self._events, None
        if events is not None:
            events.stop(deadline)
        with self._state.lock:
            handlers = self._runs.threads()
        join_all(handlers, deadline)

    def __enter__(self) -> FakePlatform:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def is_running(self) -> bool:
        """Whether it is serving."""
        return self._server is not None

    @property
    def api_url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:38211`` (the value of ``APIFY_API_BASE_URL``).

        Raises:
            RuntimeError: It has not been started.
        """
        if not self._state.base_url:
            raise RuntimeError('FakePlatform has not been started: call start() or use `with`')
        return self._state.base_url

    @property
    def token(self) -> str:
        """The API token it accepts (``Authorization: Bearer`` or ``?token=``)."""
        return self._state.token

    @property
    def user_id(self) -> str:
        """The id of the one user (``APIFY_USER_ID``)."""
        return self._state.user_id

    @property
    def username(self) -> str:
        """The user's username (for ``username~name`` addressing)."""
        return self._state.username

    def __repr__(self) -> str:
        where = self._state.base_url if self._server is not None else 'stopped'
        return f'<FakePlatform {where}>'
