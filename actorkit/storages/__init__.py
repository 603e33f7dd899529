"""Storages of an Actor: key-value stores, datasets and request queues."""
