"""The run operations of the Actor: metamorph, reboot, other runs, abort, resurrect, webhooks.

Every method is blocking and safe to call from any thread. ``metamorph``, ``reboot`` and
``add_webhook`` act on this run on the platform: off it they log a warning and return, as the
official SDK does. The others are plain API calls that work from a local run too, with a token
(``APIFY_TOKEN`` or ``token=``).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from actorkit._errors import ActorStateError, ApifyClientError, ConfigurationError
from actorkit._logging import logger as _log
from actorkit._run_models import Run, Webhook
from actorkit._threads import Deadline
from actorkit.events._models import Event, MigratingData, PersistStateData

if TYPE_CHECKING:
    from actorkit._config import Configuration
    from actorkit.client import ApifyClient
    from actorkit.events._manager import EventManager

RunTimeout = timedelta | float | Literal['inherit'] | None
"""A run timeout: a timedelta (or seconds), ``'inherit'`` (the rest of this run's time) or
``None`` (the Actor's default)."""

WebhookLike = Webhook | Mapping[str, Any]


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _webhook_dicts(webhooks: Iterable[WebhookLike] | None) -> list[dict[str, Any]] | None:
    if webhooks is None:
        return None
    if isinstance(webhooks, (Webhook, Mapping)):
        raise TypeError('webhooks must be a list of Webhook objects: wrap the one in a list')
    result: list[dict[str, Any]] = []
    for webhook in webhooks:
        if isinstance(webhook, Webhook):
            result.append(webhook.to_api())
        elif isinstance(webhook, Mapping):
            result.append(dict(webhook))
        else:
            raise TypeError(
                f'webhooks must hold actorkit.Webhook objects (or dicts), not '
                f'{type(webhook).__name__}'
            )
    return result or None


def _wait_seconds(wait: timedelta | float | None) -> float | None:
    if wait is None:
        return None
    if isinstance(wait, bool) or not isinstance(wait, (timedelta, int, float)):
        raise TypeError(f'wait must be a timedelta or seconds, not {type(wait).__name__}')
    seconds = _seconds(wait)
    if seconds < 0:
        raise ValueError(f'wait must not be negative, got {seconds} s')
    return seconds


class ActorRunMethods:
    """The run operations: :class:`~actorkit.Actor` inherits them."""

    _events: EventManager
    _event_listeners_timeout: float
    _stopped: threading.Event
    _rebooting: bool
    _reboot_lock: threading.Lock

    if TYPE_CHECKING:  # provided by Actor

        @property
        def config(self) -> Configuration: ...

        @property
        def is_running(self) -> bool: ...

        def new_client(
            self,
            token: str | None = None,
            api_url: str | None = None,
            max_retries: int | None = None,
            timeout: float | timedelta | None = None,
        ) -> ApifyClient: ...

    # -- helpers ---------------------------------------------------------------------------------

    def _reset_run_operations(self) -> None:
        """Forget a reboot of the previous run (``init()`` calls it)."""
        self._rebooting = False

    def _api_client(self, token: str | None, operation: str) -> ApifyClient:
        if token is None and not self.config.token:
            raise ConfigurationError(
                [
                    f'actor.{operation}() calls the Apify API, which needs a token: set '
                    'APIFY_TOKEN in the environment or pass token=...'
                ]
            )
        return self.new_client(token=token)

    def _this_run(self, operation: str) -> str | None:
        """The id of this run on the platform, or ``None`` (after a warning) off the platform."""
        config = self.config
        if not config.is_at_home:
            _log.warning(
                'actor.%s() only works on the Apify platform (APIFY_IS_AT_HOME is not set): '
                'nothing was done',
                operation,
            )
            return None
        if not self.is_running:
            raise ActorStateError(
                f'actor.{operation}() needs a running Actor: call actor.init() (or use '
                '`with actor:`) first'
            )
        if not config.actor_run_id:
            raise ConfigurationError(
                [f'actor.{operation}() needs the id of this run, but ACTOR_RUN_ID is not set']
            )
        if not config.token:
            raise ConfigurationError(
                [
                    f'actor.{operation}() calls the Apify API, which needs a token, but '
                    'APIFY_TOKEN is not set'
                ]
            )
        return config.actor_run_id

    def _run_listeners_first(self, events: list[tuple[Event, Any]], timeout: float) -> None:
        """Call the listeners of ``events`` once and wait for them (at most ``timeout`` s).

        A call of the calling thread itself (an operation started from a listener) is not
        waited for.
        """
        dispatcher = self._events.dispatcher
        for event, data in events:
            dispatcher.emit(event, data)
        for name in dispatcher.wait_idle(Deadline(timeout)):
            _log.warning('event listener %s is still running; going on without it', name)

    def _wait_to_be_replaced(self, after_sleep: timedelta | float | None) -> None:
        seconds = (
            self.config.metamorph_after_sleep_millis / 1000
            if after_sleep is None
            else _seconds(after_sleep)
        )
        if seconds > 0:
            # The platform stops this process meanwhile; a run that ends first ends the wait.
            self._stopped.wait(seconds)

    def _run_timeout(self, timeout: RunTimeout) -> int | None:
        if timeout is None:
            return None
        if timeout == 'inherit':
            remaining = self.get_remaining_time()
            if remaining is None or not self.config.is_at_home:
                _log.warning(
                    "timeout='inherit' needs the run's timeout (ACTOR_TIMEOUT_AT on the "
                    "platform); the started run gets the Actor's default timeout"
                )
                return None
            # The API takes whole seconds, and reads 0 as no timeout at all.
            return max(1, math.ceil(remaining.total_seconds()))
        if isinstance(timeout, bool) or not isinstance(timeout, (timedelta, int, float)):
            raise ValueError(
                f"invalid timeout {timeout!r}: give a timedelta, seconds, 'inherit' or None"
            )
        seconds = _seconds(timeout)
        if seconds < 0:
            raise ValueError(f'timeout must not be negative, got {seconds} s')
        return math.ceil(seconds)

    # -- time ------------------------------------------------------------------------------------

    def get_remaining_time(self) -> timedelta | None:
        """Return how long this run may still go before the platform times it out.

        Read from ``ACTOR_TIMEOUT_AT``; ``None`` when the run has no timeout (e.g. locally).
        Never negative.
        """
        timeout_at = self.config.timeout_at
        if timeout_at is None:
            return None
        return max(timedelta(0), timeout_at - datetime.now(timezone.utc))

    # -- this run ----------------------------------------------------------------------------------

    def metamorph(
        self,
        target_actor_id: str,
        run_input: Any = None,
        *,
        target_actor_build: str | None = None,
        content_type: str | None = None,
        custom_after_sleep: timedelta | float | None = None,
    ) -> None:
        """Turn this run into a run of another Actor, keeping its id and default storages.

        First the PERSIST_STATE listeners run (``is_migrating=True``) and are waited for (up to
        the Actor's ``event_listeners_timeout``); then the platform is asked to metamorph;
        then this call waits for the platform to replace the process. The new input is stored
        under ``INPUT-METAMORPH-1`` in the default key-value store, and ``get_input()`` of the
        target Actor reads it (the platform sets ``ACTOR_INPUT_KEY``). Off the platform it logs
        a warning and does nothing.

        Args:
            target_actor_id: The Actor to turn into (id or ``username/name``).
            run_input: Its input (bytes and str as they are, anything else as JSON).
            target_actor_build: Its build tag or number (default: the Actor's default build).
            content_type: The input's content type (by its Python type when ``None``).
            custom_after_sleep: How long to wait for the process to be replaced (a timedelta or
                seconds); ``APIFY_METAMORPH_AFTER_SLEEP_MILLIS`` (5 min) by default.
        """
        run_id = self._this_run('metamorph')
        if run_id is None:
            return
        self._run_listeners_first(
            [(Event.PERSIST_STATE, PersistStateData(is_migrating=True))],
            self._event_listeners_timeout,
        )
        _log.info('Metamorphing the run into Actor %s', target_actor_id)
        with self.new_client() as client:
            client.run(run_id).metamorph(
                target_actor_id,
                run_input,
                target_actor_build=target_actor_build,
                content_type=content_type,
            )
        self._wait_to_be_replaced(custom_after_sleep)

    def reboot(
        self,
        event_listeners_timeout: timedelta | float | None = None,
        custom_after_sleep: timedelta | float | None = None,
    ) -> None:
        """Restart this run in a new container, with the same run id and default storages.

        First the PERSIST_STATE (``is_migrating=True``) and MIGRATING listeners run, once each,
        and are waited for; then the platform is asked to reboot; then this call waits for the
        process to be replaced. Off the platform it logs a warning and does nothing.

        Args:
            event_listeners_timeout: How long to wait for those listeners (a timedelta or
                seconds; the Actor's ``event_listeners_timeout`` by default).
            custom_after_sleep: How long to wait for the process to be replaced;
                ``APIFY_METAMORPH_AFTER_SLEEP_MILLIS`` (5 min) by default.

        Raises:
            ActorStateError: A reboot of this run is already in progress.
        """
        run_id = self._this_run('reboot')
        if run_id is None:
            return
        with self._reboot_lock:
            if self._rebooting:
                raise ActorStateError(
                    'actor.reboot() was called while this run is already rebooting: the '
                    'platform is restarting it, so there is nothing more to do'
                )
            self._rebooting = True
        try:
            timeout = (
                self._event_listeners_timeout
                if event_listeners_timeout is None
                else _seconds(event_listeners_timeout)
            )
            self._run_listeners_first(
                [
                    (Event.PERSIST_STATE, PersistStateData(is_migrating=True)),
                    (Event.MIGRATING, MigratingData()),
                ],
                timeout,
            )
            _log.info('Rebooting the run')
            with self.new_client() as client:
                client.run(run_id).reboot()
        except BaseException:
            with self._reboot_lock:
                self._rebooting = False  # a reboot that failed can be tried again
            raise
        self._wait_to_be_replaced(custom_after_sleep)

    def add_webhook(
        self,
        webhook: Webhook,
        *,
        ignore_ssl_errors: bool | None = None,
        do_not_retry: bool | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """Attach an ad-hoc webhook to this run (it fires for this run's events only).

        Off the platform it logs a warning and does nothing.

        Args:
            webhook: The webhook.
            ignore_ssl_errors: Overrides ``webhook.ignore_ssl_errors``.
            do_not_retry: Overrides ``webhook.do_not_retry``.
            idempotency_key: Overrides ``webhook.idempotency_key``.
        """
        if not isinstance(webhook, Webhook):
            raise TypeError(
                f'add_webhook() takes an actorkit.Webhook, not {type(webhook).__name__}: '
                "Webhook(event_types=['ACTOR.RUN.SUCCEEDED'], request_url='https://...')"
            )
        run_id = self._this_run('add_webhook')
        if run_id is None:
            return
        with self.new_client() as client:
            client.webhooks().create(
                event_types=webhook.event_types,
                request_url=webhook.request_url,
                payload_template=webhook.payload_template,
                headers_template=webhook.headers_template,
                description=webhook.description,
                idempotency_key=_first(idempotency_key, webhook.idempotency_key),
                ignore_ssl_errors=_first(ignore_ssl_errors, webhook.ignore_ssl_errors),
                do_not_retry=_first(do_not_retry, webhook.do_not_retry),
                actor_run_id=run_id,
                is_ad_hoc=True,
            )

    # -- other runs --------------------------------------------------------------------------------

    def start(
        self,
        actor_id: str,
        run_input: Any = None,
        *,
        token: str | None = None,
        content_type: str | None = None,
        build: str | None = None,
        max_items: int | None = None,
        max_total_charge_usd: Decimal | float | None = None,
        restart_on_error: bool | None = None,
        memory_mbytes: int | None = None,
        timeout: RunTimeout = None,
        force_permission_level: str | None = None,
        webhooks: Iterable[WebhookLike] | None = None,
        wait_for_finish: int | None = None,
    ) -> Run:
        """Start a run of another Actor and return it without waiting for it to end.

        Args:
            actor_id: The Actor (id or ``username/name``).
            run_input: Its input (bytes and str as they are, anything else as JSON).
            token: The API token to use (``APIFY_TOKEN`` by default).
            content_type: The input's content type.
            build: The build tag or number to run.
            max_items: The most dataset items charged for (pay-per-result Actors).
            max_total_charge_usd: The most the run may charge (pay-per-event Actors).
            restart_on_error: Restart the run's process when it exits with an error.
            memory_mbytes: The run's memory, in megabytes.
            timeout: The run's timeout: a timedelta or seconds, ``'inherit'`` for what is left
                of this run's time, ``None`` for the Actor's default.
            force_permission_level: Override the Actor's permission level for this run.
            webhooks: Ad-hoc webhooks of the new run.
            wait_for_finish: Seconds (at most 60) the API waits for the run to end first.

        Raises:
            ConfigurationError: No token: set ``APIFY_TOKEN`` or pass ``token``.
            ApifyApiError: The platform refused (e.g. no such Actor).
        """
        timeout_secs = self._run_timeout(timeout)
        with self._api_client(token, 'start') as client:
            data = client.actor(actor_id).start(
                run_input=run_input,
                content_type=content_type,
                build=build,
                max_items=max_items,
                max_total_charge_usd=max_total_charge_usd,
                restart_on_error=restart_on_error,
                memory_mbytes=memory_mbytes,
                timeout_secs=timeout_secs,
                force_permission_level=force_permission_level,
                webhooks=_webhook_dicts(webhooks),
                wait_for_finish=wait_for_finish,
            )
        return Run.from_api(data)

    def call(
        self,
        actor_id: str,
        run_input: Any = None,
        *,
        token: str | None = None,
        content_type: str | None = None,
        build: str | None = None,
        max_items: int | None = None,
        max_total_charge_usd: Decimal | float | None = None,
        restart_on_error: bool | None = None,
        memory_mbytes: int | None = None,
        timeout: RunTimeout = None,
        force_permission_level: str | None = None,
        webhooks: Iterable[WebhookLike] | None = None,
        wait: timedelta | float | None = None,
        logger: Any = 'default',
    ) -> Run:
        """Start a run of another Actor and wait for it to end (or for ``wait`` to pass).

        The wait polls the run with the API's ``waitForFinish`` (one call a minute at most).
        Takes the arguments of :meth:`start`, and:

        Args:
            actor_id: The Actor (id or ``username/name``).
            run_input: Its input.
            token: The API token to use.
            content_type: The input's content type.
            build: The build tag or number to run.
            max_items: The most dataset items charged for.
            max_total_charge_usd: The most the run may charge.
            restart_on_error: Restart the run's process when it exits with an error.
            memory_mbytes: The run's memory, in megabytes.
            timeout: The run's timeout (a timedelta, seconds, ``'inherit'`` or ``None``).
            force_permission_level: Override the Actor's permission level for this run.
            webhooks: Ad-hoc webhooks of the new run.
            wait: The longest to wait (a timedelta or seconds); forever when ``None``. When
                it passes, the run is returned as it is then (check ``run.status``).
            logger: Accepted for the official SDK's signature; the other run's log is not
                copied into this one's.

        Returns:
            The run as last seen: ended, or still going when ``wait`` passed.
        """
        del logger  # the official SDK streams the other run's log; actorkit does not
        timeout_secs = self._run_timeout(timeout)
        wait_secs = _wait_seconds(wait)
        with self._api_client(token, 'call') as client:
            data = client.actor(actor_id).call(
                run_input=run_input,
                content_type=content_type,
                build=build,
                max_items=max_items,
                max_total_charge_usd=max_total_charge_usd,
                restart_on_error=restart_on_error,
                memory_mbytes=memory_mbytes,
                timeout_secs=timeout_secs,
                force_permission_level=force_permission_level,
                webhooks=_webhook_dicts(webhooks),
                wait_secs=wait_secs,
            )
        if data is None:
            raise ApifyClientError(
                f'the run of Actor {actor_id} that actor.call() started vanished before it ended'
            )
        return Run.from_api(data)

    def start_task(
        self,
        task_id: str,
        task_input: Mapping[str, Any] | None = None,
        *,
        build: str | None = None,
        max_items: int | None = None,
        restart_on_error: bool | None = None,
        memory_mbytes: int | None = None,
        timeout: RunTimeout = None,
        webhooks: Iterable[WebhookLike] | None = None,
        token: str | None = None,
        wait_for_finish: int | None = None,
    ) -> Run:
        """Start a run of a saved task and return it without waiting for it to end.

        Args:
            task_id: The task (id or ``username/name``).
            task_input: Fields that override the task's saved input.
            build: The build tag or number to run.
            max_items: The most dataset items charged for.
            restart_on_error: Restart the run's process when it exits with an error.
            memory_mbytes: The run's memory, in megabytes.
            timeout: The run's timeout (a timedelta, seconds, ``'inherit'`` or ``None``).
            webhooks: Ad-hoc webhooks of the new run.
            token: The API token to use (``APIFY_TOKEN`` by default).
            wait_for_finish: Seconds (at most 60) the API waits for the run to end first.
        """
        timeout_secs = self._run_timeout(timeout)
        with self._api_client(token, 'start_task') as client:
            data = client.task(task_id).start(
                task_input=task_input,
                build=build,
                max_items=max_items,
                restart_on_error=restart_on_error,
                memory_mbytes=memory_mbytes,
                timeout_secs=timeout_secs,
                webhooks=_webhook_dicts(webhooks),
                wait_for_finish=wait_for_finish,
            )
        return Run.from_api(data)

    def call_task(
        self,
        task_id: str,
        task_input: Mapping[str, Any] | None = None,
        *,
        build: str | None = None,
        max_items: int | None = None,
        restart_on_error: bool | None = None,
        memory_mbytes: int | None = None,
        timeout: RunTimeout = None,
        webhooks: Iterable[WebhookLike] | None = None,
        wait: timedelta | float | None = None,
        token: str | None = None,
    ) -> Run:
        """Start a run of a saved task and wait for it to end (or for ``wait`` to pass).

        Args:
            task_id: The task (id or ``username/name``).
            task_input: Fields that override the task's saved input.
            build: The build tag or number to run.
            max_items: The most dataset items charged for.
            restart_on_error: Restart the run's process when it exits with an error.
            memory_mbytes: The run's memory, in megabytes.
            timeout: The run's timeout (a timedelta, seconds, ``'inherit'`` or ``None``).
            webhooks: Ad-hoc webhooks of the new run.
            wait: The longest to wait (a timedelta or seconds); forever when ``None``.
            token: The API token to use (``APIFY_TOKEN`` by default).

        Returns:
            The run as last seen: ended, or still going when ``wait`` passed.
        """
        timeout_secs = self._run_timeout(timeout)
        wait_secs = _wait_seconds(wait)
        with self._api_client(token, 'call_task') as client:
            data = client.task(task_id).call(
                task_input=task_input,
                build=build,
                max_items=max_items,
                restart_on_error=restart_on_error,
                memory_mbytes=memory_mbytes,
                timeout_secs=timeout_secs,
                webhooks=_webhook_dicts(webhooks),
                wait_secs=wait_secs,
            )
        if data is None:
            raise ApifyClientError(
                f'the run of task {task_id} that actor.call_task() started vanished before it ended'
            )
        return Run.from_api(data)

    def abort(
        self,
        run_id: str,
        *,
        token: str | None = None,
        status_message: str | None = None,
        gracefully: bool | None = None,
    ) -> Run:
        """Abort a run (any run the token may abort, this one included).

        Args:
            run_id: The run.
            token: The API token to use (``APIFY_TOKEN`` by default).
            status_message: A status message set on the run before it is aborted.
            gracefully: Send the run the ``aborting`` and ``persistState`` events first and
                stop it 30 s later, so it can save its state (e.g. to be resurrected).

        Returns:
            The run after the abort (``ABORTING`` when graceful, else ``ABORTED``).
        """
        with self._api_client(token, 'abort') as client:
            run_client = client.run(run_id)
            if status_message:
                run_client.update(status_message=status_message)
            data = run_client.abort(gracefully=gracefully)
        return Run.from_api(data)

    def resurrect(
        self,
        run_id: str,
        *,
        token: str | None = None,
        build: str | None = None,
        memory_mbytes: int | None = None,
        timeout: RunTimeout = None,
        max_items: int | None = None,
        max_total_charge_usd: Decimal | float | None = None,
        restart_on_error: bool | None = None,
    ) -> Run:
        """Start a finished run again, with the same default storages.

        Args:
            run_id: The run (SUCCEEDED, FAILED, ABORTED or TIMED-OUT).
            token: The API token to use (``APIFY_TOKEN`` by default).
            build: The build to use (the run's own by default).
            memory_mbytes: A new memory limit, in megabytes.
            timeout: A new timeout (a timedelta, seconds, ``'inherit'`` or ``None``).
            max_items: A new (higher) limit of charged items.
            max_total_charge_usd: A new (higher) limit of the total charge.
            restart_on_error: Restart the run's process when it exits with an error.

        Returns:
            The run, going again.
        """
        timeout_secs = self._run_timeout(timeout)
        with self._api_client(token, 'resurrect') as client:
            data = client.run(run_id).resurrect(
                build=build,
                memory_mbytes=memory_mbytes,
                timeout_secs=timeout_secs,
                max_items=max_items,
                max_total_charge_usd=max_total_charge_usd,
                restart_on_error=restart_on_error,
            )
        return Run.from_api(data)


def _first(override: Any, default: Any) -> Any:
    return default if override is None else override
