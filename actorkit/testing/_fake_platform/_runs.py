"""The run endpoints: start (also synchronously), wait, list, update, delete; run handlers.

``RunsApi`` routes every Actor, build, task and run endpoint: the Actor and task ones come
from ``_actors.py``, the ones acting on a started run (abort, metamorph, reboot, resurrect,
charge, log) from ``_run_operations.py``; the models are in ``_run_models.py``.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs

from actorkit.testing._fake_platform._actors import ActorTaskEndpoints
from actorkit.testing._fake_platform._common import (
    ApiError,
    Call,
    Reply,
    data_reply,
    empty_reply,
    invalid,
    list_reply,
    not_found,
    now,
)
from actorkit.testing._fake_platform._key_value_stores import Record
from actorkit.testing._fake_platform._run_models import (
    MAX_WAIT_SECS,
    SYNC_WAIT_SECS,
    TERMINAL,
    Actor,
    Run,
    Task,
)
from actorkit.testing._fake_platform._run_operations import RunOperationEndpoints
from actorkit.testing._fake_platform._state import State
from actorkit.testing._fake_platform._storages import Route
from actorkit.testing._fake_platform._webhooks import check_webhook

if TYPE_CHECKING:
    from actorkit.testing._fake_platform._platform import FakePlatform


def _ad_hoc_webhooks(call: Call) -> list[dict[str, Any]]:
    encoded = call.query.get('webhooks')
    if not encoded:
        return []
    try:
        webhooks = json.loads(base64.b64decode(encoded + '=' * (-len(encoded) % 4)))
    except ValueError as exc:
        raise invalid(
            f'Query parameter "webhooks" must be base64-encoded JSON: {exc}', 'invalid-parameter'
        ) from exc
    if not isinstance(webhooks, list) or not all(isinstance(hook, dict) for hook in webhooks):
        raise invalid('Query parameter "webhooks" must encode an array of webhook objects')
    return webhooks


class RunsApi(RunOperationEndpoints, ActorTaskEndpoints):
    """The Actor, build, task and run endpoints.

    Args:
        state: The platform state.
        platform: The platform (for storages, webhooks and run handlers).
    """

    def __init__(self, state: State, platform: FakePlatform) -> None:
        self.state = state
        self.platform = platform
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ lookups

    def find_run(self, run_id: str) -> Run:
        """The run with this id (404), its time-driven changes applied."""
        run = self.state.runs.get(run_id)
        if run is None:
            raise not_found('Actor run')
        self.refresh(run)
        return run

    def refresh(self, run: Run) -> None:
        """Apply the changes time brought to a run, telling waiters and webhooks."""
        if run.refresh():
            self._on_finished(run)

    def last_run(
        self, *, act_id: str | None = None, task_id: str | None = None, status: str | None = None
    ) -> Run:
        """The newest run of an Actor or task, optionally with a given status (404)."""
        runs = [
            run
            for run in self.state.runs.values()
            if (act_id is None or act_id in (run.act_id, run.started_act_id))
            and (task_id is None or run.actor_task_id == task_id)
        ]
        for run in runs:
            self.refresh(run)
        if status:
            runs = [run for run in runs if run.status == status]
        if not runs:
            raise not_found('Actor run')
        return max(runs, key=lambda run: run.started_at)

    # ------------------------------------------------------------------ creation

    def create_run(
        self,
        actor: Actor,
        *,
        task: Task | None = None,
        input_body: bytes | None = None,
        input_content_type: str = 'application/json; charset=utf-8',
        build: str | None = None,
        timeout_secs: int | None = None,
        memory_mbytes: int | None = None,
        max_items: int | None = None,
        max_total_charge_usd: float | None = None,
        pricing_info: dict[str, Any] | None = None,
        charged_event_counts: Mapping[str, int] | None = None,
        origin: str = 'API',
    ) -> Run:
        """Create a RUNNING run with fresh default storages (the caller holds the lock)."""
        memory = memory_mbytes or actor.memory_mbytes
        if not 128 <= memory <= 32768:
            raise invalid(f'Memory must be between 128 and 32768 MB, got {memory}')
        options: dict[str, Any] = {
            'build': build or 'latest',
            'timeoutSecs': actor.timeout_secs if timeout_secs is None else timeout_secs,
            'memoryMbytes': memory,
            'diskMbytes': memory * 2,
        }
        if max_items is not None:
            options['maxItems'] = max_items
        if max_total_charge_usd is not None:
            options['maxTotalChargeUsd'] = max_total_charge_usd
        platform = self.platform
        dataset = platform._datasets.kind.create(None)
        store = platform._key_value_stores.kind.create(None)
        queue = platform._request_queues.kind.create(None)
        run = Run(
            act_id=actor.id,
            started_act_id=actor.id,
            user_id=self.state.user_id,
            build_id=actor.build.id,
            build_number=actor.build.build_number,
            actor_task_id=task.id if task else None,
            origin=origin,
            options=options,
            default_dataset_id=dataset.id,
            default_key_value_store_id=store.id,
            default_request_queue_id=queue.id,
            pricing_info=pricing_info if pricing_info is not None else actor.pricing_info,
            charged_event_counts=dict(charged_event_counts or {}),
            input_body_len=len(input_body or b''),
        )
        for storage in (dataset, store, queue):
            storage.act_id = actor.id
            storage.act_run_id = run.id
        if input_body is not None:
            store.records['INPUT'] = Record(input_body, input_content_type)
        self.state.runs[run.id] = run
        return run

    def start_handler(self, run: Run, actor: Actor) -> None:
        """Run the Actor's handler for a run on its own thread (the caller holds the lock)."""
        handler = actor.handler
        if handler is None:
            return
        environment = self.platform._environment(run)

        def work() -> None:
            status, exit_code = 'SUCCEEDED', 0
            try:
                result = handler(environment)
                if isinstance(result, int) and result != 0:
                    status, exit_code = 'FAILED', result
            except Exception:
                import logging  # noqa: PLC0415

                logging.getLogger('actorkit.testing').exception(
                    'the handler of Actor %s failed run %s', actor.name, run.id
                )
                status, exit_code = 'FAILED', 1
            with self.state.lock:
                if not run.finished and run.act_id == actor.id:
                    run.finish(status, exit_code)
                    self._on_finished(run)

        thread = threading.Thread(
            target=work, name=f'actorkit-fake-platform-run-{run.id}', daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def threads(self) -> list[threading.Thread]:
        """The handler threads started so far."""
        return list(self._threads)

    def _on_finished(self, run: Run) -> None:
        """Tell waiters and webhooks that a run finished (the caller holds the lock)."""
        self.state.changed.notify_all()
        self.platform._webhooks.run_finished(run)

    def finish(self, run: Run, status: str, exit_code: int | None) -> None:
        """Finish a run (the caller holds the lock)."""
        run.finish(status, exit_code)
        self._on_finished(run)

    # ------------------------------------------------------------------ routes

    def routes(self) -> list[Route]:
        """Every Actor, build, task and run route."""
        return [
            ('GET', '/v2/actors', self.list_actors),
            ('POST', '/v2/actors', self.post_actor),
            ('GET', '/v2/actors/{actorId}', self.get_actor),
            ('PUT', '/v2/actors/{actorId}', self.put_actor),
            ('DELETE', '/v2/actors/{actorId}', self.delete_actor),
            ('GET', '/v2/actors/{actorId}/runs', self.list_actor_runs),
            ('POST', '/v2/actors/{actorId}/runs', self.start_actor),
            ('POST', '/v2/actors/{actorId}/run-sync', self.run_sync),
            ('GET', '/v2/actors/{actorId}/run-sync', self.run_sync),
            ('POST', '/v2/actors/{actorId}/run-sync-get-dataset-items', self.run_sync_items),
            ('GET', '/v2/actors/{actorId}/run-sync-get-dataset-items', self.run_sync_items),
            ('GET', '/v2/actors/{actorId}/builds', self.list_builds),
            ('GET', '/v2/actors/{actorId}/builds/default', self.default_build),
            ('GET', '/v2/actors/{actorId}/builds/{buildId}', self.get_build),
            ('GET', '/v2/actor-builds/{buildId}', self.get_build),
            ('GET', '/v2/actor-tasks', self.list_tasks),
            ('POST', '/v2/actor-tasks', self.post_task),
            ('GET', '/v2/actor-tasks/{taskId}', self.get_task),
            ('PUT', '/v2/actor-tasks/{taskId}', self.put_task),
            ('DELETE', '/v2/actor-tasks/{taskId}', self.delete_task),
            ('GET', '/v2/actor-tasks/{taskId}/input', self.get_task_input),
            ('PUT', '/v2/actor-tasks/{taskId}/input', self.put_task_input),
            ('GET', '/v2/actor-tasks/{taskId}/runs', self.list_task_runs),
            ('POST', '/v2/actor-tasks/{taskId}/runs', self.start_task),
            ('POST', '/v2/actor-tasks/{taskId}/run-sync', self.run_sync),
            ('GET', '/v2/actor-tasks/{taskId}/run-sync', self.run_sync),
            ('POST', '/v2/actor-tasks/{taskId}/run-sync-get-dataset-items', self.run_sync_items),
            ('GET', '/v2/actor-tasks/{taskId}/run-sync-get-dataset-items', self.run_sync_items),
            ('GET', '/v2/actor-runs', self.list_runs),
            ('GET', '/v2/actor-runs/{runId}', self.get_run),
            ('PUT', '/v2/actor-runs/{runId}', self.update_run),
            ('DELETE', '/v2/actor-runs/{runId}', self.delete_run),
            ('POST', '/v2/actor-runs/{runId}/abort', self.abort_run),
            ('POST', '/v2/actor-runs/{runId}/metamorph', self.metamorph_run),
            ('POST', '/v2/actor-runs/{runId}/reboot', self.reboot_run),
            ('POST', '/v2/actor-runs/{runId}/resurrect', self.resurrect_run),
            ('POST', '/v2/actor-runs/{runId}/charge', self.charge_run),
            ('GET', '/v2/actor-runs/{runId}/log', self.run_log),
            ('GET', '/v2/logs/{runId}', self.run_log),
        ]

    # ------------------------------------------------------------------ starting runs

    def _create_from_call(self, call: Call, actor: Actor, task: Task | None) -> Run:
        content_type = call.headers.get('Content-Type') or 'application/json; charset=utf-8'
        body: bytes | None = call.body if call.body else None
        if body is None and task is not None and task.input is not None:
            body = json.dumps(task.input).encode()
            content_type = 'application/json; charset=utf-8'
        if body is not None and content_type.split(';')[0].strip() == 'application/json':
            try:
                json.loads(body)
            except ValueError as exc:
                raise invalid(
                    f'The input is not valid JSON: {exc}', 'run-input-body-not-valid-json'
                ) from exc
            if call.body and task is not None and isinstance(task.input, dict):
                # The payload overrides the task's input field by field.
                override = json.loads(body)
                if isinstance(override, dict):
                    body = json.dumps({**task.input, **override}).encode()
        task_options = task.options if task else {}
        webhooks = [
            {**hook, 'condition': {'actorRunId': 'pending'}, 'isAdHoc': True}
            for hook in _ad_hoc_webhooks(call)
        ]
        for hook in webhooks:
            check_webhook(hook)
        max_charge = call.decimal_number('maxTotalChargeUsd')
        with self.state.lock:
            run = self.create_run(
                actor,
                task=task,
                input_body=body,
                input_content_type=content_type,
                build=call.query.get('build') or task_options.get('build'),
                timeout_secs=call.number('timeout', None) or task_options.get('timeoutSecs'),
                memory_mbytes=call.number('memory', None) or task_options.get('memoryMbytes'),
                max_items=call.number('maxItems', None),
                max_total_charge_usd=max_charge,
            )
            for hook in webhooks:
                self.platform._webhooks.create({**hook, 'condition': {'actorRunId': run.id}})
            self.start_handler(run, actor)
        return run

    def _start(self, call: Call, actor: Actor, task: Task | None) -> Reply:
        run = self._create_from_call(call, actor, task)
        wait = min(call.number('waitForFinish', 0) or 0, MAX_WAIT_SECS)
        shown = self.wait_and_show(run.id, wait, call.base_url)
        return data_reply(shown, 201, {'Location': f'{call.base_url}/v2/actor-runs/{run.id}'})

    def _actor_and_task(self, call: Call) -> tuple[Actor, Task | None]:
        with self.state.lock:
            if 'taskId' in call.params:
                task = self.find_task(call.params['taskId'])
                return self.find_actor(task.act_id), task
            return self.find_actor(call.params['actorId']), None

    def start_actor(self, call: Call) -> Reply:
        return self._start(call, *self._actor_and_task(call))

    def start_task(self, call: Call) -> Reply:
        return self._start(call, *self._actor_and_task(call))

    def _run_sync(self, call: Call) -> Run:
        """Start a run and wait for its end as the synchronous endpoints do (up to 300 s)."""
        run = self._create_from_call(call, *self._actor_and_task(call))
        shown = self.wait_and_show(run.id, SYNC_WAIT_SECS, call.base_url)
        if shown['status'] not in TERMINAL:
            raise ApiError(
                408,
                'run-timeout-exceeded',
                f'Actor run exceeded the timeout of {SYNC_WAIT_SECS} seconds for this API endpoint',
            )
        if shown['status'] != 'SUCCEEDED':
            raise ApiError(400, 'run-failed', f'Actor run {run.id} ended {shown["status"]}')
        return run

    def run_sync(self, call: Call) -> Reply:
        run = self._run_sync(call)
        key = call.query.get('outputRecordKey') or 'OUTPUT'
        with self.state.lock:
            store = self.platform._key_value_stores.kind.find(run.default_key_value_store_id)
            record = store.records.get(key)
        if record is None:
            raise not_found('Record')
        return Reply(201, record.value, record.content_type)

    def run_sync_items(self, call: Call) -> Reply:
        run = self._run_sync(call)
        items_call = attrs.evolve(
            call, params={'storeId': run.default_dataset_id}, path='/v2/datasets/items'
        )
        reply = self.platform._datasets.list_items(items_call)
        return attrs.evolve(reply, status=201)

    # ------------------------------------------------------------------ runs

    def wait_and_show(self, run_id: str, wait_secs: float, base_url: str) -> dict[str, Any]:
        """Wait up to ``wait_secs`` for the run to finish; return its API object."""
        deadline = now() + timedelta(seconds=wait_secs)
        with self.state.lock:
            run = self.find_run(run_id)
            while not run.finished and not self.state.stopping.is_set():
                moment = now()
                if moment >= deadline:
                    break
                until = deadline
                change = run.next_change()
                if change is not None and change < until:
                    until = change
                self.state.changed.wait(max((until - moment).total_seconds(), 0.0) + 0.001)
                run = self.find_run(run_id)
            return run.show(base_url)

    def _list(self, call: Call, runs: list[Run]) -> Reply:
        for run in runs:
            self.refresh(run)
        statuses = {s for s in (call.query.get('status') or '').split(',') if s}
        if statuses:
            runs = [run for run in runs if run.status in statuses]
        runs.sort(key=lambda run: run.started_at)
        return list_reply(call, [run.show_list_item() for run in runs])

    def list_runs(self, call: Call) -> Reply:
        with self.state.lock:
            return self._list(call, list(self.state.runs.values()))

    def list_actor_runs(self, call: Call) -> Reply:
        with self.state.lock:
            actor = self.find_actor(call.params['actorId'])
            runs = [run for run in self.state.runs.values() if run.act_id == actor.id]
            return self._list(call, runs)

    def list_task_runs(self, call: Call) -> Reply:
        with self.state.lock:
            task = self.find_task(call.params['taskId'])
            runs = [run for run in self.state.runs.values() if run.actor_task_id == task.id]
            return self._list(call, runs)

    def get_run(self, call: Call) -> Reply:
        wait = min(call.number('waitForFinish', 0) or 0, MAX_WAIT_SECS)
        return data_reply(self.wait_and_show(call.params['runId'], wait, call.base_url))

    def update_run(self, call: Call) -> Reply:
        body = call.json_object()
        with self.state.lock:
            run = self.find_run(call.params['runId'])
            if 'statusMessage' in body:
                message = body['statusMessage']
                if message is not None and not isinstance(message, str):
                    raise invalid('Field "statusMessage" must be a string')
                run.status_message = message
            if 'isStatusMessageTerminal' in body:
                run.is_status_message_terminal = bool(body['isStatusMessageTerminal'])
            return data_reply(run.show(call.base_url))

    def delete_run(self, call: Call) -> Reply:
        with self.state.lock:
            run = self.find_run(call.params['runId'])
            if not run.finished:
                raise ApiError(
                    400, 'cannot-remove-running-run', 'A running Actor run cannot be deleted'
                )
            del self.state.runs[run.id]
        return empty_reply()
