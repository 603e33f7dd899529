"""Pay-per-event charging at home, against the FakePlatform: faults, lost answers, threads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from actorkit import Actor, ChargeResult, ChargingManager, Configuration
from actorkit.charging import DEFAULT_DATASET_ITEM_EVENT
from actorkit.client import ApifyApiError, ApifyClient, ApifyClientError
from actorkit.testing import FakePlatform
from tests._subprocess import TIMEOUT, describe, run_script

PRICES = {'search': '0.10', 'page': 0.05}


@pytest.fixture
def fast_manager(platform: FakePlatform) -> Iterator[Callable[..., ChargingManager]]:
    """Build charging managers whose client retries twice, quickly, with a short timeout."""
    clients: list[ApifyClient] = []

    def make(env: dict[str, str]) -> ChargingManager:
        config = Configuration.from_env(env)
        client = ApifyClient(
            platform.token,
            api_url=platform.api_url,
            max_retries=2,
            min_delay_between_retries=0.01,
            timeout=0.5,
        )
        clients.append(client)
        return ChargingManager(config, api=client)

    yield make
    for client in clients:
        client.close()


def recorded(platform: FakePlatform, run_id: str) -> int:
    return sum(charge.count for charge in platform.charges(run_id))


def test_charges_go_to_the_platform_once_each(
    platform: FakePlatform, home_actor: Callable[..., Actor]
) -> None:
    """Each charge is one API charge with a key; a repeated key is not sent again."""
    env = platform.run_env(pricing_info=PRICES, max_total_charge_usd='1')
    actor = home_actor(env)
    assert actor.charge('search', 3).charged_count == 3
    assert actor.charge('page', 2, idempotency_key='k').charged_count == 2
    assert actor.charge('page', 2, idempotency_key='k').charged_count == 2
    charges = platform.charges(env['ACTOR_RUN_ID'])
    assert [(c.event_name, c.count) for c in charges] == [('search', 3), ('page', 2)]
    assert charges[0].idempotency_key
    assert charges[1].idempotency_key == 'k'
    assert platform.charged_usd(env['ACTOR_RUN_ID']) == Decimal('0.40')


def test_pricing_comes_from_the_run_object_when_the_env_lacks_it(
    platform: FakePlatform, home_actor: Callable[..., Actor]
) -> None:
    """Without the pricing variables the run object gives prices (strings), counts, budget."""
    events = {name: {'eventTitle': name, 'eventPriceUsd': str(p)} for name, p in PRICES.items()}
    pricing = {'pricingModel': 'PAY_PER_EVENT', 'pricingPerEvent': {'actorChargeEvents': events}}
    env = platform.run_env(
        pricing_info=pricing, max_total_charge_usd='0.5', charged_event_counts={'search': 2}
    )
    assert (
        platform.run(env['ACTOR_RUN_ID'])['pricingInfo']['pricingPerEvent']['actorChargeEvents'][
            'search'
        ]['eventPriceUsd']
        == '0.10'
    )
    for name in (
        'APIFY_ACTOR_PRICING_INFO',
        'APIFY_CHARGED_ACTOR_EVENT_COUNTS',
        'ACTOR_MAX_TOTAL_CHARGE_USD',
    ):
        env.pop(name)
    actor = home_actor(env)
    manager = actor.get_charging_manager()
    assert manager.get_pricing_info().per_event_prices == {
        'search': Decimal('0.10'),
        'page': Decimal('0.05'),
    }
    assert manager.get_max_total_charge_usd() == Decimal('0.5')
    assert manager.get_charged_event_count('search') == 2
    assert actor.charge('search', 10).charged_count == 3


def test_a_later_process_of_the_run_counts_what_earlier_ones_charged(
    platform: FakePlatform, home_actor: Callable[..., Actor]
) -> None:
    """A process started with stale counts (after a crash) reads the run's own counts."""
    env = platform.run_env(pricing_info=PRICES, max_total_charge_usd='1')
    first = home_actor(env)
    assert first.charge('search', 7).charged_count == 7
    first.exit()
    second = home_actor(env)  # the same, stale APIFY_CHARGED_ACTOR_EVENT_COUNTS ({})
    assert second.get_charging_manager().get_charged_event_count('search') == 7
    assert second.charge('search', 7).charged_count == 3
    assert platform.charged_usd(env['ACTOR_RUN_ID']) == Decimal('1.00')


def test_a_process_that_crashed_after_charging_is_counted_by_the_next(
    platform: FakePlatform, home_actor: Callable[..., Actor], tmp_path: Path
) -> None:
    """A process killed right after its charges leaves them counted: the run object has them."""
    env = platform.run_env(pricing_info=PRICES, max_total_charge_usd='1')
    script = """
        import os
        from actorkit import Actor
        actor = Actor(exit_process=False, configure_logging=False)
        actor.init()
        actor.charge('search', 6)
        os._exit(9)  # no exit(), no bookkeeping of any kind after the call
    """
    child_env: dict[str, str | None] = dict(env)
    child_env['ACTOR_EVENTS_WEBSOCKET_URL'] = None
    done = run_script(tmp_path, script, env=child_env)
    assert done.returncode == 9, describe(done)
    assert recorded(platform, env['ACTOR_RUN_ID']) == 6
    actor = home_actor(env)  # the env still says nothing was charged
    assert actor.charge('search', 6).charged_count == 4
    assert platform.charged_usd(env['ACTOR_RUN_ID']) == Decimal('1.00')


def test_push_data_at_home_charges_the_named_event_per_pushed_item(
    platform: FakePlatform, home_actor: Callable[..., Actor]
) -> None:
    """Items are cut to the budget; the synthetic event is never sent, the named one is."""
    prices = {**PRICES, DEFAULT_DATASET_ITEM_EVENT: '0.01'}
    env = platform.run_env(pricing_info=prices, max_total_charge_usd='0.3')
    actor = home_actor(env)
    result = actor.push_data([{'i': i} for i in range(10)], charged_event_name='page')
    assert result == ChargeResult(
        charged_count=5,
        event_charge_limit_reached=True,
        chargeable_within_limit={'search': 0, 'page': 0, DEFAULT_DATASET_ITEM_EVENT: 0},
    )
    assert actor.open_dataset().item_count == 5
    charges = platform.charges(env['ACTOR_RUN_ID'])
    assert [(c.event_name, c.count) for c in charges] == [('page', 5)]


def test_a_refused_charge_raises_and_spends_nothing(
    platform: FakePlatform, fast_manager: Callable[..., ChargingManager]
) -> None:
    """A 4xx answer is a definite refusal: it raises and releases the reservation."""
    env = platform.run_env(pricing_info=PRICES, max_total_charge_usd='1')
    manager = fast_manager(env)
    platform.inject_faults(400, times=1, path='/charge')
    with pytest.raises(ApifyApiError):
        manager.charge('search', 5)
    assert manager.calculate_total_charged_amount() == 0
    assert manager.charge('search', 10).charged_count == 10


def test_a_charge_that_lost_every_answer_counts_as_possibly_made(
    platform: FakePlatform,
    fast_manager: Callable[..., ChargingManager],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A charge taken but never answered raises, and later charges cannot spend it again."""
    env = platform.run_env(pricing_info=PRICES, max_total_charge_usd='0.5')
    run_id = env['ACTOR_RUN_ID']
    manager = fast_manager(env)
    platform.inject_faults(503, times=3, path='/charge', after_processing=True)
    with pytest.raises(ApifyClientError) as raised, caplog.at_level('WARNING'):
        manager.charge('search', 3, idempotency_key='lost')
    assert 'may have been taken' in caplog.text
    for text in (caplog.text, str(raised.value), repr(manager)):
        assert platform.token not in text
    assert recorded(platform, run_id) == 3
    assert manager.calculate_total_charged_amount() == Decimal('0.30')
    assert manager.charge('search', 5).charged_count == 2
    assert manager.charge('search', 3, idempotency_key='lost').charged_count == 3
    assert platform.charged_usd(run_id) == Decimal('0.50')
    assert manager.calculate_total_charged_amount() == Decimal('0.50')


def test_timeouts_and_lost_answers_are_retried_under_one_key(
    platform: FakePlatform, fast_manager: Callable[..., ChargingManager]
) -> None:
    """A charge whose first answers time out or are lost is charged once."""
    env = platform.run_env(pricing_info=PRICES, max_total_charge_usd='1')
    manager = fast_manager(env)
    platform.inject_faults(None, times=1, path='/charge', delay=2, after_processing=True)
    platform.inject_faults(500, times=1, path='/charge', after_processing=True)
    assert manager.charge('search', 4).charged_count == 4
    assert recorded(platform, env['ACTOR_RUN_ID']) == 4


@pytest.mark.parametrize('after_processing', [False, True])
def test_sixteen_threads_with_faults_never_overspend(
    platform: FakePlatform,
    fast_manager: Callable[..., ChargingManager],
    after_processing: bool,
) -> None:
    """Threads charging and pushing through 5xx, timeouts and lost answers stay in budget."""
    prices = {**PRICES, DEFAULT_DATASET_ITEM_EVENT: '0.01'}
    env = platform.run_env(pricing_info=prices, max_total_charge_usd='3.37')
    run_id = env['ACTOR_RUN_ID']
    manager = fast_manager(env)
    dataset = ApifyClient(platform.token, api_url=platform.api_url).dataset(
        env['ACTOR_DEFAULT_DATASET_ID']
    )
    platform.inject_faults(503, times=6, path='/charge', after_processing=after_processing)
    platform.inject_faults(
        None, times=2, path='/charge', delay=2, after_processing=after_processing
    )
    platform.inject_faults(500, times=6, path='/charge', after_processing=after_processing)
    results: list[ChargeResult] = []
    pushes: list[ChargeResult] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def work(index: int) -> None:
        start.wait()
        for step in range(10):
            try:
                if (index + step) % 3 == 0:
                    items = [{'t': index, 's': step}] * 3
                    pushed = manager.push(items, dataset.push_items, 'page')
                    assert pushed is not None
                    with lock:
                        pushes.append(pushed)
                else:
                    result = manager.charge('search' if step % 2 else 'page', 2)
                    with lock:
                        results.append(result)
            except ApifyClientError as exc:
                with lock:
                    failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    item_count = dataset.get()['itemCount']
    total = platform.charged_usd(run_id) + Decimal('0.01') * item_count
    assert total <= Decimal('3.37')
    answered = sum(result.charged_count for result in results + pushes)
    if not failures:
        assert answered == recorded(platform, run_id)
        assert sum(result.charged_count for result in pushes) == item_count
        assert total > Decimal('3.37') - Decimal('0.1')
    else:
        assert answered <= recorded(platform, run_id)
    assert manager.calculate_total_charged_amount() >= total
    assert manager.calculate_total_charged_amount() <= Decimal('3.37')


def test_sixteen_threads_of_an_actor_at_home_charge_exactly_what_the_platform_records(
    platform: FakePlatform, home_actor: Callable[..., Actor]
) -> None:
    """actor.charge and push_data from 16 threads through 5xx: results sum to the records."""
    env = platform.run_env(pricing_info=PRICES, max_total_charge_usd='2.05')
    run_id = env['ACTOR_RUN_ID']
    actor = home_actor(env)
    platform.inject_faults(503, times=4, path='/charge')
    platform.inject_faults(500, times=2, path='/charge', after_processing=True)
    counts: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def work(index: int) -> None:
        start.wait()
        for step in range(6):
            if step % 3 == 0:
                result = actor.push_data([{'t': index}] * 2, charged_event_name='page')
                assert result is not None
            else:
                result = actor.charge('search', 1, idempotency_key=f'{index}-{step}')
            with lock:
                counts.append(result.charged_count)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert len(counts) == 16 * 6
    assert sum(counts) == recorded(platform, run_id)
    assert Decimal('1.95') < platform.charged_usd(run_id) <= Decimal('2.05')
    assert actor.get_charging_manager().calculate_total_charged_amount() == platform.charged_usd(
        run_id
    )


def test_ensure_budget_at_home_fails_the_run_without_charging(
    platform: FakePlatform, home_actor: Callable[..., Actor]
) -> None:
    """The run fails with a terminal status message and no charge reaches the platform."""
    env = platform.run_env(pricing_info=PRICES, max_total_charge_usd='0.25')
    actor = home_actor(env)
    assert actor.ensure_budget({'search': 3}) is False
    run = platform.run(env['ACTOR_RUN_ID'])
    assert 'needs at least $0.30' in run['statusMessage']
    assert platform.charges(env['ACTOR_RUN_ID']) == []


def test_test_pay_per_event_is_refused_at_home(
    platform: FakePlatform, home_actor: Callable[..., Actor]
) -> None:
    """ACTOR_TEST_PAY_PER_EVENT at home is a configuration error naming the variable."""
    env = platform.run_env(pricing_info=PRICES)
    env['ACTOR_TEST_PAY_PER_EVENT'] = '1'
    actor = home_actor(env)
    with pytest.raises(ValueError, match='ACTOR_TEST_PAY_PER_EVENT'):
        actor.charge('search')
