"""The fake Apify platform behind :class:`actorkit.testing.FakePlatform`.

Layout: ``_server`` (HTTP/1.1 keep-alive server and its threads), ``_routes`` (path templates
and aliases), ``_faults`` (injected failures), ``_state`` (the shared memory and its lock), one
module per resource (``_datasets``, ``_key_value_stores``, ``_request_queues``, ``_runs``,
``_webhooks``), ``_events`` (the events websocket server) and ``_platform`` (the public
object that ties them together).
"""

from actorkit.testing._fake_platform._platform import (
    Charge,
    EventsConnection,
    FakePlatform,
    Fault,
    Received,
    ReceivedRequest,
)

__all__ = ['Charge', 'EventsConnection', 'FakePlatform', 'Fault', 'Received', 'ReceivedRequest']
