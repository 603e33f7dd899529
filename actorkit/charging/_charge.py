"""The charge call: check it, reserve what it may spend, send it (at home) or log it (locally).

The reservation is made under the manager's lock; at home the API call runs outside it, so
threads charge in parallel, and its outcome settles the reservation: taken, refused
(released), or lost (kept as possibly taken).
"""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING

from actorkit._errors import ApifyApiError
from actorkit.charging._budget import ChargingBudget, KeyedCharge
from actorkit.charging._local_log import log_item
from actorkit.charging._models import ChargeResult

if TYPE_CHECKING:
    from actorkit.client import ApifyClient

logger = logging.getLogger('actorkit.charging')


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


class ChargeMethods(ChargingBudget):
    """``charge()`` and the API connection it charges through (``ChargingManager`` builds on it)."""

    _api: ApifyClient | None
    """The API client (at home), made on first use unless one was given."""
    _owns_api: bool
    """Whether the manager made ``_api`` (and so closes it)."""
    _warned_not_ppe: bool

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
                    self._keys[key] = KeyedCharge(event_name, charged, 'done')
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
                    self._keys[key] = KeyedCharge(event_name, charged, 'pending')
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
