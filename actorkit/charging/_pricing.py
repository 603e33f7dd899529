"""Reading a run's pricing: the ``APIFY_ACTOR_PRICING_INFO`` shape into prices as Decimal."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, cast

import attrs

from actorkit._errors import ConfigurationError
from actorkit.charging._models import PricingModel


def config_error(problem: str) -> ConfigurationError:
    """A configuration error of one problem."""
    return ConfigurationError([problem])


_MODELS = ('PAY_PER_EVENT', 'PRICE_PER_DATASET_ITEM', 'FLAT_PRICE_PER_MONTH', 'FREE')


@attrs.frozen
class EventPrice:
    """One pay-per-event event of the pricing."""

    title: str
    """Its title (``eventTitle``)."""
    price: Decimal | None
    """Its price in USD; ``None`` for a tier-priced event (not chargeable by the SDK)."""


@attrs.frozen
class Pricing:
    """A run's pricing model and, for pay-per-event, its events."""

    model: PricingModel | None
    """The pricing model, ``None`` when the Actor is not priced."""
    events: dict[str, EventPrice]
    """The pay-per-event events by name (empty for other models)."""


def to_decimal(value: object, what: str) -> Decimal:
    """Read a price or an amount given as a number or a string, never through a float's digits.

    Raises:
        ConfigurationError: ``value`` is not a finite amount of 0 or more.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise config_error(f'{what} must be a number or a numeric string, got {value!r}')
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise config_error(
            f'{what} is {value!r}, not a number: give the price in USD, e.g. "0.25"'
        ) from None
    if not amount.is_finite() or amount < 0:
        raise config_error(f'{what} must be a finite amount of 0 or more, got {value!r}')
    return amount


def parse_pricing(info: Mapping[str, Any] | None, source: str) -> Pricing:
    """Read the pricing info (API shape, camelCase) from ``source`` (named in errors).

    Raises:
        ConfigurationError: The pricing model is unknown or an event's price is not a number.
    """
    if info is None:
        return Pricing(None, {})
    if not isinstance(info, Mapping):
        raise config_error(f'{source} must be a JSON object, got {type(info).__name__}')
    model = info.get('pricingModel')
    if model not in _MODELS:
        raise config_error(
            f'{source} has pricingModel {model!r}: expected one of {", ".join(_MODELS)}'
        )
    events: dict[str, EventPrice] = {}
    if model == 'PAY_PER_EVENT':
        per_event = info.get('pricingPerEvent') or {}
        charge_events = (
            per_event.get('actorChargeEvents') if isinstance(per_event, Mapping) else None
        )
        for name, event in (charge_events or {}).items():
            if not isinstance(event, Mapping):
                raise config_error(f'{source}: event {name!r} must be an object')
            raw = event.get('eventPriceUsd')
            price = None if raw is None else to_decimal(raw, f'{source}: the price of {name!r}')
            events[str(name)] = EventPrice(str(event.get('eventTitle') or name), price)
    return Pricing(cast('PricingModel', model), events)


def parse_counts(counts: Mapping[str, Any] | None, source: str) -> dict[str, int]:
    """Read ``{event: count}`` of events already charged.

    Raises:
        ConfigurationError: A count is not a whole number of 0 or more.
    """
    result: dict[str, int] = {}
    for name, count in (counts or {}).items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise config_error(
                f'{source}: the count of {name!r} must be a whole number of 0 or more, got '
                f'{count!r}'
            )
        result[str(name)] = count
    return result
