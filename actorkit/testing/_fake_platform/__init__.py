"""The fake Apify platform behind :class:`actorkit.testing.FakePlatform`.

Layout: ``_server`` (HTTP/1.1 keep-alive server and its threads), ``_routes`` (path templates
and aliases), ``_faults`` (injected failures), ``_state`` (the shared memory and its lock), one
module per resource (``_datasets``, ``_key_value_stores``, ``_request_queues``, ``_runs``,
``_webhooks``), ``_events`` (the events websocket server), ``_platform`` (the public
object that ties them together) and its test-side methods by concern: ``_platform_runs``,
``_platform_storages``, ``_platform_events`` and ``_platform_serving`` (the request path,
faults and received requests).
"""

from actorkit.testing._fake_platform._events import EventsConnection
from actorkit.testing._fake_platform._faults import Fault
from actorkit.testing._fake_platform._platform import FakePlatform
from actorkit.testing._fake_platform._platform_serving import Received, ReceivedRequest
from actorkit.testing._fake_platform._runs import Charge

__all__ = ['Charge', 'EventsConnection', 'FakePlatform', 'Fault', 'Received', 'ReceivedRequest']
