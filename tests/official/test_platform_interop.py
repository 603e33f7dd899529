"""actorkit and the official SDK at home on one FakePlatform run: the same storages.

The alias mapping (the record ``__STORAGE_ALIASES_MAPPING`` of the default key-value store),
default storages, named storages and a request queue handed from one SDK to the other.
"""

from __future__ import annotations

from typing import Any

from actorkit import Actor, Configuration
from actorkit.testing import FakePlatform


def _home_actor(env: dict[str, str]) -> Actor:
    return Actor(config=Configuration.from_env(env), configure_logging=False, exit_process=False)


OFFICIAL_ALIASES = """
from apify import Actor


async def main():
    async with Actor:
        made = await Actor.open_dataset(alias='made-by-official')
        await made.push_data({'by': 'official'})
        found = await Actor.open_key_value_store(alias='made-by-actorkit')
        emit({'made': made.id, 'found': found.id, 'value': await found.get_value('k')})


asyncio.run(main())
"""


def test_aliases_resolve_to_the_same_storages_in_both_sdks(
    run_official: Any, platform: FakePlatform
) -> None:
    """A storage opened by alias in one SDK is the one the other SDK opens by that alias."""
    env = platform.run_env()
    with _home_actor(env) as actor:
        mine = actor.open_key_value_store(alias='made-by-actorkit')
        mine.set_value('k', {'by': 'actorkit'})
    result = run_official(OFFICIAL_ALIASES, env=env)
    assert result['found'] == mine.id
    assert result['value'] == {'by': 'actorkit'}
    with _home_actor(env) as actor:
        theirs = actor.open_dataset(alias='made-by-official')
        assert theirs.id == result['made']
        assert theirs.list_items() == [{'by': 'official'}]


OFFICIAL_CONSUMER = """
from apify import Actor


async def main():
    async with Actor:
        queue = await Actor.open_request_queue(name='handover')
        urls = []
        while (request := await queue.fetch_next_request()) is not None:
            urls.append(request.url)
            await queue.mark_request_as_handled(request)
        emit({'urls': urls, 'finished': await queue.is_finished()})


asyncio.run(main())
"""


def test_a_queue_half_consumed_by_actorkit_is_finished_by_the_official_sdk(
    run_official: Any, platform: FakePlatform
) -> None:
    """Requests actorkit handled are not served to the official SDK; the rest are, once."""
    env = platform.run_env()
    urls = [f'https://example.com/{n}' for n in range(10)]
    with _home_actor(env) as actor:
        queue = actor.open_request_queue(name='handover')
        queue.add_requests(urls)
        for _ in range(4):
            request = queue.fetch_next_request()
            assert request is not None
            queue.mark_request_as_handled(request)
        # Fetched and left unfinished: released when the Actor exits.
        assert queue.fetch_next_request() is not None
    result = run_official(OFFICIAL_CONSUMER, env=env)
    assert result == {'urls': urls[4:], 'finished': True}
