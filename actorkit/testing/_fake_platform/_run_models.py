"""The fake platform's Actors, builds, tasks and runs as data, and pay-per-event pricing.

Nothing really runs. A run stays RUNNING until a test finishes it
(:meth:`FakePlatform.finish_run`), it is aborted, its timeout passes, or the handler its Actor
was created with returns. Time-driven changes (a graceful abort turning into ABORTED, a
timeout) are applied lazily whenever a run is read (:meth:`Run.refresh`), so no timer thread
is needed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from actorkit.testing._fake_platform._common import iso, new_id, now

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
