"""The value objects of pay-per-event charging: a charge's result and the run's pricing."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import attrs

PricingModel = Literal['PAY_PER_EVENT', 'PRICE_PER_DATASET_ITEM', 'FLAT_PRICE_PER_MONTH', 'FREE']
"""The pricing models of an Actor."""

DEFAULT_DATASET_ITEM_EVENT = 'apify-default-dataset-item'
"""The synthetic event charged for each item pushed to the run's default dataset."""


@attrs.frozen(kw_only=True)
class ChargeResult:
    """What one ``charge()`` or charging ``push_data()`` did.

    Reaching the budget is not an error: the result says how many events were charged and
    whether the limit was hit.
    """

    charged_count: int
    """How many events were charged: the count asked for, or fewer when the budget ran out."""
    event_charge_limit_reached: bool
    """Whether the budget left cannot pay for even one more event of this kind."""
    chargeable_within_limit: dict[str, int | None]
    """How many more events of each priced kind the budget pays for (``None``: unlimited)."""

    def _repr_html_(self) -> str:
        """Jupyter's view: events charged, the limit, and what the budget still pays for."""
        from actorkit._html import charge_result_html  # noqa: PLC0415 (only notebooks need it)

        return charge_result_html(self)


@attrs.frozen(kw_only=True)
class ActorPricingInfo:
    """The pricing of the current run, as ``get_charging_manager().get_pricing_info()`` gives it."""

    pricing_model: PricingModel | None
    """The pricing model in effect (``None``: the Actor is not priced)."""
    max_total_charge_usd: Decimal
    """The most the run may charge its user (``Decimal('inf')`` when unlimited)."""
    is_pay_per_event: bool
    """Whether the run charges per event."""
    per_event_prices: dict[str, Decimal]
    """The price (USD) of each priced event."""
