"""Storage calls: list, get-or-create, get, update and delete, the same for every kind."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from actorkit.testing._fake_platform._common import (
    ApiError,
    Call,
    Reply,
    data_reply,
    empty_reply,
    invalid,
    list_reply,
)
from actorkit.testing._fake_platform._state import State, Storage

Route = tuple[str, str, Callable[[Call], Reply]]
S = TypeVar('S', bound=Storage)

_NAME = re.compile(r'[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]{0,61}[a-zA-Z0-9]')


def check_name(name: str) -> str:
    """Refuse a storage name the platform refuses (letters, digits, inner hyphens, <= 63)."""
    if not _NAME.fullmatch(name):
        raise invalid(
            f'Invalid value provided in store: name {name!r} can only contain letters "a" '
            f'through "z", the digits "0" through "9", and the hyphen ("-") but only in the '
            f'middle of the string (e.g. "my-value-1"), at most 63 characters'
        )
    return name


class StorageKind:
    """One kind of storage: its collection, URL segment and how to show one.

    Args:
        state: The platform state.
        collection: The dict of this kind on the state.
        segment: The URL segment, e.g. ``datasets``.
        label: The name used in messages, e.g. ``Dataset``.
        factory: Builds a new storage from keyword fields.
        show: Turns a storage into its API object.
    """

    def __init__(  # noqa: PLR0917 (one call site, every argument named there)
        self,
        state: State,
        collection: dict[str, Any],
        segment: str,
        label: str,
        factory: Callable[..., Any],
        show: Callable[[Any], dict[str, Any]],
    ) -> None:
        self.state = state
        self.collection = collection
        self.segment = segment
        self.label = label
        self.factory = factory
        self.show = show

    def find(self, id_or_name: str) -> Any:
        """The storage with this id or ``username~name`` (404 otherwise)."""
        return self.state.find_storage(self.collection, id_or_name, self.label)

    def create(self, name: str | None = None, **fields: Any) -> Any:
        """Create a storage (the caller holds the lock)."""
        storage = self.factory(
            name=name, user_id=self.state.user_id, username=self.state.username, **fields
        )
        self.collection[storage.id] = storage
        return storage

    def routes(self) -> list[Route]:
        """The five collection and object routes."""
        base = f'/v2/{self.segment}'
        return [
            ('GET', base, self.list_all),
            ('POST', base, self.get_or_create),
            ('GET', base + '/{storeId}', self.get),
            ('PUT', base + '/{storeId}', self.update),
            ('DELETE', base + '/{storeId}', self.delete),
        ]

    def list_all(self, call: Call) -> Reply:
        unnamed = call.flag('unnamed')
        with self.state.lock:
            found = sorted(self.collection.values(), key=lambda storage: storage.created_at)
            shown = [self.show(storage) for storage in found if unnamed or storage.name]
        return list_reply(call, shown, unnamed=unnamed)

    def get_or_create(self, call: Call) -> Reply:
        name = call.query.get('name') or None
        with self.state.lock:
            if name is not None:
                check_name(name)
                for storage in self.collection.values():
                    if storage.name == name:
                        storage.touch()
                        return data_reply(self.show(storage), 200)
            storage = self.create(name)
            shown = self.show(storage)
        location = f'{call.base_url}/v2/{self.segment}/{storage.id}'
        return data_reply(shown, 201, {'Location': location})

    def get(self, call: Call) -> Reply:
        with self.state.lock:
            storage = self.find(call.params['storeId'])
            storage.touch()
            return data_reply(self.show(storage))

    def update(self, call: Call) -> Reply:
        body = call.json_object()
        with self.state.lock:
            storage = self.find(call.params['storeId'])
            if 'name' in body:
                name = body['name']
                if name is not None:
                    if not isinstance(name, str):
                        raise invalid('Field "name" must be a string or null')
                    check_name(name)
                    for other in self.collection.values():
                        if other.name == name and other is not storage:
                            raise ApiError(
                                409,
                                'name-not-unique',
                                f'{self.label} with name "{name}" already exists',
                            )
                storage.name = name
            storage.touch(write=True)
            return data_reply(self.show(storage))

    def delete(self, call: Call) -> Reply:
        with self.state.lock:
            storage = self.find(call.params['storeId'])
            del self.collection[storage.id]
        return empty_reply()
