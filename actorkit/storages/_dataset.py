"""The public dataset: an append-only list of JSON objects (the Actor's results)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from actorkit._errors import InvalidStorageArgumentError
from actorkit.storages._backend import DatasetClient
from actorkit.storages._base import Storage, check_official_open_args
from actorkit.storages._dataset_models import DatasetMetadata, DatasetPage
from actorkit.storages._serialization import EXPORT_CONTENT_TYPES, check_key, export_items

if TYPE_CHECKING:
    from actorkit.storages._key_value_store import KeyValueStore

_log = logging.getLogger('actorkit.storage')

_PAGE = 1000
"""Items per page when iterating through a backend that only pages."""


def _platform_only_options(
    client: object, method: str, unwind: object, flatten: object, view: object
) -> dict[str, Any]:
    """Return the ``unwind``/``flatten``/``view`` options to pass to ``client``.

    A backend that implements them says so with ``supports_item_views = True`` (the platform's
    API). Locally they are ignored with a warning, as the official SDK's local client does.
    """
    given = {
        label: value
        for label, value in (('unwind', unwind), ('flatten', flatten), ('view', view))
        if value is not None and value is not False
    }
    if not given:
        return {}
    if getattr(client, 'supports_item_views', False):
        return given
    _log.warning(
        '%s(): %s only work on the Apify platform and are ignored by local storages; the '
        'items are returned without them',
        method,
        ', '.join(f'{label}={value!r}' for label, value in given.items()),
    )
    return {}


def _check_count(value: object, label: str, *, optional: bool) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        expected = 'a non-negative int or None' if optional else 'a non-negative int'
        raise InvalidStorageArgumentError(f'{label} must be {expected}, got {value!r}')


def _field_list(value: object, label: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):  # the platform's comma-separated form
        return [part.strip() for part in value.split(',') if part.strip()]
    if not isinstance(value, Iterable) or isinstance(value, (bytes, Mapping)):
        raise InvalidStorageArgumentError(
            f'{label} must be a list of field names (or a comma-separated str), got '
            f'{type(value).__name__}'
        )
    names = list(value)
    for name in names:
        if not isinstance(name, str):
            raise InvalidStorageArgumentError(
                f'{label} must hold field names (str), but holds {name!r}'
            )
    return names


PushGate = Callable[[list[Any], Callable[[list[Any]], None], Callable[[], int]], Any]
"""Pushes items through the run's charging: (items, push, item count reader)."""


def _as_items(item_or_items: object) -> list[Any]:
    if isinstance(item_or_items, Mapping):
        return [item_or_items]
    if isinstance(item_or_items, (str, bytes, bytearray)) or not isinstance(
        item_or_items, Iterable
    ):
        raise InvalidStorageArgumentError(
            f'push_data takes a dict or a list of dicts, not {type(item_or_items).__name__}'
        )
    return list(item_or_items)


class Dataset(Storage[DatasetClient]):
    """A dataset: an append-only list of items (JSON objects), such as an Actor's results.

    Open one with ``actor.open_dataset()``. Every method blocks until done and is safe to call
    from any thread (and, locally, from several processes at once); the same dataset opened
    twice is the same object. A push is acknowledged only once its items are stored: locally
    no crash can lose or duplicate an acknowledged item.
    """

    _OPEN_METHOD = 'open_dataset'

    def __init__(
        self,
        client: DatasetClient,
        *,
        open_key_value_store: Callable[..., KeyValueStore] | None = None,
        push_gate: PushGate | None = None,
    ) -> None:
        """Wrap a backend client; use ``actor.open_dataset()`` instead.

        Args:
            client: The backend's client of this dataset.
            open_key_value_store: Opens a key-value store as ``actor.open_key_value_store``
                does (no argument: the default store); :meth:`export_to` writes there.
            push_gate: Pushes through the run's pay-per-event charging (the default dataset
                only): called with the checked items, the push and the item count reader.
        """
        super().__init__(client)
        self._open_store = open_key_value_store
        self._push_gate = push_gate

    @property
    def item_count(self) -> int:
        """How many items the dataset holds now (read from its metadata on every access)."""
        return self._live().get_metadata().item_count

    def push_data(self, data: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> None:
        """Append one item or several items, as one batch.

        Every item is checked before any is written: when one is refused, nothing of the call
        is stored.

        Args:
            data: A dict, or a list, tuple or other iterable of dicts. Values must be
                JSON: dict, list, tuple, str, int, float (not NaN or infinity), bool or None.

        Raises:
            InvalidStorageArgumentError: An item is not a dict or cannot be stored as JSON (the
                message names its index and the offending type).
            StorageLimitError: An item is larger than the platform accepts (9,437,184 bytes of
                JSON); the message names its index and size.
        """
        gate = self._push_gate
        if gate is None:
            self._push_ungated(data)
        else:
            gate(_as_items(data), self._push_ungated, lambda: self.item_count)

    def _push_ungated(self, data: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> None:
        """Push without charging (what :meth:`push_data` does outside pay-per-event runs)."""
        client = self._live()
        items = _as_items(data)
        for index, item in enumerate(items):
            if type(item) is not dict:
                if not isinstance(item, Mapping):
                    raise InvalidStorageArgumentError(
                        f'dataset item {index} is a {type(item).__name__}, not a dict: every '
                        f'item must be a JSON object (a dict); nothing of this push was written'
                    )
                items[index] = dict(item)
        if items:
            client.push_items(items)

    def get_data(
        self,
        *,
        offset: int = 0,
        limit: int | None = None,
        clean: bool = False,
        desc: bool = False,
        fields: Sequence[str] | None = None,
        omit: Sequence[str] | None = None,
        unwind: Sequence[str] | str | None = None,
        skip_empty: bool = False,
        skip_hidden: bool = False,
        flatten: Sequence[str] | str | None = None,
        view: str | None = None,
    ) -> DatasetPage:
        """Return a page of items.

        ``offset`` and ``limit`` count stored items; the filters apply to that slice, so a page
        may hold fewer than ``limit`` items when ``skip_empty`` or ``clean`` drops some (as on
        the platform).

        Args:
            offset: How many items to skip.
            limit: The most items to return (``None``: all).
            clean: Drop hidden fields (names starting with ``#``) and skip empty items.
            desc: Newest items first.
            fields: Keep only these fields, in this order (a list, or a comma-separated str).
            omit: Drop these fields.
            unwind: The platform's unwinding of array fields into items; locally ignored with a
                warning, as by the official SDK.
            skip_empty: Skip items that are empty (after the field filters).
            skip_hidden: Drop hidden fields (names starting with ``#``).
            flatten: The platform's flattening of nested fields; locally ignored with a warning.
            view: A view of the dataset defined by its schema (platform only); locally ignored
                with a warning.

        Returns:
            The page, with ``total`` the number of stored items.

        Raises:
            InvalidStorageArgumentError: ``offset`` or ``limit`` is negative or not an int, or
                ``fields``/``omit`` is not a list of names.
        """
        client = self._live()
        _check_count(offset, 'offset', optional=False)
        _check_count(limit, 'limit', optional=True)
        extra = _platform_only_options(client, 'get_data', unwind, flatten, view)
        return client.get_items(
            offset=offset,
            limit=limit,
            desc=bool(desc),
            fields=_field_list(fields, 'fields'),
            omit=_field_list(omit, 'omit'),
            clean=bool(clean),
            skip_empty=bool(skip_empty),
            skip_hidden=bool(skip_hidden),
            **extra,
        )

    def iterate_items(
        self,
        *,
        offset: int = 0,
        limit: int | None = None,
        clean: bool = False,
        desc: bool = False,
        fields: Sequence[str] | None = None,
        omit: Sequence[str] | None = None,
        unwind: Sequence[str] | str | None = None,
        skip_empty: bool = False,
        skip_hidden: bool = False,
        flatten: Sequence[str] | str | None = None,
        view: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield items one by one, with the same arguments as :meth:`get_data`.

        Args:
            offset: How many items to skip.
            limit: The most items to go through (``None``: all).
            clean: Drop hidden fields and skip empty items.
            desc: Newest items first.
            fields: Keep only these fields, in this order.
            omit: Drop these fields.
            unwind: Platform only; locally ignored with a warning.
            skip_empty: Skip empty items.
            skip_hidden: Drop hidden fields.
            flatten: Platform only; locally ignored with a warning.
            view: Platform only; locally ignored with a warning.

        Yields:
            The items.

        Raises:
            InvalidStorageArgumentError: Bad arguments, as for :meth:`get_data` (raised when
                iteration starts).
        """
        client = self._live()
        _check_count(offset, 'offset', optional=False)
        _check_count(limit, 'limit', optional=True)
        options: dict[str, Any] = {
            'desc': bool(desc),
            'fields': _field_list(fields, 'fields'),
            'omit': _field_list(omit, 'omit'),
            'clean': bool(clean),
            'skip_empty': bool(skip_empty),
            'skip_hidden': bool(skip_hidden),
        }
        extra = _platform_only_options(client, 'iterate_items', unwind, flatten, view)
        iterate = getattr(client, 'iterate_items', None)
        if iterate is not None and not extra:  # the local client reads lazily
            yield from iterate(offset=offset, limit=limit, **options)
            return
        options.update(extra)
        remaining = limit
        while remaining is None or remaining > 0:
            size = _PAGE if remaining is None else min(_PAGE, remaining)
            page = client.get_items(offset=offset, limit=size, **options)
            yield from page.items
            offset += size
            if remaining is not None:
                remaining -= size
            if offset >= page.total:
                return

    def export_to(  # noqa: PLR0917 (the official SDK's positional order)
        self,
        key: str,
        content_type: str = 'json',
        to_kvs_id: str | None = None,
        to_kvs_name: str | None = None,
        to_kvs_storage_client: Any = None,
        to_kvs_configuration: Any = None,
        *,
        to_key_value_store: KeyValueStore | None = None,
        **kwargs: Any,
    ) -> None:
        """Write every item into one record of a key-value store.

        Args:
            key: The record key.
            content_type: ``json`` (an array, indented by 2), ``csv`` (a header of every field
                in first-seen order; nested values as JSON) or ``jsonl`` (one compact object per
                line, stored as ``application/x-ndjson``).
            to_kvs_id: The id of the store to write to.
            to_kvs_name: Or the name of the store to write to. With neither (nor
                ``to_key_value_store``), the default key-value store.
            to_kvs_storage_client: Accepted for the official signature; must be ``None``.
            to_kvs_configuration: Accepted for the official signature; must be ``None``.
            to_key_value_store: Or the store object to write to.
            **kwargs: Options of the writer, as in the official SDK: for ``json`` those of
                ``json.dumps`` (``indent``, ``ensure_ascii``, ``sort_keys``, ``separators``...;
                actorkit's defaults are ``indent=2, ensure_ascii=False``); for ``csv`` those of
                ``csv.writer`` (``delimiter``, ``quotechar``, ``quoting``, ``lineterminator``...),
                ``restval`` (the cell of a missing field, default empty) and
                ``collect_all_keys`` (accepted; every field always gets a column, so no value
                is dropped). ``jsonl`` takes none.

        Raises:
            InvalidStorageArgumentError: Unknown ``content_type`` or writer option, bad key, or
                more than one target store given.
        """
        check_key(key)
        if content_type not in EXPORT_CONTENT_TYPES:
            raise InvalidStorageArgumentError(
                f'unknown export content_type {content_type!r}: use one of '
                f'{", ".join(EXPORT_CONTENT_TYPES)}'
            )
        check_official_open_args(to_kvs_configuration, to_kvs_storage_client)
        targets = [t for t in (to_key_value_store, to_kvs_id, to_kvs_name) if t is not None]
        if len(targets) > 1:
            raise InvalidStorageArgumentError(
                'export_to takes one target store: to_key_value_store, to_kvs_id or to_kvs_name'
            )
        self._live()
        store = to_key_value_store
        if store is None:
            if self._open_store is None:
                raise InvalidStorageArgumentError(
                    'this dataset cannot open key-value stores: pass to_key_value_store'
                )
            store = self._open_store(id=to_kvs_id, name=to_kvs_name)
        body, stored_type = export_items(list(self.iterate_items()), content_type, **kwargs)
        store.set_value(key, body, stored_type)

    def list_items(
        self,
        *,
        offset: int = 0,
        limit: int | None = None,
        clean: bool = False,
        desc: bool = False,
        fields: Sequence[str] | None = None,
        omit: Sequence[str] | None = None,
        unwind: Sequence[str] | str | None = None,
        skip_empty: bool = False,
        skip_hidden: bool = False,
        flatten: Sequence[str] | str | None = None,
        view: str | None = None,
    ) -> list[dict[str, Any]]:
        """Return the items as a list, with the same arguments as :meth:`iterate_items`."""
        return list(
            self.iterate_items(
                offset=offset,
                limit=limit,
                clean=clean,
                desc=desc,
                fields=fields,
                omit=omit,
                unwind=unwind,
                skip_empty=skip_empty,
                skip_hidden=skip_hidden,
                flatten=flatten,
                view=view,
            )
        )

    def purge(self) -> None:
        """Delete every item, keeping the dataset itself (its id, name and folder)."""
        self._live().purge()

    def get_metadata(self) -> DatasetMetadata:
        """Return the dataset's metadata (id, name, timestamps, item count).

        Returns:
            The metadata.
        """
        return self._live().get_metadata()

    def drop(self) -> None:
        """Delete the dataset and all its items; this object is unusable afterwards."""
        self._live().drop()
