"""The Actor's operations on other runs: start, call (Actors and tasks), abort, resurrect.

They are plain API calls, blocking and safe from any thread, that work from a local run too
when a token is set (``APIFY_TOKEN`` or ``token=``). Those on this run (metamorph, reboot,
add_webhook) live in :mod:`actorkit._actor_this_run`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from actorkit._actor_this_run import ActorThisRunMethods
from actorkit._errors import ApifyClientError, ConfigurationError
from actorkit._logging import logger as _log
from actorkit._threads import to_seconds

if TYPE_CHECKING:
    from decimal import Decimal

    from actorkit._run_models import Run, Webhook
    from actorkit.client import ApifyClient

RunTimeout = timedelta | float | Literal['inherit'] | None
"""A run timeout: a timedelta (or seconds), ``'inherit'`` (the rest of this run's time) or
``None`` (the Actor's default)."""

WebhookLike: TypeAlias = 'Webhook | Mapping[str, Any]'


def _webhook_dicts(webhooks: Iterable[WebhookLike] | None) -> list[dict[str, Any]] | None:
    from actorkit._run_models import Webhook  # noqa: PLC0415 (kept off the import of actorkit)

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


def _run(data: dict[str, Any]) -> Run:
    from actorkit._run_models import Run  # noqa: PLC0415 (kept off the import of actorkit)

    return Run.from_api(data)


def _wait_seconds(wait: timedelta | float | None) -> float | None:
    if wait is None:
        return None
    if isinstance(wait, bool) or not isinstance(wait, (timedelta, int, float)):
        raise TypeError(f'wait must be a timedelta or seconds, not {type(wait).__name__}')
    seconds = to_seconds(wait)
    if seconds < 0:
        raise ValueError(f'wait must not be negative, got {seconds} s')
    return seconds


class ActorRunMethods(ActorThisRunMethods):
    """The run operations (with those on this run): :class:`~actorkit.Actor` inherits them."""

    # -- helpers ---------------------------------------------------------------------------------

    def _api_client(self, token: str | None, operation: str) -> ApifyClient:
        if token is None and not self.config.token:
            raise ConfigurationError(
                [
                    f'actor.{operation}() calls the Apify API, which needs a token: set '
                    'APIFY_TOKEN in the environment or pass token=...'
                ]
            )
        return self.new_client(token=token)

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
        seconds = to_seconds(timeout)
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
        return _run(data)

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
        return _run(data)

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
        return _run(data)

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
        return _run(data)

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
        return _run(data)

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
        return _run(data)
