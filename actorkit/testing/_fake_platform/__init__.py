"""The fake Apify platform behind :class:`actorkit.testing.FakePlatform`.

Layout:

- ``_server`` (HTTP/1.1 keep-alive server and its threads), ``_routes`` (path templates and
  aliases), ``_faults`` (injected failures), ``_state`` (the shared memory and its lock),
  ``_common`` (replies, errors, ids) and ``_storages`` (what the storage resources share).
- One module per resource: ``_datasets``, ``_key_value_stores``, ``_request_queues``,
  ``_webhooks``; runs in ``_runs``, with ``_actors`` (Actors, builds, tasks),
  ``_run_operations`` (abort, metamorph, reboot, resurrect, charge, log) and ``_run_models``
  (the models and pricing).
- ``_events``: the events websocket server.
- ``_platform``: the public object that ties them together, its test-side methods by concern
  in ``_platform_runs``, ``_platform_storages``, ``_platform_events`` and ``_platform_serving``
  (the request path, injected faults, the received requests).
"""

from actorkit.testing._fake_platform._events import EventsConnection
from actorkit.testing._fake_platform._faults import Fault
from actorkit.testing._fake_platform._platform import FakePlatform
from actorkit.testing._fake_platform._platform_serving import Received, ReceivedRequest
from actorkit.testing._fake_platform._run_models import Charge

__all__ = ['Charge', 'EventsConnection', 'FakePlatform', 'Fault', 'Received', 'ReceivedRequest']
