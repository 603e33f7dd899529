"""Runs and webhooks as values: the ``Run`` the run operations return, the ``Webhook`` they take.

A :class:`Run` is read once from the API's camelCase run object through the private converter
(:mod:`actorkit._convert`); users read attributes (``run.status``, ``run.finished_at``), never
dicts. Fields the API may leave out are optional, and fields it adds later are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlsplit

import attrs

from actorkit._errors import ApifyClientError
from actorkit._logging import logger as _log

TERMINAL_STATUSES = frozenset({'SUCCEEDED', 'FAILED', 'TIMED-OUT', 'ABORTED'})
"""The statuses a run ends in."""


@attrs.frozen
class RunStats:
    """Counters and resource use of a run (``Run.stats``); any of them may be missing."""

    input_body_len: int | None = None
    """Size of the run's input, in bytes."""
    migration_count: int | None = None
    """How many times the run moved to another server."""
    reboot_count: int | None = None
    """How many times the run was rebooted."""
    restart_count: int | None = None
    """How many times the run's process was restarted after an error."""
    resurrect_count: int | None = None
    """How many times the run was resurrected."""
    metamorph: int | None = None
    """How many times the run metamorphed into another Actor."""
    duration_millis: int | None = None
    """How long the run has been going (or went), in milliseconds."""
    run_time_secs: float | None = None
    """The same in seconds."""
    compute_units: float | None = None
    """Compute units used."""
    mem_avg_bytes: float | None = None
    """Average memory use, in bytes."""
    mem_max_bytes: int | None = None
    """Peak memory use, in bytes."""
    cpu_avg_usage: float | None = None
    """Average CPU use, in percent."""
    cpu_max_usage: float | None = None
    """Peak CPU use, in percent."""
    net_rx_bytes: int | None = None
    """Bytes received."""
    net_tx_bytes: int | None = None
    """Bytes sent."""


@attrs.frozen
class RunOptions:
    """The options a run was started with (``Run.options``)."""

    build: str | None = None
    """The build tag or number."""
    timeout_secs: int | None = None
    """The run's timeout, in seconds (0: none)."""
    memory_mbytes: int | None = None
    """The run's memory, in megabytes."""
    disk_mbytes: int | None = None
    """The run's disk, in megabytes."""
    max_items: int | None = None
    """The most dataset items charged for (pay-per-result Actors)."""
    max_total_charge_usd: Decimal | None = None
    """The most the run may charge (pay-per-event Actors)."""


@attrs.frozen
class RunMeta:
    """Who started a run and how (``Run.meta``)."""

    origin: str | None = None
    """``DEVELOPMENT``, ``WEB``, ``API``, ``SCHEDULER``, ``TEST``, ``WEBHOOK``, ``ACTOR``, ..."""
    client_ip: str | None = None
    """The IP address of the client that started it."""
    user_agent: str | None = None
    """The user agent of the client that started it."""
    schedule_id: str | None = None
    """The schedule that started it, if any."""
    scheduled_at: datetime | None = None
    """When that schedule fired."""


@attrs.frozen
class Run:
    """An Actor run as the platform reported it when the call returned (a snapshot).

    Returned by ``actor.start()``, ``call()``, ``start_task()``, ``call_task()``, ``abort()`` and
    ``resurrect()``. Read it again with ``actor.new_client().run(run.id).get()``.
    """

    id: str
    """The run's id."""
    act_id: str
    """The id of the Actor the run runs (after a metamorph: the target Actor)."""
    status: str
    """``READY``, ``RUNNING``, ``SUCCEEDED``, ``FAILED``, ``TIMING-OUT``, ``TIMED-OUT``,
    ``ABORTING`` or ``ABORTED``."""
    started_at: datetime
    """When the run started (timezone-aware, UTC)."""
    default_dataset_id: str
    """Id of the run's default dataset."""
    default_key_value_store_id: str
    """Id of the run's default key-value store."""
    default_request_queue_id: str
    """Id of the run's default request queue."""
    finished_at: datetime | None = None
    """When the run finished (``None`` while it goes on)."""
    status_message: str | None = None
    """The run's status message."""
    is_status_message_terminal: bool | None = None
    """Whether that message is the run's last."""
    exit_code: int | None = None
    """The exit code of the run's process, once it ended."""
    user_id: str | None = None
    """Id of the user who started the run."""
    actor_task_id: str | None = None
    """Id of the task the run was started from, if any."""
    build_id: str | None = None
    """Id of the build the run runs."""
    build_number: str | None = None
    """Number of that build (e.g. ``0.1.2``)."""
    stats: RunStats = attrs.field(factory=RunStats)
    """Counters and resource use."""
    options: RunOptions = attrs.field(factory=RunOptions)
    """The options the run was started with."""
    pricing_info: dict[str, Any] | None = None
    """The Actor's pricing for this run (``pricingModel`` and its fields), if it is paid."""
    charged_event_counts: dict[str, int] | None = None
    """How many events of each name were charged (pay-per-event Actors)."""
    container_url: str | None = None
    """URL of the run's container web server."""
    usage_total_usd: float | None = None
    """What the run has cost so far, in USD."""
    meta: RunMeta = attrs.field(factory=RunMeta)
    """Who started the run and how."""
    is_container_server_ready: bool | None = None
    """Whether the run's container web server accepts requests."""
    git_branch_name: str | None = None
    """The git branch the run's build was made from."""
    general_access: str | None = None
    """Who may see the run (e.g. ``FOLLOW_USER_SETTING``)."""

    @property
    def is_finished(self) -> bool:
        """Whether the run has ended (SUCCEEDED, FAILED, TIMED-OUT or ABORTED)."""
        return self.status in TERMINAL_STATUSES

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Run:
        """Read a run from the API's run object (camelCase keys; unknown keys are ignored).

        ``stats``, ``options`` and ``meta`` that cannot be read are left empty (with a warning
        in the log) rather than failing the call that returned the run.

        Raises:
            ApifyClientError: The object lacks a field every run has, or has one of the wrong
                kind.
        """
        from actorkit._convert import structure_camel  # noqa: PLC0415 (loads cattrs)

        fields = dict(data)
        run_id = fields.get('id')
        nested: dict[str, Any] = {}
        for key, model in (('stats', RunStats), ('options', RunOptions), ('meta', RunMeta)):
            raw = fields.pop(key, None)
            try:
                nested[key] = structure_camel(raw or {}, model)
            except Exception as exc:
                _log.warning('the %s of run %s could not be read: %s', key, run_id, _describe(exc))
                nested[key] = model()
        try:
            run: Run = structure_camel(fields, cls)
        except Exception as exc:
            raise ApifyClientError(
                f'the platform answered with a run object ({run_id or "without an id"}) that '
                f'actorkit cannot read: {_describe(exc)}'
            ) from exc
        return attrs.evolve(run, **nested)


def _describe(exc: BaseException) -> str:
    nested = getattr(exc, 'exceptions', None)
    if nested:
        return '; '.join(_describe(inner) for inner in nested)
    note = ' '.join(getattr(exc, '__notes__', []))
    return f'{exc} ({note})' if note else str(exc)


WebhookEventType = Literal[
    'ACTOR.BUILD.ABORTED',
    'ACTOR.BUILD.CREATED',
    'ACTOR.BUILD.FAILED',
    'ACTOR.BUILD.SUCCEEDED',
    'ACTOR.BUILD.TIMED_OUT',
    'ACTOR.RUN.ABORTED',
    'ACTOR.RUN.CREATED',
    'ACTOR.RUN.FAILED',
    'ACTOR.RUN.RESURRECTED',
    'ACTOR.RUN.SUCCEEDED',
    'ACTOR.RUN.TIMED_OUT',
    'TEST',
]
"""The events a webhook can fire on (the official client's ``WebhookEventType``)."""


def _event_types(value: object) -> tuple[str, ...]:
    items = (value,) if isinstance(value, str) else value
    if not isinstance(items, Iterable):
        raise ValueError(f'Webhook event_types must be a list of event types, not {value!r}')
    result = tuple(str(getattr(item, 'value', item)) for item in items)
    if not result:
        raise ValueError(
            "a Webhook needs at least one event type, e.g. event_types=['ACTOR.RUN.SUCCEEDED']"
        )
    return result


@attrs.frozen
class Webhook:
    """A webhook for ``actor.add_webhook()`` (bound to this run) or ``start()``/``call()``.

    Args:
        event_types: The events that fire it, e.g. ``['ACTOR.RUN.SUCCEEDED',
            'ACTOR.RUN.FAILED']``.
        request_url: The http(s) URL it POSTs to.
        payload_template: The JSON payload template (the platform's default when ``None``).
        headers_template: The HTTP headers template.
        idempotency_key: Adding twice with the same key creates one webhook.
        ignore_ssl_errors: Do not verify the target's TLS certificate.
        do_not_retry: Do not retry a delivery that failed.
        description: A description shown on the platform.

    The fields come in the official SDK's order (``description`` is actorkit's, last).

    Raises:
        ValueError: No event type is given, or ``request_url`` is not an http(s) URL.
    """

    event_types: tuple[str, ...] = attrs.field(converter=_event_types)
    """The events that fire the webhook."""
    request_url: str = attrs.field()
    """Where the webhook POSTs."""
    payload_template: str | None = None
    """The JSON payload template."""
    headers_template: str | None = None
    """The HTTP headers template."""
    idempotency_key: str | None = None
    """A key that keeps the same webhook from being added twice."""
    ignore_ssl_errors: bool | None = None
    """Whether to skip the TLS certificate check of the target."""
    do_not_retry: bool | None = None
    """Whether to give up on a delivery after its first failure."""
    description: str | None = None
    """A description."""

    @request_url.validator
    def _check_url(self, _: attrs.Attribute[str], value: object) -> None:
        parts = urlsplit(value) if isinstance(value, str) else None
        if parts is None or parts.scheme not in ('http', 'https') or not parts.netloc:
            raise ValueError(
                f'Webhook request_url {value!r} is not an http(s) URL: give the full address, '
                "e.g. 'https://example.com/hook'"
            )

    def to_api(self) -> dict[str, Any]:
        """The webhook in the API's camelCase form, without unset fields."""
        fields = {
            'eventTypes': list(self.event_types),
            'requestUrl': self.request_url,
            'payloadTemplate': self.payload_template,
            'headersTemplate': self.headers_template,
            'description': self.description,
            'idempotencyKey': self.idempotency_key,
            'ignoreSslErrors': self.ignore_ssl_errors,
            'doNotRetry': self.do_not_retry,
        }
        return {key: value for key, value in fields.items() if value is not None}
