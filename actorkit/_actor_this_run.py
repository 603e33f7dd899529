"""The Actor's operations on its own run: metamorph, reboot and add_webhook.

Each acts on this run on the platform; off it, each logs a warning and returns, as the official
SDK does. Blocking and safe to call from any thread.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from actorkit._errors import ActorStateError, ConfigurationError
from actorkit._logging import logger as _log
from actorkit._threads import Deadline, to_seconds
from actorkit.events._dispatch import in_listener
from actorkit.events._models import Event, MigratingData, PersistStateData

if TYPE_CHECKING:
    from actorkit._config import Configuration
    from actorkit._run_models import Webhook
    from actorkit.client import ApifyClient
    from actorkit.events._manager import EventManager


class ActorThisRunMethods:
    """``metamorph``, ``reboot`` and ``add_webhook``: :class:`~actorkit.Actor` inherits them."""

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
            min_delay_between_retries: float | timedelta | None = None,
        ) -> ApifyClient: ...

    def _reset_run_operations(self) -> None:
        """Forget a reboot of the previous run (``init()`` calls it)."""
        self._rebooting = False

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
            else to_seconds(after_sleep)
        )
        if seconds > 0:
            # The platform stops this process meanwhile; a run that ends first ends the wait.
            self._stopped.wait(seconds)

    # -- operations ------------------------------------------------------------------------------

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

        A listener that calls ``reboot()`` while this run reboots (a MIGRATING listener is
        called again by the reboot itself) returns at once.

        Raises:
            ActorStateError: A reboot of this run is already in progress (called from outside
                an event listener).
        """
        run_id = self._this_run('reboot')
        if run_id is None:
            return
        with self._reboot_lock:
            if self._rebooting and in_listener():
                # The reboot in progress runs the MIGRATING listeners itself, so one that calls
                # reboot() (as the platform's docs show) is called again: that echo is skipped,
                # as the official SDK skips it.
                _log.debug('reboot() called by a listener while this run reboots: skipped')
                return
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
                else to_seconds(event_listeners_timeout)
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
        from actorkit._run_models import Webhook  # noqa: PLC0415 (kept off the import of actorkit)

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


def _first(override: Any, default: Any) -> Any:
    return default if override is None else override
