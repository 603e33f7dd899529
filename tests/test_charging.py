"""Pay-per-event charging in local runs: the budget, the charging-log, threads and processes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from actorkit import Actor, ChargeResult, ConfigurationError
from actorkit.charging import DEFAULT_DATASET_ITEM_EVENT
from tests._subprocess import TIMEOUT, script_env, write_script

PRICES = {'search': '0.10', 'page': 0.05, DEFAULT_DATASET_ITEM_EVENT: '0.01'}


def ppe(prices: dict[str, Any] | None = None) -> dict[str, Any]:
    """The pricing info of a pay-per-event Actor with ``prices`` (numbers or strings)."""
    events = {
        name: {'eventTitle': name.title(), 'eventPriceUsd': price}
        for name, price in (PRICES if prices is None else prices).items()
    }
    return {'pricingModel': 'PAY_PER_EVENT', 'pricingPerEvent': {'actorChargeEvents': events}}


def charging_actor(make_actor: Callable[..., Actor], **overrides: Any) -> Actor:
    settings: dict[str, Any] = {
        'actor_pricing_info': ppe(),
        'charged_event_counts': {},
        'max_total_charge_usd': Decimal('1'),
    }
    settings.update(overrides)
    actor = make_actor(**settings)
    actor.init()
    return actor


def log_items(storage: Path) -> list[dict[str, Any]]:
    folder = storage / 'datasets' / 'charging-log'
    return [
        json.loads(path.read_text())
        for path in sorted(folder.glob('*.json'))
        if path.name != '__metadata__.json'
    ]


def spent(items: list[dict[str, Any]], prices: dict[str, Any] | None = None) -> Decimal:
    table = {name: Decimal(str(price)) for name, price in (prices or PRICES).items()}
    return sum((table[item['event_name']] * item['charged_count'] for item in items), Decimal(0))


def test_charge_returns_a_frozen_result_and_logs_the_charge(
    make_actor: Callable[..., Actor], tmp_path: Path
) -> None:
    """A charge returns a frozen ChargeResult and appends an item of the official shape."""
    actor = charging_actor(make_actor)
    result = actor.charge('search', 3)
    assert result == ChargeResult(
        charged_count=3,
        event_charge_limit_reached=False,
        chargeable_within_limit={'search': 7, 'page': 14, DEFAULT_DATASET_ITEM_EVENT: 70},
    )
    with pytest.raises(AttributeError):
        result.charged_count = 5  # type: ignore[misc]
    (item,) = log_items(tmp_path / 'storage')
    assert set(item) == {
        'event_name',
        'event_title',
        'event_price_usd',
        'charged_count',
        'idempotency_key',
        'timestamp',
    }
    assert item['event_name'] == 'search'
    assert item['event_title'] == 'Search'
    assert item['event_price_usd'] == 0.1
    assert item['charged_count'] == 3
    assert item['idempotency_key'] is None


def test_the_budget_cuts_a_charge_and_the_limit_is_a_result(
    make_actor: Callable[..., Actor],
) -> None:
    """A charge above the budget is cut to what it pays for; the limit does not raise."""
    actor = charging_actor(make_actor)
    assert actor.charge('search', 8).charged_count == 8
    cut = actor.charge('search', 5)
    assert cut.charged_count == 2
    assert cut.event_charge_limit_reached is True
    assert actor.charge('page').charged_count == 0
    manager = actor.get_charging_manager()
    assert manager.calculate_total_charged_amount() == Decimal('1.00')
    assert manager.get_charged_event_count('search') == 10
    assert manager.is_event_charge_limit_reached('page')


def test_counts_already_charged_in_the_run_count_against_the_budget(
    make_actor: Callable[..., Actor],
) -> None:
    """APIFY_CHARGED_ACTOR_EVENT_COUNTS is spent budget; string prices work in Decimal."""
    actor = charging_actor(
        make_actor,
        actor_pricing_info=ppe({'search': '0.1', 'page': '0.2'}),
        charged_event_counts={'search': 7},
    )
    manager = actor.get_charging_manager()
    assert manager.get_charged_event_count('search') == 7
    assert manager.calculate_total_charged_amount() == Decimal('0.7')
    assert manager.calculate_max_event_charge_count_within_limit('search') == 3
    assert manager.compute_chargeable() == {'search': 3, 'page': 1}
    assert manager.get_max_total_charge_usd() == Decimal('1')
    info = manager.get_pricing_info()
    assert info.is_pay_per_event
    assert info.per_event_prices == {'search': Decimal('0.1'), 'page': Decimal('0.2')}


@pytest.mark.parametrize('count', [0, -1, 1.5, '2', True, None])
def test_a_count_that_is_not_a_positive_int_is_refused(
    make_actor: Callable[..., Actor], tmp_path: Path, count: Any
) -> None:
    """A count that is not a positive int raises ValueError and charges nothing."""
    actor = charging_actor(make_actor)
    with pytest.raises(ValueError, match='count must be a positive int'):
        actor.charge('search', count)
    assert log_items(tmp_path / 'storage') == []


def test_bad_event_names_and_keys_are_refused(
    make_actor: Callable[..., Actor], tmp_path: Path
) -> None:
    """Unknown, synthetic or empty events and blank keys raise; nothing is charged."""
    actor = charging_actor(make_actor)
    with pytest.raises(ValueError, match=r"'nope' is not in the pricing.*page, search"):
        actor.charge('nope')
    with pytest.raises(ValueError, match='synthetic event'):
        actor.charge(DEFAULT_DATASET_ITEM_EVENT)
    with pytest.raises(ValueError, match='non-empty str'):
        actor.charge('')
    with pytest.raises(ValueError, match='idempotency_key'):
        actor.charge('search', idempotency_key='  ')
    with pytest.raises(ValueError, match="'nope' is not in the pricing"):
        actor.push_data([{'a': 1}], charged_event_name='nope')
    assert log_items(tmp_path / 'storage') == []
    assert actor.open_dataset().item_count == 0


def test_a_tier_priced_event_cannot_be_charged(make_actor: Callable[..., Actor]) -> None:
    """An event without eventPriceUsd (tiered) raises instead of charging."""
    actor = charging_actor(make_actor, actor_pricing_info=ppe({'search': None}))
    with pytest.raises(ValueError, match='tier-priced'):
        actor.charge('search')


def test_malformed_pricing_is_a_configuration_error(make_actor: Callable[..., Actor]) -> None:
    """A price that is not a number names the event and the variable."""
    actor = charging_actor(make_actor, actor_pricing_info=ppe({'search': 'ten cents'}))
    with pytest.raises(ConfigurationError, match=r"price of 'search'.*not a number"):
        actor.charge('search')


def test_an_idempotency_key_charges_once(make_actor: Callable[..., Actor], tmp_path: Path) -> None:
    """A repeat under the same key reports the first charge and charges nothing more."""
    actor = charging_actor(make_actor)
    first = actor.charge('search', 2, idempotency_key='job-1')
    again = actor.charge('search', 2, idempotency_key='job-1')
    other = actor.charge('page', 1, idempotency_key='job-1')
    assert (first.charged_count, again.charged_count, other.charged_count) == (2, 2, 0)
    assert [item['idempotency_key'] for item in log_items(tmp_path / 'storage')] == ['job-1']


@pytest.mark.parametrize(
    'pricing',
    [
        None,
        {'pricingModel': 'FREE'},
        {'pricingModel': 'FLAT_PRICE_PER_MONTH', 'pricePerUnitUsd': 10},
        {'pricingModel': 'PRICE_PER_DATASET_ITEM', 'pricePerUnitUsd': 0.001},
    ],
)
def test_other_pricing_models_warn_once_and_charge_nothing(
    make_actor: Callable[..., Actor],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    pricing: dict[str, Any] | None,
) -> None:
    """Without pay-per-event pricing a charge warns once and charges nothing."""
    actor = charging_actor(make_actor, actor_pricing_info=pricing)
    with caplog.at_level('WARNING', logger='actorkit.charging'):
        results = [actor.charge('anything') for _ in range(3)]
    assert all(result.charged_count == 0 for result in results)
    assert results[0].chargeable_within_limit == {}
    assert len([r for r in caplog.records if 'not priced per event' in r.message]) == 1
    assert actor.push_data([{'a': 1}], charged_event_name='anything') is None
    assert actor.open_dataset().item_count == 1
    assert not (tmp_path / 'storage' / 'datasets' / 'charging-log').exists()
    assert not actor.get_charging_manager().get_pricing_info().is_pay_per_event


def test_max_paid_dataset_items_caps_pushes_per_dataset_item(
    make_actor: Callable[..., Actor],
) -> None:
    """Under PRICE_PER_DATASET_ITEM pushes stop at ACTOR_MAX_PAID_DATASET_ITEMS items."""
    actor = charging_actor(
        make_actor,
        actor_pricing_info={'pricingModel': 'PRICE_PER_DATASET_ITEM', 'pricePerUnitUsd': 0.01},
        max_paid_dataset_items=5,
    )
    assert actor.push_data([{'i': i} for i in range(3)]) is None
    actor.push_data([{'i': i} for i in range(3, 10)])
    actor.push_data({'i': 10})
    assert [item['i'] for item in actor.open_dataset().get_data().items] == [0, 1, 2, 3, 4]


def test_push_data_charges_per_item_and_cuts_to_the_budget(
    make_actor: Callable[..., Actor], tmp_path: Path
) -> None:
    """The synthetic and the named event are charged per item; only paid items are pushed."""
    actor = charging_actor(make_actor)
    result = actor.push_data([{'i': i} for i in range(30)], charged_event_name='page')
    assert result is not None
    assert result.charged_count == 16  # 1.00 / (0.05 + 0.01)
    assert result.event_charge_limit_reached
    assert [item['i'] for item in actor.open_dataset().get_data().items] == list(range(16))
    items = log_items(tmp_path / 'storage')
    assert sorted((item['event_name'], item['charged_count']) for item in items) == [
        (DEFAULT_DATASET_ITEM_EVENT, 16),
        ('page', 16),
    ]
    alone = actor.push_data([{'late': i} for i in range(5)])  # 0.04 left, 0.01 an item
    assert alone is not None
    assert (alone.charged_count, alone.event_charge_limit_reached) == (4, True)
    assert actor.open_dataset().item_count == 20


def test_push_data_without_priced_events_returns_none(
    make_actor: Callable[..., Actor],
) -> None:
    """With no synthetic price and no charged event, push_data pushes all and returns None."""
    actor = charging_actor(make_actor, actor_pricing_info=ppe({'search': 1}))
    assert actor.push_data([{'i': i} for i in range(3)]) is None
    assert actor.open_dataset().item_count == 3


def test_the_default_dataset_object_charges_its_pushes_too(
    make_actor: Callable[..., Actor], tmp_path: Path
) -> None:
    """open_dataset().push_data charges the synthetic event and is cut, as the official SDK."""
    actor = charging_actor(make_actor, max_total_charge_usd=Decimal('0.05'))
    dataset = actor.open_dataset()
    dataset.push_data([{'i': i} for i in range(8)])
    assert dataset.item_count == 5
    items = log_items(tmp_path / 'storage')
    assert [(item['event_name'], item['charged_count']) for item in items] == [
        (DEFAULT_DATASET_ITEM_EVENT, 5)
    ]


def test_named_datasets_never_charge(make_actor: Callable[..., Actor], tmp_path: Path) -> None:
    """Pushing to a named or aliased dataset charges nothing."""
    actor = charging_actor(make_actor, max_total_charge_usd=Decimal('0'))
    actor.open_dataset(name='results').push_data([{'a': 1}])
    actor.open_dataset(alias='side').push_data([{'a': 1}])
    assert actor.open_dataset(name='results').item_count == 1
    assert log_items(tmp_path / 'storage') == []


def test_test_mode_prices_unknown_events_at_one_dollar(
    make_actor: Callable[..., Actor], tmp_path: Path
) -> None:
    """ACTOR_TEST_PAY_PER_EVENT without pricing charges any event at $1, as the official SDK."""
    actor = charging_actor(
        make_actor,
        actor_pricing_info=None,
        charged_event_counts=None,
        test_pay_per_event=True,
        max_total_charge_usd=Decimal('2.5'),
    )
    assert actor.charge('whatever', 5).charged_count == 2
    assert log_items(tmp_path / 'storage')[0]['event_title'] == "Unknown event 'whatever'"


def test_counts_survive_a_restart_with_purge_off(
    make_actor: Callable[..., Actor], tmp_path: Path
) -> None:
    """A local run restarted with purge off rebuilds its counts from the charging-log."""
    first = charging_actor(make_actor, purge_on_start=False)
    first.charge('search', 6, idempotency_key='k')
    first.exit()
    second = charging_actor(make_actor, purge_on_start=False)
    manager = second.get_charging_manager()
    assert manager.get_charged_event_count('search') == 6
    assert second.charge('search', 6).charged_count == 4
    assert second.charge('search', 1, idempotency_key='k').charged_count == 6
    second.exit()
    third = charging_actor(make_actor, purge_on_start=True)
    assert third.get_charging_manager().get_charged_event_count('search') == 0
    assert log_items(tmp_path / 'storage') == []


def test_sixteen_threads_never_overspend(make_actor: Callable[..., Actor], tmp_path: Path) -> None:
    """Threads charging and pushing at once spend at most the budget, all of it logged."""
    actor = charging_actor(make_actor, max_total_charge_usd=Decimal('3.37'))
    results: list[ChargeResult] = []
    pushed: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def work(index: int) -> None:
        start.wait()
        for step in range(12):
            if (index + step) % 3 == 0:
                result = actor.push_data([{'t': index, 's': step}] * 3, charged_event_name='page')
                assert result is not None
                with lock:
                    pushed.append(result.charged_count)
            else:
                result = actor.charge('search' if step % 2 else 'page', 2)
                with lock:
                    results.append(result)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    items = log_items(tmp_path / 'storage')
    total = spent(items)
    assert total <= Decimal('3.37')
    assert total > Decimal('3.37') - Decimal('0.10')
    assert actor.get_charging_manager().calculate_total_charged_amount() == total
    charged = sum(r.charged_count for r in results) + 2 * sum(pushed)
    assert charged == sum(item['charged_count'] for item in items)
    assert actor.open_dataset().item_count == sum(pushed)


def test_ensure_budget_fails_the_run_early(
    make_actor: Callable[..., Actor], tmp_path: Path
) -> None:
    """A budget short of the minimum fails the run with a clear message, charging nothing."""
    actor = charging_actor(make_actor)
    assert actor.ensure_budget({'search': 10}) is True
    with pytest.raises(ValueError, match="'nope' is not in the pricing"):
        actor.ensure_budget({'nope': 1})
    with pytest.raises(ValueError, match='whole number'):
        actor.ensure_budget({'search': -1})
    assert actor.ensure_budget({'search': 10, 'page': 1}) is False
    assert not actor.is_running
    assert 'needs at least $1.05' in (actor.status_message or '')
    assert log_items(tmp_path / 'storage') == []


_PROCESS_SCRIPT = """
import json, os, sys
from actorkit import Actor
actor = Actor(exit_process=False, configure_logging=False)
charged = 0
with actor:
    sys.stdout.write('ready\\n')
    sys.stdin.readline()
    for step in range(40):
        if step % 4 == 0:
            items = [{'pid': os.getpid(), 's': step}] * 2
            result = actor.push_data(items, charged_event_name='page')
        else:
            result = actor.charge('search', 1)
        charged += result.charged_count * (2 if step % 4 == 0 else 1)
print(json.dumps({'charged': charged}))
"""


def test_four_processes_of_one_run_never_overspend(tmp_path: Path) -> None:
    """Processes sharing the storage folder (purge off) spend at most the budget together."""
    script = write_script(tmp_path, _PROCESS_SCRIPT)
    env = script_env(
        tmp_path,
        {
            'APIFY_ACTOR_PRICING_INFO': json.dumps(ppe()),
            'APIFY_CHARGED_ACTOR_EVENT_COUNTS': '{}',
            'ACTOR_MAX_TOTAL_CHARGE_USD': '2.03',
            'APIFY_PURGE_ON_START': '0',
        },
    )
    procs = [
        subprocess.Popen(
            [sys.executable, str(script)],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline() == 'ready\n'
    outputs = [proc.communicate('go\n', timeout=TIMEOUT)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0, 0], outputs
    charged = sum(json.loads(out.strip().splitlines()[-1])['charged'] for out in outputs)
    items = log_items(tmp_path / 'storage')
    total = spent(items)
    assert Decimal('1.90') < total <= Decimal('2.03')
    assert charged == sum(item['charged_count'] for item in items)
