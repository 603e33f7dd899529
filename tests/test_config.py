"""Configuration read from environment variables."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from actorkit import Configuration, ConfigurationError, Secret


def test_defaults_apply_when_nothing_is_set() -> None:
    """An empty environment gives the documented defaults."""
    config = Configuration.from_env({})
    assert config.is_at_home is False
    assert config.token is None
    assert config.api_base_url == 'https://api.apify.com'
    assert config.input_key == 'INPUT'
    assert config.persist_state_interval_millis == 60_000
    assert config.system_info_interval_millis == 1_000
    assert config.metamorph_after_sleep_millis == 300_000
    assert config.purge_on_start is True
    assert config.local_storage_dir == './storage'
    assert config.max_used_cpu_ratio == 0.95
    assert config.web_server_port == 4321
    assert config.max_total_charge_usd is None
    assert config.actor_build_tags == ()


def test_every_value_is_typed() -> None:
    """Bools, ints, floats, decimals, datetimes, JSON and lists are parsed to their types."""
    config = Configuration.from_env(
        {
            'APIFY_IS_AT_HOME': 'yes',
            'ACTOR_MEMORY_MBYTES': '4096',
            'APIFY_DEDICATED_CPUS': '2.5',
            'ACTOR_MAX_TOTAL_CHARGE_USD': '12.345',
            'ACTOR_STARTED_AT': '2024-01-02T03:04:05.678Z',
            'ACTOR_TIMEOUT_AT': '2024-01-02T04:04:05',
            'APIFY_ACTOR_PRICING_INFO': '{"pricingModel": "PAY_PER_EVENT"}',
            'APIFY_CHARGED_ACTOR_EVENT_COUNTS': '{"scrape": 3}',
            'ACTOR_BUILD_TAGS': 'latest, beta,,',
            'APIFY_USER_IS_PAYING': 'off',
            'APIFY_LOG_LEVEL': 'warning',
        }
    )
    assert config.is_at_home is True
    assert config.memory_mbytes == 4096
    assert config.dedicated_cpus == 2.5
    assert config.max_total_charge_usd == Decimal('12.345')
    assert config.started_at == datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    assert config.timeout_at is not None
    assert config.timeout_at.tzinfo is not None
    assert config.actor_pricing_info == {'pricingModel': 'PAY_PER_EVENT'}
    assert config.charged_event_counts == {'scrape': 3}
    assert config.actor_build_tags == ('latest', 'beta')
    assert config.user_is_paying is False
    assert config.log_level == 'WARNING'


@pytest.mark.parametrize(
    ('names', 'field'),
    [
        (('ACTOR_ID', 'APIFY_ACTOR_ID', 'APIFY_ACT_ID'), 'actor_id'),
        (('ACTOR_RUN_ID', 'APIFY_ACTOR_RUN_ID', 'APIFY_ACT_RUN_ID'), 'actor_run_id'),
        (('ACTOR_INPUT_KEY', 'APIFY_INPUT_KEY', 'CRAWLEE_INPUT_KEY'), 'input_key'),
        (('ACTOR_EVENTS_WEBSOCKET_URL', 'APIFY_ACTOR_EVENTS_WS_URL'), 'events_websocket_url'),
        (('ACTOR_WEB_SERVER_URL', 'APIFY_CONTAINER_URL'), 'web_server_url'),
        (('APIFY_LOCAL_STORAGE_DIR', 'CRAWLEE_STORAGE_DIR'), 'local_storage_dir'),
        (
            ('ACTOR_DEFAULT_DATASET_ID', 'APIFY_DEFAULT_DATASET_ID'),
            'default_dataset_id',
        ),
    ],
)
def test_first_set_name_wins_and_empty_means_unset(names: tuple[str, ...], field: str) -> None:
    """Each alias is read; the first non-empty one wins; an empty string counts as unset."""
    for index, name in enumerate(names):
        assert getattr(Configuration.from_env({name: f'v{index}'}), field) == f'v{index}'
    everything = {name: f'v{index}' for index, name in enumerate(names)}
    assert getattr(Configuration.from_env(everything), field) == 'v0'
    everything[names[0]] = ''
    assert getattr(Configuration.from_env(everything), field) == 'v1'


def test_crawlee_spellings_are_read() -> None:
    """The CRAWLEE_ names of the shared settings are honoured."""
    config = Configuration.from_env(
        {
            'CRAWLEE_PERSIST_STATE_INTERVAL_MILLIS': '1500',
            'CRAWLEE_PURGE_ON_START': 'false',
            'CRAWLEE_LOG_LEVEL': 'DEBUG',
            'CRAWLEE_MAX_USED_CPU_RATIO': '0.5',
        }
    )
    assert config.persist_state_interval_millis == 1500
    assert config.purge_on_start is False
    assert config.log_level == 'DEBUG'
    assert config.max_used_cpu_ratio == 0.5


@pytest.mark.parametrize('value', ['maybe', '2', 'TRUEISH', 'y'])
def test_bools_are_strict(value: str) -> None:
    """Anything but 1/0/true/false/yes/no/on/off is an error for a bool."""
    with pytest.raises(ConfigurationError, match='APIFY_PURGE_ON_START'):
        Configuration.from_env({'APIFY_PURGE_ON_START': value})


@pytest.mark.parametrize(
    ('value', 'expected'),
    [('1', True), ('0', False), ('TRUE', True), ('no', False), ('On', True), ('off', False)],
)
def test_bool_spellings_are_accepted(value: str, expected: bool) -> None:
    """Every documented spelling of a bool parses, case-insensitively."""
    assert Configuration.from_env({'APIFY_IS_AT_HOME': value}).is_at_home is expected


def test_all_problems_are_reported_at_once() -> None:
    """One ConfigurationError names every invalid variable and why."""
    with pytest.raises(ConfigurationError) as caught:
        Configuration.from_env(
            {
                'APIFY_IS_AT_HOME': 'maybe',
                'ACTOR_MEMORY_MBYTES': '12x',
                'ACTOR_STARTED_AT': 'yesterday',
                'ACTOR_MAX_TOTAL_CHARGE_USD': 'NaN',
                'APIFY_ACTOR_PRICING_INFO': '[1',
                'APIFY_CHARGED_ACTOR_EVENT_COUNTS': '{"a": "x"}',
                'APIFY_LOG_LEVEL': 'loud',
                'ACTOR_WEB_SERVER_PORT': '',
            }
        )
    error = caught.value
    assert isinstance(error, ValueError)
    assert len(error.problems) == 7
    message = str(error)
    for name in (
        'APIFY_IS_AT_HOME',
        'ACTOR_MEMORY_MBYTES',
        'ACTOR_STARTED_AT',
        'ACTOR_MAX_TOTAL_CHARGE_USD',
        'APIFY_ACTOR_PRICING_INFO',
        'APIFY_CHARGED_ACTOR_EVENT_COUNTS',
        'APIFY_LOG_LEVEL',
    ):
        assert name in message
    assert 'not a boolean' in message
    assert 'not valid JSON' in message
    assert 'ACTOR_WEB_SERVER_PORT' not in message


def test_secrets_never_show(caplog: pytest.LogCaptureFixture) -> None:
    """Token, proxy password and key passphrase are hidden in repr, dicts and logs."""
    secrets = {
        'APIFY_TOKEN': 'tok-SECRET-1',
        'APIFY_PROXY_PASSWORD': 'pw-SECRET-2',
        'APIFY_INPUT_SECRETS_PRIVATE_KEY_PASSPHRASE': 'pass-SECRET-3',
    }
    config = Configuration.from_env(secrets)
    assert config.token == 'tok-SECRET-1'
    assert isinstance(config.token, Secret)
    assert f'Bearer {config.token}' == 'Bearer tok-SECRET-1'
    with caplog.at_level(logging.DEBUG):
        logging.getLogger('actorkit.test').info('config: %r env: %s', config, config.to_dict())
    shown = repr(config) + str(config.to_dict()) + caplog.text
    for value in secrets.values():
        assert value not in shown
    assert "Secret('***')" in repr(config)


def test_an_invalid_secret_is_not_echoed() -> None:
    """A secret variable that fails to parse is named, its value is not shown."""
    # Secrets are plain strings, so force a failure through a typed field holding a secret-like
    # value: the message for non-secret fields shows the value, for secret fields never.
    from actorkit._config import _describe_problem

    line = _describe_problem('APIFY_TOKEN', 'tok-XYZ', ValueError("'tok-XYZ' is bad"), secret=True)
    assert 'tok-XYZ' not in line
    assert 'APIFY_TOKEN' in line


def test_fields_can_be_given_directly() -> None:
    """Configuration(...) works with keyword arguments and converts secrets."""
    config = Configuration(token='abc', persist_state_interval_millis=10)
    assert isinstance(config.token, Secret)
    assert config.persist_state_interval_millis == 10


def test_to_dict_has_every_field_by_snake_case_name() -> None:
    """to_dict returns one entry per field."""
    data = Configuration.from_env({'ACTOR_ID': 'abc'}).to_dict()
    assert data['actor_id'] == 'abc'
    assert 'is_at_home' in data
    assert 'persist_state_interval_millis' in data


def test_values_that_would_break_the_runtime_are_refused_all_at_once() -> None:
    """Zero or negative intervals, NaN/infinite ratios and bad ports are refused together."""
    with pytest.raises(ConfigurationError) as caught:
        Configuration.from_env(
            {
                'APIFY_PERSIST_STATE_INTERVAL_MILLIS': '0',
                'APIFY_SYSTEM_INFO_INTERVAL_MILLIS': '-5',
                'APIFY_METAMORPH_AFTER_SLEEP_MILLIS': '-1',
                'APIFY_MAX_USED_CPU_RATIO': 'nan',
                'APIFY_DEDICATED_CPUS': 'inf',
                'ACTOR_MEMORY_MBYTES': '0',
                'ACTOR_WEB_SERVER_PORT': '70000',
                'APIFY_PROXY_PORT': '0',
                'ACTOR_MAX_PAID_DATASET_ITEMS': '-3',
                'ACTOR_MAX_TOTAL_CHARGE_USD': '-0.5',
            }
        )
    problems = caught.value.problems
    assert len(problems) == 10, problems
    message = str(caught.value)
    assert (
        'APIFY_PERSIST_STATE_INTERVAL_MILLIS: 0 is out of range; use a whole number of '
        'milliseconds above 0'
    ) in message
    assert 'APIFY_SYSTEM_INFO_INTERVAL_MILLIS: -5 is out of range' in message
    assert 'APIFY_MAX_USED_CPU_RATIO: nan is out of range; use a ratio from 0 to 1' in message
    assert 'ACTOR_WEB_SERVER_PORT: 70000 is out of range; use a port number from 1 to 65535' in (
        message
    )
    for name in ('APIFY_DEDICATED_CPUS', 'ACTOR_MEMORY_MBYTES', 'APIFY_PROXY_PORT'):
        assert f'{name}: ' in message


@pytest.mark.parametrize('ratio', ['inf', '-inf', '1.5', '-0.1'])
def test_cpu_ratio_must_be_a_finite_ratio(ratio: str) -> None:
    """APIFY_MAX_USED_CPU_RATIO outside 0-1 (or not finite) is refused, naming the variable."""
    with pytest.raises(ConfigurationError, match='APIFY_MAX_USED_CPU_RATIO'):
        Configuration.from_env({'APIFY_MAX_USED_CPU_RATIO': ratio})


def test_edge_values_are_accepted() -> None:
    """The smallest and largest valid values pass."""
    config = Configuration.from_env(
        {
            'APIFY_PERSIST_STATE_INTERVAL_MILLIS': '1',
            'APIFY_MAX_USED_CPU_RATIO': '0',
            'ACTOR_WEB_SERVER_PORT': '65535',
            'APIFY_PROXY_PORT': '1',
            'APIFY_METAMORPH_AFTER_SLEEP_MILLIS': '0',
        }
    )
    assert config.persist_state_interval_millis == 1
    assert config.web_server_port == 65535


def test_values_given_directly_get_the_same_checks() -> None:
    """Configuration(...) with a value that would break the runtime raises, naming the field."""
    with pytest.raises(ConfigurationError) as caught:
        Configuration(persist_state_interval_millis=0, max_used_cpu_ratio=float('nan'))
    assert [problem.split(':')[0] for problem in caught.value.problems] == [
        'persist_state_interval_millis',
        'max_used_cpu_ratio',
    ]


def test_official_field_names_read_the_same_values() -> None:
    """The official SDK's names of unit-suffixed fields give the same values, typed as there."""
    config = Configuration.from_env(
        {
            'APIFY_PERSIST_STATE_INTERVAL_MILLIS': '1500',
            'APIFY_SYSTEM_INFO_INTERVAL_MILLIS': '250',
            'APIFY_METAMORPH_AFTER_SLEEP_MILLIS': '10',
            'APIFY_LOCAL_STORAGE_DIR': '/tmp/somewhere',
            'ACTOR_EVENTS_WEBSOCKET_URL': 'ws://127.0.0.1:1/x',
        }
    )
    assert config.persist_state_interval == timedelta(seconds=1.5)
    assert config.system_info_interval == timedelta(milliseconds=250)
    assert config.metamorph_after_sleep == timedelta(milliseconds=10)
    assert config.storage_dir == '/tmp/somewhere'
    assert config.actor_events_ws_url == 'ws://127.0.0.1:1/x'
    assert config.actor_storages is None
