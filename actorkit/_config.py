"""Configuration of an Actor run, read from environment variables.

Each field of :class:`Configuration` declares the environment variables it is read from, in
order: the first one set to a non-empty value wins. Values are typed strictly and every problem
is reported at once in one :class:`~actorkit.ConfigurationError`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from actorkit._errors import ConfigurationError

if TYPE_CHECKING:
    from decimal import Decimal


class Secret(str):
    """A string whose ``repr`` hides its value.

    It behaves as the plain string everywhere (``str(secret)``, f-strings, comparisons), but
    ``repr(secret)`` is ``Secret('***')``, so printing a config, a dict or a traceback's locals
    does not reveal it.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('***')"


def _str_tuple(value: Iterable[str]) -> tuple[str, ...]:
    # A Python function, not the builtin ``tuple``: attrs inspects a converter's signature, and
    # for a builtin that means tokenizing its text signature, which costs ~8 ms at import.
    return tuple(value)


def _secret_or_none(value: str | None) -> Secret | None:
    return None if value is None else Secret(value)


_LOG_LEVELS = {
    'DEBUG': 10,
    'PERF': 10,
    'INFO': 20,
    'WARNING': 30,
    'WARN': 30,
    'SOFT_FAIL': 30,
    'ERROR': 40,
    'CRITICAL': 50,
    'OFF': 60,
}


def _log_level(value: str | None) -> str | None:
    if value is None:
        return None
    name = value.strip().upper()
    if name not in _LOG_LEVELS:
        known = ', '.join(sorted(_LOG_LEVELS))
        raise ValueError(f'{value!r} is not a log level; use one of {known}')
    return name


Check = Callable[[Any], 'str | None']
"""Returns why a typed value cannot be used (``None`` when it can)."""


def _in_range(what: str, low: float, high: float = math.inf, *, above: bool = False) -> Check:
    """A check that the value is a finite number from ``low`` (or above it) to ``high``."""

    def check(value: Any) -> str | None:
        if value is None:
            return None
        number = float(value)
        fits = math.isfinite(number) and (number > low if above else number >= low)
        return None if fits and number <= high else f'{value} is out of range; use {what}'

    return check


_INTERVAL = _in_range('a whole number of milliseconds above 0', 0, above=True)
_PORT = _in_range('a port number from 1 to 65535', 1, 65535)


def _env(*names: str, secret: bool = False, check: Check | None = None) -> dict[str, Any]:
    return {'env': names, 'secret': secret, 'check': check}


@attrs.frozen(kw_only=True)
class Configuration:
    """Everything an Actor knows about its run, typed.

    Build it from the environment with :meth:`from_env`, or directly with keyword arguments
    (handy in tests). Secret fields hold :class:`Secret` values and never show in ``repr``.
    """

    is_at_home: bool = attrs.field(default=False, metadata=_env('APIFY_IS_AT_HOME'))
    """Whether the Actor runs on the Apify platform."""
    token: Secret | None = attrs.field(
        default=None, converter=_secret_or_none, metadata=_env('APIFY_TOKEN', secret=True)
    )
    """The API token of the run (secret)."""
    api_base_url: str = attrs.field(
        default='https://api.apify.com', metadata=_env('APIFY_API_BASE_URL')
    )
    """Base URL of the platform API (requests go to ``{base}/v2/...``)."""
    api_public_base_url: str = attrs.field(
        default='https://api.apify.com', metadata=_env('APIFY_API_PUBLIC_BASE_URL')
    )
    """Public base URL of the platform API, used in links given to users."""
    actor_id: str | None = attrs.field(
        default=None, metadata=_env('ACTOR_ID', 'APIFY_ACTOR_ID', 'APIFY_ACT_ID')
    )
    """Id of the Actor."""
    actor_run_id: str | None = attrs.field(
        default=None, metadata=_env('ACTOR_RUN_ID', 'APIFY_ACTOR_RUN_ID', 'APIFY_ACT_RUN_ID')
    )
    """Id of the Actor run."""
    actor_build_id: str | None = attrs.field(
        default=None, metadata=_env('ACTOR_BUILD_ID', 'APIFY_ACTOR_BUILD_ID')
    )
    """Id of the Actor build."""
    actor_build_number: str | None = attrs.field(
        default=None, metadata=_env('ACTOR_BUILD_NUMBER', 'APIFY_ACTOR_BUILD_NUMBER')
    )
    """Version string of the Actor build."""
    actor_build_tags: tuple[str, ...] = attrs.field(
        default=(), converter=_str_tuple, metadata=_env('ACTOR_BUILD_TAGS')
    )
    """Tags of the build, from a comma-separated list."""
    actor_task_id: str | None = attrs.field(
        default=None, metadata=_env('ACTOR_TASK_ID', 'APIFY_ACTOR_TASK_ID')
    )
    """Id of the Actor task the run was started from."""
    actor_full_name: str | None = attrs.field(default=None, metadata=_env('ACTOR_FULL_NAME'))
    """Technical name of the Actor, ``owner/actor-name``."""
    actor_permission_level: str | None = attrs.field(
        default=None, metadata=_env('ACTOR_PERMISSION_LEVEL')
    )
    """Permission level the Actor runs with."""
    user_id: str | None = attrs.field(default=None, metadata=_env('APIFY_USER_ID'))
    """Id of the user who started the run."""
    user_is_paying: bool | None = attrs.field(default=None, metadata=_env('APIFY_USER_IS_PAYING'))
    """Whether the user who started the run is a paying user."""
    meta_origin: str | None = attrs.field(default=None, metadata=_env('APIFY_META_ORIGIN'))
    """How the run was started (``WEB``, ``API``, ``SCHEDULER``, ``WEBHOOK``, ``ACTOR``, ...)."""
    workflow_key: str | None = attrs.field(default=None, metadata=_env('APIFY_WORKFLOW_KEY'))
    """Identifier the platform uses to group related runs and API calls."""
    default_key_value_store_id: str | None = attrs.field(
        default=None,
        metadata=_env('ACTOR_DEFAULT_KEY_VALUE_STORE_ID', 'APIFY_DEFAULT_KEY_VALUE_STORE_ID'),
    )
    """Id of the run's default key-value store."""
    default_dataset_id: str | None = attrs.field(
        default=None, metadata=_env('ACTOR_DEFAULT_DATASET_ID', 'APIFY_DEFAULT_DATASET_ID')
    )
    """Id of the run's default dataset."""
    default_request_queue_id: str | None = attrs.field(
        default=None,
        metadata=_env('ACTOR_DEFAULT_REQUEST_QUEUE_ID', 'APIFY_DEFAULT_REQUEST_QUEUE_ID'),
    )
    """Id of the run's default request queue."""
    actor_storages_json: dict[str, Any] | None = attrs.field(
        default=None, metadata=_env('ACTOR_STORAGES_JSON')
    )
    """Ids of the storages the platform made for the Actor's aliases, as JSON by kind."""
    input_key: str = attrs.field(
        default='INPUT', metadata=_env('ACTOR_INPUT_KEY', 'APIFY_INPUT_KEY', 'CRAWLEE_INPUT_KEY')
    )
    """Key of the input record in the default key-value store."""
    events_websocket_url: str | None = attrs.field(
        default=None, metadata=_env('ACTOR_EVENTS_WEBSOCKET_URL', 'APIFY_ACTOR_EVENTS_WS_URL')
    )
    """Websocket URL the platform sends system events on."""
    memory_mbytes: int | None = attrs.field(
        default=None,
        metadata=_env(
            'ACTOR_MEMORY_MBYTES',
            'APIFY_MEMORY_MBYTES',
            check=_in_range('a whole number of megabytes above 0', 0, above=True),
        ),
    )
    """Memory given to the run, in megabytes."""
    started_at: datetime | None = attrs.field(
        default=None, metadata=_env('ACTOR_STARTED_AT', 'APIFY_STARTED_AT')
    )
    """When the run started (timezone-aware)."""
    timeout_at: datetime | None = attrs.field(
        default=None, metadata=_env('ACTOR_TIMEOUT_AT', 'APIFY_TIMEOUT_AT')
    )
    """When the run times out (timezone-aware)."""
    dedicated_cpus: float | None = attrs.field(
        default=None,
        metadata=_env(
            'APIFY_DEDICATED_CPUS', check=_in_range('a number of CPUs above 0', 0, above=True)
        ),
    )
    """CPUs dedicated to the run on the platform."""
    web_server_port: int = attrs.field(
        default=4321, metadata=_env('ACTOR_WEB_SERVER_PORT', 'APIFY_CONTAINER_PORT', check=_PORT)
    )
    """Port the Actor's web server may listen on."""
    web_server_url: str = attrs.field(
        default='http://localhost:4321',
        metadata=_env('ACTOR_WEB_SERVER_URL', 'APIFY_CONTAINER_URL'),
    )
    """URL under which the Actor's web server is reachable."""
    standby_url: str | None = attrs.field(default=None, metadata=_env('ACTOR_STANDBY_URL'))
    """Public URL of the Actor in standby mode."""
    max_paid_dataset_items: int | None = attrs.field(
        default=None,
        metadata=_env(
            'ACTOR_MAX_PAID_DATASET_ITEMS', check=_in_range('a whole number, 0 or more', 0)
        ),
    )
    """Most results a pay-per-result Actor may charge for."""
    max_total_charge_usd: Decimal | None = attrs.field(
        default=None,
        metadata=_env('ACTOR_MAX_TOTAL_CHARGE_USD', check=_in_range('an amount, 0 or more', 0)),
    )
    """Most money (USD) the run may charge its user; ``None`` is unlimited."""
    actor_pricing_info: dict[str, Any] | None = attrs.field(
        default=None, metadata=_env('APIFY_ACTOR_PRICING_INFO')
    )
    """Pricing of the Actor, as JSON."""
    charged_event_counts: dict[str, int] | None = attrs.field(
        default=None, metadata=_env('APIFY_CHARGED_ACTOR_EVENT_COUNTS')
    )
    """Events already charged in this run, ``{event: count}``."""
    test_pay_per_event: bool = attrs.field(default=False, metadata=_env('ACTOR_TEST_PAY_PER_EVENT'))
    """Simulate pay-per-event charging off the platform."""
    persist_state_interval_millis: int = attrs.field(
        default=60_000,
        metadata=_env(
            'APIFY_PERSIST_STATE_INTERVAL_MILLIS',
            'CRAWLEE_PERSIST_STATE_INTERVAL_MILLIS',
            check=_INTERVAL,
        ),
    )
    """Period of the PERSIST_STATE event, in milliseconds."""
    system_info_interval_millis: int = attrs.field(
        default=1_000,
        metadata=_env(
            'APIFY_SYSTEM_INFO_INTERVAL_MILLIS',
            'CRAWLEE_SYSTEM_INFO_INTERVAL_MILLIS',
            check=_INTERVAL,
        ),
    )
    """Period of the local SYSTEM_INFO event, in milliseconds."""
    metamorph_after_sleep_millis: int = attrs.field(
        default=300_000,
        metadata=_env(
            'APIFY_METAMORPH_AFTER_SLEEP_MILLIS',
            'CRAWLEE_METAMORPH_AFTER_SLEEP_MILLIS',
            check=_in_range('a whole number of milliseconds, 0 or more', 0),
        ),
    )
    """How long to wait for the platform to metamorph the run, in milliseconds."""
    log_level: str | None = attrs.field(
        default=None,
        converter=_log_level,
        metadata=_env('APIFY_LOG_LEVEL', 'CRAWLEE_LOG_LEVEL'),
    )
    """Log level name (DEBUG, INFO, WARNING, ERROR, OFF, ...), or ``None`` for INFO."""
    purge_on_start: bool = attrs.field(
        default=True, metadata=_env('APIFY_PURGE_ON_START', 'CRAWLEE_PURGE_ON_START')
    )
    """Whether unnamed local storages are emptied when first opened."""
    local_storage_dir: str = attrs.field(
        default='./storage', metadata=_env('APIFY_LOCAL_STORAGE_DIR', 'CRAWLEE_STORAGE_DIR')
    )
    """Folder of the local storages."""
    max_used_cpu_ratio: float = attrs.field(
        default=0.95,
        metadata=_env(
            'APIFY_MAX_USED_CPU_RATIO',
            'CRAWLEE_MAX_USED_CPU_RATIO',
            check=_in_range('a ratio from 0 to 1, e.g. 0.95', 0, 1),
        ),
    )
    """CPU use (0-1 of the available CPUs) above which SYSTEM_INFO says overloaded."""
    input_secrets_private_key_file: Secret | None = attrs.field(
        default=None,
        converter=_secret_or_none,
        metadata=_env('APIFY_INPUT_SECRETS_PRIVATE_KEY_FILE', secret=True),
    )
    """The private key that decrypts secret input fields (secret): despite the variable's
    name, the platform puts the base64-encoded PEM key itself in it, not a path."""
    input_secrets_private_key_passphrase: Secret | None = attrs.field(
        default=None,
        converter=_secret_or_none,
        metadata=_env('APIFY_INPUT_SECRETS_PRIVATE_KEY_PASSPHRASE', secret=True),
    )
    """Passphrase of that private key (secret)."""
    proxy_hostname: str = attrs.field(
        default='proxy.apify.com', metadata=_env('APIFY_PROXY_HOSTNAME')
    )
    """Host name of Apify Proxy."""
    proxy_port: int = attrs.field(default=8000, metadata=_env('APIFY_PROXY_PORT', check=_PORT))
    """Port of Apify Proxy."""
    proxy_password: Secret | None = attrs.field(
        default=None,
        converter=_secret_or_none,
        metadata=_env('APIFY_PROXY_PASSWORD', secret=True),
    )
    """Password of Apify Proxy (secret)."""
    proxy_status_url: str = attrs.field(
        default='http://proxy.apify.com', metadata=_env('APIFY_PROXY_STATUS_URL')
    )
    """URL that tells whether Apify Proxy is reachable."""
    exit_process: bool | None = attrs.field(default=None, metadata=_env('ACTORKIT_EXIT_PROCESS'))
    """Force (true) or forbid (false) ending the process on exit; unset: decide automatically."""
    interrupt_on_abort: bool = attrs.field(
        default=False, metadata=_env('ACTORKIT_INTERRUPT_ON_ABORT')
    )
    """Raise KeyboardInterrupt in the main thread when the platform aborts the run."""
    events_ping_interval_secs: float = attrs.field(
        default=10.0,
        metadata=_env(
            'ACTORKIT_EVENTS_PING_INTERVAL_SECS',
            check=_in_range('a number of seconds above 0', 0, above=True),
        ),
    )
    """Seconds between keep-alive pings on the platform's events websocket."""
    events_ping_timeout_secs: float = attrs.field(
        default=20.0,
        metadata=_env(
            'ACTORKIT_EVENTS_PING_TIMEOUT_SECS',
            check=_in_range('a number of seconds above 0', 0, above=True),
        ),
    )
    """Seconds a ping may go unanswered before the events websocket counts as dropped."""
    request_queue_lock_secs: int = attrs.field(
        default=180,
        metadata=_env(
            'ACTORKIT_REQUEST_QUEUE_LOCK_SECS',
            check=_in_range('a whole number of seconds above 0', 0, above=True),
        ),
    )
    """How long a request fetched on the platform stays locked if its consumer dies."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Configuration:
        """Read the configuration from environment variables.

        Args:
            environ: The variables to read; ``os.environ`` by default. Tests pass a plain dict.

        Returns:
            The typed configuration.

        Raises:
            ConfigurationError: One or more variables are invalid; it lists every one of them,
                never showing a secret value.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems: list[str] = []
        for field in attrs.fields(cls):
            names: tuple[str, ...] = field.metadata['env']
            found = next(((name, env[name]) for name in names if env.get(name, '') != ''), None)
            if found is None:
                continue
            name, raw = found
            try:
                # A plain string needs no structuring: skipping the converter for it keeps
                # cattrs (a costly import) off the start-up of runs that set only such values.
                value = raw if field.type in _PLAIN_STR else _structure(cls, field, raw)
                if field.converter is not None:
                    value = field.converter(value)
            except (ValueError, TypeError, cattrs_errors()) as exc:
                problems.append(_describe_problem(name, raw, exc, secret=field.metadata['secret']))
                continue
            check: Check | None = field.metadata['check']
            problem = None if check is None else check(value)
            if problem is not None:
                problems.append(f'{name}: {problem}')
                continue
            values[field.name] = value
        if problems:
            raise ConfigurationError(problems)
        return cls(**values)

    def __attrs_post_init__(self) -> None:
        # Values given directly (not from the environment) get the same checks.
        problems = []
        for field in attrs.fields(type(self)):
            check: Check | None = field.metadata['check']
            problem = None if check is None else check(getattr(self, field.name))
            if problem is not None:
                problems.append(f'{field.name}: {problem}')
        if problems:
            raise ConfigurationError(problems)

    def to_dict(self) -> dict[str, Any]:
        """Return every field as a dict keyed by snake_case name (secrets stay :class:`Secret`)."""
        return {field.name: getattr(self, field.name) for field in attrs.fields(type(self))}

    # -- the official SDK's names for fields actorkit names by their unit ---------------------

    @property
    def persist_state_interval(self) -> timedelta:
        """``persist_state_interval_millis`` as a timedelta (the official SDK's name)."""
        return timedelta(milliseconds=self.persist_state_interval_millis)

    @property
    def system_info_interval(self) -> timedelta:
        """``system_info_interval_millis`` as a timedelta (the official SDK's name)."""
        return timedelta(milliseconds=self.system_info_interval_millis)

    @property
    def metamorph_after_sleep(self) -> timedelta:
        """``metamorph_after_sleep_millis`` as a timedelta (the official SDK's name)."""
        return timedelta(milliseconds=self.metamorph_after_sleep_millis)

    @property
    def storage_dir(self) -> str:
        """``local_storage_dir`` (the official SDK's name)."""
        return self.local_storage_dir

    @property
    def actor_events_ws_url(self) -> str | None:
        """``events_websocket_url`` (the official SDK's name)."""
        return self.events_websocket_url

    @property
    def actor_storages(self) -> dict[str, Any] | None:
        """``actor_storages_json`` (the official SDK's name)."""
        return self.actor_storages_json


_PLAIN_STR: tuple[object, ...] = (str, str | None, 'str', 'str | None')


def _structure(cls: type[Configuration], field: attrs.Attribute[Any], raw: str) -> Any:
    from decimal import Decimal  # noqa: PLC0415 (only when a money value is set)

    from actorkit._convert import converter  # noqa: PLC0415 (cattrs loads on first use)

    # Field types are strings until resolved (``from __future__ import annotations``); they
    # are resolved on the first typed value, which also updates ``field`` in place.
    attrs.resolve_types(cls, localns={'Decimal': Decimal})
    target: Any = field.type
    return converter.structure(raw, target)


def cattrs_errors() -> type[Exception]:
    """Return cattrs' base validation error (its exception groups wrap our ValueErrors)."""
    from cattrs.errors import BaseValidationError  # noqa: PLC0415

    return BaseValidationError


def _describe_problem(name: str, raw: str, exc: Exception, *, secret: bool) -> str:
    reason = _innermost_message(exc)
    if secret:
        return f'{name}: the value is invalid ({reason.replace(raw, "***")})'
    return f'{name}: {reason}'


def _innermost_message(exc: BaseException) -> str:
    inner: BaseException = exc
    while getattr(inner, 'exceptions', None):
        inner = inner.exceptions[0]  # type: ignore[attr-defined]
    return str(inner)
