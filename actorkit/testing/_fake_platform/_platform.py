"""``FakePlatform``: the Apify API v2 served from memory on 127.0.0.1, for tests.

Each request goes: HTTP server thread -> :meth:`FakePlatform._respond` (record it, apply an
injected fault, decompress and size-check the body) -> :meth:`FakePlatform._process` (resolve
path aliases, route, check the token) -> a resource handler, under the state lock.

The events websocket (``_events.py``) runs beside the HTTP server: each run's environment
has its ``ACTOR_EVENTS_WEBSOCKET_URL``; tests send events with :meth:`FakePlatform.send_event`
and break connections with :meth:`FakePlatform.drop_events_connection`. The run handlers call
:meth:`FakePlatform._on_abort`, :meth:`FakePlatform._on_metamorph` and
:meth:`FakePlatform._on_reboot` with the state lock held (a graceful abort sends ``aborting``
and ``persistState`` from there).
"""

from __future__ import annotations

import importlib
import json
import logging
import re
import secrets
import threading
import zlib
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

import attrs

from actorkit._threads import Deadline, join_all
from actorkit.testing._fake_platform._common import (
    MAX_PAYLOAD_BYTES,
    ApiError,
    Call,
    Reply,
    error_reply,
    iso,
)
from actorkit.testing._fake_platform._datasets import DatasetsApi
from actorkit.testing._fake_platform._events import EventsConnection, EventsServer
from actorkit.testing._fake_platform._faults import Fault, FaultBook
from actorkit.testing._fake_platform._key_value_stores import KeyValueStoresApi, Record
from actorkit.testing._fake_platform._request_queues import RequestQueuesApi
from actorkit.testing._fake_platform._routes import Router, canonical_path
from actorkit.testing._fake_platform._runs import (
    TERMINAL,
    Charge,
    Run,
    RunHandler,
    RunsApi,
    normalize_pricing,
)
from actorkit.testing._fake_platform._server import Answer, HttpServer, RawRequest
from actorkit.testing._fake_platform._state import State
from actorkit.testing._fake_platform._webhooks import WebhooksApi

__all__ = ['Charge', 'EventsConnection', 'FakePlatform', 'Fault', 'Received', 'ReceivedRequest']

_log = logging.getLogger('actorkit.testing')
_SECRET_HEADERS = frozenset({'authorization', 'cookie'})


class Received(NamedTuple):
    """One request the platform received: ``(method, path, query)``.

    ``path`` is as sent (still percent-encoded, ``/v2/acts/`` not mapped); ``query`` holds the
    last value of each parameter, without ``token``.
    """

    method: str
    path: str
    query: dict[str, str]


@attrs.frozen
class ReceivedRequest:
    """One received request in detail (for checks on headers and bodies).

    Attributes:
        method: The HTTP method.
        path: The path as sent.
        query: The query parameters, without ``token``.
        headers: The headers, names lower-cased, ``Authorization`` and ``Cookie`` redacted.
        body: The body after decompression (``None`` when it could not be read or decoded).
        raw_size: The size of the body as sent.
        content_encoding: The ``Content-Encoding`` it was sent with, if any.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes | None
    raw_size: int
    content_encoding: str | None


def _unbrotli(body: bytes) -> bytes:
    """Decompress a brotli body, when a brotli package is installed (the platform takes br)."""
    for name in ('brotli', 'brotlicffi'):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        try:
            return module.decompress(body)  # type: ignore[no-any-return]
        except Exception as exc:  # each binding raises its own error type
            raise ApiError(400, 'invalid-input', f'The body is not valid br data: {exc}') from exc
    raise ApiError(
        415,
        'unsupported-content-encoding',
        'Content-Encoding "br" needs a brotli package where the FakePlatform runs: '
        'pip install brotli',
    )


def _decode_body(raw: bytes | None, encoding: str | None) -> bytes:
    """Decompress a request body; enforce the platform's size limit on the result."""
    if raw is None:
        raise ApiError(
            413,
            'request-too-large',
            f'The POST payload is too large (limit: {MAX_PAYLOAD_BYTES} bytes)',
        )
    codings = [part.strip().lower() for part in (encoding or '').split(',') if part.strip()]
    body = raw
    for coding in reversed(codings):
        if coding == 'identity':
            continue
        if coding == 'br':
            body = _unbrotli(body)
            continue
        if coding not in ('gzip', 'x-gzip', 'deflate'):
            raise ApiError(
                415,
                'unsupported-content-encoding',
                f'Content-Encoding "{coding}" is not supported.',
            )
        wbits = 16 + zlib.MAX_WBITS if coding in ('gzip', 'x-gzip') else zlib.MAX_WBITS
        try:
            inflater = zlib.decompressobj(wbits)
            body = inflater.decompress(body, 8 * MAX_PAYLOAD_BYTES)
        except zlib.error as exc:
            raise ApiError(
                400, 'invalid-input', f'The body is not valid {coding} data: {exc}'
            ) from exc
    if len(body) > MAX_PAYLOAD_BYTES:
        raise ApiError(
            413,
            'request-too-large',
            f'The POST payload is too large (limit: {MAX_PAYLOAD_BYTES} bytes, actual length: '
            f'{len(body)} bytes).',
        )
    return body


class FakePlatform:
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

    # ------------------------------------------------------------------ runs

    def create_actor(
        self,
        name: str,
        *,
        actor_id: str | None = None,
        title: str | None = None,
        timeout_secs: int = 3600,
        memory_mbytes: int = 1024,
        pricing_info: Mapping[str, Any] | None = None,
        handler: RunHandler | None = None,
    ) -> str:
        """Create an Actor that runs can be started for (through the API or :meth:`run_env`).

        Args:
            name: Its name (also addressable as ``fake-user~name`` or ``fake-user/name``).
            actor_id: Its id; a random one when ``None``.
            title: A human title.
            timeout_secs: The default run timeout (0: none).
            memory_mbytes: The default run memory (128-32768).
            pricing_info: The pricing every run gets: the API shape (``{"pricingModel": ...}``)
                or, for pay-per-event, just ``{event name: price in USD}``.
            handler: Plays the run's process: called on its own thread with each run's
                environment (the :meth:`run_env` of that run); returning ``None`` or 0 ends the
                run SUCCEEDED, another int or an exception ends it FAILED. Without one, runs
                stay RUNNING until finished by the test.

        Returns:
            The Actor id.

        Raises:
            ValueError: An Actor with this name exists, or ``pricing_info`` is malformed.
        """
        with self._state.lock:
            actor = self._runs.create_actor(
                name,
                actor_id=actor_id,
                title=title,
                timeout_secs=timeout_secs,
                memory_mbytes=memory_mbytes,
                pricing_info=pricing_info,
                handler=handler,
            )
            return actor.id

    def create_task(
        self,
        actor: str,
        name: str,
        *,
        input: Any = None,
        options: Mapping[str, Any] | None = None,
    ) -> str:
        """Create a task of an Actor.

        Args:
            actor: The Actor's id or name.
            name: The task's name.
            input: The input its runs get.
            options: Run options (``build``, ``timeoutSecs``, ``memoryMbytes``).

        Returns:
            The task id.

        Raises:
            LookupError: There is no such Actor.
        """
        with self._state.lock:
            found = self._find_actor(actor)
            return self._runs.create_task(found, name, task_input=input, options=options).id

    def _find_actor(self, actor: str) -> Any:
        try:
            return self._runs.find_actor(actor)
        except ApiError:
            raise LookupError(
                f'no Actor {actor!r} on this FakePlatform: create it with create_actor()'
            ) from None

    def start_run(
        self,
        input: Any = None,
        *,
        actor_id: str | None = None,
        task_id: str | None = None,
        input_content_type: str | None = None,
        timeout_secs: int | None = None,
        memory_mbytes: int | None = None,
        max_items: int | None = None,
        pricing_info: Mapping[str, Any] | None = None,
        max_total_charge_usd: float | Decimal | str | None = None,
        charged_event_counts: Mapping[str, int] | None = None,
    ) -> str:
        """Create a RUNNING run with fresh default storages and its input; see :meth:`run_env`.

        Returns:
            The run id.

        Raises:
            ValueError: A bad option (memory out of 128-32768, malformed pricing or counts).
            LookupError: ``task_id`` names no task.
        """
        if input is None or isinstance(input, (bytes, str)):
            body = input.encode('utf-8') if isinstance(input, str) else input
            content_type = input_content_type or (
                'text/plain; charset=utf-8'
                if isinstance(input, str)
                else 'application/octet-stream'
            )
        else:
            body = json.dumps(input, ensure_ascii=False).encode('utf-8')
            content_type = input_content_type or 'application/json; charset=utf-8'
        if charged_event_counts is not None:
            for name, count in charged_event_counts.items():
                if not isinstance(count, int) or count < 0:
                    raise ValueError(
                        f'charged_event_counts[{name!r}] must be a count >= 0, got {count!r}'
                    )
        with self._state.lock:
            task = None
            if task_id is not None:
                try:
                    task = self._runs.find_task(task_id)
                except ApiError:
                    raise LookupError(
                        f'no task {task_id!r} on this FakePlatform: create it with create_task()'
                    ) from None
                actor = self._runs.find_actor(task.act_id)
            elif actor_id is not None:
                try:
                    actor = self._runs.find_actor(actor_id)
                except ApiError:
                    looks_like_id = not re.search(r'[~/]', actor_id)
                    actor = self._runs.create_actor(
                        actor_id if not looks_like_id else f'actor-{actor_id.lower()}',
                        actor_id=actor_id if looks_like_id else None,
                    )
            else:
                actor = self._default_actor()
            try:
                run = self._runs.create_run(
                    actor,
                    task=task,
                    input_body=body,
                    input_content_type=content_type,
                    timeout_secs=timeout_secs,
                    memory_mbytes=memory_mbytes,
                    max_items=max_items,
                    max_total_charge_usd=(
                        float(max_total_charge_usd) if max_total_charge_usd is not None else None
                    ),
                    pricing_info=normalize_pricing(pricing_info),
                    charged_event_counts=charged_event_counts,
                )
            except ApiError as exc:
                raise ValueError(exc.message) from None
            self._runs.start_handler(run, actor)
            return run.id

    def _default_actor(self) -> Any:
        for actor in self._state.actors.values():
            if actor.name == 'fake-actor':
                return actor
        return self._runs.create_actor('fake-actor')

    def run_env(
        self,
        input: Any = None,
        *,
        actor_id: str | None = None,
        task_id: str | None = None,
        input_content_type: str | None = None,
        timeout_secs: int | None = None,
        memory_mbytes: int | None = None,
        max_items: int | None = None,
        pricing_info: Mapping[str, Any] | None = None,
        max_total_charge_usd: float | Decimal | str | None = None,
        charged_event_counts: Mapping[str, int] | None = None,
    ) -> dict[str, str]:
        """Start a RUNNING run and return the environment a process needs to run as it.

        The run gets fresh default storages; ``input`` is stored as its ``INPUT`` record. The
        environment has ``APIFY_IS_AT_HOME=1``, the token and API URLs, the run, Actor, build
        and storage ids, times, memory, the user and, with pricing, the charging variables.

        Args:
            input: The input: JSON-able (stored as ``application/json``), ``str``, ``bytes``,
                or ``None`` for no ``INPUT`` record.
            actor_id: The Actor (id or name) to run; an Actor with this id is created when
                there is none. Default: a shared ``fake-actor``.
            task_id: Run as this task (its Actor and, without ``input``, its input).
            input_content_type: The input's Content-Type (default from its type).
            timeout_secs: The run timeout (default: the Actor's, 3600 s; 0: none).
            memory_mbytes: The run memory (default: the Actor's, 1024 MB).
            max_items: ``ACTOR_MAX_PAID_DATASET_ITEMS``.
            pricing_info: The run's pricing: the API shape or ``{event name: price in USD}``
                for pay-per-event (default: the Actor's).
            max_total_charge_usd: The user's budget (``ACTOR_MAX_TOTAL_CHARGE_USD``).
            charged_event_counts: Events charged before this process started (as after a
                migration).

        Returns:
            The environment variables, all ``str``.

        Raises:
            ValueError: A bad option (memory out of 128-32768, malformed pricing or counts).
            LookupError: ``task_id`` names no task.
        """
        run_id = self.start_run(
            input,
            actor_id=actor_id,
            task_id=task_id,
            input_content_type=input_content_type,
            timeout_secs=timeout_secs,
            memory_mbytes=memory_mbytes,
            max_items=max_items,
            pricing_info=pricing_info,
            max_total_charge_usd=max_total_charge_usd,
            charged_event_counts=charged_event_counts,
        )
        return self.environment(run_id)

    def environment(self, run_id: str) -> dict[str, str]:
        """The environment of an existing run (see :meth:`run_env`).

        Raises:
            LookupError: There is no such run.
        """
        with self._state.lock:
            return self._environment(self._find_run(run_id))

    def _environment(self, run: Run) -> dict[str, str]:
        state = self._state
        actor = state.actors.get(run.act_id)
        timeout_at = run.timeout_at()
        memory = int(run.options['memoryMbytes'])
        env = {
            'APIFY_IS_AT_HOME': '1',
            'APIFY_TOKEN': state.token,
            'APIFY_API_BASE_URL': state.base_url,
            'APIFY_API_PUBLIC_BASE_URL': state.public_base_url,
            'ACTOR_RUN_ID': run.id,
            'APIFY_ACTOR_RUN_ID': run.id,
            'ACTOR_ID': run.act_id,
            'APIFY_ACTOR_ID': run.act_id,
            'ACTOR_BUILD_ID': run.build_id,
            'APIFY_ACTOR_BUILD_ID': run.build_id,
            'ACTOR_BUILD_NUMBER': run.build_number,
            'APIFY_ACTOR_BUILD_NUMBER': run.build_number,
            'ACTOR_BUILD_TAGS': 'latest',
            'ACTOR_DEFAULT_DATASET_ID': run.default_dataset_id,
            'APIFY_DEFAULT_DATASET_ID': run.default_dataset_id,
            'ACTOR_DEFAULT_KEY_VALUE_STORE_ID': run.default_key_value_store_id,
            'APIFY_DEFAULT_KEY_VALUE_STORE_ID': run.default_key_value_store_id,
            'ACTOR_DEFAULT_REQUEST_QUEUE_ID': run.default_request_queue_id,
            'APIFY_DEFAULT_REQUEST_QUEUE_ID': run.default_request_queue_id,
            'ACTOR_INPUT_KEY': run.input_key,
            'APIFY_INPUT_KEY': run.input_key,
            'ACTOR_STARTED_AT': iso(run.started_at) or '',
            'ACTOR_TIMEOUT_AT': iso(timeout_at) or '',
            'ACTOR_MEMORY_MBYTES': str(memory),
            'APIFY_MEMORY_MBYTES': str(memory),
            'APIFY_DEDICATED_CPUS': str(max(memory / 4096, 0.125)),
            'APIFY_USER_ID': state.user_id,
            'APIFY_USER_IS_PAYING': '1',
            'ACTOR_PERMISSION_LEVEL': 'LIMITED_PERMISSIONS',
        }
        if actor is not None:
            env['ACTOR_FULL_NAME'] = f'{actor.username}/{actor.name}'
        if run.actor_task_id:
            env['ACTOR_TASK_ID'] = run.actor_task_id
            env['APIFY_ACTOR_TASK_ID'] = run.actor_task_id
        if 'maxItems' in run.options:
            env['ACTOR_MAX_PAID_DATASET_ITEMS'] = str(run.options['maxItems'])
        if 'maxTotalChargeUsd' in run.options:
            env['ACTOR_MAX_TOTAL_CHARGE_USD'] = str(run.options['maxTotalChargeUsd'])
        if run.pricing_info is not None:
            env['APIFY_ACTOR_PRICING_INFO'] = json.dumps(run.pricing_info)
            env['APIFY_CHARGED_ACTOR_EVENT_COUNTS'] = json.dumps(run.charged_event_counts)
        if self._events is not None:
            env['ACTOR_EVENTS_WEBSOCKET_URL'] = self._events.url_for(run.id)
        return env

    def _find_run(self, run_id: str) -> Run:
        try:
            return self._runs.find_run(run_id)
        except ApiError:
            raise LookupError(f'no run {run_id!r} on this FakePlatform') from None

    def run(self, run_id: str) -> dict[str, Any]:
        """The run object as ``GET /v2/actor-runs/{run_id}`` returns it, and what tests check.

        Besides the API's fields (``status``, ``statusMessage``, ``metamorphs``, ``stats``...)
        it has ``reboots`` (one ``{'createdAt'}`` per reboot), ``abort`` (``{'requestedAt',
        'gracefully'}`` once an abort was asked for, else ``None``) and ``webhooks`` (the
        ad-hoc webhooks bound to the run, as ``GET /v2/webhooks/{id}`` shows them).

        Raises:
            LookupError: There is no such run.
        """
        with self._state.lock:
            run = self._find_run(run_id)
            shown = run.show(self._state.base_url)
            shown['reboots'] = [dict(entry) for entry in run.reboots]
            shown['abort'] = None if run.abort is None else dict(run.abort)
            shown['webhooks'] = [
                hook.show()
                for hook in self._state.webhooks.values()
                if (hook.fields.get('condition') or {}).get('actorRunId') == run.id
            ]
            return shown

    def runs(self) -> list[dict[str, Any]]:
        """Every run object, oldest first."""
        with self._state.lock:
            runs = sorted(self._state.runs.values(), key=lambda run: run.started_at)
            return [self._runs.find_run(run.id).show(self._state.base_url) for run in runs]

    def finish_run(
        self,
        run_id: str,
        status: str = 'SUCCEEDED',
        *,
        exit_code: int | None = None,
        status_message: str | None = None,
    ) -> dict[str, Any]:
        """End a run, as the platform does when its process exits; wakes ``waitForFinish``.

        Args:
            run_id: The run.
            status: SUCCEEDED, FAILED, TIMED-OUT or ABORTED.
            exit_code: Its exit code (default 0 for SUCCEEDED, 1 otherwise).
            status_message: A final status message.

        Returns:
            The run object.

        Raises:
            LookupError: There is no such run.
            ValueError: ``status`` is not terminal.
        """
        if status not in TERMINAL:
            raise ValueError(f'status must be one of {", ".join(sorted(TERMINAL))}, got {status!r}')
        with self._state.lock:
            run = self._find_run(run_id)
            if status_message is not None:
                run.status_message = status_message
                run.is_status_message_terminal = True
            self._runs.finish(run, status, exit_code)
            return run.show(self._state.base_url)

    def charges(self, run_id: str) -> list[Charge]:
        """Every charge the run made through the API, in order (idempotent repeats left out).

        Raises:
            LookupError: There is no such run.
        """
        with self._state.lock:
            return list(self._find_run(run_id).charges)

    def charged_usd(self, run_id: str) -> Decimal:
        """What the run's charges cost in all: the sum of count x price, as ``Decimal``.

        Raises:
            LookupError: There is no such run.
        """
        with self._state.lock:
            return sum(
                (charge.price_usd * charge.count for charge in self._find_run(run_id).charges),
                Decimal(0),
            )

    def append_log(self, run_id: str, text: str) -> None:
        """Add text to a run's log (served by ``GET /v2/actor-runs/{id}/log``).

        Raises:
            LookupError: There is no such run.
        """
        with self._state.lock:
            self._find_run(run_id)
            self._logs[run_id] = self._logs.get(run_id, '') + text

    # ------------------------------------------------------------------ storages

    def _storage(self, kind: Any, id_or_name: str) -> Any:
        collection = kind.collection
        found = collection.get(id_or_name)
        if found is None:
            for storage in collection.values():
                if storage.name == id_or_name:
                    return storage
            try:
                found = kind.find(id_or_name)
            except ApiError:
                raise LookupError(
                    f'no {kind.label.lower()} {id_or_name!r} on this FakePlatform'
                ) from None
        return found

    def create_dataset(self, name: str | None = None) -> str:
        """Create a dataset (unnamed when ``name`` is ``None``) and return its id."""
        with self._state.lock:
            return str(self._datasets.kind.create(name).id)

    def create_key_value_store(self, name: str | None = None) -> str:
        """Create a key-value store (unnamed when ``name`` is ``None``) and return its id."""
        with self._state.lock:
            return str(self._key_value_stores.kind.create(name).id)

    def create_request_queue(self, name: str | None = None) -> str:
        """Create a request queue (unnamed when ``name`` is ``None``) and return its id."""
        with self._state.lock:
            return str(self._request_queues.kind.create(name).id)

    def dataset_items(self, dataset: str) -> list[dict[str, Any]]:
        """A copy of a dataset's items in push order.

        Args:
            dataset: Its id or name.

        Raises:
            LookupError: There is no such dataset.
        """
        with self._state.lock:
            items = self._storage(self._datasets.kind, dataset).items
            return json.loads(json.dumps(items))  # type: ignore[no-any-return]

    def record(self, store: str, key: str) -> tuple[bytes, str] | None:
        """A record as stored: ``(value, content_type)``, or ``None`` when there is none.

        Args:
            store: The key-value store's id or name.
            key: The record key.

        Raises:
            LookupError: There is no such store.
        """
        with self._state.lock:
            record = self._storage(self._key_value_stores.kind, store).records.get(key)
            return None if record is None else (record.value, record.content_type)

    def set_record(self, store: str, key: str, value: Any, content_type: str | None = None) -> None:
        """Store a record directly (to seed a test).

        Args:
            store: The key-value store's id or name.
            key: The record key.
            value: ``bytes`` or ``str`` as they are, anything else as JSON.
            content_type: Its Content-Type (default from the value's type).

        Raises:
            LookupError: There is no such store.
        """
        if isinstance(value, bytes):
            body, default_type = value, 'application/octet-stream'
        elif isinstance(value, str):
            body, default_type = value.encode('utf-8'), 'text/plain; charset=utf-8'
        else:
            body = json.dumps(value, ensure_ascii=False).encode('utf-8')
            default_type = 'application/json; charset=utf-8'
        with self._state.lock:
            found = self._storage(self._key_value_stores.kind, store)
            found.records[key] = Record(body, content_type or default_type)
            found.touch(write=True)

    def queue_requests(self, queue: str) -> list[dict[str, Any]]:
        """Every request of a queue in queue order, with ``id`` and ``handledAt``.

        Args:
            queue: The request queue's id or name.

        Raises:
            LookupError: There is no such queue.
        """
        with self._state.lock:
            entries = self._storage(self._request_queues.kind, queue).ordered()
            return json.loads(json.dumps([entry.show() for entry in entries]))  # type: ignore[no-any-return]

    def expire_locks(self, queue: str) -> int:
        """End every request lock of a queue now, as if their time ran out.

        Returns:
            How many locks were ended.

        Raises:
            LookupError: There is no such queue.
        """
        from actorkit.testing._fake_platform._common import now  # noqa: PLC0415

        with self._state.lock:
            moment = now()
            count = 0
            for entry in self._storage(self._request_queues.kind, queue).entries.values():
                if entry.locked(moment):
                    entry.lock_expires_at = moment - timedelta(milliseconds=1)
                    count += 1
            return count

    def webhooks(self) -> list[dict[str, Any]]:
        """Every webhook object (ad hoc ones included)."""
        with self._state.lock:
            return [hook.show() for hook in self._state.webhooks.values()]

    def webhook_dispatches(self) -> list[dict[str, Any]]:
        """Every dispatch recorded (a run ended that a webhook listened for), oldest first."""
        with self._state.lock:
            return self._webhooks._dispatches()

    # ------------------------------------------------------------------ faults and records

    def inject_faults(
        self,
        status: int | None = 503,
        times: int = 3,
        path: str | re.Pattern[str] | None = None,
        *,
        method: str | None = None,
        retry_after: float | None = None,
        reset: bool = False,
        delay: float | None = None,
        after_processing: bool = False,
    ) -> Fault:
        """Make the next ``times`` matching requests fail.

        Faults strike in the order they were injected; each counts only the requests it
        matches. A faulted request is not processed unless ``after_processing``.

        Args:
            status: The error status to answer with (its usual error type: 429
                ``rate-limit-exceeded``, 5xx ``internal-server-error``, ...); ``None`` answers
                normally (useful with ``delay``).
            times: How many requests fail.
            path: Only requests whose path contains this string (or matches this compiled
                regex), e.g. ``'/items'``.
            method: Only requests with this method.
            retry_after: Send ``Retry-After`` with this many seconds (with 429 or 503).
            reset: Drop the TCP connection without answering (``status`` is ignored).
            delay: Hold the answer this many seconds first (to make a client time out).
            after_processing: Process the request first, then lose the answer: the state
                changes, the client sees the failure.

        Returns:
            The fault; its ``triggered`` count says how many requests it struck.

        Raises:
            ValueError: ``times`` < 1, a bad status or a negative delay.
        """
        return self._faults.add(
            Fault(
                status=status,
                times=times,
                path=path,
                method=method,
                retry_after=retry_after,
                reset=reset,
                delay=delay,
                after_processing=after_processing,
            )
        )

    def clear_faults(self) -> None:
        """Forget every injected fault not yet used up."""
        self._faults.clear()

    def inject_unprocessed(self, count: int = 1, times: int = 1) -> None:
        """Make the next batch adds leave some requests unprocessed, as under load.

        Each of the next ``times`` batch adds puts its last ``count`` requests in
        ``unprocessedRequests`` instead of the queue.

        Raises:
            ValueError: ``count`` or ``times`` < 1.
        """
        if count < 1 or times < 1:
            raise ValueError(f'count and times must be at least 1, got {count} and {times}')
        with self._state.lock:
            self._request_queues.unprocessed_plan.extend([count] * times)

    @property
    def received(self) -> list[Received]:
        """Every request received so far, in order, as ``(method, path, query)``."""
        with self._received_lock:
            return list(self._received)

    @property
    def received_details(self) -> list[ReceivedRequest]:
        """Every request received so far with headers and bodies."""
        with self._received_lock:
            return list(self._received_details)

    def clear_received(self) -> None:
        """Forget the requests received so far."""
        with self._received_lock:
            self._received.clear()
            self._received_details.clear()

    # ------------------------------------------------------------------ events websocket

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

    def _on_metamorph(self, run: Run) -> None:
        """A run metamorphed (the events server will close the old process's connection)."""

    def _on_reboot(self, run: Run) -> None:
        """A run was rebooted (the events server will drop its connection)."""

    # ------------------------------------------------------------------ serving

    def _respond(self, raw: RawRequest) -> Answer:
        split = urlsplit(raw.target)
        path = split.path
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        query_token = query.pop('token', None)
        encoding = raw.headers.get('Content-Encoding')
        headers = {
            name.lower(): ('<redacted>' if name.lower() in _SECRET_HEADERS else value)
            for name, value in raw.headers.items()
        }
        body: bytes | None = None
        try:
            body = _decode_body(raw.body, encoding)
            error: ApiError | None = None
        except ApiError as exc:
            error = exc
        with self._received_lock:
            self._received.append(Received(raw.method, path, query))
            self._received_details.append(
                ReceivedRequest(
                    raw.method,
                    path,
                    dict(query),
                    headers,
                    body,
                    len(raw.body) if raw.body is not None else -1,
                    encoding,
                )
            )
        fault = self._faults.take(raw.method, path)
        if fault is not None and not fault.after_processing:
            if fault.delay and self._state.stopping.wait(fault.delay):
                return Answer(None)
            if fault.reset:
                return Answer(None)
            fault_error = fault.error()
            if fault_error is not None:
                return Answer(error_reply(fault_error))
        if error is not None:
            reply = error_reply(error)
        else:
            reply = self._process(raw, path, query, query_token, body or b'')
        if fault is not None and fault.after_processing:
            if fault.delay and self._state.stopping.wait(fault.delay):
                return Answer(None)
            if fault.reset:
                return Answer(None)
            fault_error = fault.error()
            if fault_error is not None:
                return Answer(error_reply(fault_error))
        return Answer(reply)

    def _authorized(self, raw: RawRequest, query_token: str | None) -> bool | None:
        """True for the right token, False for a wrong one, None for none."""
        header = raw.headers.get('Authorization') or ''
        given = None
        if header.lower().startswith('bearer '):
            given = header[7:].strip()
        elif query_token:
            given = query_token
        if not given:
            return None
        return secrets.compare_digest(given.encode(), self._state.token.encode())

    def _auth_error(self, authorized: bool | None) -> ApiError:
        if authorized is None:
            return ApiError(401, 'token-not-provided', 'Authentication token was not provided')
        return ApiError(
            401,
            'user-or-token-not-found',
            'User was not found or authentication token is not valid',
        )

    def _process(
        self,
        raw: RawRequest,
        path: str,
        query: dict[str, str],
        query_token: str | None,
        body: bytes,
    ) -> Reply:
        authorized = self._authorized(raw, query_token)
        try:
            canonical = canonical_path(
                path, self._run_storages, self._last_run, query.get('status')
            )
            handler, params = self._router.find(raw.method, canonical)
        except ApiError as exc:
            return error_reply(exc if authorized else self._auth_error(authorized))
        call = Call(
            method=raw.method,
            path=canonical,
            params=params,
            query=query,
            headers=raw.headers,
            body=body,
            base_url=self._state.base_url,
        )
        if not authorized and not self._signature_opens(call):
            return error_reply(self._auth_error(authorized))
        try:
            return handler(call)
        except ApiError as exc:
            return error_reply(exc)
        except Exception:
            _log.exception('FakePlatform failed on %s %s', raw.method, path)
            return error_reply(
                ApiError(500, 'internal-server-error', 'The fake platform failed: see the log')
            )

    def _signature_opens(self, call: Call) -> bool:
        if 'signature' not in call.query or call.method not in ('GET', 'HEAD'):
            return False
        if call.path.startswith('/v2/key-value-stores/'):
            return self._key_value_stores.signature_valid(call)
        if call.path.startswith('/v2/datasets/') and call.path.endswith('/items'):
            with self._state.lock:
                dataset = self._state.datasets.get(call.params.get('storeId', ''))
                return dataset is not None and dataset.content_signature_valid(
                    call.query['signature']
                )
        return False

    def _run_storages(self, run_id: str) -> dict[str, str]:
        with self._state.lock:
            run = self._runs.find_run(run_id)
            return {
                'dataset': run.default_dataset_id,
                'key-value-store': run.default_key_value_store_id,
                'request-queue': run.default_request_queue_id,
            }

    def _last_run(self, kind: str, owner: str, status: str | None) -> str:
        with self._state.lock:
            if kind == 'actors':
                actor = self._runs.find_actor(owner)
                return self._runs.last_run(act_id=actor.id, status=status).id
            task = self._runs.find_task(owner)
            return self._runs.last_run(task_id=task.id, status=status).id
