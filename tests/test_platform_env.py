"""The run context at home: get_env(), config and is_at_home() expose every platform variable."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest

from actorkit import Actor, Configuration, Secret

_T0 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)

# (variable, raw value, field, typed value): every variable the platform sets, under each of
# its names (the first name of a field is the one the platform uses today).
VARIABLES: list[tuple[str, str, str, Any]] = [
    ('APIFY_IS_AT_HOME', '1', 'is_at_home', True),
    ('APIFY_TOKEN', 'apify_api_tok', 'token', 'apify_api_tok'),
    ('APIFY_API_BASE_URL', 'http://api.local:1', 'api_base_url', 'http://api.local:1'),
    ('APIFY_API_PUBLIC_BASE_URL', 'https://pub.local', 'api_public_base_url', 'https://pub.local'),
    ('ACTOR_ID', 'act1', 'actor_id', 'act1'),
    ('APIFY_ACTOR_ID', 'act2', 'actor_id', 'act2'),
    ('APIFY_ACT_ID', 'act3', 'actor_id', 'act3'),
    ('ACTOR_RUN_ID', 'run1', 'actor_run_id', 'run1'),
    ('APIFY_ACTOR_RUN_ID', 'run2', 'actor_run_id', 'run2'),
    ('APIFY_ACT_RUN_ID', 'run3', 'actor_run_id', 'run3'),
    ('ACTOR_BUILD_ID', 'b1', 'actor_build_id', 'b1'),
    ('APIFY_ACTOR_BUILD_ID', 'b2', 'actor_build_id', 'b2'),
    ('ACTOR_BUILD_NUMBER', '0.1.2', 'actor_build_number', '0.1.2'),
    ('APIFY_ACTOR_BUILD_NUMBER', '0.1.3', 'actor_build_number', '0.1.3'),
    ('ACTOR_BUILD_TAGS', 'latest,beta', 'actor_build_tags', ('latest', 'beta')),
    ('ACTOR_TASK_ID', 't1', 'actor_task_id', 't1'),
    ('APIFY_ACTOR_TASK_ID', 't2', 'actor_task_id', 't2'),
    ('ACTOR_FULL_NAME', 'me/my-actor', 'actor_full_name', 'me/my-actor'),
    (
        'ACTOR_PERMISSION_LEVEL',
        'LIMITED_PERMISSIONS',
        'actor_permission_level',
        'LIMITED_PERMISSIONS',
    ),
    ('APIFY_USER_ID', 'u1', 'user_id', 'u1'),
    ('APIFY_USER_IS_PAYING', '1', 'user_is_paying', True),
    ('APIFY_META_ORIGIN', 'API', 'meta_origin', 'API'),
    ('APIFY_WORKFLOW_KEY', 'wf1', 'workflow_key', 'wf1'),
    ('ACTOR_DEFAULT_KEY_VALUE_STORE_ID', 'k1', 'default_key_value_store_id', 'k1'),
    ('APIFY_DEFAULT_KEY_VALUE_STORE_ID', 'k2', 'default_key_value_store_id', 'k2'),
    ('ACTOR_DEFAULT_DATASET_ID', 'd1', 'default_dataset_id', 'd1'),
    ('APIFY_DEFAULT_DATASET_ID', 'd2', 'default_dataset_id', 'd2'),
    ('ACTOR_DEFAULT_REQUEST_QUEUE_ID', 'q1', 'default_request_queue_id', 'q1'),
    ('APIFY_DEFAULT_REQUEST_QUEUE_ID', 'q2', 'default_request_queue_id', 'q2'),
    (
        'ACTOR_STORAGES_JSON',
        '{"datasets": {"a": "d9"}}',
        'actor_storages_json',
        {'datasets': {'a': 'd9'}},
    ),
    ('ACTOR_INPUT_KEY', 'IN1', 'input_key', 'IN1'),
    ('APIFY_INPUT_KEY', 'IN2', 'input_key', 'IN2'),
    ('CRAWLEE_INPUT_KEY', 'IN3', 'input_key', 'IN3'),
    ('ACTOR_EVENTS_WEBSOCKET_URL', 'ws://e:1/a', 'events_websocket_url', 'ws://e:1/a'),
    ('APIFY_ACTOR_EVENTS_WS_URL', 'ws://e:1/b', 'events_websocket_url', 'ws://e:1/b'),
    ('ACTOR_MEMORY_MBYTES', '2048', 'memory_mbytes', 2048),
    ('APIFY_MEMORY_MBYTES', '4096', 'memory_mbytes', 4096),
    ('ACTOR_STARTED_AT', '2026-01-02T03:04:05.678Z', 'started_at', _T0),
    ('APIFY_STARTED_AT', '2026-01-02T03:04:05.678Z', 'started_at', _T0),
    ('ACTOR_TIMEOUT_AT', '2026-01-02T04:04:05.678Z', 'timeout_at', _T0 + timedelta(hours=1)),
    ('APIFY_TIMEOUT_AT', '2026-01-02T04:04:05.678Z', 'timeout_at', _T0 + timedelta(hours=1)),
    ('APIFY_DEDICATED_CPUS', '0.5', 'dedicated_cpus', 0.5),
    ('ACTOR_WEB_SERVER_PORT', '8080', 'web_server_port', 8080),
    ('APIFY_CONTAINER_PORT', '8081', 'web_server_port', 8081),
    ('ACTOR_WEB_SERVER_URL', 'http://c:8080', 'web_server_url', 'http://c:8080'),
    ('APIFY_CONTAINER_URL', 'http://c:8081', 'web_server_url', 'http://c:8081'),
    ('ACTOR_STANDBY_URL', 'https://s.local', 'standby_url', 'https://s.local'),
    ('ACTOR_MAX_PAID_DATASET_ITEMS', '100', 'max_paid_dataset_items', 100),
    ('ACTOR_MAX_TOTAL_CHARGE_USD', '1.25', 'max_total_charge_usd', Decimal('1.25')),
    (
        'APIFY_ACTOR_PRICING_INFO',
        '{"pricingModel": "FREE"}',
        'actor_pricing_info',
        {'pricingModel': 'FREE'},
    ),
    ('APIFY_CHARGED_ACTOR_EVENT_COUNTS', '{"e": 2}', 'charged_event_counts', {'e': 2}),
    ('ACTOR_TEST_PAY_PER_EVENT', 'true', 'test_pay_per_event', True),
    ('APIFY_PERSIST_STATE_INTERVAL_MILLIS', '5000', 'persist_state_interval_millis', 5000),
    ('CRAWLEE_PERSIST_STATE_INTERVAL_MILLIS', '6000', 'persist_state_interval_millis', 6000),
    ('APIFY_SYSTEM_INFO_INTERVAL_MILLIS', '700', 'system_info_interval_millis', 700),
    ('CRAWLEE_SYSTEM_INFO_INTERVAL_MILLIS', '800', 'system_info_interval_millis', 800),
    ('APIFY_METAMORPH_AFTER_SLEEP_MILLIS', '10', 'metamorph_after_sleep_millis', 10),
    ('CRAWLEE_METAMORPH_AFTER_SLEEP_MILLIS', '20', 'metamorph_after_sleep_millis', 20),
    ('APIFY_LOG_LEVEL', 'debug', 'log_level', 'DEBUG'),
    ('CRAWLEE_LOG_LEVEL', 'error', 'log_level', 'ERROR'),
    ('APIFY_PURGE_ON_START', '0', 'purge_on_start', False),
    ('CRAWLEE_PURGE_ON_START', 'false', 'purge_on_start', False),
    ('APIFY_LOCAL_STORAGE_DIR', '/tmp/s1', 'local_storage_dir', '/tmp/s1'),
    ('CRAWLEE_STORAGE_DIR', '/tmp/s2', 'local_storage_dir', '/tmp/s2'),
    ('APIFY_MAX_USED_CPU_RATIO', '0.8', 'max_used_cpu_ratio', 0.8),
    ('CRAWLEE_MAX_USED_CPU_RATIO', '0.7', 'max_used_cpu_ratio', 0.7),
    (
        'APIFY_INPUT_SECRETS_PRIVATE_KEY_FILE',
        'LS0tLS1C',
        'input_secrets_private_key_file',
        'LS0tLS1C',
    ),
    (
        'APIFY_INPUT_SECRETS_PRIVATE_KEY_PASSPHRASE',
        'pass-phrase',
        'input_secrets_private_key_passphrase',
        'pass-phrase',
    ),
    ('APIFY_PROXY_HOSTNAME', 'proxy.local', 'proxy_hostname', 'proxy.local'),
    ('APIFY_PROXY_PORT', '8011', 'proxy_port', 8011),
    ('APIFY_PROXY_PASSWORD', 'proxy-pass', 'proxy_password', 'proxy-pass'),
    ('APIFY_PROXY_STATUS_URL', 'http://status.local', 'proxy_status_url', 'http://status.local'),
]

ACTORKIT_OWN = {
    'ACTORKIT_EXIT_PROCESS',
    'ACTORKIT_INTERRUPT_ON_ABORT',
    'ACTORKIT_EVENTS_PING_INTERVAL_SECS',
    'ACTORKIT_EVENTS_PING_TIMEOUT_SECS',
    'ACTORKIT_REQUEST_QUEUE_LOCK_SECS',
}
"""actorkit's own settings: not platform variables."""

SECRET_FIELDS = {
    'token',
    'input_secrets_private_key_file',
    'input_secrets_private_key_passphrase',
    'proxy_password',
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The test process's environment without any platform or actorkit variable."""
    for name in list(os.environ):
        if name.startswith(('APIFY_', 'ACTOR_', 'ACTORKIT_', 'CRAWLEE_')):
            monkeypatch.delenv(name)
    return monkeypatch


def _home_actor() -> Actor:
    # No explicit config: the Actor reads os.environ, as in a run.
    return Actor(configure_logging=False, exit_process=False)


@pytest.mark.parametrize(
    ('name', 'raw', 'field', 'typed'), VARIABLES, ids=[row[0] for row in VARIABLES]
)
def test_each_platform_variable_is_exposed_typed_under_each_of_its_names(
    clean_env: pytest.MonkeyPatch, name: str, raw: str, field: str, typed: Any
) -> None:
    """One variable set at home shows in get_env() and config, typed, under its field name."""
    clean_env.setenv('APIFY_IS_AT_HOME', '1')
    clean_env.setenv(name, raw)
    actor = _home_actor()
    assert actor.is_at_home() is True
    env = actor.get_env()
    assert env[field] == typed
    assert type(env[field]) is type(typed) or field in SECRET_FIELDS
    assert getattr(actor.config, field) == typed
    if field in SECRET_FIELDS:
        assert isinstance(env[field], Secret)
        assert raw not in repr(env)


def test_every_variable_set_at_once_reads_back_typed(clean_env: pytest.MonkeyPatch) -> None:
    """A full platform environment (first names only) gives every field its typed value."""
    first_names: dict[str, tuple[str, str, Any]] = {}
    for name, raw, field, typed in VARIABLES:
        first_names.setdefault(field, (name, raw, typed))
    for name, raw, _ in first_names.values():
        clean_env.setenv(name, raw)
    actor = _home_actor()
    assert actor.is_at_home() is True
    env = actor.get_env()
    assert {field: env[field] for field in first_names} == {
        field: typed for field, (_, _, typed) in first_names.items()
    }


def test_the_table_covers_every_variable_the_configuration_reads() -> None:
    """Each environment name a Configuration field declares is a platform variable above."""
    declared = {
        name for field in attrs.fields(Configuration) for name in field.metadata['env']
    } - ACTORKIT_OWN
    assert declared == {row[0] for row in VARIABLES}
    assert set(Configuration().to_dict()) == {field.name for field in attrs.fields(Configuration)}


@pytest.mark.parametrize('value', ['0', 'false', ''])
def test_is_at_home_is_false_off_the_platform(clean_env: pytest.MonkeyPatch, value: str) -> None:
    """Without APIFY_IS_AT_HOME (or with a false or empty value) the run is local."""
    clean_env.setenv('APIFY_IS_AT_HOME', value)
    assert _home_actor().is_at_home() is False


def test_get_remaining_time_counts_down_to_actor_timeout_at(
    clean_env: pytest.MonkeyPatch,
) -> None:
    """ACTOR_TIMEOUT_AT gives the time left, never negative; no timeout gives None."""
    assert _home_actor().get_remaining_time() is None
    soon = datetime.now(timezone.utc) + timedelta(minutes=10)
    clean_env.setenv('ACTOR_TIMEOUT_AT', soon.isoformat().replace('+00:00', 'Z'))
    remaining = _home_actor().get_remaining_time()
    assert remaining is not None
    assert timedelta(minutes=9) < remaining <= timedelta(minutes=10)
    clean_env.setenv('ACTOR_TIMEOUT_AT', '2020-01-01T00:00:00Z')
    assert _home_actor().get_remaining_time() == timedelta(0)
