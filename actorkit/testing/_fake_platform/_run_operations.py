"""What the API does to a started run: abort, metamorph, reboot, resurrect, charge, log.

:class:`RunOperationEndpoints` is a part of ``RunsApi`` (``_runs.py``), which routes them. An abort
calls the platform's ``_on_abort`` hook with the state lock held (a graceful one sends
``aborting`` and ``persistState`` to the run's events websocket).

Metamorph and reboot change the run as the platform does (the target Actor and build, the input
key ``INPUT-METAMORPH-1``, the ``metamorphs`` and ``reboots`` records, ``stats.rebootCount``); a
metamorph into an Actor with a handler starts that handler for the run. The fake does not own
the process that plays a run in a test, so it neither stops nor restarts it: that process's
events connection stays open, and the test sees the change through ``platform.run(run_id)``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from actorkit.testing._fake_platform._common import (
    ApiError,
    Call,
    Reply,
    data_reply,
    invalid,
    iso,
    now,
)
from actorkit.testing._fake_platform._key_value_stores import Record
from actorkit.testing._fake_platform._run_models import Charge, event_price

if TYPE_CHECKING:
    from actorkit.testing._fake_platform._platform import FakePlatform
    from actorkit.testing._fake_platform._run_models import Actor, Run
    from actorkit.testing._fake_platform._state import State


class RunOperationEndpoints:
    """The endpoints that act on one run: ``RunsApi`` inherits them."""

    if TYPE_CHECKING:  # provided by RunsApi and ActorTaskEndpoints
        state: State
        platform: FakePlatform

        def find_actor(self, id_or_name: str) -> Actor: ...

        def find_run(self, run_id: str) -> Run: ...

        def finish(self, run: Run, status: str, exit_code: int | None) -> None: ...

        def start_handler(self, run: Run, actor: Actor) -> None: ...

    def abort_run(self, call: Call) -> Reply:
        gracefully = call.flag('gracefully')
        with self.state.lock:
            run = self.find_run(call.params['runId'])
            if not run.finished and run.status != 'ABORTING':
                run.abort = {'requestedAt': iso(now()), 'gracefully': bool(gracefully)}
                if gracefully:
                    run.status = 'ABORTING'
                    run.abort_at = now() + timedelta(seconds=self.platform.abort_grace_secs)
                    self.state.changed.notify_all()
                else:
                    self.finish(run, 'ABORTED', None)
                self.platform._on_abort(run, gracefully=gracefully)
            return data_reply(run.show(call.base_url))

    def metamorph_run(self, call: Call) -> Reply:
        target_id = call.query.get('targetActorId')
        if not target_id:
            raise invalid('Query parameter "targetActorId" is required')
        content_type = call.headers.get('Content-Type') or 'application/json; charset=utf-8'
        with self.state.lock:
            run = self.find_run(call.params['runId'])
            if run.finished:
                raise invalid(f'Actor run {run.id} has finished and cannot metamorph')
            target = self.find_actor(target_id)
            input_key = f'INPUT-METAMORPH-{len(run.metamorphs) + 1}'
            store = self.platform._key_value_stores.kind.find(run.default_key_value_store_id)
            if call.body:
                store.records[input_key] = Record(call.body, content_type)
            run.metamorphs.append(
                {
                    'createdAt': iso(now()),
                    'actorId': target.id,
                    'buildId': target.build.id,
                    'inputKey': input_key,
                }
            )
            run.act_id = target.id
            run.build_id = target.build.id
            run.build_number = target.build.build_number
            run.input_key = input_key
            self.start_handler(run, target)
            return data_reply(run.show(call.base_url))

    def reboot_run(self, call: Call) -> Reply:
        with self.state.lock:
            run = self.find_run(call.params['runId'])
            if run.finished:
                raise invalid(f'Actor run {run.id} has finished and cannot be rebooted')
            run.stats['rebootCount'] = run.stats.get('rebootCount', 0) + 1
            run.reboots.append({'createdAt': iso(now())})
            return data_reply(run.show(call.base_url))

    def resurrect_run(self, call: Call) -> Reply:
        with self.state.lock:
            run = self.find_run(call.params['runId'])
            if not run.finished:
                raise invalid(
                    f'Actor run {run.id} is {run.status}: only a finished run can be resurrected'
                )
            if call.query.get('build'):
                run.options['build'] = call.query['build']
            memory = call.number('memory', None)
            if memory is not None:
                run.options['memoryMbytes'] = memory
                run.options['diskMbytes'] = memory * 2
            timeout = call.number('timeout', None)
            if timeout is not None:
                run.options['timeoutSecs'] = timeout
            run.status = 'RUNNING'
            run.finished_at = None
            run.exit_code = None
            run.started_at = now()
            run.stats['resurrectCount'] = run.stats.get('resurrectCount', 0) + 1
            actor = self.state.actors.get(run.act_id)
            if actor is not None:
                self.start_handler(run, actor)
            return data_reply(run.show(call.base_url))

    def charge_run(self, call: Call) -> Reply:
        body = call.json_object()
        event_name = body.get('eventName')
        count = body.get('count', 1)
        if not isinstance(event_name, str) or not event_name:
            raise invalid('Field "eventName" is required: name the event to charge')
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise invalid(f'Field "count" must be a positive integer, got {count!r}')
        key = call.headers.get('idempotency-key') or None
        with self.state.lock:
            run = self.find_run(call.params['runId'])
            info = run.pricing_info or {}
            if info.get('pricingModel') != 'PAY_PER_EVENT':
                raise ApiError(
                    400,
                    'cannot-charge-non-pay-per-event-actor',
                    f'Actor run {run.id} is not of a pay-per-event Actor',
                )
            if event_name.startswith('apify-'):
                raise ApiError(
                    400,
                    'cannot-charge-apify-event',
                    f'Event "{event_name}" is a synthetic Apify event and cannot be charged',
                )
            price = event_price(run, event_name)
            if price is None:
                raise invalid(f'Event "{event_name}" is not defined in the pricing of the Actor')
            if key is not None and key in run.idempotency_keys:
                return Reply(201, b'{}', 'application/json; charset=utf-8')
            if key is not None:
                run.idempotency_keys.add(key)
            run.charges.append(Charge(event_name, count, key, price, now()))
            run.charged_event_counts[event_name] = (
                run.charged_event_counts.get(event_name, 0) + count
            )
        return Reply(201, b'{}', 'application/json; charset=utf-8')

    def run_log(self, call: Call) -> Reply:
        with self.state.lock:
            run = self.find_run(call.params['runId'])
            text = self.platform._logs.get(run.id, '')
        return Reply(200, text.encode('utf-8'), 'text/plain; charset=utf-8')
