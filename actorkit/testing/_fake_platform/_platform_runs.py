"""The runs side of :class:`~actorkit.testing.FakePlatform`: Actors, tasks, runs, charges, logs.

What a test calls to set runs up (``create_actor``, ``run_env``), to end them
(``finish_run``) and to check them (``run``, ``charges``). The API that a process under test
calls lives in ``_runs.py`` (with ``_actors.py`` and ``_run_operations.py``); these methods act
on the same state under the state lock.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from actorkit.testing._fake_platform._common import ApiError, iso
from actorkit.testing._fake_platform._run_models import (
    TERMINAL,
    Charge,
    Run,
    RunHandler,
    normalize_pricing,
)

if TYPE_CHECKING:
    from actorkit.testing._fake_platform._events import EventsServer
    from actorkit.testing._fake_platform._runs import RunsApi
    from actorkit.testing._fake_platform._state import State


class PlatformRunControls:
    """Actors, tasks and runs as a test sets them up and checks them: FakePlatform inherits them."""

    if TYPE_CHECKING:  # provided by FakePlatform
        _state: State
        _runs: RunsApi
        _logs: dict[str, str]
        _events: EventsServer | None

    def create_actor(
        self,
        name: str,
        *,
        actor_id: str | None = None,
        title: str | None = None,
        timeout_secs: int = 3600,
        memory_mbytes: int = 1024,
        pricing_info: Mapping[str, Any] | None = None,
        handler: RunHandler | None = None,
    ) -> str:
        """Create an Actor that runs can be started for (through the API or :meth:`run_env`).

        Args:
            name: Its name (also addressable as ``fake-user~name`` or ``fake-user/name``).
            actor_id: Its id; a random one when ``None``.
            title: A human title.
            timeout_secs: The default run timeout (0: none).
            memory_mbytes: The default run memory (128-32768).
            pricing_info: The pricing every run gets: the API shape (``{"pricingModel": ...}``)
                or, for pay-per-event, just ``{event name: price in USD}``.
            handler: Plays the run's process: called on its own thread with each run's
                environment (the :meth:`run_env` of that run); returning ``None`` or 0 ends the
                run SUCCEEDED, another int or an exception ends it FAILED. Without one, runs
                stay RUNNING until finished by the test.

        Returns:
            The Actor id.

        Raises:
            ValueError: An Actor with this name exists, or ``pricing_info`` is malformed.
        """
        with self._state.lock:
            actor = self._runs.create_actor(
                name,
                actor_id=actor_id,
                title=title,
                timeout_secs=timeout_secs,
                memory_mbytes=memory_mbytes,
                pricing_info=pricing_info,
                handler=handler,
            )
            return actor.id

    def create_task(
        self,
        actor: str,
        name: str,
        *,
        input: Any = None,
        options: Mapping[str, Any] | None = None,
    ) -> str:
        """Create a task of an Actor.

        Args:
            actor: The Actor's id or name.
            name: The task's name.
            input: The input its runs get.
            options: Run options (``build``, ``timeoutSecs``, ``memoryMbytes``).

        Returns:
            The task id.

        Raises:
            LookupError: There is no such Actor.
        """
        with self._state.lock:
            found = self._find_actor(actor)
            return self._runs.create_task(found, name, task_input=input, options=options).id

    def _find_actor(self, actor: str) -> Any:
        try:
            return self._runs.find_actor(actor)
        except ApiError:
            raise LookupError(
                f'no Actor {actor!r} on this FakePlatform: create it with create_actor()'
            ) from None

    def start_run(
        self,
        input: Any = None,
        *,
        actor_id: str | None = None,
        task_id: str | None = None,
        input_content_type: str | None = None,
        timeout_secs: int | None = None,
        memory_mbytes: int | None = None,
        max_items: int | None = None,
        pricing_info: Mapping[str, Any] | None = None,
        max_total_charge_usd: float | Decimal | str | None = None,
        charged_event_counts: Mapping[str, int] | None = None,
    ) -> str:
        """Create a RUNNING run with fresh default storages and its input; see :meth:`run_env`.

        Returns:
            The run id.

        Raises:
            ValueError: A bad option (memory out of 128-32768, malformed pricing or counts).
            LookupError: ``task_id`` names no task.
        """
        if input is None or isinstance(input, (bytes, str)):
            body = input.encode('utf-8') if isinstance(input, str) else input
            content_type = input_content_type or (
                'text/plain; charset=utf-8'
                if isinstance(input, str)
                else 'application/octet-stream'
            )
        else:
            body = json.dumps(input, ensure_ascii=False).encode('utf-8')
            content_type = input_content_type or 'application/json; charset=utf-8'
        if charged_event_counts is not None:
            for name, count in charged_event_counts.items():
                if not isinstance(count, int) or count < 0:
                    raise ValueError(
                        f'charged_event_counts[{name!r}] must be a count >= 0, got {count!r}'
                    )
        with self._state.lock:
            task = None
            if task_id is not None:
                try:
                    task = self._runs.find_task(task_id)
                except ApiError:
                    raise LookupError(
                        f'no task {task_id!r} on this FakePlatform: create it with create_task()'
                    ) from None
                actor = self._runs.find_actor(task.act_id)
            elif actor_id is not None:
                try:
                    actor = self._runs.find_actor(actor_id)
                except ApiError:
                    looks_like_id = not re.search(r'[~/]', actor_id)
                    actor = self._runs.create_actor(
                        actor_id if not looks_like_id else f'actor-{actor_id.lower()}',
                        actor_id=actor_id if looks_like_id else None,
                    )
            else:
                actor = self._default_actor()
            try:
                run = self._runs.create_run(
                    actor,
                    task=task,
                    input_body=body,
                    input_content_type=content_type,
                    timeout_secs=timeout_secs,
                    memory_mbytes=memory_mbytes,
                    max_items=max_items,
                    max_total_charge_usd=(
                        float(max_total_charge_usd) if max_total_charge_usd is not None else None
                    ),
                    pricing_info=normalize_pricing(pricing_info),
                    charged_event_counts=charged_event_counts,
                )
            except ApiError as exc:
                raise ValueError(exc.message) from None
            self._runs.start_handler(run, actor)
            return run.id

    def _default_actor(self) -> Any:
        for actor in self._state.actors.values():
            if actor.name == 'fake-actor':
                return actor
        return self._runs.create_actor('fake-actor')

    def run_env(
        self,
        input: Any = None,
        *,
        actor_id: str | None = None,
        task_id: str | None = None,
        input_content_type: str | None = None,
        timeout_secs: int | None = None,
        memory_mbytes: int | None = None,
        max_items: int | None = None,
        pricing_info: Mapping[str, Any] | None = None,
        max_total_charge_usd: float | Decimal | str | None = None,
        charged_event_counts: Mapping[str, int] | None = None,
    ) -> dict[str, str]:
        """Start a RUNNING run and return the environment a process needs to run as it.

        The run gets fresh default storages; ``input`` is stored as its ``INPUT`` record. The
        environment has ``APIFY_IS_AT_HOME=1``, the token and API URLs, the run, Actor, build
        and storage ids, times, memory, the user and, with pricing, the charging variables.

        Args:
            input: The input: JSON-able (stored as ``application/json``), ``str``, ``bytes``,
                or ``None`` for no ``INPUT`` record.
            actor_id: The Actor (id or name) to run; an Actor with this id is created when
                there is none. Default: a shared ``fake-actor``.
            task_id: Run as this task (its Actor and, without ``input``, its input).
            input_content_type: The input's Content-Type (default from its type).
            timeout_secs: The run timeout (default: the Actor's, 3600 s; 0: none).
            memory_mbytes: The run memory (default: the Actor's, 1024 MB).
            max_items: ``ACTOR_MAX_PAID_DATASET_ITEMS``.
            pricing_info: The run's pricing: the API shape or ``{event name: price in USD}``
                for pay-per-event (default: the Actor's).
            max_total_charge_usd: The user's budget (``ACTOR_MAX_TOTAL_CHARGE_USD``).
            charged_event_counts: Events charged before this process started (as after a
                migration).

        Returns:
            The environment variables, all ``str``.

        Raises:
            ValueError: A bad option (memory out of 128-32768, malformed pricing or counts).
            LookupError: ``task_id`` names no task.
        """
        run_id = self.start_run(
            input,
            actor_id=actor_id,
            task_id=task_id,
            input_content_type=input_content_type,
            timeout_secs=timeout_secs,
            memory_mbytes=memory_mbytes,
            max_items=max_items,
            pricing_info=pricing_info,
            max_total_charge_usd=max_total_charge_usd,
            charged_event_counts=charged_event_counts,
        )
        return self.environment(run_id)

    def environment(self, run_id: str) -> dict[str, str]:
        """The environment of an existing run (see :meth:`run_env`).

        Raises:
            LookupError: There is no such run.
        """
        with self._state.lock:
            return self._environment(self._find_run(run_id))

    def _environment(self, run: Run) -> dict[str, str]:
        state = self._state
        actor = state.actors.get(run.act_id)
        timeout_at = run.timeout_at()
        memory = int(run.options['memoryMbytes'])
        env = {
            'APIFY_IS_AT_HOME': '1',
            'APIFY_TOKEN': state.token,
            'APIFY_API_BASE_URL': state.base_url,
            'APIFY_API_PUBLIC_BASE_URL': state.public_base_url,
            'ACTOR_RUN_ID': run.id,
            'APIFY_ACTOR_RUN_ID': run.id,
            'ACTOR_ID': run.act_id,
            'APIFY_ACTOR_ID': run.act_id,
            'ACTOR_BUILD_ID': run.build_id,
            'APIFY_ACTOR_BUILD_ID': run.build_id,
            'ACTOR_BUILD_NUMBER': run.build_number,
            'APIFY_ACTOR_BUILD_NUMBER': run.build_number,
            'ACTOR_BUILD_TAGS': 'latest',
            'ACTOR_DEFAULT_DATASET_ID': run.default_dataset_id,
            'APIFY_DEFAULT_DATASET_ID': run.default_dataset_id,
            'ACTOR_DEFAULT_KEY_VALUE_STORE_ID': run.default_key_value_store_id,
            'APIFY_DEFAULT_KEY_VALUE_STORE_ID': run.default_key_value_store_id,
            'ACTOR_DEFAULT_REQUEST_QUEUE_ID': run.default_request_queue_id,
            'APIFY_DEFAULT_REQUEST_QUEUE_ID': run.default_request_queue_id,
            'ACTOR_INPUT_KEY': run.input_key,
            'APIFY_INPUT_KEY': run.input_key,
            'ACTOR_STARTED_AT': iso(run.started_at) or '',
            'ACTOR_TIMEOUT_AT': iso(timeout_at) or '',
            'ACTOR_MEMORY_MBYTES': str(memory),
            'APIFY_MEMORY_MBYTES': str(memory),
            'APIFY_DEDICATED_CPUS': str(max(memory / 4096, 0.125)),
            'APIFY_USER_ID': state.user_id,
            'APIFY_USER_IS_PAYING': '1',
            'ACTOR_PERMISSION_LEVEL': 'LIMITED_PERMISSIONS',
        }
        if actor is not None:
            env['ACTOR_FULL_NAME'] = f'{actor.username}/{actor.name}'
        if run.actor_task_id:
            env['ACTOR_TASK_ID'] = run.actor_task_id
            env['APIFY_ACTOR_TASK_ID'] = run.actor_task_id
        if 'maxItems' in run.options:
            env['ACTOR_MAX_PAID_DATASET_ITEMS'] = str(run.options['maxItems'])
        if 'maxTotalChargeUsd' in run.options:
            env['ACTOR_MAX_TOTAL_CHARGE_USD'] = str(run.options['maxTotalChargeUsd'])
        if run.pricing_info is not None:
            env['APIFY_ACTOR_PRICING_INFO'] = json.dumps(run.pricing_info)
            env['APIFY_CHARGED_ACTOR_EVENT_COUNTS'] = json.dumps(run.charged_event_counts)
        if self._events is not None:
            env['ACTOR_EVENTS_WEBSOCKET_URL'] = self._events.url_for(run.id)
        return env

    def _find_run(self, run_id: str) -> Run:
        try:
            return self._runs.find_run(run_id)
        except ApiError:
            raise LookupError(f'no run {run_id!r} on this FakePlatform') from None

    def run(self, run_id: str) -> dict[str, Any]:
        """The run object as ``GET /v2/actor-runs/{run_id}`` returns it, and what tests check.

        Besides the API's fields (``status``, ``statusMessage``, ``metamorphs``, ``stats``...)
        it has ``reboots`` (one ``{'createdAt'}`` per reboot), ``abort`` (``{'requestedAt',
        'gracefully'}`` once an abort was asked for, else ``None``) and ``webhooks`` (the
        ad-hoc webhooks bound to the run, as ``GET /v2/webhooks/{id}`` shows them).

        Raises:
            LookupError: There is no such run.
        """
        with self._state.lock:
            run = self._find_run(run_id)
            shown = run.show(self._state.base_url)
            shown['reboots'] = [dict(entry) for entry in run.reboots]
            shown['abort'] = None if run.abort is None else dict(run.abort)
            shown['webhooks'] = [
                hook.show()
                for hook in self._state.webhooks.values()
                if (hook.fields.get('condition') or {}).get('actorRunId') == run.id
            ]
            return shown

    def runs(self) -> list[dict[str, Any]]:
        """Every run object, oldest first."""
        with self._state.lock:
            runs = sorted(self._state.runs.values(), key=lambda run: run.started_at)
            return [self._runs.find_run(run.id).show(self._state.base_url) for run in runs]

    def finish_run(
        self,
        run_id: str,
        status: str = 'SUCCEEDED',
        *,
        exit_code: int | None = None,
        status_message: str | None = None,
    ) -> dict[str, Any]:
        """End a run, as the platform does when its process exits; wakes ``waitForFinish``.

        Args:
            run_id: The run.
            status: SUCCEEDED, FAILED, TIMED-OUT or ABORTED.
            exit_code: Its exit code (default 0 for SUCCEEDED, 1 otherwise).
            status_message: A final status message.

        Returns:
            The run object.

        Raises:
            LookupError: There is no such run.
            ValueError: ``status`` is not terminal.
        """
        if status not in TERMINAL:
            raise ValueError(f'status must be one of {", ".join(sorted(TERMINAL))}, got {status!r}')
        with self._state.lock:
            run = self._find_run(run_id)
            if status_message is not None:
                run.status_message = status_message
                run.is_status_message_terminal = True
            self._runs.finish(run, status, exit_code)
            return run.show(self._state.base_url)

    def charges(self, run_id: str) -> list[Charge]:
        """Every charge the run made through the API, in order (idempotent repeats left out).

        Raises:
            LookupError: There is no such run.
        """
        with self._state.lock:
            return list(self._find_run(run_id).charges)

    def charged_usd(self, run_id: str) -> Decimal:
        """What the run's charges cost in all: the sum of count x price, as ``Decimal``.

        Raises:
            LookupError: There is no such run.
        """
        with self._state.lock:
            return sum(
                (charge.price_usd * charge.count for charge in self._find_run(run_id).charges),
                Decimal(0),
            )

    def append_log(self, run_id: str, text: str) -> None:
        """Add text to a run's log (served by ``GET /v2/actor-runs/{id}/log``).

        Raises:
            LookupError: There is no such run.
        """
        with self._state.lock:
            self._find_run(run_id)
            self._logs[run_id] = self._logs.get(run_id, '') + text
