"""The bottom layer of the charging manager: a run's counts and pricing, and what they afford.

Counts are kept in three kinds: charged (known taken), pending (reserved by a charge in flight)
and uncertain (a call whose answer was lost: possibly taken). All three count as spent, so a
budget check made under the lock can never let two charges spend the same money. A local run
also reads here what the other processes of the run appended to the ``charging-log``.
"""

from __future__ import annotations

import math
import threading
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

from actorkit.charging._models import ChargeResult, PricingModel

if TYPE_CHECKING:
    from actorkit._config import Configuration
    from actorkit.charging._local_log import LocalChargingLog
    from actorkit.charging._pricing import Pricing

INF = Decimal('inf')
ZERO = Decimal(0)
UNKNOWN_LOCAL_PRICE = Decimal(1)
"""The price of an event a local test run (``ACTOR_TEST_PAY_PER_EVENT``) has no pricing for."""


@attrs.define
class KeyedCharge:
    """A charge made under an idempotency key, and how far it got."""

    event_name: str
    count: int
    state: str  # 'pending', 'done' or 'uncertain'


class ChargingBudget:
    """A run's charge counts and the arithmetic of its budget (``ChargingManager`` builds on it).

    Every method expects the caller to hold ``_lock``.
    """

    _config: Configuration
    _at_home: bool
    _lock: threading.RLock
    _pricing: Pricing
    _model: PricingModel | None
    _max: Decimal
    """The budget (``INF`` when unlimited)."""
    _base: dict[str, int]
    """Counts charged before this manager started (env or the run object)."""
    _charged: dict[str, int]
    """Counts known to be charged (``_base`` included)."""
    _pending: dict[str, int]
    """Counts reserved by charges in flight."""
    _uncertain: dict[str, int]
    """Counts whose call lost every answer: possibly charged, so counted as spent."""
    _keys: dict[str, KeyedCharge]
    """The charges made under an idempotency key, by key."""
    _log: LocalChargingLog | None
    """The local ``charging-log`` (local pay-per-event runs only)."""

    # ------------------------------------------------------------------ budget arithmetic

    def _event_price(self, event_name: str) -> Decimal | None:
        """The price of one event; ``None`` for an event this run cannot charge."""
        event = self._pricing.events.get(event_name)
        if event is not None:
            return event.price
        if event_name.startswith('apify-'):
            return ZERO  # synthetic events without a price are free
        if not self._at_home and self._config.test_pay_per_event and not self._pricing.events:
            return UNKNOWN_LOCAL_PRICE  # as the official SDK: a test run without pricing
        return None

    def _price_or_zero(self, event_name: str) -> Decimal:
        price = self._event_price(event_name)
        return ZERO if price is None else price

    def _spent(self) -> Decimal:
        total = ZERO
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
                self._keys[key] = KeyedCharge(name, count, 'done')
