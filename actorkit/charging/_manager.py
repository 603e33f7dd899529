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

The class is built in layers, each in its module: ``_budget`` (the counts and what they
afford), ``_charge`` (``charge()``), ``_push`` (``push()``) and this one (loading the pricing
and counts, the official SDK's queries, closing).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actorkit.charging._budget import INF
from actorkit.charging._local_log import LocalChargingLog
from actorkit.charging._models import (
    DEFAULT_DATASET_ITEM_EVENT,
    ActorPricingInfo,
)
from actorkit.charging._pricing import (
    Pricing,
    config_error,
    parse_counts,
    parse_pricing,
    to_decimal,
)
from actorkit.charging._push import PushMethods

if TYPE_CHECKING:
    from actorkit._config import Configuration
    from actorkit.client import ApifyClient
    from actorkit.storages._backend import DatasetClient

logger = logging.getLogger('actorkit.charging')


class ChargingManager(PushMethods):
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
        self._model = None
        self._max = INF
        self._base = {}
        self._charged = {}
        self._pending = {}
        self._uncertain = {}
        self._keys = {}
        self._log = None
        self._paid_items = None
        self._cap_lock = None
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
        env_source = 'APIFY_ACTOR_PRICINGINFO'
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
            self._max = INF if max_total is None else Decimal(max_total)
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
