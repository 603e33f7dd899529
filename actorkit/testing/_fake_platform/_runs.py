"""Actors, builds, tasks and runs: start, wait, abort, metamorph, reboot, resurrect, charge.

Nothing really runs. A run stays RUNNING until a test finishes it
(:meth:`FakePlatform.finish_run`), it is aborted, its timeout passes, or the handler its Actor
was created with returns. Time-driven changes (a graceful abort turning into ABORTED, a
timeout) are applied lazily whenever a run is read, so no timer thread is needed.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import attrs

from actorkit.testing._fake_platform._common import (
    ApiError,
    Call,
    Reply,
    data_reply,
    empty_reply,
    invalid,
    iso,
    list_reply,
    new_id,
    not_found,
    now,
    paginated,
)
from actorkit.testing._fake_platform._key_value_stores import Record
from actorkit.testing._fake_platform._state import State
from actorkit.testing._fake_platform._storages import Route
from actorkit.testing._fake_platform._webhooks import check_webhook

if TYPE_CHECKING:
    from actorkit.testing._fake_platform._platform import FakePlatform

TERMINAL = frozenset({'SUCCEEDED', 'FAILED', 'TIMED-OUT', 'ABORTED'})
STATUSES = frozenset({'READY', 'RUNNING', 'TIMING-OUT', 'ABORTING'}) | TERMINAL
MAX_WAIT_SECS = 60
SYNC_WAIT_SECS = 300

RunHandler = Callable[[dict[str, str]], 'int | None']


@attrs.define(kw_only=True)
class Build:
    """A build of an Actor (every fake Actor has one, already finished)."""

    id: str = attrs.field(factory=new_id)
    """The build id."""
    act_id: str
    """The Actor's id."""
    user_id: str
    """The owner's id."""
    build_number: str = '0.1.1'
    """The build number (``major.minor.build``)."""
    created_at: datetime = attrs.field(factory=now)
    """When it was built."""

    def show(self) -> dict[str, Any]:
        """The API object of the build."""
        return {
            'id': self.id,
            'actId': self.act_id,
            'userId': self.user_id,
            'startedAt': iso(self.created_at),
            'finishedAt': iso(self.created_at),
            'status': 'SUCCEEDED',
            'meta': {'origin': 'API'},
            'buildNumber': self.build_number,
            'usageTotalUsd': 0.0,
            'options': {'useCache': True, 'memoryMbytes': 4096, 'diskMbytes': 8192},
            'stats': {'durationMillis': 0, 'runTimeSecs': 0.0, 'computeUnits': 0.0},
        }


@attrs.define(kw_only=True)
class Actor:
    """An Actor that runs can be started for."""

    id: str = attrs.field(factory=new_id)
    """The Actor id."""
    name: str
    """Its name."""
    user_id: str
    """The owner's id."""
    username: str
    """The owner's username."""
    build: Build
    """Its only build, tagged ``latest``."""
    created_at: datetime = attrs.field(factory=now)
    """Creation time."""
    modified_at: datetime = attrs.field(factory=now)
    """Last change."""
    title: str | None = None
    """A human title."""
    timeout_secs: int = 3600
    """The default run timeout."""
    memory_mbytes: int = 1024
    """The default run memory."""
    pricing_info: dict[str, Any] | None = None
    """The pricing every run of it gets, already normalized."""
    handler: RunHandler | None = None
    """Called with each run's environment on its own thread; its return ends the run."""

    def show(self) -> dict[str, Any]:
        """The API object of the Actor."""
        return {
            'id': self.id,
            'userId': self.user_id,
            'name': self.name,
            'username': self.username,
            'title': self.title,
            'description': None,
            'isPublic': False,
            'createdAt': iso(self.created_at),
            'modifiedAt': iso(self.modified_at),
            'stats': {'totalBuilds': 1, 'totalRuns': 0, 'totalUsers': 1},
            'versions': [
                {'versionNumber': '0.1', 'sourceType': 'SOURCE_FILES', 'buildTag': 'latest'}
            ],
            'defaultRunOptions': {
                'build': 'latest',
                'timeoutSecs': self.timeout_secs,
                'memoryMbytes': self.memory_mbytes,
            },
            'pricingInfos': [self.pricing_info] if self.pricing_info else [],
            'taggedBuilds': {
                'latest': {
                    'buildId': self.build.id,
                    'buildNumber': self.build.build_number,
                    'finishedAt': iso(self.build.created_at),
                }
            },
            'actorPermissionLevel': 'LIMITED_PERMISSIONS',
        }


@attrs.define(kw_only=True)
class Task:
    """A saved configuration (input and options) of an Actor."""

    id: str = attrs.field(factory=new_id)
    """The task id."""
    act_id: str
    """The Actor it runs."""
    name: str
    """Its name."""
    user_id: str
    """The owner's id."""
    username: str
    """The owner's username."""
    input: Any = None
    """The input its runs get (unless a start gives another)."""
    options: dict[str, Any] = attrs.field(factory=dict)
    """Run options: ``build``, ``timeoutSecs``, ``memoryMbytes``."""
    created_at: datetime = attrs.field(factory=now)
    """Creation time."""
    modified_at: datetime = attrs.field(factory=now)
    """Last change."""

    def show(self) -> dict[str, Any]:
        """The API object of the task."""
        return {
            'id': self.id,
            'userId': self.user_id,
            'actId': self.act_id,
            'name': self.name,
            'username': self.username,
            'createdAt': iso(self.created_at),
            'modifiedAt': iso(self.modified_at),
            'options': self.options,
            'input': self.input,
            'stats': {'totalRuns': 0},
        }


@attrs.frozen
class Charge:
    """One charge a run made through the API.

    Attributes:
        event_name: The charged event.
        count: How many of it.
        idempotency_key: The key the request carried, if any.
        price_usd: The price of one event (``Decimal``; 0 when the event has no price).
        created_at: When the platform took it.
    """

    event_name: str
    count: int
    idempotency_key: str | None
    price_usd: Decimal
    created_at: datetime


@attrs.define(kw_only=True)
class Run:
    """One Actor run."""

    id: str = attrs.field(factory=new_id)
    """The run id."""
    act_id: str
    """The Actor it runs now (changes on metamorph)."""
    user_id: str
    """The owner's id."""
    build_id: str
    """The build it runs."""
    build_number: str
    """That build's number."""
    started_act_id: str
    """The Actor it was started for (before any metamorph)."""
    actor_task_id: str | None = None
    """The task it was started from."""
    started_at: datetime = attrs.field(factory=now)
    """Start time."""
    finished_at: datetime | None = None
    """When it finished."""
    status: str = 'RUNNING'
    """Its status."""
    status_message: str | None = None
    """The status message it set."""
    is_status_message_terminal: bool | None = None
    """Whether that message is the last."""
    exit_code: int | None = None
    """The exit code, once finished."""
    origin: str = 'API'
    """Who started it."""
    options: dict[str, Any]
    """``build``, ``timeoutSecs``, ``memoryMbytes``, ``diskMbytes``, maybe ``maxItems`` and
    ``maxTotalChargeUsd``."""
    default_dataset_id: str
    """Its default dataset."""
    default_key_value_store_id: str
    """Its default key-value store."""
    default_request_queue_id: str
    """Its default request queue."""
    input_key: str = 'INPUT'
    """The key of its current input record."""
    pricing_info: dict[str, Any] | None = None
    """Its pricing (normalized)."""
    charged_event_counts: dict[str, int] = attrs.field(factory=dict)
    """Events charged so far, by name."""
    charges: list[Charge] = attrs.field(factory=list)
    """Every charge taken, in order."""
    idempotency_keys: set[str] = attrs.field(factory=set)
    """Charge idempotency keys seen."""
    stats: dict[str, Any] = attrs.field(factory=dict)
    """Counters: reboots, resurrections, metamorphs."""
    metamorphs: list[dict[str, Any]] = attrs.field(factory=list)
    """One entry per metamorph."""
    reboots: list[dict[str, Any]] = attrs.field(factory=list)
    """One entry per reboot (``createdAt``)."""
    abort: dict[str, Any] | None = None
    """The abort asked for (``requestedAt``, ``gracefully``), if any."""
    abort_at: datetime | None = None
    """When a graceful abort turns into ABORTED."""
    input_body_len: int = 0
    """The size of the input it started with."""

    @property
    def finished(self) -> bool:
        """Whether its status is terminal."""
        return self.status in TERMINAL

    def timeout_at(self) -> datetime | None:
        """When it times out (``None``: never)."""
        seconds = int(self.options.get('timeoutSecs') or 0)
        return self.started_at + timedelta(seconds=seconds) if seconds else None

    def finish(self, status: str, exit_code: int | None = None) -> None:
        """Move to a terminal status."""
        self.status = status
        self.finished_at = now()
        self.exit_code = exit_code if exit_code is not None else (0 if status == 'SUCCEEDED' else 1)
        self.abort_at = None

    def refresh(self) -> bool:
        """Apply the changes time brings (abort deadline, timeout); return whether it changed."""
        moment = now()
        if self.status == 'ABORTING' and self.abort_at is not None and moment >= self.abort_at:
            self.finish('ABORTED')
            return True
        timeout_at = self.timeout_at()
        if self.status in ('RUNNING', 'READY') and timeout_at is not None and moment >= timeout_at:
            self.finish('TIMED-OUT')
            return True
        return False

    def next_change(self) -> datetime | None:
        """The next moment :meth:`refresh` would change something."""
        if self.status == 'ABORTING':
            return self.abort_at
        if self.status in ('RUNNING', 'READY'):
            return self.timeout_at()
        return None

    def show(self, base_url: str) -> dict[str, Any]:
        """The API object of the run."""
        duration = ((self.finished_at or now()) - self.started_at).total_seconds()
        shown: dict[str, Any] = {
            'id': self.id,
            'actId': self.act_id,
            'userId': self.user_id,
            'actorTaskId': self.actor_task_id,
            'startedAt': iso(self.started_at),
            'finishedAt': iso(self.finished_at),
            'status': self.status,
            'statusMessage': self.status_message,
            'isStatusMessageTerminal': self.is_status_message_terminal,
            'meta': {'origin': self.origin, 'userAgent': 'actorkit-FakePlatform'},
            'stats': {
                'inputBodyLen': self.input_body_len,
                'migrationCount': self.stats.get('migrationCount', 0),
                'rebootCount': self.stats.get('rebootCount', 0),
                'restartCount': 0,
                'resurrectCount': self.stats.get('resurrectCount', 0),
                'metamorph': len(self.metamorphs),
                'durationMillis': int(duration * 1000),
                'runTimeSecs': duration,
                'computeUnits': 0.0,
            },
            'options': dict(self.options),
            'buildId': self.build_id,
            'buildNumber': self.build_number,
            'exitCode': self.exit_code,
            'defaultKeyValueStoreId': self.default_key_value_store_id,
            'defaultDatasetId': self.default_dataset_id,
            'defaultRequestQueueId': self.default_request_queue_id,
            'storageIds': {
                'datasets': {'default': self.default_dataset_id},
                'keyValueStores': {'default': self.default_key_value_store_id},
                'requestQueues': {'default': self.default_request_queue_id},
            },
            'containerUrl': f'{base_url}/fake-container/{self.id}',
            'isContainerServerReady': False,
            'generalAccess': 'FOLLOW_USER_SETTING',
            'usage': {},
            'usageTotalUsd': 0.0,
            'usageUsd': {},
            'metamorphs': list(self.metamorphs),
            'platformUsageBillingModel': 'USER',
        }
        if self.pricing_info is not None:
            shown['pricingInfo'] = self.pricing_info
            shown['chargedEventCounts'] = dict(self.charged_event_counts)
        return shown

    def show_list_item(self) -> dict[str, Any]:
        """The run as listed in a collection."""
        return {
            'id': self.id,
            'actId': self.act_id,
            'actorTaskId': self.actor_task_id,
            'userId': self.user_id,
            'status': self.status,
            'startedAt': iso(self.started_at),
            'finishedAt': iso(self.finished_at),
            'buildId': self.build_id,
            'buildNumber': self.build_number,
            'meta': {'origin': self.origin},
            'usageTotalUsd': 0.0,
            'defaultKeyValueStoreId': self.default_key_value_store_id,
            'defaultDatasetId': self.default_dataset_id,
            'defaultRequestQueueId': self.default_request_queue_id,
        }


def normalize_pricing(pricing: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Complete a pricing info with the fields the platform always sends.

    A mapping without ``pricingModel`` is read as ``{event name: price in USD}`` of a
    pay-per-event Actor.

    Raises:
        ValueError: The pricing is not a mapping, or an event has no usable price.
    """
    if pricing is None:
        return None
    if not isinstance(pricing, Mapping):
        raise ValueError(
            f'pricing_info must be a mapping, got {type(pricing).__name__}: pass the API shape '
            f'{{"pricingModel": ..., ...}} or {{event name: price in USD}}'
        )
    info: dict[str, Any]
    if 'pricingModel' not in pricing:
        events = {}
        for name, price in pricing.items():
            try:
                Decimal(str(price))
            except InvalidOperation:
                raise ValueError(
                    f'pricing_info event {name!r} has price {price!r}: use a number of USD'
                ) from None
            events[name] = {'eventTitle': name, 'eventPriceUsd': float(price)}
        info = {
            'pricingModel': 'PAY_PER_EVENT',
            'pricingPerEvent': {'actorChargeEvents': events},
        }
    else:
        info = json.loads(json.dumps(dict(pricing)))
    stamp = iso(now())
    info.setdefault('apifyMarginPercentage', 0)
    info.setdefault('createdAt', stamp)
    info.setdefault('startedAt', stamp)
    if info['pricingModel'] == 'PAY_PER_EVENT':
        per_event = info.setdefault('pricingPerEvent', {})
        for name, event in (per_event.setdefault('actorChargeEvents', {}) or {}).items():
            event.setdefault('eventTitle', name)
            event.setdefault('eventDescription', event['eventTitle'])
    elif info['pricingModel'] == 'PRICE_PER_DATASET_ITEM':
        info.setdefault('unitName', 'result')
    elif info['pricingModel'] == 'FLAT_PRICE_PER_MONTH':
        info.setdefault('trialMinutes', 0)
        info.setdefault('pricePerUnitUsd', 0)
    return info


def event_price(run: Run, event_name: str) -> Decimal | None:
    """The price of one event of a pay-per-event run, or ``None`` when it has no such event."""
    info = run.pricing_info or {}
    events = (info.get('pricingPerEvent') or {}).get('actorChargeEvents') or {}
    event = events.get(event_name)
    if event is None:
        return None
    return Decimal(str(event.get('eventPriceUsd') or 0))


def _ad_hoc_webhooks(call: Call) -> list[dict[str, Any]]:
    encoded = call.query.get('webhooks')
    if not encoded:
        return []
    try:
        webhooks = json.loads(base64.b64decode(encoded + '=' * (-len(encoded) % 4)))
    except ValueError as exc:
        raise invalid(
            f'Query parameter "webhooks" must be base64-encoded JSON: {exc}', 'invalid-parameter'
        ) from exc
    if not isinstance(webhooks, list) or not all(isinstance(hook, dict) for hook in webhooks):
        raise invalid('Query parameter "webhooks" must encode an array of webhook objects')
    return webhooks


class RunsApi:
    """The Actor, build, task and run endpoints.

    Args:
        state: The platform state.
        platform: The platform (for storages, webhooks and run handlers).
    """

    def __init__(self, state: State, platform: FakePlatform) -> None:
        self.state = state
        self.platform = platform
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ lookups

    def find_actor(self, id_or_name: str) -> Actor:
        """The Actor with this id, ``name``, ``username~name`` or ``username/name`` (404)."""
        actor = self.state.actors.get(id_or_name)
        if actor is not None:
            return actor
        username, _, name = id_or_name.replace('/', '~').rpartition('~')
        for candidate in self.state.actors.values():
            if candidate.name == name and username in ('', 'me', candidate.username):
                return candidate
        raise ApiError(404, 'record-not-found', f'Actor "{id_or_name}" was not found')

    def find_task(self, id_or_name: str) -> Task:
        """The task with this id or ``username~name`` (404)."""
        task = self.state.tasks.get(id_or_name)
        if task is not None:
            return task
        username, _, name = id_or_name.replace('/', '~').rpartition('~')
        for candidate in self.state.tasks.values():
            if candidate.name == name and username in ('', 'me', candidate.username):
                return candidate
        raise not_found('Actor task')

    def find_run(self, run_id: str) -> Run:
        """The run with this id (404), its time-driven changes applied."""
        run = self.state.runs.get(run_id)
        if run is None:
            raise not_found('Actor run')
        self.refresh(run)
        return run

    def refresh(self, run: Run) -> None:
        """Apply the changes time brought to a run, telling waiters and webhooks."""
        if run.refresh():
            self._on_finished(run)

    def last_run(
        self, *, act_id: str | None = None, task_id: str | None = None, status: str | None = None
    ) -> Run:
        """The newest run of an Actor or task, optionally with a given status (404)."""
        runs = [
            run
            for run in self.state.runs.values()
            if (act_id is None or act_id in (run.act_id, run.started_act_id))
            and (task_id is None or run.actor_task_id == task_id)
        ]
        for run in runs:
            self.refresh(run)
        if status:
            runs = [run for run in runs if run.status == status]
        if not runs:
            raise not_found('Actor run')
        return max(runs, key=lambda run: run.started_at)

    # ------------------------------------------------------------------ creation

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
    ) -> Actor:
        """Create an Actor (the caller holds the lock)."""
        for existing in self.state.actors.values():
            if existing.name == name:
                raise ValueError(f'an Actor named {name!r} already exists; pick another name')
        identifier = actor_id or new_id()
        build = Build(act_id=identifier, user_id=self.state.user_id)
        actor = Actor(
            id=identifier,
            name=name,
            user_id=self.state.user_id,
            username=self.state.username,
            build=build,
            title=title,
            timeout_secs=timeout_secs,
            memory_mbytes=memory_mbytes,
            pricing_info=normalize_pricing(pricing_info),
            handler=handler,
        )
        self.state.actors[actor.id] = actor
        self.state.builds[build.id] = build
        return actor

    def create_run(
        self,
        actor: Actor,
        *,
        task: Task | None = None,
        input_body: bytes | None = None,
        input_content_type: str = 'application/json; charset=utf-8',
        build: str | None = None,
        timeout_secs: int | None = None,
        memory_mbytes: int | None = None,
        max_items: int | None = None,
        max_total_charge_usd: float | None = None,
        pricing_info: dict[str, Any] | None = None,
        charged_event_counts: Mapping[str, int] | None = None,
        origin: str = 'API',
    ) -> Run:
        """Create a RUNNING run with fresh default storages (the caller holds the lock)."""
        memory = memory_mbytes or actor.memory_mbytes
        if not 128 <= memory <= 32768:
            raise invalid(f'Memory must be between 128 and 32768 MB, got {memory}')
        options: dict[str, Any] = {
            'build': build or 'latest',
            'timeoutSecs': actor.timeout_secs if timeout_secs is None else timeout_secs,
            'memoryMbytes': memory,
            'diskMbytes': memory * 2,
        }
        if max_items is not None:
            options['maxItems'] = max_items
        if max_total_charge_usd is not None:
            options['maxTotalChargeUsd'] = max_total_charge_usd
        platform = self.platform
        dataset = platform._datasets.kind.create(None)
        store = platform._key_value_stores.kind.create(None)
        queue = platform._request_queues.kind.create(None)
        run = Run(
            act_id=actor.id,
            started_act_id=actor.id,
            user_id=self.state.user_id,
            build_id=actor.build.id,
            build_number=actor.build.build_number,
            actor_task_id=task.id if task else None,
            origin=origin,
            options=options,
            default_dataset_id=dataset.id,
            default_key_value_store_id=store.id,
            default_request_queue_id=queue.id,
            pricing_info=pricing_info if pricing_info is not None else actor.pricing_info,
            charged_event_counts=dict(charged_event_counts or {}),
            input_body_len=len(input_body or b''),
        )
        for storage in (dataset, store, queue):
            storage.act_id = actor.id
            storage.act_run_id = run.id
        if input_body is not None:
            store.records['INPUT'] = Record(input_body, input_content_type)
        self.state.runs[run.id] = run
        return run

    def start_handler(self, run: Run, actor: Actor) -> None:
        """Run the Actor's handler for a run on its own thread (the caller holds the lock)."""
        handler = actor.handler
        if handler is None:
            return
        environment = self.platform._environment(run)

        def work() -> None:
            status, exit_code = 'SUCCEEDED', 0
            try:
                result = handler(environment)
                if isinstance(result, int) and result != 0:
                    status, exit_code = 'FAILED', result
            except Exception:
                import logging  # noqa: PLC0415

                logging.getLogger('actorkit.testing').exception(
                    'the handler of Actor %s failed run %s', actor.name, run.id
                )
                status, exit_code = 'FAILED', 1
            with self.state.lock:
                if not run.finished and run.act_id == actor.id:
                    run.finish(status, exit_code)
                    self._on_finished(run)

        thread = threading.Thread(
            target=work, name=f'actorkit-fake-platform-run-{run.id}', daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def threads(self) -> list[threading.Thread]:
        """The handler threads started so far."""
        return list(self._threads)

    def _on_finished(self, run: Run) -> None:
        """Tell waiters and webhooks that a run finished (the caller holds the lock)."""
        self.state.changed.notify_all()
        self.platform._webhooks.run_finished(run)

    def finish(self, run: Run, status: str, exit_code: int | None) -> None:
        """Finish a run (the caller holds the lock)."""
        run.finish(status, exit_code)
        self._on_finished(run)

    # ------------------------------------------------------------------ routes

    def routes(self) -> list[Route]:
        """Every Actor, build, task and run route."""
        return [
            ('GET', '/v2/actors', self.list_actors),
            ('POST', '/v2/actors', self.post_actor),
            ('GET', '/v2/actors/{actorId}', self.get_actor),
            ('PUT', '/v2/actors/{actorId}', self.put_actor),
            ('DELETE', '/v2/actors/{actorId}', self.delete_actor),
            ('GET', '/v2/actors/{actorId}/runs', self.list_actor_runs),
            ('POST', '/v2/actors/{actorId}/runs', self.start_actor),
            ('POST', '/v2/actors/{actorId}/run-sync', self.run_sync),
            ('GET', '/v2/actors/{actorId}/run-sync', self.run_sync),
            ('POST', '/v2/actors/{actorId}/run-sync-get-dataset-items', self.run_sync_items),
            ('GET', '/v2/actors/{actorId}/run-sync-get-dataset-items', self.run_sync_items),
            ('GET', '/v2/actors/{actorId}/builds', self.list_builds),
            ('GET', '/v2/actors/{actorId}/builds/default', self.default_build),
            ('GET', '/v2/actors/{actorId}/builds/{buildId}', self.get_build),
            ('GET', '/v2/actor-builds/{buildId}', self.get_build),
            ('GET', '/v2/actor-tasks', self.list_tasks),
            ('POST', '/v2/actor-tasks', self.post_task),
            ('GET', '/v2/actor-tasks/{taskId}', self.get_task),
            ('PUT', '/v2/actor-tasks/{taskId}', self.put_task),
            ('DELETE', '/v2/actor-tasks/{taskId}', self.delete_task),
            ('GET', '/v2/actor-tasks/{taskId}/input', self.get_task_input),
            ('PUT', '/v2/actor-tasks/{taskId}/input', self.put_task_input),
            ('GET', '/v2/actor-tasks/{taskId}/runs', self.list_task_runs),
            ('POST', '/v2/actor-tasks/{taskId}/runs', self.start_task),
            ('POST', '/v2/actor-tasks/{taskId}/run-sync', self.run_sync),
            ('GET', '/v2/actor-tasks/{taskId}/run-sync', self.run_sync),
            ('POST', '/v2/actor-tasks/{taskId}/run-sync-get-dataset-items', self.run_sync_items),
            ('GET', '/v2/actor-tasks/{taskId}/run-sync-get-dataset-items', self.run_sync_items),
            ('GET', '/v2/actor-runs', self.list_runs),
            ('GET', '/v2/actor-runs/{runId}', self.get_run),
            ('PUT', '/v2/actor-runs/{runId}', self.update_run),
            ('DELETE', '/v2/actor-runs/{runId}', self.delete_run),
            ('POST', '/v2/actor-runs/{runId}/abort', self.abort_run),
            ('POST', '/v2/actor-runs/{runId}/metamorph', self.metamorph_run),
            ('POST', '/v2/actor-runs/{runId}/reboot', self.reboot_run),
            ('POST', '/v2/actor-runs/{runId}/resurrect', self.resurrect_run),
            ('POST', '/v2/actor-runs/{runId}/charge', self.charge_run),
            ('GET', '/v2/actor-runs/{runId}/log', self.run_log),
            ('GET', '/v2/logs/{runId}', self.run_log),
        ]

    # ------------------------------------------------------------------ Actors

    def list_actors(self, call: Call) -> Reply:
        with self.state.lock:
            actors = sorted(self.state.actors.values(), key=lambda actor: actor.created_at)
            shown = [
                {
                    'id': actor.id,
                    'name': actor.name,
                    'username': actor.username,
                    'title': actor.title,
                    'createdAt': iso(actor.created_at),
                    'modifiedAt': iso(actor.modified_at),
                    'stats': {'totalRuns': 0},
                }
                for actor in actors
            ]
        return list_reply(call, shown)

    def post_actor(self, call: Call) -> Reply:
        body = call.json_object()
        name = body.get('name')
        if not isinstance(name, str) or not name:
            raise invalid('Field "name" is required: give the Actor a name')
        options = body.get('defaultRunOptions') or {}
        with self.state.lock:
            if any(actor.name == name for actor in self.state.actors.values()):
                raise ApiError(409, 'actor-name-not-unique', f'Actor name "{name}" is taken')
            actor = self.create_actor(
                name,
                title=body.get('title'),
                timeout_secs=int(options.get('timeoutSecs') or 3600),
                memory_mbytes=int(options.get('memoryMbytes') or 1024),
            )
            shown = actor.show()
        return data_reply(shown, 201, {'Location': f'{call.base_url}/v2/actors/{actor.id}'})

    def get_actor(self, call: Call) -> Reply:
        with self.state.lock:
            return data_reply(self.find_actor(call.params['actorId']).show())

    def put_actor(self, call: Call) -> Reply:
        body = call.json_object()
        with self.state.lock:
            actor = self.find_actor(call.params['actorId'])
            if isinstance(body.get('name'), str):
                actor.name = body['name']
            if 'title' in body:
                actor.title = body['title']
            options = body.get('defaultRunOptions') or {}
            actor.timeout_secs = int(options.get('timeoutSecs') or actor.timeout_secs)
            actor.memory_mbytes = int(options.get('memoryMbytes') or actor.memory_mbytes)
            actor.modified_at = now()
            return data_reply(actor.show())

    def delete_actor(self, call: Call) -> Reply:
        with self.state.lock:
            actor = self.find_actor(call.params['actorId'])
            del self.state.actors[actor.id]
        return empty_reply()

    def list_builds(self, call: Call) -> Reply:
        with self.state.lock:
            build = self.find_actor(call.params['actorId']).build.show()
        return data_reply(paginated([build], offset=0, limit=None, desc=False))

    def default_build(self, call: Call) -> Reply:
        with self.state.lock:
            return data_reply(self.find_actor(call.params['actorId']).build.show())

    def get_build(self, call: Call) -> Reply:
        with self.state.lock:
            build = self.state.builds.get(call.params['buildId'])
            if build is None:
                raise not_found('Actor build')
            return data_reply(build.show())

    # ------------------------------------------------------------------ tasks

    def list_tasks(self, call: Call) -> Reply:
        with self.state.lock:
            tasks = sorted(self.state.tasks.values(), key=lambda task: task.created_at)
            shown = [task.show() for task in tasks]
        return list_reply(call, shown)

    def create_task(
        self,
        actor: Actor,
        name: str,
        *,
        task_input: Any = None,
        options: Mapping[str, Any] | None = None,
    ) -> Task:
        """Create a task (the caller holds the lock)."""
        task = Task(
            act_id=actor.id,
            name=name,
            user_id=self.state.user_id,
            username=self.state.username,
            input=task_input,
            options=dict(options or {}),
        )
        self.state.tasks[task.id] = task
        return task

    def post_task(self, call: Call) -> Reply:
        body = call.json_object()
        act_id = body.get('actId')
        if not isinstance(act_id, str):
            raise invalid('Field "actId" is required: name the Actor the task runs')
        with self.state.lock:
            actor = self.find_actor(act_id)
            name = body.get('name') or f'{actor.name}-task'
            if any(task.name == name for task in self.state.tasks.values()):
                raise ApiError(409, 'actor-task-name-not-unique', f'Task name "{name}" is taken')
            task = self.create_task(
                actor, name, task_input=body.get('input'), options=body.get('options')
            )
            shown = task.show()
        return data_reply(shown, 201, {'Location': f'{call.base_url}/v2/actor-tasks/{task.id}'})

    def get_task(self, call: Call) -> Reply:
        with self.state.lock:
            return data_reply(self.find_task(call.params['taskId']).show())

    def put_task(self, call: Call) -> Reply:
        body = call.json_object()
        with self.state.lock:
            task = self.find_task(call.params['taskId'])
            if isinstance(body.get('name'), str):
                task.name = body['name']
            if 'input' in body:
                task.input = body['input']
            if isinstance(body.get('options'), dict):
                task.options.update(body['options'])
            task.modified_at = now()
            return data_reply(task.show())

    def delete_task(self, call: Call) -> Reply:
        with self.state.lock:
            task = self.find_task(call.params['taskId'])
            del self.state.tasks[task.id]
        return empty_reply()

    def get_task_input(self, call: Call) -> Reply:
        with self.state.lock:
            task = self.find_task(call.params['taskId'])
            return Reply(
                200,
                json.dumps(task.input if task.input is not None else {}).encode(),
                'application/json; charset=utf-8',
            )

    def put_task_input(self, call: Call) -> Reply:
        body = call.json_object()
        with self.state.lock:
            task = self.find_task(call.params['taskId'])
            task.input = body
            task.modified_at = now()
        return Reply(200, json.dumps(body).encode(), 'application/json; charset=utf-8')

    # ------------------------------------------------------------------ starting runs

    def _create_from_call(self, call: Call, actor: Actor, task: Task | None) -> Run:
        content_type = call.headers.get('Content-Type') or 'application/json; charset=utf-8'
        body: bytes | None = call.body if call.body else None
        if body is None and task is not None and task.input is not None:
            body = json.dumps(task.input).encode()
            content_type = 'application/json; charset=utf-8'
        if body is not None and content_type.split(';')[0].strip() == 'application/json':
            try:
                json.loads(body)
            except ValueError as exc:
                raise invalid(
                    f'The input is not valid JSON: {exc}', 'run-input-body-not-valid-json'
                ) from exc
            if call.body and task is not None and isinstance(task.input, dict):
                # The payload overrides the task's input field by field.
                override = json.loads(body)
                if isinstance(override, dict):
                    body = json.dumps({**task.input, **override}).encode()
        task_options = task.options if task else {}
        webhooks = [
            {**hook, 'condition': {'actorRunId': 'pending'}, 'isAdHoc': True}
            for hook in _ad_hoc_webhooks(call)
        ]
        for hook in webhooks:
            check_webhook(hook)
        max_charge = call.decimal_number('maxTotalChargeUsd')
        with self.state.lock:
            run = self.create_run(
                actor,
                task=task,
                input_body=body,
                input_content_type=content_type,
                build=call.query.get('build') or task_options.get('build'),
                timeout_secs=call.number('timeout', None) or task_options.get('timeoutSecs'),
                memory_mbytes=call.number('memory', None) or task_options.get('memoryMbytes'),
                max_items=call.number('maxItems', None),
                max_total_charge_usd=max_charge,
            )
            for hook in webhooks:
                self.platform._webhooks.create({**hook, 'condition': {'actorRunId': run.id}})
            self.start_handler(run, actor)
        return run

    def _start(self, call: Call, actor: Actor, task: Task | None) -> Reply:
        run = self._create_from_call(call, actor, task)
        wait = min(call.number('waitForFinish', 0) or 0, MAX_WAIT_SECS)
        shown = self.wait_and_show(run.id, wait, call.base_url)
        return data_reply(shown, 201, {'Location': f'{call.base_url}/v2/actor-runs/{run.id}'})

    def _actor_and_task(self, call: Call) -> tuple[Actor, Task | None]:
        with self.state.lock:
            if 'taskId' in call.params:
                task = self.find_task(call.params['taskId'])
                return self.find_actor(task.act_id), task
            return self.find_actor(call.params['actorId']), None

    def start_actor(self, call: Call) -> Reply:
        return self._start(call, *self._actor_and_task(call))

    def start_task(self, call: Call) -> Reply:
        return self._start(call, *self._actor_and_task(call))

    def _run_sync(self, call: Call) -> Run:
        """Start a run and wait for its end as the synchronous endpoints do (up to 300 s)."""
        run = self._create_from_call(call, *self._actor_and_task(call))
        shown = self.wait_and_show(run.id, SYNC_WAIT_SECS, call.base_url)
        if shown['status'] not in TERMINAL:
            raise ApiError(
                408,
                'run-timeout-exceeded',
                f'Actor run exceeded the timeout of {SYNC_WAIT_SECS} seconds for this API endpoint',
            )
        if shown['status'] != 'SUCCEEDED':
            raise ApiError(400, 'run-failed', f'Actor run {run.id} ended {shown["status"]}')
        return run

    def run_sync(self, call: Call) -> Reply:
        run = self._run_sync(call)
        key = call.query.get('outputRecordKey') or 'OUTPUT'
        with self.state.lock:
            store = self.platform._key_value_stores.kind.find(run.default_key_value_store_id)
            record = store.records.get(key)
        if record is None:
            raise not_found('Record')
        return Reply(201, record.value, record.content_type)

    def run_sync_items(self, call: Call) -> Reply:
        run = self._run_sync(call)
        items_call = attrs.evolve(
            call, params={'storeId': run.default_dataset_id}, path='/v2/datasets/items'
        )
        reply = self.platform._datasets.list_items(items_call)
        return attrs.evolve(reply, status=201)

    # ------------------------------------------------------------------ runs

    def wait_and_show(self, run_id: str, wait_secs: float, base_url: str) -> dict[str, Any]:
        """Wait up to ``wait_secs`` for the run to finish; return its API object."""
        deadline = now() + timedelta(seconds=wait_secs)
        with self.state.lock:
            run = self.find_run(run_id)
            while not run.finished and not self.state.stopping.is_set():
                moment = now()
                if moment >= deadline:
                    break
                until = deadline
                change = run.next_change()
                if change is not None and change < until:
                    until = change
                self.state.changed.wait(max((until - moment).total_seconds(), 0.0) + 0.001)
                run = self.find_run(run_id)
            return run.show(base_url)

    def _list(self, call: Call, runs: list[Run]) -> Reply:
        for run in runs:
            self.refresh(run)
        statuses = {s for s in (call.query.get('status') or '').split(',') if s}
        if statuses:
            runs = [run for run in runs if run.status in statuses]
        runs.sort(key=lambda run: run.started_at)
        return list_reply(call, [run.show_list_item() for run in runs])

    def list_runs(self, call: Call) -> Reply:
        with self.state.lock:
            return self._list(call, list(self.state.runs.values()))

    def list_actor_runs(self, call: Call) -> Reply:
        with self.state.lock:
            actor = self.find_actor(call.params['actorId'])
            runs = [run for run in self.state.runs.values() if run.act_id == actor.id]
            return self._list(call, runs)

    def list_task_runs(self, call: Call) -> Reply:
        with self.state.lock:
            task = self.find_task(call.params['taskId'])
            runs = [run for run in self.state.runs.values() if run.actor_task_id == task.id]
            return self._list(call, runs)

    def get_run(self, call: Call) -> Reply:
        wait = min(call.number('waitForFinish', 0) or 0, MAX_WAIT_SECS)
        return data_reply(self.wait_and_show(call.params['runId'], wait, call.base_url))

    def update_run(self, call: Call) -> Reply:
        body = call.json_object()
        with self.state.lock:
            run = self.find_run(call.params['runId'])
            if 'statusMessage' in body:
                message = body['statusMessage']
                if message is not None and not isinstance(message, str):
                    raise invalid('Field "statusMessage" must be a string')
                run.status_message = message
            if 'isStatusMessageTerminal' in body:
                run.is_status_message_terminal = bool(body['isStatusMessageTerminal'])
            return data_reply(run.show(call.base_url))

    def delete_run(self, call: Call) -> Reply:
        with self.state.lock:
            run = self.find_run(call.params['runId'])
            if not run.finished:
                raise ApiError(
                    400, 'cannot-remove-running-run', 'A running Actor run cannot be deleted'
                )
            del self.state.runs[run.id]
        return empty_reply()

    def abort_run(self, call: Call) -> Reply:
        gracefully = call.flag('gracefully')
        with self.state.lock:
            run = self.find_run(call.params['runId'])
            if not run.finished and run.status != 'ABORTING':
                run.abort = {'requestedAt': iso(now()), 'gracefully': bool(gracefully)}
                if gracefully:
                    run.status = 'ABORTING'
                    run.abort_at = now() + timedelta(seconds=self.platform.abort_grace_secs)
                    self.state.changed.notify_all()
                else:
                    self.finish(run, 'ABORTED', None)
                self.platform._on_abort(run, gracefully=gracefully)
            return data_reply(run.show(call.base_url))

    def metamorph_run(self, call: Call) -> Reply:
        target_id = call.query.get('targetActorId')
        if not target_id:
            raise invalid('Query parameter "targetActorId" is required')
        content_type = call.headers.get('Content-Type') or 'application/json; charset=utf-8'
        with self.state.lock:
            run = self.find_run(call.params['runId'])
            if run.finished:
                raise invalid(f'Actor run {run.id} has finished and cannot metamorph')
            target = self.find_actor(target_id)
            input_key = f'INPUT-METAMORPH-{len(run.metamorphs) + 1}'
            store = self.platform._key_value_stores.kind.find(run.default_key_value_store_id)
            if call.body:
                store.records[input_key] = Record(call.body, content_type)
            run.metamorphs.append(
                {
                    'createdAt': iso(now()),
                    'actorId': target.id,
                    'buildId': target.build.id,
                    'inputKey': input_key,
                }
            )
            run.act_id = target.id
            run.build_id = target.build.id
            run.build_number = target.build.build_number
            run.input_key = input_key
            self.platform._on_metamorph(run)
            self.start_handler(run, target)
            return data_reply(run.show(call.base_url))

    def reboot_run(self, call: Call) -> Reply:
        with self.state.lock:
            run = self.find_run(call.params['runId'])
            if run.finished:
                raise invalid(f'Actor run {run.id} has finished and cannot be rebooted')
            run.stats['rebootCount'] = run.stats.get('rebootCount', 0) + 1
            run.reboots.append({'createdAt': iso(now())})
            self.platform._on_reboot(run)
            return data_reply(run.show(call.base_url))

    def resurrect_run(self, call: Call) -> Reply:
        with self.state.lock:
            run = self.find_run(call.params['runId'])
            if not run.finished:
                raise invalid(
                    f'Actor run {run.id} is {run.status}: only a finished run can be resurrected'
                )
            if call.query.get('build'):
                run.options['build'] = call.query['build']
            memory = call.number('memory', None)
            if memory is not None:
                run.options['memoryMbytes'] = memory
                run.options['diskMbytes'] = memory * 2
            timeout = call.number('timeout', None)
            if timeout is not None:
                run.options['timeoutSecs'] = timeout
            run.status = 'RUNNING'
            run.finished_at = None
            run.exit_code = None
            run.started_at = now()
            run.stats['resurrectCount'] = run.stats.get('resurrectCount', 0) + 1
            actor = self.state.actors.get(run.act_id)
            if actor is not None:
                self.start_handler(run, actor)
            return data_reply(run.show(call.base_url))

    def charge_run(self, call: Call) -> Reply:
        body = call.json_object()
        event_name = body.get('eventName')
        count = body.get('count', 1)
        if not isinstance(event_name, str) or not event_name:
            raise invalid('Field "eventName" is required: name the event to charge')
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise invalid(f'Field "count" must be a positive integer, got {count!r}')
        key = call.headers.get('idempotency-key') or None
        with self.state.lock:
            run = self.find_run(call.params['runId'])
            info = run.pricing_info or {}
            if info.get('pricingModel') != 'PAY_PER_EVENT':
                raise ApiError(
                    400,
                    'cannot-charge-non-pay-per-event-actor',
                    f'Actor run {run.id} is not of a pay-per-event Actor',
                )
            if event_name.startswith('apify-'):
                raise ApiError(
                    400,
                    'cannot-charge-apify-event',
                    f'Event "{event_name}" is a synthetic Apify event and cannot be charged',
                )
            price = event_price(run, event_name)
            if price is None:
                raise invalid(f'Event "{event_name}" is not defined in the pricing of the Actor')
            if key is not None and key in run.idempotency_keys:
                return Reply(201, b'{}', 'application/json; charset=utf-8')
            if key is not None:
                run.idempotency_keys.add(key)
            run.charges.append(Charge(event_name, count, key, price, now()))
            run.charged_event_counts[event_name] = (
                run.charged_event_counts.get(event_name, 0) + count
            )
        return Reply(201, b'{}', 'application/json; charset=utf-8')

    def run_log(self, call: Call) -> Reply:
        with self.state.lock:
            run = self.find_run(call.params['runId'])
            text = self.platform._logs.get(run.id, '')
        return Reply(200, text.encode('utf-8'), 'text/plain; charset=utf-8')
