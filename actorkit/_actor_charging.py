"""The charging methods of the Actor: ``charge``, ``get_charging_manager``, ``ensure_budget``."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from decimal import Decimal

    from actorkit._config import Configuration
    from actorkit._storage_manager import StorageManager
    from actorkit.charging import ChargeResult, ChargingManager
    from actorkit.storages._dataset import Dataset


def _usd(amount: Decimal) -> str:
    """An amount of USD for people: cents always, more digits only when it has them."""
    if not amount.is_finite():
        return 'unlimited'
    from decimal import Decimal  # noqa: PLC0415 (money only: kept off actorkit's import)

    cents = amount.quantize(Decimal('0.01'))
    return f'${cents}' if cents == amount else f'${amount.normalize():f}'


_build_lock = threading.Lock()
"""Serializes building the charging manager of a run (rare: once per run)."""


class ActorChargingMethods:
    """Pay-per-event charging: :class:`~actorkit.Actor` inherits these methods.

    The run's :class:`~actorkit.charging.ChargingManager` is built on first use, reading the
    pricing from the environment (or, at home, the run object) and, locally, the
    ``charging-log`` dataset.
    """

    _charging_slot: tuple[StorageManager, ChargingManager] | None = None

    if TYPE_CHECKING:  # provided by Actor

        def _storage(self) -> StorageManager: ...

        @property
        def config(self) -> Configuration: ...

        def fail(self, status_message: str | None = None, exit_code: int = 1) -> None: ...

    def get_charging_manager(self) -> ChargingManager:
        """Return the run's charging manager (pricing, budget, counts charged so far).

        Raises:
            ActorStateError: The Actor is not running.
            ConfigurationError: The pricing variables are malformed.
        """
        storages = self._storage()
        slot = self._charging_slot
        if slot is not None and slot[0] is storages:
            return slot[1]
        with _build_lock:
            slot = self._charging_slot
            if slot is not None and slot[0] is storages:
                return slot[1]
            if slot is not None:
                slot[1].close()
            manager = self._new_charging_manager(storages)
            self._charging_slot = (storages, manager)
            return manager

    def _new_charging_manager(self, storages: StorageManager) -> ChargingManager:
        from actorkit.charging import ChargingManager  # noqa: PLC0415
        from actorkit.charging._local_log import LOG_DATASET_NAME  # noqa: PLC0415

        config = self.config
        if config.is_at_home:
            return ChargingManager(config)

        def open_log() -> Any:
            return storages.backend().open_dataset(id=None, name=LOG_DATASET_NAME, alias=None)

        def purge_log(client: Any) -> None:
            storages.purge_once_per_run('datasets', client)

        return ChargingManager(
            config,
            open_log=open_log,
            lock_path=storages.root / 'datasets' / f'.{LOG_DATASET_NAME}.charging.lock',
            purge_log=purge_log if config.purge_on_start else None,
        )

    def _close_charging(self) -> None:
        """Release the run's charging manager (at exit)."""
        with _build_lock:
            slot, self._charging_slot = self._charging_slot, None
        if slot is not None:
            slot[1].close()

    def charge(
        self, event_name: str, count: int = 1, idempotency_key: str | None = None
    ) -> ChargeResult:
        """Charge the user for ``count`` events ``event_name`` (pay-per-event Actors).

        Never charges more than the user's budget (``ACTOR_MAX_TOTAL_CHARGE_USD``): a charge
        the budget cannot fully pay is cut, and the result says so. Safe from any thread and,
        locally, from any process of the run. Without pay-per-event pricing it warns once and
        charges nothing. Locally every charge is appended to the ``charging-log`` dataset.

        Args:
            event_name: An event of the Actor's pay-per-event pricing.
            count: How many events (a positive int).
            idempotency_key: A key that makes a retried charge count once: a repeat under the
                same key reports the first call's ``charged_count``.

        Returns:
            How many were charged, whether the limit is reached, and what is still chargeable.

        Raises:
            ValueError: ``count`` is not a positive int, or the event is not in the pricing;
                nothing was charged.
            ApifyApiError: The platform refused the charge; nothing was charged.
            ApifyClientError: Every retry of the charge lost its answer; it may have been
                taken, so it counts against the budget (retry it with the same key).
        """
        return self.get_charging_manager().charge(
            event_name, count, idempotency_key=idempotency_key
        )

    def ensure_budget(self, events: Mapping[str, int]) -> bool:
        """Check at start that the budget pays for the least work the Actor must do.

        When it does not, the run fails now, with a status message that says what is needed,
        and nothing is charged (the platform asks Actors to fail early rather than spend the
        user's money on a run that cannot finish).

        Args:
            events: The fewest events of each kind the Actor needs, e.g. ``{'page': 10}``.

        Returns:
            ``True`` when the budget covers them (or the run is not priced per event);
            ``False`` after failing the run (when ``fail()`` did not end the process).

        Raises:
            ValueError: An event is not in the pricing, or a count is not a whole number >= 0.
        """
        manager = self.get_charging_manager()
        if not manager.is_pay_per_event:
            return True
        from decimal import Decimal  # noqa: PLC0415 (money only: kept off actorkit's import)

        needed = Decimal(0)
        parts = []
        prices = manager.get_pricing_info().per_event_prices
        for name, count in events.items():
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ValueError(
                    f'ensure_budget: the count of {name!r} must be a whole number >= 0, got '
                    f'{count!r}'
                )
            price = prices.get(name)
            if price is None:
                known = ', '.join(sorted(prices)) or 'none'
                raise ValueError(
                    f'ensure_budget: event {name!r} is not in the pricing of this Actor (its '
                    f'events: {known})'
                )
            needed += price * count
            parts.append(f'{count} x {name} at {_usd(price)}')
        left = manager.get_max_total_charge_usd() - manager.calculate_total_charged_amount()
        if needed <= left:
            return True
        self.fail(
            status_message=(
                f'The maximum total charge of this run leaves {_usd(left)} but the Actor needs '
                f'at least {_usd(needed)} ({", ".join(parts)}): start the run again with a higher '
                f'maximum total charge. Nothing was charged.'
            ),
            exit_code=1,
        )
        return False

    def _push_charged(
        self, dataset: Dataset, data: Any, charged_event_name: str | None
    ) -> ChargeResult | None:
        """Push to the default dataset through the charging manager (``actor.push_data``)."""
        from actorkit.storages._dataset import _as_items  # noqa: PLC0415

        items = _as_items(data)
        return self.get_charging_manager().push(
            items,
            dataset._push_ungated,  # the gate is this very call
            charged_event_name,
            item_count=lambda: dataset.item_count,
        )

    def _charge_default_push(
        self, items: list[Any], push: Callable[[list[Any]], None], item_count: Callable[[], int]
    ) -> None:
        """Push to the default dataset through the charging (``Dataset.push_data``)."""
        self.get_charging_manager().push(items, push, None, item_count=item_count)
