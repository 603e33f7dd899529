"""Runs, Actors and tasks: start, wait, abort, metamorph, reboot, resurrect, charge."""

from __future__ import annotations

import base64
import json
import math
import random
import string
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from actorkit._errors import ApifyApiError
from actorkit.client._base import (
    TERMINAL_STATUSES,
    ResourceClient,
    camel_webhooks,
    data_of,
    is_not_found,
    query,
    resource_segment,
    seconds_alias,
)
from actorkit.client._http import MEDIUM, SHORT, encode_json
from actorkit.client._key_value_store import encode_record
from actorkit.client._models import ListPage

if TYPE_CHECKING:
    from actorkit.client._dataset import DatasetClient
    from actorkit.client._key_value_store import KeyValueStoreClient
    from actorkit.client._request_queue import RequestQueueClient

MAX_WAIT_PER_CALL = 60
"""The longest ``waitForFinish`` the API accepts in one call, in seconds."""
NOT_FOUND_GRACE = 3.0
"""How long a run that is not found yet is waited for (replicas may lag behind a start)."""
POLL_PAUSE = 0.25
"""The pause between two polls that the API answered at once."""


def _webhooks_param(webhooks: Sequence[Mapping[str, Any]] | None) -> str | None:
    if not webhooks:
        return None
    text = json.dumps(camel_webhooks(webhooks), separators=(',', ':'))
    return base64.b64encode(text.encode('utf-8')).decode('ascii')


def _money(value: Decimal | float | str | None) -> str | None:
    return None if value is None else str(value)


class RunCollectionClient(ResourceClient):
    """Runs of the account (or of one Actor or task)."""

    def list(
        self,
        *,
        limit: int | None = None,
        offset: int | None = None,
        desc: bool | None = None,
        status: str | Sequence[str] | None = None,
    ) -> ListPage[dict[str, Any]]:
        """List runs, optionally only those in ``status`` (one status or several)."""
        statuses = [status] if isinstance(status, str) else status
        params = query(limit=limit, offset=offset, desc=desc, status=statuses)
        return ListPage.from_data(self._get_data(params=params, timeout=MEDIUM))


class RunClient(ResourceClient):
    """One Actor run."""

    def __init__(self, *args: Any, run_id: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._run_id = run_id

    def get(self) -> dict[str, Any] | None:
        """Return the run, or ``None`` when it does not exist."""
        result = self._get_or_none()
        return None if result is None else dict(result)

    def update(
        self,
        *,
        status_message: str | None = None,
        is_status_message_terminal: bool | None = None,
    ) -> dict[str, Any]:
        """Set the run's status message and return the run."""
        body = {
            key: value
            for key, value in (
                ('statusMessage', status_message),
                ('isStatusMessageTerminal', is_status_message_terminal),
            )
            if value is not None
        }
        return dict(self._send_json('PUT', value=body, timeout=SHORT))

    def delete(self) -> None:
        """Delete the (finished) run; nothing happens when it does not exist."""
        self._delete_quietly()

    def abort(self, *, gracefully: bool | None = None) -> dict[str, Any]:
        """Abort the run (``gracefully``: send the ``aborting`` event first) and return it."""
        params = query(gracefully=gracefully)
        return dict(self._send_json('POST', '/abort', params=params, timeout=MEDIUM))

    def wait_for_finish(
        self, wait_secs: float | None = None, *, wait_duration: timedelta | None = None
    ) -> dict[str, Any] | None:
        """Wait until the run ends (or ``wait_secs`` pass) and return it.

        Args:
            wait_secs: The most seconds to wait; forever when ``None``.
            wait_duration: The same as a ``timedelta`` (the official client's name).

        Returns:
            The run as last seen (its status may still be running when ``wait_secs`` ran
            out), or ``None`` when it does not exist.
        """
        seconds = seconds_alias(wait_secs, wait_duration, 'wait_secs', 'wait_duration')
        return wait_for_job(self, seconds)

    def metamorph(
        self,
        target_actor_id: str,
        run_input: Any = None,
        target_actor_build: str | None = None,
        content_type: str | None = None,
    ) -> dict[str, Any]:
        """Turn the run into a run of another Actor, with a new input; return the run."""
        params = query(targetActorId=target_actor_id.replace('/', '~'), build=target_actor_build)
        body, media = (None, None) if run_input is None else encode_record(run_input, content_type)
        response = self._call(
            'POST', '/metamorph', params=params, body=body, content_type=media, timeout=MEDIUM
        )
        return dict(data_of(response))

    def reboot(self) -> dict[str, Any]:
        """Restart the run's container (same run, same storages) and return the run."""
        return dict(self._send_json('POST', '/reboot', timeout=MEDIUM))

    def resurrect(
        self,
        *,
        build: str | None = None,
        memory_mbytes: int | None = None,
        timeout_secs: int | None = None,
        max_items: int | None = None,
        max_total_charge_usd: Decimal | float | None = None,
        run_timeout: timedelta | None = None,
        restart_on_error: bool | None = None,
    ) -> dict[str, Any]:
        """Start a finished run again (same storages) and return it."""
        seconds = seconds_alias(timeout_secs, run_timeout, 'timeout_secs', 'run_timeout')
        params = query(
            build=build,
            memory=memory_mbytes,
            timeout=seconds,
            maxItems=max_items,
            maxTotalChargeUsd=_money(max_total_charge_usd),
            restartOnError=restart_on_error,
        )
        return dict(self._send_json('POST', '/resurrect', params=params, timeout=MEDIUM))

    def charge(
        self,
        event_name: str,
        count: int | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """Charge ``count`` (1 by default) pay-per-event events named ``event_name``.

        The call carries an ``idempotency-key`` header, made once per call when not given and
        sent unchanged on every retry, so a retried charge is counted once.
        """
        if not event_name:
            raise ValueError('charge() needs an event_name')
        if idempotency_key is None:
            suffix = ''.join(random.choices(string.ascii_letters + string.digits, k=8))  # noqa: S311
            idempotency_key = f'{self._run_id}-{event_name}-{int(time.time() * 1000)}-{suffix}'
        body = encode_json(
            {'eventName': event_name, 'count': 1 if count is None else count}, 'the charge'
        )
        self._call(
            'POST',
            '/charge',
            body=body,
            content_type='application/json',
            headers={'idempotency-key': idempotency_key},
            timeout=SHORT,
        )

    def dataset(self) -> DatasetClient:
        """The run's default dataset."""
        from actorkit.client._dataset import DatasetClient  # noqa: PLC0415

        return DatasetClient(self._http, self._path + '/dataset')

    def key_value_store(self) -> KeyValueStoreClient:
        """The run's default key-value store."""
        from actorkit.client._key_value_store import KeyValueStoreClient  # noqa: PLC0415

        return KeyValueStoreClient(self._http, self._path + '/key-value-store')

    def request_queue(self) -> RequestQueueClient:
        """The run's default request queue."""
        from actorkit.client._request_queue import RequestQueueClient  # noqa: PLC0415

        return RequestQueueClient(self._http, self._path + '/request-queue')


def wait_for_job(client: ResourceClient, wait_secs: float | None) -> dict[str, Any] | None:
    """Poll a run with ``waitForFinish`` (at most 60 s per call) until it ends or time is up.

    The API holds each call until the run ends or the wait is over, so polling costs one call a
    minute. A run not found yet is asked for again for a few seconds (a new run can take a
    moment to show up everywhere).
    """
    deadline = None if wait_secs is None else time.monotonic() + wait_secs
    not_found_since: float | None = None
    job: dict[str, Any] | None = None
    while True:
        started = time.monotonic()
        remaining = MAX_WAIT_PER_CALL if deadline is None else max(0.0, deadline - started)
        wait = min(MAX_WAIT_PER_CALL, math.ceil(remaining))
        try:
            response = client._call(
                'GET', params={'waitForFinish': str(wait)}, timeout=SHORT, extra_timeout=wait
            )
        except ApifyApiError as error:
            if not is_not_found(error):
                raise
            now = time.monotonic()
            not_found_since = not_found_since or now
            if now - not_found_since >= NOT_FOUND_GRACE or (deadline and now >= deadline):
                return job
            time.sleep(POLL_PAUSE)
            continue
        not_found_since = None
        job = dict(data_of(response))
        if job.get('status') in TERMINAL_STATUSES:
            return job
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            return job
        if now - started < wait:  # the API did not hold the call: do not poll in a tight loop
            time.sleep(POLL_PAUSE)


class _Starter(ResourceClient):
    def _start(
        self,
        *,
        body: bytes | None,
        content_type: str | None,
        build: str | None,
        max_items: int | None,
        max_total_charge_usd: Decimal | float | None,
        memory_mbytes: int | None,
        timeout_secs: int | None,
        wait_for_finish: int | None,
        webhooks: Sequence[Mapping[str, Any]] | None,
        restart_on_error: bool | None,
        force_permission_level: str | None = None,
    ) -> dict[str, Any]:
        params = query(
            build=build,
            maxItems=max_items,
            maxTotalChargeUsd=_money(max_total_charge_usd),
            memory=memory_mbytes,
            timeout=timeout_secs,
            waitForFinish=wait_for_finish,
            restartOnError=restart_on_error,
            forcePermissionLevel=force_permission_level,
            webhooks=_webhooks_param(webhooks),
        )
        response = self._call(
            'POST',
            '/runs',
            params=params,
            body=body,
            content_type=content_type,
            timeout=MEDIUM,
            extra_timeout=float(wait_for_finish or 0),
        )
        return dict(data_of(response))

    def _run(self, run_id: str) -> RunClient:
        return RunClient(self._http, '/actor-runs/' + resource_segment(run_id), run_id=run_id)

    def get(self) -> dict[str, Any] | None:
        """Return the resource, or ``None`` when it does not exist."""
        result = self._get_or_none()
        return None if result is None else dict(result)

    def runs(self) -> RunCollectionClient:
        """The runs of this Actor or task."""
        return RunCollectionClient(self._http, self._path + '/runs')


class ActorClient(_Starter):
    """One Actor (by id or ``username/name``)."""

    def start(
        self,
        *,
        run_input: Any = None,
        content_type: str | None = None,
        build: str | None = None,
        max_items: int | None = None,
        max_total_charge_usd: Decimal | float | None = None,
        memory_mbytes: int | None = None,
        timeout_secs: int | None = None,
        wait_for_finish: int | None = None,
        webhooks: Sequence[Mapping[str, Any]] | None = None,
        restart_on_error: bool | None = None,
        run_timeout: timedelta | None = None,
        force_permission_level: str | None = None,
    ) -> dict[str, Any]:
        """Start a run of the Actor and return it (as soon as it started).

        Args:
            run_input: The input: bytes or str sent as they are, anything else as JSON.
            content_type: The input's Content-Type (by its type when ``None``).
            build: The build tag or number to run.
            max_items: The most dataset items charged for (pay-per-result Actors).
            max_total_charge_usd: The most the run may charge (pay-per-event Actors).
            memory_mbytes: The run's memory.
            timeout_secs: The run's timeout in seconds (or ``run_timeout`` as a timedelta).
            wait_for_finish: Seconds (at most 60) the API waits for the run to end first.
            webhooks: Ad-hoc webhooks of the run (dicts with ``event_types``, ``request_url``,
                ...; camelCase keys work too).
            restart_on_error: Restart the run when it fails.
            run_timeout: The run's timeout as a timedelta (the official client's name).
            force_permission_level: Override the Actor's permission level for this run.
        """
        body, media = (None, None) if run_input is None else encode_record(run_input, content_type)
        return self._start(
            body=body,
            content_type=media,
            build=build,
            max_items=max_items,
            max_total_charge_usd=max_total_charge_usd,
            memory_mbytes=memory_mbytes,
            timeout_secs=seconds_alias(timeout_secs, run_timeout, 'timeout_secs', 'run_timeout'),
            wait_for_finish=wait_for_finish,
            webhooks=webhooks,
            restart_on_error=restart_on_error,
            force_permission_level=force_permission_level,
        )

    def call(
        self,
        *,
        run_input: Any = None,
        content_type: str | None = None,
        build: str | None = None,
        max_items: int | None = None,
        max_total_charge_usd: Decimal | float | None = None,
        memory_mbytes: int | None = None,
        timeout_secs: int | None = None,
        webhooks: Sequence[Mapping[str, Any]] | None = None,
        wait_secs: float | None = None,
        restart_on_error: bool | None = None,
        run_timeout: timedelta | None = None,
        wait_duration: timedelta | None = None,
        force_permission_level: str | None = None,
    ) -> dict[str, Any] | None:
        """Start a run of the Actor and wait for it to end (or ``wait_secs`` to pass).

        Takes the arguments of :meth:`start`, and ``wait_secs`` (or ``wait_duration``).

        Returns:
            The run as last seen, or ``None`` when it vanished.
        """
        run = self.start(
            run_input=run_input,
            content_type=content_type,
            build=build,
            max_items=max_items,
            max_total_charge_usd=max_total_charge_usd,
            memory_mbytes=memory_mbytes,
            timeout_secs=timeout_secs,
            webhooks=webhooks,
            restart_on_error=restart_on_error,
            run_timeout=run_timeout,
            force_permission_level=force_permission_level,
        )
        return self._run(run['id']).wait_for_finish(wait_secs, wait_duration=wait_duration)


class TaskClient(_Starter):
    """One saved task (by id or ``username/name``)."""

    def start(
        self,
        *,
        task_input: Mapping[str, Any] | None = None,
        build: str | None = None,
        max_items: int | None = None,
        max_total_charge_usd: Decimal | float | None = None,
        memory_mbytes: int | None = None,
        timeout_secs: int | None = None,
        wait_for_finish: int | None = None,
        webhooks: Sequence[Mapping[str, Any]] | None = None,
        restart_on_error: bool | None = None,
        run_timeout: timedelta | None = None,
    ) -> dict[str, Any]:
        """Start a run of the task and return it; ``task_input`` overrides fields of its input.

        The other arguments are those of :meth:`ActorClient.start`.
        """
        body = None if task_input is None else encode_json(dict(task_input), 'the task input')
        return self._start(
            body=body,
            content_type=None if body is None else 'application/json; charset=utf-8',
            build=build,
            max_items=max_items,
            max_total_charge_usd=max_total_charge_usd,
            memory_mbytes=memory_mbytes,
            timeout_secs=seconds_alias(timeout_secs, run_timeout, 'timeout_secs', 'run_timeout'),
            wait_for_finish=wait_for_finish,
            webhooks=webhooks,
            restart_on_error=restart_on_error,
        )

    def call(
        self,
        *,
        task_input: Mapping[str, Any] | None = None,
        build: str | None = None,
        max_items: int | None = None,
        max_total_charge_usd: Decimal | float | None = None,
        memory_mbytes: int | None = None,
        timeout_secs: int | None = None,
        webhooks: Sequence[Mapping[str, Any]] | None = None,
        wait_secs: float | None = None,
        restart_on_error: bool | None = None,
        run_timeout: timedelta | None = None,
        wait_duration: timedelta | None = None,
    ) -> dict[str, Any] | None:
        """Start a run of the task and wait for it to end (or ``wait_secs`` to pass)."""
        run = self.start(
            task_input=task_input,
            build=build,
            max_items=max_items,
            max_total_charge_usd=max_total_charge_usd,
            memory_mbytes=memory_mbytes,
            timeout_secs=timeout_secs,
            webhooks=webhooks,
            restart_on_error=restart_on_error,
            run_timeout=run_timeout,
        )
        return self._run(run['id']).wait_for_finish(wait_secs, wait_duration=wait_duration)
