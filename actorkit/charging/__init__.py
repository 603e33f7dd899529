"""Pay-per-event charging: ``actor.charge()``, ``actor.get_charging_manager()`` and their models."""

from actorkit.charging._manager import ChargingManager
from actorkit.charging._models import (
    DEFAULT_DATASET_ITEM_EVENT,
    ActorPricingInfo,
    ChargeResult,
    PricingModel,
)

__all__ = [
    'DEFAULT_DATASET_ITEM_EVENT',
    'ActorPricingInfo',
    'ChargeResult',
    'ChargingManager',
    'PricingModel',
]
