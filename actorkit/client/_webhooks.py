"""Webhooks and the user account."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from actorkit.client._base import ResourceClient, drop_none, query
from actorkit.client._http import MEDIUM, SHORT
from actorkit.client._models import ListPage


class WebhookCollectionClient(ResourceClient):
    """The webhooks of the account: list them, create one."""

    def list(
        self, *, limit: int | None = None, offset: int | None = None, desc: bool | None = None
    ) -> ListPage[dict[str, Any]]:
        """List the webhooks."""
        params = query(limit=limit, offset=offset, desc=desc)
        return ListPage.from_data(self._get_data(params=params, timeout=MEDIUM))

    def create(
        self,
        event_types: Sequence[str],
        request_url: str,
        *,
        payload_template: str | None = None,
        headers_template: str | None = None,
        actor_id: str | None = None,
        actor_task_id: str | None = None,
        actor_run_id: str | None = None,
        is_ad_hoc: bool | None = None,
        idempotency_key: str | None = None,
        description: str | None = None,
        ignore_ssl_errors: bool | None = None,
        do_not_retry: bool | None = None,
        should_interpolate_strings: bool | None = None,
    ) -> dict[str, Any]:
        """Create a webhook and return it.

        Args:
            event_types: The events that fire it (e.g. ``['ACTOR.RUN.SUCCEEDED']``).
            request_url: Where it POSTs.
            payload_template: The body template.
            headers_template: The headers template.
            actor_id: Fire only for runs of this Actor.
            actor_task_id: Fire only for runs of this task.
            actor_run_id: Fire only for this run (with ``is_ad_hoc=True``: an ad-hoc webhook).
            is_ad_hoc: Whether the webhook belongs to one run only (needs ``actor_run_id``).
            idempotency_key: Creating twice with the same key creates one webhook.
            description: A description.
            ignore_ssl_errors: Do not verify the target's certificate.
            do_not_retry: Do not retry failed deliveries.
            should_interpolate_strings: Interpolate variables inside template strings.
        """
        condition = drop_none(
            {'actorId': actor_id, 'actorTaskId': actor_task_id, 'actorRunId': actor_run_id}
        )
        body = drop_none(
            {
                'eventTypes': list(event_types),
                'requestUrl': request_url,
                'payloadTemplate': payload_template,
                'headersTemplate': headers_template,
                'shouldInterpolateStrings': should_interpolate_strings,
                'ignoreSslErrors': ignore_ssl_errors,
                'doNotRetry': do_not_retry,
                'description': description,
                'idempotencyKey': idempotency_key,
                'isAdHoc': is_ad_hoc if actor_run_id else None,
                'condition': condition,
            }
        )
        return dict(self._send_json('POST', value=body, timeout=SHORT, what='the webhook'))


class WebhookClient(ResourceClient):
    """One webhook."""

    def get(self) -> dict[str, Any] | None:
        """Return the webhook, or ``None`` when it does not exist."""
        result = self._get_or_none()
        return None if result is None else dict(result)

    def delete(self) -> None:
        """Delete the webhook (nothing happens when it does not exist)."""
        self._delete_quietly()


class UserClient(ResourceClient):
    """A user account (``me``: the token's owner)."""

    def get(self) -> dict[str, Any] | None:
        """Return the user's public (or, for ``me``, private) data, or ``None``."""
        result = self._get_or_none()
        return None if result is None else dict(result)
