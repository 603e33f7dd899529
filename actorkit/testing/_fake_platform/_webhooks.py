"""Webhooks (ad hoc and persistent) and the user endpoints.

The fake platform never calls a webhook's URL (tests must not reach the network); when a run
finishes it records a dispatch for every webhook that matches, which tests inspect with
:meth:`FakePlatform.webhook_dispatches`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from actorkit.testing._fake_platform._common import (
    Call,
    Reply,
    data_reply,
    empty_reply,
    invalid,
    iso,
    list_reply,
    new_id,
    not_found,
    now,
)
from actorkit.testing._fake_platform._state import State
from actorkit.testing._fake_platform._storages import Route

if TYPE_CHECKING:
    from actorkit.testing._fake_platform._run_models import Run

_EVENT_TYPES = frozenset(
    {
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
    }
)
_FIELDS = (
    'isAdHoc',
    'eventTypes',
    'condition',
    'ignoreSslErrors',
    'doNotRetry',
    'requestUrl',
    'payloadTemplate',
    'headersTemplate',
    'description',
    'shouldInterpolateStrings',
    'idempotencyKey',
)


@attrs.define(kw_only=True)
class Webhook:
    """A webhook."""

    id: str = attrs.field(factory=new_id)
    """Its id."""
    user_id: str
    """The owner's id."""
    fields: dict[str, Any]
    """Its settable fields, camelCase as in the API."""
    created_at: datetime = attrs.field(factory=now)
    """Creation time."""
    modified_at: datetime = attrs.field(factory=now)
    """Last change."""
    dispatches: list[dict[str, Any]] = attrs.field(factory=list)
    """Dispatches recorded for it."""

    def show(self) -> dict[str, Any]:
        """The API object of the webhook."""
        last = self.dispatches[-1] if self.dispatches else None
        return {
            'id': self.id,
            'createdAt': iso(self.created_at),
            'modifiedAt': iso(self.modified_at),
            'userId': self.user_id,
            'isAdHoc': False,
            'ignoreSslErrors': False,
            'doNotRetry': False,
            'shouldInterpolateStrings': False,
            'payloadTemplate': None,
            'headersTemplate': None,
            'description': None,
            'isApifyIntegration': False,
            **self.fields,
            'lastDispatch': {'status': last['status'], 'finishedAt': last['createdAt']}
            if last
            else None,
            'stats': {'totalDispatches': len(self.dispatches)},
        }


def check_webhook(body: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """The settable fields of a webhook body, checked (400 when invalid)."""
    fields = {name: body[name] for name in _FIELDS if name in body}
    if not partial:
        for name in ('eventTypes', 'requestUrl', 'condition'):
            if name not in fields:
                raise invalid(f'Field "{name}" is required to create a webhook')
    event_types = fields.get('eventTypes')
    if event_types is not None:
        if not isinstance(event_types, list) or not event_types:
            raise invalid('Field "eventTypes" must be a non-empty array of event types')
        unknown = [event for event in event_types if event not in _EVENT_TYPES]
        if unknown:
            raise invalid(f'Unknown webhook event types: {", ".join(map(str, unknown))}')
    url = fields.get('requestUrl')
    if url is not None and (not isinstance(url, str) or '://' not in url):
        raise invalid(f'Field "requestUrl" must be an absolute URL, got {url!r}')
    condition = fields.get('condition')
    if condition is not None and not isinstance(condition, dict):
        raise invalid('Field "condition" must be an object')
    return fields


class WebhooksApi:
    """The webhook and user endpoints."""

    def __init__(self, state: State) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        """Every webhook and user route."""
        return [
            ('GET', '/v2/webhooks', self.list_webhooks),
            ('POST', '/v2/webhooks', self.post),
            ('GET', '/v2/webhooks/{webhookId}', self.get),
            ('PUT', '/v2/webhooks/{webhookId}', self.put),
            ('DELETE', '/v2/webhooks/{webhookId}', self.delete),
            ('GET', '/v2/webhooks/{webhookId}/dispatches', self.list_dispatches),
            ('POST', '/v2/webhooks/{webhookId}/test', self.test),
            ('GET', '/v2/webhook-dispatches', self.all_dispatches),
            ('GET', '/v2/webhook-dispatches/{dispatchId}', self.get_dispatch),
            ('GET', '/v2/actors/{actorId}/webhooks', self.list_for_actor),
            ('GET', '/v2/users/me', self.me),
            ('GET', '/v2/users/me/limits', self.limits),
            ('GET', '/v2/users/{userId}', self.user),
        ]

    def create(self, body: dict[str, Any]) -> tuple[Webhook, bool]:
        """Create a webhook, or find the one with the same ``idempotencyKey``.

        Returns:
            The webhook and whether it is new. The caller holds the lock.
        """
        fields = check_webhook(body, partial=False)
        key = fields.get('idempotencyKey')
        if key is not None:
            for webhook in self.state.webhooks.values():
                if webhook.fields.get('idempotencyKey') == key:
                    return webhook, False
        webhook = Webhook(user_id=self.state.user_id, fields=fields)
        self.state.webhooks[webhook.id] = webhook
        return webhook, True

    def find(self, webhook_id: str) -> Webhook:
        """The webhook with this id (404)."""
        webhook = self.state.webhooks.get(webhook_id)
        if webhook is None:
            raise not_found('Webhook')
        return webhook

    def run_finished(self, run: Run) -> None:
        """Record a dispatch for each webhook that listens for this run's end."""
        event_type = 'ACTOR.RUN.' + run.status.replace('-', '_')
        for webhook in self.state.webhooks.values():
            condition = webhook.fields.get('condition') or {}
            if event_type not in (webhook.fields.get('eventTypes') or []):
                continue
            if not (
                condition.get('actorRunId') == run.id
                or condition.get('actorId') in (run.act_id, run.started_act_id)
                or (run.actor_task_id and condition.get('actorTaskId') == run.actor_task_id)
            ):
                continue
            self._dispatch(webhook, event_type, {'actorId': run.act_id, 'actorRunId': run.id})

    def _dispatch(
        self, webhook: Webhook, event_type: str, event_data: dict[str, Any]
    ) -> dict[str, Any]:
        dispatch: dict[str, Any] = {
            'id': new_id(),
            'userId': self.state.user_id,
            'webhookId': webhook.id,
            'createdAt': iso(now()),
            'status': 'SUCCEEDED',
            'eventType': event_type,
            'eventData': event_data,
            'webhook': {
                'requestUrl': webhook.fields.get('requestUrl'),
                'isAdHoc': bool(webhook.fields.get('isAdHoc')),
            },
            'calls': [],
        }
        webhook.dispatches.append(dispatch)
        return dispatch

    def list_webhooks(self, call: Call) -> Reply:
        with self.state.lock:
            hooks = sorted(self.state.webhooks.values(), key=lambda hook: hook.created_at)
            return list_reply(call, [hook.show() for hook in hooks])

    def list_for_actor(self, call: Call) -> Reply:
        actor_id = call.params['actorId']
        with self.state.lock:
            hooks = [
                hook.show()
                for hook in self.state.webhooks.values()
                if (hook.fields.get('condition') or {}).get('actorId') == actor_id
            ]
            return list_reply(call, hooks)

    def post(self, call: Call) -> Reply:
        body = call.json_object()
        with self.state.lock:
            webhook, created = self.create(body)
            shown = webhook.show()
        return data_reply(
            shown,
            201 if created else 200,
            {'Location': f'{call.base_url}/v2/webhooks/{webhook.id}'},
        )

    def get(self, call: Call) -> Reply:
        with self.state.lock:
            return data_reply(self.find(call.params['webhookId']).show())

    def put(self, call: Call) -> Reply:
        fields = check_webhook(call.json_object(), partial=True)
        with self.state.lock:
            webhook = self.find(call.params['webhookId'])
            webhook.fields.update(fields)
            webhook.modified_at = now()
            return data_reply(webhook.show())

    def delete(self, call: Call) -> Reply:
        with self.state.lock:
            webhook = self.find(call.params['webhookId'])
            del self.state.webhooks[webhook.id]
        return empty_reply()

    def list_dispatches(self, call: Call) -> Reply:
        with self.state.lock:
            webhook = self.find(call.params['webhookId'])
            return list_reply(call, list(webhook.dispatches))

    def test(self, call: Call) -> Reply:
        with self.state.lock:
            webhook = self.find(call.params['webhookId'])
            dispatch = self._dispatch(webhook, 'TEST', {'actorId': 'test'})
        return data_reply(dispatch, 201)

    def _dispatches(self) -> list[dict[str, Any]]:
        found = [d for hook in self.state.webhooks.values() for d in hook.dispatches]
        return sorted(found, key=lambda dispatch: dispatch['createdAt'])

    def all_dispatches(self, call: Call) -> Reply:
        with self.state.lock:
            return list_reply(call, self._dispatches())

    def get_dispatch(self, call: Call) -> Reply:
        with self.state.lock:
            for dispatch in self._dispatches():
                if dispatch['id'] == call.params['dispatchId']:
                    return data_reply(dispatch)
        raise not_found('Webhook dispatch')

    def me(self, call: Call) -> Reply:
        state = self.state
        return data_reply(
            {
                'id': state.user_id,
                'username': state.username,
                'email': f'{state.username}@example.com',
                'createdAt': iso(state.created_at),
                'isPaying': True,
                'profile': {'name': 'Fake User'},
                'proxy': {
                    'password': state.proxy_password,
                    'groups': [{'name': 'AUTO', 'description': 'Automatic', 'availableCount': 10}],
                },
                'plan': {
                    'id': 'FAKE',
                    'description': 'FakePlatform plan',
                    'isEnabled': True,
                    'monthlyBasePriceUsd': 0,
                    'monthlyUsageCreditsUsd': 0,
                    'availableProxyGroups': {'AUTO': 10},
                    'maxActorMemoryGbytes': 32,
                },
            }
        )

    def limits(self, call: Call) -> Reply:
        cycle_start = self.state.created_at.replace(day=1, hour=0, minute=0, second=0)
        return data_reply(
            {
                'monthlyUsageCycle': {
                    'startAt': iso(cycle_start),
                    'endAt': iso(cycle_start + timedelta(days=31)),
                },
                'limits': {
                    'maxMonthlyUsageUsd': 1000,
                    'maxMonthlyActorComputeUnits': 10000,
                    'maxMonthlyExternalDataTransferGbytes': 1000,
                    'maxMonthlyProxySerps': 100000,
                    'maxMonthlyResidentialProxyGbytes': 100,
                    'maxActorMemoryGbytes': 32,
                    'maxActorCount': 1000,
                    'maxActorTaskCount': 1000,
                    'maxConcurrentActorJobs': 32,
                    'maxTeamAccountSeatCount': 1,
                    'dataRetentionDays': 30,
                },
                'current': {
                    'monthlyUsageUsd': 0,
                    'monthlyActorComputeUnits': 0,
                    'monthlyExternalDataTransferGbytes': 0,
                    'monthlyProxySerps': 0,
                    'monthlyResidentialProxyGbytes': 0,
                    'actorMemoryGbytes': 0,
                    'actorCount': len(self.state.actors),
                    'actorTaskCount': len(self.state.tasks),
                    'activeActorJobCount': 0,
                    'teamAccountSeatCount': 1,
                },
            }
        )

    def user(self, call: Call) -> Reply:
        user_id = call.params['userId']
        if user_id not in (self.state.user_id, self.state.username):
            raise not_found('User')
        return data_reply({'username': self.state.username, 'profile': {'name': 'Fake User'}})
