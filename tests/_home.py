"""The env of an Actor that runs at home inside the test process."""

from __future__ import annotations

from collections.abc import Mapping


def home_env(env: Mapping[str, str]) -> dict[str, str]:
    """A copy of a run's env for an in-process Actor: no events socket, no persist-state timer.

    The events websocket is tested on its own (tests/test_events_websocket.py); a persist-state
    interval the env does not set is made long so no timer fires during a test.
    """
    home = dict(env)
    home.pop('ACTOR_EVENTS_WEBSOCKET_URL', None)
    home.pop('APIFY_ACTOR_EVENTS_WS_URL', None)
    home.setdefault('APIFY_PERSIST_STATE_INTERVAL_MILLIS', '600000')
    return home
