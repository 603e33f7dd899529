"""The charging manager: one run's pay-per-event bookkeeping, shared by all its threads.

Every charge reserves what it may spend before it acts, under one lock, so concurrent
``charge()`` and ``push_data()`` calls can never spend the same money twice.

* Locally the charge *is* an item of the ``charging-log`` dataset: decided and appended under
  the log's lock (threads and processes of the run), so the log is the run's truth.
* At home the reservation is made under the lock, the API call runs outside it (so threads
  charge in parallel) and the reservation becomes a charge when the platform says so. A
  definite refusal (a 4xx answer) releases it. A call whose answer never came (timeouts or
  5xx through every retry) raises, but its reservation is kept as *possibly made*: it counts
  against the budget for the rest of the run, so no later charge can overspend because of it.
  Retrying it with the same idempotency key sends it again and counts it once.
* A process that crashes between the call and the bookkeeping loses nothing: at home every
  process starts from the run object's ``chargedEventCounts`` (one ``GET`` of the run), which
  holds every charge the platform took, whatever became of the process that made it.
"""

from __future__ import annotations

import logging
import math
import threading
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from actorkit._errors import ApifyApiError
from actorkit.charging._local_log import LocalChargingLog, log_item
from actorkit.charging._models import (
    DEFAULT_DATASET_ITEM_EVENT,
    ActorPricingInfo,
    ChargeResult,
    PricingModel,
)
from actorkit.charging._pricing import (
    Pricing,
    config_error,
    parse_counts,
    parse_pricing,
    to_decimal,
)

if TYPE_CHECKING:
    from actorkit._config import Configuration
    from actorkit.client import ApifyClient
    from actorkit.storages._backend import DatasetClient

logger = logging.getLogger('actorkit.charging')

_INF = Decimal('inf')
_ZERO = Decimal(0)
_UNKNOWN_LOCAL_PRICE = Decimal(1)
"""The price of an event a local test run (``ACTOR_TEST_PAY_PER_EVENT``) has no pricing for."""


@attrs.define
class _KeyedCharge:
    event_name: str
    count: int
    state: str  # 'pending', 'done' or 'uncertain'


def _check_event_name(event_name: object) -> str:
    if not isinstance(event_name, str) or not event_name.strip():
        raise ValueError(f'event_name must be a non-empty str, got {event_name!r}')
    return event_name


def _check_count(count: object) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(
            f'count must be a positive int (how many events to charge), got {count!r}; nothing '
            f'was charged'
        )
    return count


def _definitely_refused(exc: BaseException) -> bool:
    """Whether the platform answered the charge with a refusal, so it surely was not taken."""
    return isinstance(exc, ApifyApiError) and exc.status_code != 429 and exc.status_code < 500


class ChargingManager:
    """The pay-per-event bookkeeping of one run: ``actor.get_charging_manager()``.

    Every method is safe to call from any thread. Build it through the Actor; the arguments are
    for tests and advanced use.

    Args:
        config: The run's configuration.
        api: The API client to charge through at home (built from ``config`` when ``None``).
        open_log: Opens the local ``charging-log`` dataset (local runs only).
        lock_path: The lock file the processes of a local run share.
        purge_log: Purges the ``charging-log`` once per run (local runs with purge on start).
    """

    def __init__(
        self,
        config: Configuration,
        *,
        api: ApifyClient | None = None,
        open_log: Callable[[], DatasetClient] | None = None,
        lock_path: Path | None = None,
        purge_log: Callable[[DatasetClient], None] | None = None,
    ) -> None:
        self._config = config
        self._at_home = config.is_at_home
        self._api = api
        self._owns_api = api is None
        self._lock = threading.RLock()
        self._warned_not_ppe = False
        self._pricing = Pricing(None, {})
        self._model: PricingModel | None = None
        self._max = _INF
        self._base: dict[str, int] = {}
        """Counts charged before this manager started (env or the run object)."""
        self._charged: dict[str, int] = {}
        """Counts known to be charged (``_base`` included)."""
        self._pending: dict[str, int] = {}
        """Counts reserved by charges in flight."""
        self._uncertain: dict[str, int] = {}
        """Counts whose call lost every answer: possibly charged, so counted as spent."""
        self._keys: dict[str, _KeyedCharge] = {}
        self._log: LocalChargingLog | None = None
        self._paid_items: int | None = None
        self._cap_lock: AbstractContextManager[Any] | None = None
        self._load(open_log, lock_path, purge_log)

    def __repr__(self) -> str:
        return f'<ChargingManager model={self._model} max_total_charge_usd={self._max}>'

    # ------------------------------------------------------------------ start

    def _load(
        self,
        open_log: Callable[[], DatasetClient] | None,
        lock_path: Path | None,
        purge_log: Callable[[DatasetClient], None] | None,
    ) -> None:
        config = self._config
        if config.test_pay_per_event and self._at_home:
            raise config_error(
                'ACTOR_TEST_PAY_PER_EVENT simulates charging off the platform only: unset it '
                'for runs on the Apify platform'
            )
        env_source = 'APIFY_ACTOR_PRICING_INFO'
        pricing = parse_pricing(config.actor_pricing_info, env_source)
        counts = parse_counts(config.charged_event_counts, 'APIFY_CHARGED_ACTOR_EVENT_COUNTS')
        max_total = config.max_total_charge_usd
        have_env = config.actor_pricing_info is not None and config.charged_event_counts is not None
        if self._at_home and (not have_env or pricing.model == 'PAY_PER_EVENT'):
            # The run object has the platform's own counts: a process started after a crash,
            # a reboot or by another process of the run starts from every charge it took.
            run = self._read_run()
            if run is not None:
                if not have_env:
                    pricing = parse_pricing(run.get('pricingInfo'), "the run's pricingInfo")
                run_counts = parse_counts(
                    run.get('chargedEventCounts'), "the run's chargedEventCounts"
                )
                for name, count in run_counts.items():
                    counts[name] = max(counts.get(name, 0), count)
                run_max = (run.get('options') or {}).get('maxTotalChargeUsd')
                if max_total is None and run_max is not None:
                    max_total = to_decimal(run_max, "the run's options.maxTotalChargeUsd")
        self._pricing = pricing
        self._model = 'PAY_PER_EVENT' if config.test_pay_per_event else pricing.model
        if self._model == 'PAY_PER_EVENT':
            self._max = _INF if max_total is None else Decimal(max_total)
        self._base = dict(counts)
        self._charged = dict(counts)
        if self._model == 'PRICE_PER_DATASET_ITEM' and not self._at_home and lock_path:
            from actorkit.storages._local._fs import StorageLock  # noqa: PLC0415

            self._cap_lock = StorageLock(lock_path)
        if self._model == 'PAY_PER_EVENT' and not self._at_home and open_log is not None:
            if lock_path is None:
                raise ValueError('a local charging log needs the lock_path its processes share')
            if purge_log is not None:
                purge_log(open_log())
            self._log = LocalChargingLog(open_log, lock_path)
            with self._log.locked():
                self._sync_log()

    def _read_run(self) -> dict[str, Any] | None:
        run_id = self._config.actor_run_id
        if not run_id:
            logger.warning(
                'ACTOR_RUN_ID is not set, so the run object cannot be read: charging uses the '
                'pricing variables only (none: nothing is charged)'
            )
            return None
        try:
            return self._client().run(run_id).get()
        except Exception as exc:
            if self._config.actor_pricing_info is None or self._config.charged_event_counts is None:
                raise
            logger.warning(
                'reading the run %s for its charged event counts failed (%s): starting from '
                'APIFY_CHARGED_ACTOR_EVENT_COUNTS',
                run_id,
                exc,
            )
            return None

    def _client(self) -> ApifyClient:
        if self._api is None:
            from actorkit.client import ApifyClient  # noqa: PLC0415 (loads requests)

            config = self._config
            self._api = ApifyClient(
                str(config.token) if config.token else None,
                api_url=config.api_base_url,
                api_public_url=config.api_public_base_url,
            )
        return self._api

    def close(self) -> None:
        """Release the API client and the log's lock file (the Actor does it at exit)."""
        with self._lock:
            if self._log is not None:
                self._log.close()
            if self._cap_lock is not None:
                self._cap_lock.close()  # type: ignore[attr-defined]
            if self._api is not None and self._owns_api:
                self._api.close()
                self._api = None

    # ------------------------------------------------------------------ official queries

    def get_pricing_info(self) -> ActorPricingInfo:
        """Return the pricing of the run: model, budget and the price of each event."""
        return ActorPricingInfo(
            pricing_model=self._model,
            max_total_charge_usd=self._max,
            is_pay_per_event=self._model == 'PAY_PER_EVENT',
            per_event_prices={
                name: event.price
                for name, event in self._pricing.events.items()
                if event.price is not None
            },
        )

    def get_charged_event_count(self, event_name: str) -> int:
        """Return how many events ``event_name`` were charged in this run so far.

        Charges in flight and charges whose answer was lost (possibly made) are included.
        """
        with self._lock:
            self._refresh()
            return (
                self._charged.get(event_name, 0)
                + self._pending.get(event_name, 0)
                + self._uncertain.get(event_name, 0)
            )

    def get_max_total_charge_usd(self) -> Decimal:
        """Return the budget of the run (``Decimal('inf')`` when unlimited)."""
        return self._max

    def calculate_total_charged_amount(self) -> Decimal:
        """Return what the run charged so far in USD (in-flight and possibly made charges too)."""
        with self._lock:
            self._refresh()
            return self._spent()

    def calculate_max_event_charge_count_within_limit(self, event_name: str) -> int | None:
        """Return how many more events ``event_name`` the budget pays for (``None``: unlimited)."""
        with self._lock:
            self._refresh()
            return self._affordable(self._price_or_zero(event_name))

    def is_event_charge_limit_reached(self, event_name: str) -> bool:
        """Return whether the budget left cannot pay for one more event ``event_name``."""
        return self.calculate_max_event_charge_count_within_limit(event_name) == 0

    def compute_chargeable(self) -> dict[str, int | None]:
        """Return, for each priced event, how many more the budget pays for."""
        with self._lock:
            self._refresh()
            return self._chargeable()

    def compute_push_data_limit(
        self, items_count: int, event_name: str, *, is_default_dataset: bool
    ) -> int:
        """Return how many of ``items_count`` items the budget lets a push charge for.

        Args:
            items_count: How many items are to be pushed.
            event_name: The event charged per item.
            is_default_dataset: Whether the push goes to the default dataset (which adds the
                synthetic ``apify-default-dataset-item`` event's price).
        """
        with self._lock:
            self._refresh()
            price = self._price_or_zero(event_name)
            if is_default_dataset:
                price += self._price_or_zero(DEFAULT_DATASET_ITEM_EVENT)
            affordable = self._affordable(price)
            return items_count if affordable is None else min(items_count, affordable)

    @property
    def is_pay_per_event(self) -> bool:
        """Whether the run charges per event."""
        return self._model == 'PAY_PER_EVENT'

    # ------------------------------------------------------------------ budget arithmetic

    def _event_price(self, event_name: str) -> Decimal | None:
        """The price of one event; ``None`` for an event this run cannot charge."""
        event = self._pricing.events.get(event_name)
        if event is not None:
            return event.price
        if event_name.startswith('apify-'):
            return _ZERO  # synthetic events without a price are free
        if not self._at_home and self._config.test_pay_per_event and not self._pricing.events:
            return _UNKNOWN_LOCAL_PRICE  # as the official SDK: a test run without pricing
        return None

    def _price_or_zero(self, event_name: str) -> Decimal:
        price = self._event_price(event_name)
        return _ZERO if price is None else price

    def _spent(self) -> Decimal:
        total = _ZERO
        for counts in (self._charged, self._pending, self._uncertain):
            for name, count in counts.items():
                if count:
                    total += count * self._price_or_zero(name)
        return total

    def _affordable(self, price: Decimal) -> int | None:
        if not price:
            return None
        left = (self._max - self._spent()) / price
        return max(0, math.floor(left)) if left.is_finite() else None

    def _chargeable(self) -> dict[str, int | None]:
        return {
            name: self._affordable(event.price)
            for name, event in self._pricing.events.items()
            if event.price is not None
        }

    def _result(self, event_name: str, charged: int) -> ChargeResult:
        return ChargeResult(
            charged_count=charged,
            event_charge_limit_reached=self._affordable(self._price_or_zero(event_name)) == 0,
            chargeable_within_limit=self._chargeable(),
        )

    def _title(self, event_name: str) -> str:
        event = self._pricing.events.get(event_name)
        return event.title if event is not None else f"Unknown event '{event_name}'"

    def _checked_price(self, event_name: str) -> Decimal:
        event = self._pricing.events.get(event_name)
        if event is not None and event.price is None:
            raise ValueError(
                f'event {event_name!r} is tier-priced: the platform prices it, the SDK cannot '
                f'charge it; nothing was charged'
            )
        price = self._event_price(event_name)
        if price is None:
            known = ', '.join(sorted(self._pricing.events)) or 'none'
            raise ValueError(
                f'event {event_name!r} is not in the pricing of this Actor (its events: '
                f'{known}): fix the name or add the event to the pricing; nothing was charged'
            )
        return price

    # ------------------------------------------------------------------ local log

    def _refresh(self) -> None:
        """Read what other processes of a local run charged (hold ``_lock``)."""
        if self._log is not None:
            with self._log.locked():
                self._sync_log()

    def _sync_log(self) -> None:
        assert self._log is not None
        restart, items = self._log.read_new()
        if restart:
            self._charged = dict(self._base)
            self._keys = {}
        for item in items:
            name = item.get('event_name')
            count = item.get('charged_count')
            if not isinstance(name, str) or isinstance(count, bool) or not isinstance(count, int):
                continue
            self._charged[name] = self._charged.get(name, 0) + count
            key = item.get('idempotency_key')
            if isinstance(key, str) and key not in self._keys:
                self._keys[key] = _KeyedCharge(name, count, 'done')

    # ------------------------------------------------------------------ charging

    def charge(
        self, event_name: str, count: int = 1, idempotency_key: str | None = None
    ) -> ChargeResult:
        """Charge ``count`` events ``event_name``, or as many as the budget allows.

        Args:
            event_name: A pay-per-event event of the Actor's pricing.
            count: How many (a positive int).
            idempotency_key: Charges under the same key are charged once in this run: a repeat
                reports the first call's ``charged_count`` (0 when it named another event).

        Returns:
            What was charged; reaching the budget is a result, not an error.

        Raises:
            ValueError: ``count`` is not a positive int, ``event_name`` is not in the pricing
                (pay-per-event runs), or names a synthetic ``apify-`` event. Nothing is charged.
            ApifyApiError: The platform refused the charge (nothing was charged).
            ApifyClientError: The charge's answer was lost through every retry: it may have
                been taken, and counts against the budget for the rest of the run.
        """
        _check_event_name(event_name)
        _check_count(count)
        if idempotency_key is not None and (
            not isinstance(idempotency_key, str) or not idempotency_key.strip()
        ):
            raise ValueError(f'idempotency_key must be a non-blank str, got {idempotency_key!r}')
        if event_name.startswith('apify-'):
            raise ValueError(
                f'cannot charge the synthetic event {event_name!r} by hand: push_data() charges '
                f'it per item pushed to the default dataset'
            )
        if self._model != 'PAY_PER_EVENT':
            self._warn_not_ppe()
            return ChargeResult(
                charged_count=0, event_charge_limit_reached=False, chargeable_within_limit={}
            )
        price = self._checked_price(event_name)
        if self._log is not None:
            return self._charge_local(event_name, count, price, idempotency_key)
        if not self._at_home:
            with self._lock:  # pay-per-event pricing, local, but no log (a bare manager)
                affordable = self._affordable(price)
                return self._commit_now(
                    event_name, count if affordable is None else min(count, affordable)
                )
        return self._charge_at_home(event_name, count, price, idempotency_key)

    def _warn_not_ppe(self) -> None:
        with self._lock:
            if not self._warned_not_ppe:
                self._warned_not_ppe = True
                logger.warning(
                    'Ignored a charge: the Actor is not priced per event (pricing model: %s)',
                    self._model or 'none',
                )

    def _repeat(self, event_name: str, key: str | None) -> ChargeResult | None:
        entry = self._keys.get(key) if key is not None else None
        if entry is None or entry.state == 'uncertain':
            return None
        if entry.event_name != event_name:
            logger.warning(
                'idempotency key %r was used to charge %r: the charge of %r under it is skipped',
                key,
                entry.event_name,
                event_name,
            )
            return self._result(event_name, 0)
        return self._result(event_name, entry.count)

    def _commit_now(self, event_name: str, count: int) -> ChargeResult:
        if count:
            self._charged[event_name] = self._charged.get(event_name, 0) + count
        return self._result(event_name, count)

    def _charge_local(
        self, event_name: str, count: int, price: Decimal, key: str | None
    ) -> ChargeResult:
        assert self._log is not None
        with self._lock, self._log.locked():
            self._sync_log()
            repeated = self._repeat(event_name, key)
            if repeated is not None:
                return repeated
            affordable = self._affordable(price)
            charged = count if affordable is None else min(count, affordable)
            if charged:
                self._log.append(
                    [log_item(event_name, self._title(event_name), price, charged, key)]
                )
                self._charged[event_name] = self._charged.get(event_name, 0) + charged
                if key is not None:
                    self._keys[key] = _KeyedCharge(event_name, charged, 'done')
            self._log_clipped(event_name, count, charged)
            return self._result(event_name, charged)

    def _charge_at_home(
        self, event_name: str, count: int, price: Decimal, key: str | None
    ) -> ChargeResult:
        with self._lock:
            repeated = self._repeat(event_name, key)
            if repeated is not None:
                return repeated
            entry = self._keys.get(key) if key is not None else None
            if entry is not None and entry.event_name == event_name:
                # A retry of a charge whose answer was lost: send it again under the same key,
                # the platform takes it at most once; its count is already reserved.
                charged = entry.count
                self._uncertain[event_name] -= charged
                self._pending[event_name] = self._pending.get(event_name, 0) + charged
                entry.state = 'pending'
            else:
                affordable = self._affordable(price)
                charged = count if affordable is None else min(count, affordable)
                if not charged:
                    self._log_clipped(event_name, count, 0)
                    return self._result(event_name, 0)
                self._pending[event_name] = self._pending.get(event_name, 0) + charged
                if key is not None:
                    self._keys[key] = _KeyedCharge(event_name, charged, 'pending')
        self._send(event_name, charged, key)
        with self._lock:
            self._log_clipped(event_name, count, charged)
            return self._result(event_name, charged)

    def _send(self, event_name: str, count: int, key: str | None) -> None:
        """Send a reserved charge; settle the reservation by the outcome."""
        run_id = self._config.actor_run_id
        sent_key = key or f'{run_id}-{event_name}-{uuid.uuid4().hex}'
        try:
            self._client().run(str(run_id)).charge(event_name, count, idempotency_key=sent_key)
        except BaseException as exc:
            with self._lock:
                self._pending[event_name] -= count
                entry = self._keys.get(key) if key is not None else None
                if _definitely_refused(exc):
                    if entry is not None:
                        del self._keys[key]  # type: ignore[arg-type]
                else:
                    self._uncertain[event_name] = self._uncertain.get(event_name, 0) + count
                    if entry is not None:
                        entry.state = 'uncertain'
                    logger.warning(
                        'the charge of %d x %r lost its answer (%s): it may have been taken, so '
                        'it counts against the budget; retry it with idempotency_key=%r to '
                        'have it charged at most once',
                        count,
                        event_name,
                        exc,
                        sent_key,
                    )
            raise
        with self._lock:
            self._pending[event_name] -= count
            self._charged[event_name] = self._charged.get(event_name, 0) + count
            entry = self._keys.get(key) if key is not None else None
            if entry is not None:
                entry.state = 'done'

    @staticmethod
    def _log_clipped(event_name: str, asked: int, charged: int) -> None:
        if charged < asked:
            logger.info(
                'Charging %d x %r would exceed the maximum total charge: %d charged',
                asked,
                event_name,
                charged,
            )

    # ------------------------------------------------------------------ pushing

    def push(
        self,
        items: list[Any],
        push: Callable[[list[Any]], None],
        charged_event_name: str | None,
        *,
        item_count: Callable[[], int] | None = None,
    ) -> ChargeResult | None:
        """Push items to the default dataset, as many as the budget allows, and charge for them.

        Args:
            items: The items.
            push: Pushes items to the default dataset.
            charged_event_name: An event to charge per pushed item too.
            item_count: How many items the default dataset holds (for
                ``ACTOR_MAX_PAID_DATASET_ITEMS`` under ``PRICE_PER_DATASET_ITEM``).

        Returns:
            The charge of ``charged_event_name`` (else of the synthetic event), or ``None``
            when nothing is priced.
        """
        if self._model != 'PAY_PER_EVENT':
            if charged_event_name is not None:
                self._warn_not_ppe()
            self._push_capped(items, push, item_count)
            return None
        explicit = charged_event_name
        price = self._checked_price(explicit) if explicit is not None else _ZERO
        synthetic_price = self._price_or_zero(DEFAULT_DATASET_ITEM_EVENT)
        priced = explicit is not None or bool(synthetic_price)
        if not priced:
            push(items)
            return None
        event = explicit or DEFAULT_DATASET_ITEM_EVENT
        if self._log is not None or not self._at_home:
            return self._push_local(items, push, explicit, price, synthetic_price)
        with self._lock:
            affordable = self._affordable(price + synthetic_price)
            count = len(items) if affordable is None else min(len(items), affordable)
            if not count:
                return self._result(event, 0)
            for name in {DEFAULT_DATASET_ITEM_EVENT, event}:
                self._pending[name] = self._pending.get(name, 0) + count
        try:
            push(items[:count])
        except BaseException:
            with self._lock:
                for name in {DEFAULT_DATASET_ITEM_EVENT, event}:
                    self._pending[name] -= count
            raise
        with self._lock:
            # The platform charges the synthetic event itself, for the items it stored.
            self._pending[DEFAULT_DATASET_ITEM_EVENT] -= count
            self._charged[DEFAULT_DATASET_ITEM_EVENT] = (
                self._charged.get(DEFAULT_DATASET_ITEM_EVENT, 0) + count
            )
        if explicit is not None:
            self._send(explicit, count, None)
        with self._lock:
            self._log_clipped(event, len(items), count)
            return self._result(event, count)

    def _push_local(
        self,
        items: list[Any],
        push: Callable[[list[Any]], None],
        explicit: str | None,
        price: Decimal,
        synthetic_price: Decimal,
    ) -> ChargeResult:
        event = explicit or DEFAULT_DATASET_ITEM_EVENT
        log = self._log
        with self._lock, log.locked() if log is not None else nullcontext():
            if log is not None:
                self._sync_log()
            affordable = self._affordable(price + synthetic_price)
            count = len(items) if affordable is None else min(len(items), affordable)
            if count:
                push(items[:count])
                rows = []
                for name, each in (
                    (DEFAULT_DATASET_ITEM_EVENT, synthetic_price),
                    (explicit, price),
                ):
                    if name is None:
                        continue
                    self._charged[name] = self._charged.get(name, 0) + count
                    if each:
                        rows.append(log_item(name, self._title(name), each, count, None))
                if log is not None:
                    log.append(rows)
            self._log_clipped(event, len(items), count)
            return self._result(event, count)

    def _push_capped(
        self,
        items: list[Any],
        push: Callable[[list[Any]], None],
        item_count: Callable[[], int] | None,
    ) -> None:
        """Push, cut to ``ACTOR_MAX_PAID_DATASET_ITEMS`` under ``PRICE_PER_DATASET_ITEM``."""
        cap = self._config.max_paid_dataset_items
        if self._model != 'PRICE_PER_DATASET_ITEM' or cap is None:
            push(items)
            return
        lock = self._cap_lock if self._cap_lock is not None else nullcontext()
        with self._lock, lock:
            if self._paid_items is None or self._cap_lock is not None:
                # Locally other processes may push too: the dataset's count is the truth.
                self._paid_items = item_count() if item_count is not None else 0
            count = min(len(items), max(0, cap - self._paid_items))
            if count:
                push(items[:count])
                self._paid_items += count
        if count < len(items):
            logger.info(
                'pushed %d of %d items: ACTOR_MAX_PAID_DATASET_ITEMS (%d) is reached',
                count,
                len(items),
                cap,
            )
