"""Pushing to the default dataset under a budget: only the items it pays for, then charged.

Under pay-per-event the items the budget pays for (the event's price plus the synthetic
``apify-default-dataset-item`` price) are pushed and charged; under ``PRICE_PER_DATASET_ITEM``
a push is cut to ``ACTOR_MAX_PAID_DATASET_ITEMS``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from decimal import Decimal
from typing import Any

from actorkit.charging._budget import ZERO
from actorkit.charging._charge import ChargeMethods
from actorkit.charging._local_log import log_item
from actorkit.charging._models import DEFAULT_DATASET_ITEM_EVENT, ChargeResult

logger = logging.getLogger('actorkit.charging')


class PushMethods(ChargeMethods):
    """``push()``: what ``actor.push_data()`` does under a pricing (``ChargingManager`` has it)."""

    _paid_items: int | None
    """Items pushed under ``PRICE_PER_DATASET_ITEM`` (``None``: not counted yet)."""
    _cap_lock: AbstractContextManager[Any] | None
    """The lock the processes of a local run share for that count."""

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
        price = self._checked_price(explicit) if explicit is not None else ZERO
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
