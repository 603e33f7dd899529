"""The local request queue: unique keys, order, locks, persistence and the official file format."""

from __future__ import annotations

import base64
import gc
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from actorkit import InvalidStorageArgumentError, StorageError
from actorkit.storages._local import _journal
from actorkit.storages._local._request_queue import JOURNAL_FILE, LocalRequestQueueClient
from actorkit.storages._request_models import ProcessedRequest, Request
from actorkit.storages._request_queue import RequestQueue
from actorkit.storages._serialization import dump_json
from actorkit.storages._urls import compute_unique_key, normalize_url
from tests._queues import queue_client

QUEUE_ID = 'Q1w2E3r4T5y6U7i8O'
CREATED = '2026-01-02 03:04:05.678900+00:00'


def write_official_metadata(directory: Path, **counts: int) -> None:
    """Write a request queue __metadata__.json as the official SDK does."""
    metadata = {
        'id': QUEUE_ID,
        'name': None,
        'accessed_at': CREATED,
        'created_at': CREATED,
        'modified_at': CREATED,
        'had_multiple_clients': False,
        'handled_request_count': counts.get('handled', 0),
        'pending_request_count': counts.get('pending', 0),
        'total_request_count': counts.get('total', 0),
    }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / '__metadata__.json').write_text(json.dumps(metadata, indent=2), encoding='utf-8')


def official_request_file(
    unique_key: str, url: str, *, handled_at: str | None = None, **fields: Any
) -> str:
    """Return a request file's text exactly as crawlee 1.11 writes it."""
    content = {
        'unique_key': unique_key,
        'url': url,
        'method': fields.get('method', 'GET'),
        'payload': fields.get('payload'),
        'headers': fields.get('headers', {}),
        'user_data': fields.get('user_data', {}),
        'retry_count': fields.get('retry_count', 0),
        'no_retry': False,
        'loaded_url': fields.get('loaded_url'),
        'handled_at': handled_at,
    }
    return json.dumps(content, indent=2, ensure_ascii=False)


def file_name(unique_key: str) -> str:
    """The request file name per storage-layout.md: sha256 hex digest, 15 characters."""
    return hashlib.sha256(unique_key.encode()).hexdigest()[:15] + '.json'


def platform_id(unique_key: str) -> str:
    """The request id: base64 of sha256 without +/=, 15 characters."""
    encoded = base64.b64encode(hashlib.sha256(unique_key.encode()).digest()).decode()
    return encoded.replace('+', '').replace('/', '').replace('=', '')[:15]


@pytest.fixture
def queue_dir(tmp_path: Path) -> Path:
    directory = tmp_path / 'storage' / 'request_queues' / 'default'
    write_official_metadata(directory)
    return directory


@pytest.fixture
def open_queue(queue_dir: Path) -> Iterator[Callable[..., RequestQueue]]:
    clients: list[LocalRequestQueueClient] = []

    def open_(**kwargs: Any) -> RequestQueue:
        client = queue_client(queue_dir, **kwargs)
        clients.append(client)
        return RequestQueue(client)

    yield open_
    for client in clients:
        if not client._dropped and not client._closed:
            client.close()


@pytest.fixture
def queue(open_queue: Callable[..., RequestQueue]) -> RequestQueue:
    return open_queue()


def metadata_file(directory: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / '__metadata__.json').read_text(encoding='utf-8'))
    return data


def drain(queue: RequestQueue) -> list[str]:
    """Fetch and handle every waiting request; return the unique keys in fetch order."""
    keys = []
    while (request := queue.fetch_next_request()) is not None:
        keys.append(request.unique_key)
        queue.mark_request_as_handled(request)
    return keys


# --- URLs, unique keys, ids -----------------------------------------------------------------

# (url, normalize_url(url), normalize_url(url, keep_url_fragment=True)), produced by crawlee 1.11.
CRAWLEE_NORMALIZED = [
    (
        'HTTPS://Example.COM/Path/?b=2&a=1&utm_source=x#Frag',
        'https://example.com/path?a=1&b=2',
        'https://example.com/path?a=1&b=2#frag',
    ),
    ('https://example.com/', 'https://example.com', 'https://example.com'),
    ('https://example.com/?', 'https://example.com', 'https://example.com'),
    (
        'https://example.com:443/a/b/../c/./d',
        'https://example.com/a/c/d',
        'https://example.com/a/c/d',
    ),
    (
        'http://example.com:8080/a%2Fb%3F?q=a+b%2Bc&q=%zz&empty',
        'http://example.com:8080/a/b%3f?empty=&q=%25zz&q=a+b%2bc',
        'http://example.com:8080/a/b%3f?empty=&q=%25zz&q=a+b%2bc',
    ),
    (
        'https://bücher.de/ä/%FF?ä=ö ü',
        'https://xn--bcher-kva.de/%c3%a4/%25ff?%c3%a4=%c3%b6+%c3%bc',
        'https://xn--bcher-kva.de/%c3%a4/%25ff?%c3%a4=%c3%b6+%c3%bc',
    ),
    ('http://[::FFFF:1.2.3.4]:80/x/', 'http://[::ffff:102:304]/x', 'http://[::ffff:102:304]/x'),
    (
        'https://User:P%40ss@example.com/?Z=1&a=2&UTM_x=3&utm_y=4',
        'https://user:p%40ss@example.com/?utm_x=3&z=1&a=2',
        'https://user:p%40ss@example.com/?utm_x=3&z=1&a=2',
    ),
    (
        'https://example.com/a;b=c?x=1;y=2&&z',
        'https://example.com/a;b=c?x=1%3by%3d2&z=',
        'https://example.com/a;b=c?x=1%3by%3d2&z=',
    ),
    (
        '  https://example.com/~user/%41  ',
        'https://example.com/~user/a',
        'https://example.com/~user/a',
    ),
]


@pytest.mark.parametrize(('url', 'expected', 'expected_with_fragment'), CRAWLEE_NORMALIZED)
def test_normalize_url_matches_crawlee(
    url: str, expected: str, expected_with_fragment: str
) -> None:
    """normalize_url gives the same result as crawlee 1.11 for tricky URLs."""
    assert normalize_url(url) == expected
    assert normalize_url(url, keep_url_fragment=True) == expected_with_fragment


def test_extended_unique_key_matches_crawlee() -> None:
    """The extended unique key hashes method, whitelisted headers and payload as crawlee does."""
    key = compute_unique_key(
        'https://example.com/post/',
        method='post',
        payload='{"x": 1}',
        headers={'Content-Type': 'application/json', 'X-Other': 'ignored'},
        use_extended_unique_key=True,
    )
    assert key == 'POST|60d83e70|613fe5aa|https://example.com/post'
    plain = compute_unique_key(
        'https://example.com/post/', method='PUT', use_extended_unique_key=True
    )
    assert plain == 'PUT|e3b0c442|e3b0c442|https://example.com/post'
    assert compute_unique_key('https://example.com/post/', method='POST') == (
        'https://example.com/post'
    )


@pytest.mark.parametrize(
    ('url', 'reason'),
    [
        ('example.com/page', 'no scheme'),
        ('ftp://example.com/file', "scheme 'ftp'"),
        ('mailto:someone@example.com', 'scheme'),
        ('https:/example.com', '"//"'),
        ('https://', 'host is missing'),
        ('http://exa mple.com/', 'forbidden character'),
        ('https://example.com:99999/', 'port'),
        ('https://[::1/', 'IPv6'),
        ('https://example.com/\ud800', 'surrogate'),
    ],
)
def test_invalid_urls_are_rejected_with_the_reason(url: str, reason: str) -> None:
    """A URL that is not absolute http(s) raises an error that says why."""
    with pytest.raises(InvalidStorageArgumentError, match='not a valid absolute') as info:
        normalize_url(url)
    assert reason in str(info.value)


def test_ids_and_file_names_follow_the_documented_hashes(
    queue: RequestQueue, queue_dir: Path
) -> None:
    """The request id is base64(sha256)[:15] and the file name sha256 hex[:15] of the unique key."""
    result = queue.add_request('https://Example.com/A/')
    unique_key = 'https://example.com/a'
    assert result == ProcessedRequest(
        id=platform_id(unique_key),
        unique_key=unique_key,
        was_already_present=False,
        was_already_handled=False,
    )
    assert (queue_dir / file_name(unique_key)).is_file()


# --- adding ---------------------------------------------------------------------------------


def test_added_request_file_matches_the_official_format(
    queue: RequestQueue, queue_dir: Path
) -> None:
    """A request file holds the official fields, order and formatting (indent 2, no newline)."""
    queue.add_request(
        {
            'url': 'https://example.com/ü?q=ä ö',
            'userData': {'label': 'DETAIL', 'n': [1, 2.5, None]},
            'headers': {'accept': 'text/html'},
        }
    )
    unique_key = 'https://example.com/%c3%bc?q=%c3%a4+%c3%b6'
    text = (queue_dir / file_name(unique_key)).read_text(encoding='utf-8')
    assert text == official_request_file(
        unique_key,
        'https://example.com/ü?q=ä ö',
        headers={'accept': 'text/html'},
        user_data={'label': 'DETAIL', 'n': [1, 2.5, None]},
    )


def test_duplicate_requests_are_reported_and_change_nothing(
    queue: RequestQueue, queue_dir: Path
) -> None:
    """Adding a request whose unique key is present reports it and leaves the file alone."""
    queue.add_request({'url': 'https://example.com/a', 'user_data': {'v': 1}})
    path = queue_dir / file_name('https://example.com/a')
    before = path.read_bytes()
    again = queue.add_request({'url': 'https://EXAMPLE.com/a/', 'user_data': {'v': 2}})
    assert again.was_already_present
    assert not again.was_already_handled
    assert path.read_bytes() == before
    results = queue.add_requests(['https://example.com/b', 'https://example.com/b'])
    assert [r.was_already_present for r in results] == [False, True]
    assert queue.get_total_count() == 2
    request = queue.fetch_next_request()
    assert request is not None
    queue.mark_request_as_handled(request)
    handled = queue.add_request('https://example.com/a')
    assert handled.was_already_present
    assert handled.was_already_handled


def test_a_dict_request_takes_every_documented_field(queue: RequestQueue) -> None:
    """A dict sets unique key, method, payload, headers, user data, label and retry fields."""
    result = queue.add_request(
        {
            'url': 'https://example.com/api',
            'uniqueKey': 'my-key',
            'method': 'post',
            'payload': b'{"q": 1}',
            'headers': {'content-type': 'application/json'},
            'user_data': {'a': 1},
            'label': 'API',
            'retryCount': 2,
            'no_retry': True,
        }
    )
    assert result.unique_key == 'my-key'
    request = queue.get_request(result.id)
    assert request is not None
    assert (request.method, request.payload, request.retry_count, request.no_retry) == (
        'POST',
        '{"q": 1}',
        2,
        True,
    )
    assert request.headers == {'content-type': 'application/json'}
    assert request.user_data == {'a': 1, 'label': 'API'}


def test_unique_key_options_of_a_dict_are_applied(queue: RequestQueue) -> None:
    """keep_url_fragment and use_extended_unique_key shape the default unique key."""
    with_fragment = queue.add_request(
        {'url': 'https://example.com/#top', 'keep_url_fragment': True}
    )
    assert with_fragment.unique_key == 'https://example.com/#top'
    extended = queue.add_request(
        {'url': 'https://example.com/', 'method': 'PUT', 'use_extended_unique_key': True}
    )
    assert extended.unique_key == 'PUT|e3b0c442|e3b0c442|https://example.com'


@pytest.mark.parametrize(
    ('request_value', 'message'),
    [
        ('not a url', 'not a valid absolute'),
        ({'unique_key': 'k'}, 'has no "url"'),
        ({'url': 'https://example.com', 'unique_key': 5}, 'unique_key must be a str'),
        ({'url': 'https://example.com', 'unique_key': ''}, 'unique_key must not be empty'),
        ({'url': 'https://example.com', 'method': 'FETCH'}, "method 'FETCH' is not an HTTP"),
        ({'url': 'https://example.com', 'headers': {'a': 1}}, "headers['a'] must be a str"),
        ({'url': 'https://example.com', 'user_data': {'x': object()}}, 'stored as JSON'),
        ({'url': 'https://example.com', 'retry_count': -1}, 'retry_count must be an int >= 0'),
        ({'url': 'https://example.com', 'colour': 'red'}, "unknown key 'colour'"),
        ({'url': 'https://example.com', 'userData': {}, 'user_data': {}}, 'twice'),
        ({'url': 'https://example.com', 'id': 'wrong'}, 'does not belong'),
        (42, 'must be a URL str, a dict'),
        (
            Request(url='https://example.com', unique_key='k', id='bad'),
            'does not belong to its unique key',
        ),
    ],
)
def test_bad_requests_raise_clear_errors_and_write_nothing(
    queue: RequestQueue, queue_dir: Path, request_value: Any, message: str
) -> None:
    """Invalid input raises InvalidStorageArgumentError naming the field; no file is written."""
    with pytest.raises(InvalidStorageArgumentError, match='request') as info:
        queue.add_request(request_value)
    assert message in str(info.value)
    assert sorted(p.name for p in queue_dir.iterdir() if p.name != JOURNAL_FILE) == [
        '__metadata__.json'
    ]


def test_one_bad_request_in_a_list_stops_the_whole_list(
    queue: RequestQueue, queue_dir: Path
) -> None:
    """add_requests checks every request first and names the index of the bad one."""
    with pytest.raises(InvalidStorageArgumentError, match=r'requests\[2\]\.url'):
        queue.add_requests(['https://example.com/1', 'https://example.com/2', {'url': 'nope'}])
    assert queue.get_total_count() == 0
    assert [path.name for path in queue_dir.glob('*.json')] == ['__metadata__.json']


@pytest.mark.parametrize(
    ('kwargs', 'message'),
    [
        ({'forefront': 1}, 'forefront must be True or False'),
        ({'batch_size': 0}, 'batch_size must be an int >= 1'),
        ({'batch_size': 2.5}, 'batch_size must be an int >= 1'),
    ],
)
def test_bad_add_arguments_are_rejected(
    queue: RequestQueue, kwargs: dict[str, Any], message: str
) -> None:
    """Invalid forefront or batch_size values raise before anything is written."""
    with pytest.raises(InvalidStorageArgumentError, match=message):
        queue.add_requests(['https://example.com/'], **kwargs)
    assert queue.get_total_count() == 0


def test_a_single_request_passed_to_add_requests_is_rejected(queue: RequestQueue) -> None:
    """A bare URL string given to add_requests is an error, not a list of characters."""
    with pytest.raises(InvalidStorageArgumentError, match='add_request'):
        queue.add_requests('https://example.com/')  # a str is an iterable of str to mypy


def test_large_lists_are_added_in_batches(queue: RequestQueue, queue_dir: Path) -> None:
    """add_requests splits a list into batches and returns one result per request."""
    results = queue.add_requests([f'https://example.com/{i}' for i in range(250)], batch_size=100)
    assert len(results) == 250
    assert [r.unique_key for r in results[:2]] == ['https://example.com/0', 'https://example.com/1']
    assert len(list(queue_dir.glob('*.json'))) == 251
    assert metadata_file(queue_dir)['total_request_count'] == 250


# --- fetching, handling, reclaiming ---------------------------------------------------------


def test_regular_requests_come_out_first_in_first_out(queue: RequestQueue) -> None:
    """Requests added without forefront are fetched in the order they were added."""
    urls = [f'https://example.com/{i}' for i in range(5)]
    queue.add_requests(urls[:3])
    queue.add_request(urls[3])
    queue.add_requests(urls[4:])
    assert drain(queue) == urls


def test_forefront_requests_come_first_newest_first(queue: RequestQueue) -> None:
    """Forefront requests precede regular ones, the last added first, as in the official SDK."""
    queue.add_requests(['https://example.com/r1', 'https://example.com/r2'])
    queue.add_request('https://example.com/f1', forefront=True)
    queue.add_request('https://example.com/f2', forefront=True)
    queue.add_request('https://example.com/r2', forefront=True)  # a waiting request moves up
    assert drain(queue) == [
        'https://example.com/r2',
        'https://example.com/f2',
        'https://example.com/f1',
        'https://example.com/r1',
    ]


def test_fetched_requests_are_in_progress_until_handled(queue: RequestQueue) -> None:
    """A fetched request is not served again; is_empty and is_finished follow its state."""
    assert queue.is_empty()
    assert queue.is_finished()
    queue.add_requests(['https://example.com/1', 'https://example.com/2'])
    assert not queue.is_empty()
    first = queue.fetch_next_request()
    second = queue.fetch_next_request()
    assert first is not None
    assert second is not None
    assert first.unique_key != second.unique_key
    assert queue.fetch_next_request() is None
    assert queue.is_empty()
    assert not queue.is_finished()
    queue.mark_request_as_handled(first)
    queue.mark_request_as_handled(second)
    assert queue.is_finished()


def test_marking_handled_writes_handled_at_and_counts(queue: RequestQueue, queue_dir: Path) -> None:
    """mark_request_as_handled sets handled_at in the file and updates the metadata counts."""
    queue.add_requests(['https://example.com/1', 'https://example.com/2'])
    request = queue.fetch_next_request()
    assert request is not None
    result = queue.mark_request_as_handled(request)
    assert result == ProcessedRequest(
        id=request.id,
        unique_key=request.unique_key,
        was_already_present=True,
        was_already_handled=True,
    )
    assert request.handled_at is not None
    stored = json.loads((queue_dir / file_name(request.unique_key)).read_text(encoding='utf-8'))
    assert stored['handled_at'] == str(request.handled_at)
    assert ' ' in stored['handled_at']  # str(datetime), as the official SDK writes it
    metadata = metadata_file(queue_dir)
    assert list(metadata) == [
        'id',
        'name',
        'accessed_at',
        'created_at',
        'modified_at',
        'had_multiple_clients',
        'handled_request_count',
        'pending_request_count',
        'total_request_count',
    ]
    assert metadata['created_at'] == CREATED
    assert (
        metadata['handled_request_count'],
        metadata['pending_request_count'],
        metadata['total_request_count'],
    ) == (1, 1, 2)
    assert (queue.get_handled_count(), queue.get_total_count()) == (1, 2)


def test_requests_not_in_progress_cannot_be_handled_or_reclaimed(
    queue: RequestQueue, caplog: pytest.LogCaptureFixture
) -> None:
    """Handling or reclaiming a request that was not fetched returns None with a warning."""
    queue.add_request('https://example.com/1')
    request = queue.get_request(platform_id('https://example.com/1'))
    assert request is not None
    with caplog.at_level(logging.WARNING, logger='actorkit.storages'):
        assert queue.mark_request_as_handled(request) is None
        assert queue.reclaim_request(request) is None
    assert 'not in progress' in caplog.text
    assert queue.get_handled_count() == 0
    with pytest.raises(InvalidStorageArgumentError, match='takes the Request'):
        queue.mark_request_as_handled('https://example.com/1')  # type: ignore[arg-type]


def test_reclaimed_requests_keep_their_changes_and_go_back(
    queue: RequestQueue, queue_dir: Path
) -> None:
    """reclaim_request saves retry_count and user_data and queues the request at the end."""
    queue.add_requests(['https://example.com/1', 'https://example.com/2'])
    request = queue.fetch_next_request()
    assert request is not None
    request.retry_count += 1
    request.user_data['error'] = 'timeout'
    result = queue.reclaim_request(request)
    assert result is not None
    assert not result.was_already_handled
    stored = json.loads((queue_dir / file_name(request.unique_key)).read_text(encoding='utf-8'))
    assert (stored['retry_count'], stored['user_data']) == (1, {'error': 'timeout'})
    second = queue.fetch_next_request()
    again = queue.fetch_next_request()
    assert second is not None
    assert again is not None
    assert (second.unique_key, again.unique_key) == ('https://example.com/2', request.unique_key)
    assert again.retry_count == 1


def test_reclaiming_to_the_forefront_serves_the_request_next(queue: RequestQueue) -> None:
    """reclaim_request(forefront=True) puts the request before all waiting ones."""
    queue.add_requests([f'https://example.com/{i}' for i in range(3)])
    request = queue.fetch_next_request()
    assert request is not None
    queue.reclaim_request(request, forefront=True)
    assert drain(queue)[0] == request.unique_key


def test_get_request_finds_by_id_or_unique_key(queue: RequestQueue) -> None:
    """get_request accepts the request id (or a unique key) and returns None when unknown."""
    added = queue.add_request({'url': 'https://example.com/x', 'user_data': {'k': 'v'}})
    by_id = queue.get_request(added.id)
    assert by_id is not None
    assert by_id.user_data == {'k': 'v'}
    assert by_id.id == added.id
    assert queue.get_request('https://example.com/x') == by_id
    assert queue.get_request('nothing-here') is None


def test_metadata_names_the_queue(queue: RequestQueue) -> None:
    """get_metadata and the id/name properties describe the queue."""
    metadata = queue.get_metadata()
    assert (queue.id, queue.name, metadata.id, metadata.name) == (QUEUE_ID, None, QUEUE_ID, None)
    assert metadata.created_at == datetime(2026, 1, 2, 3, 4, 5, 678900, tzinfo=timezone.utc)
    assert 'Q1w2E3r4T5y6U7i8O' in repr(queue)


# --- persistence and crash repair -----------------------------------------------------------


def test_order_and_handled_state_survive_a_new_client(
    open_queue: Callable[..., RequestQueue],
) -> None:
    """A new client over the same folder sees the same order, forefront and handled state."""
    first = open_queue()
    first.add_requests([f'https://example.com/{i}' for i in range(4)])
    first.add_request('https://example.com/front', forefront=True)
    request = first.fetch_next_request()
    assert request is not None
    first.mark_request_as_handled(request)
    second = open_queue()
    assert (second.get_handled_count(), second.get_total_count()) == (1, 5)
    assert drain(second) == [f'https://example.com/{i}' for i in range(4)]


def test_a_live_clients_requests_stay_locked_and_a_closed_ones_return(
    open_queue: Callable[..., RequestQueue],
) -> None:
    """In-progress requests of an open client are respected; a closed client's return."""
    first = open_queue()
    first.add_requests(['https://example.com/1', 'https://example.com/2'])
    taken = first.fetch_next_request()
    assert taken is not None
    second = open_queue()
    other = second.fetch_next_request()
    assert other is not None
    assert other.unique_key == 'https://example.com/2'
    assert second.fetch_next_request() is None
    first.client.close()  # type: ignore[attr-defined]
    again = second.fetch_next_request()
    assert again is not None
    assert again.unique_key == taken.unique_key


def test_a_closed_clients_requests_return_to_their_place(
    open_queue: Callable[..., RequestQueue],
) -> None:
    """Closing a client puts the requests it held back where they waited, not at the end."""
    first = open_queue()
    first.add_requests([f'https://example.com/{n}' for n in range(4)])
    held = [first.fetch_next_request(), first.fetch_next_request()]
    assert all(request is not None for request in held)
    first.client.close()  # type: ignore[attr-defined]
    first.client.close()  # type: ignore[attr-defined]  # a second close does nothing
    assert drain(open_queue()) == [f'https://example.com/{n}' for n in range(4)]


def folder_state(directory: Path) -> dict[str, tuple[int, bytes]]:
    """Every file of a folder with its modification time and content."""
    return {
        path.name: (path.stat().st_mtime_ns, path.read_bytes())
        for path in sorted(directory.iterdir())
    }


def test_opening_and_reading_a_queue_writes_nothing(
    open_queue: Callable[..., RequestQueue], queue_dir: Path
) -> None:
    """A second client's open and reads leave every file of the queue folder untouched."""
    first = open_queue()
    first.add_requests([f'https://example.com/{n}' for n in range(5)])
    handled = first.fetch_next_request()
    assert handled is not None
    first.mark_request_as_handled(handled)
    assert first.fetch_next_request() is not None  # one in progress
    before = folder_state(queue_dir)

    def read_everything(queue: RequestQueue) -> None:
        metadata = queue.get_metadata()
        assert (metadata.handled_request_count, metadata.total_request_count) == (1, 5)
        assert not queue.is_empty()
        assert not queue.is_finished()
        assert (queue.get_handled_count(), queue.get_total_count()) == (1, 5)
        assert queue.get_request(handled.id) is not None

    second = open_queue()
    read_everything(second)
    assert folder_state(queue_dir) == before

    first.add_request('https://example.com/5')  # the second client reads another's events
    before = folder_state(queue_dir)
    metadata = second.get_metadata()
    assert (metadata.total_request_count, metadata.had_multiple_clients) == (6, True)
    assert folder_state(queue_dir) == before

    with open(queue_dir / JOURNAL_FILE, 'ab') as journal:
        journal.write(b'["h","https://exa')  # a torn line of a crashed writer
    before = folder_state(queue_dir)
    third = open_queue()
    assert third.get_total_count() == 6
    assert second.get_handled_count() == 1
    assert folder_state(queue_dir) == before


def test_metadata_counts_follow_the_changes_of_two_clients(
    open_queue: Callable[..., RequestQueue], queue_dir: Path
) -> None:
    """A change that brings the counts back to what a client last wrote is still written."""
    first, second = open_queue(), open_queue()
    for n, queue in enumerate([first, second, first, second]):
        queue.add_request(f'https://example.com/{n}')  # first last wrote a total of 3
    assert metadata_file(queue_dir)['total_request_count'] == 4
    (queue_dir / file_name('https://example.com/3')).unlink()
    assert [first.fetch_next_request() is not None for _ in range(4)] == [True] * 3 + [False]
    assert metadata_file(queue_dir)['total_request_count'] == 3  # /3 is forgotten


def test_compaction_bounds_the_journal_under_churn(
    open_queue: Callable[..., RequestQueue], queue_dir: Path
) -> None:
    """Re-adding waiting requests to the front again and again keeps the journal short."""
    queue = open_queue()
    keys = [f'https://example.com/{n}' for n in range(50)]
    queue.add_requests(keys)
    for _ in range(60):  # 3,000 journal events
        queue.add_requests(keys, forefront=True)
    lines = (queue_dir / JOURNAL_FILE).read_bytes().splitlines()
    bound = _journal.COMPACT_MIN_LINES + _journal.COMPACT_FACTOR * (len(keys) + 1) + len(keys)
    assert len(lines) <= bound
    assert drain(open_queue()) == list(reversed(keys))


def test_compaction_happens_when_requests_are_added_fetched_and_handled(
    open_queue: Callable[..., RequestQueue], queue_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crawl's journal (3 events per request) is compacted as it grows, and stays right."""
    monkeypatch.setattr(_journal, 'COMPACT_MIN_LINES', 30)  # a thousand requests, scaled down
    queue = open_queue()
    count = 120
    longest = 0
    for n in range(count):
        queue.add_request(f'https://example.com/{n}')
        request = queue.fetch_next_request()
        assert request is not None
        queue.mark_request_as_handled(request)
        longest = max(longest, len((queue_dir / JOURNAL_FILE).read_bytes().splitlines()))
    assert longest <= 30 + _journal.COMPACT_FACTOR * (count + 2) + 3
    assert longest < 3 * count  # it was compacted
    reopened = open_queue()
    assert (reopened.get_handled_count(), reopened.get_total_count()) == (count, count)
    assert reopened.is_finished()


def test_a_garbage_collected_clients_requests_return(
    open_queue: Callable[..., RequestQueue], queue_dir: Path
) -> None:
    """Dropping the last reference to a client frees its requests (an in-process restart)."""
    client = queue_client(queue_dir)
    first = RequestQueue(client)
    first.add_request('https://example.com/1')
    assert first.fetch_next_request() is not None
    del first, client
    gc.collect()
    assert drain(open_queue()) == ['https://example.com/1']


def test_locks_expire_when_lock_expiry_is_set(open_queue: Callable[..., RequestQueue]) -> None:
    """With lock_expiry, another consumer may take a request held too long by a live client."""
    first = open_queue(lock_expiry=0.05)
    first.add_request('https://example.com/1')
    assert first.fetch_next_request() is not None
    second = open_queue()
    assert second.fetch_next_request() is None
    deadline = time.monotonic() + 10
    taken = None
    while taken is None and time.monotonic() < deadline:
        taken = second.fetch_next_request()
    assert taken is not None
    assert taken.unique_key == 'https://example.com/1'


def test_lock_expiry_must_be_positive(queue_dir: Path) -> None:
    """A zero or negative lock_expiry is rejected."""
    with pytest.raises(ValueError, match='lock_expiry'):
        queue_client(queue_dir, lock_expiry=0)


def append_lock(queue_dir: Path, unique_key: str, pid: int, create_time: float) -> None:
    """Append an in-progress lock to the journal, as a client in process ``pid`` writes it."""
    line = json.dumps(['l', unique_key, pid, create_time, 'someone', None]) + '\n'
    with open(queue_dir / JOURNAL_FILE, 'a', encoding='utf-8') as journal:
        journal.write(line)


def test_a_lock_of_another_live_process_is_respected(
    open_queue: Callable[..., RequestQueue], queue_dir: Path
) -> None:
    """A request locked by a live process (pid and start time match) is not served."""
    import psutil

    queue = open_queue()
    queue.add_requests(['https://example.com/1', 'https://example.com/2'])
    parent = psutil.Process(os.getppid())
    append_lock(queue_dir, 'https://example.com/1', parent.pid, parent.create_time())
    assert drain(queue) == ['https://example.com/2']
    assert not queue.is_finished()


def test_a_lock_of_a_recycled_pid_is_free(
    open_queue: Callable[..., RequestQueue], queue_dir: Path
) -> None:
    """A lock whose pid now belongs to a process started at another time counts as free."""
    import psutil

    queue = open_queue()
    queue.add_requests(['https://example.com/1', 'https://example.com/2'])
    parent = psutil.Process(os.getppid())
    append_lock(queue_dir, 'https://example.com/1', parent.pid, parent.create_time() - 3600)
    assert drain(queue) == ['https://example.com/1', 'https://example.com/2']


def test_a_request_whose_file_says_handled_is_not_served_again(
    open_queue: Callable[..., RequestQueue], queue_dir: Path
) -> None:
    """A crash between writing handled_at and the journal is repaired on the next fetch."""
    first = open_queue()
    first.add_requests(['https://example.com/1', 'https://example.com/2'])
    request = first.fetch_next_request()
    assert request is not None
    path = queue_dir / file_name(request.unique_key)
    content = json.loads(path.read_text(encoding='utf-8'))
    content['handled_at'] = '2026-01-01 00:00:00+00:00'  # as if the process died right here
    path.write_text(json.dumps(content, indent=2), encoding='utf-8')
    first.client.close()  # type: ignore[attr-defined]
    second = open_queue()
    assert drain(second) == ['https://example.com/2']
    assert second.get_handled_count() == 2


def test_request_files_without_journal_events_are_adopted(
    open_queue: Callable[..., RequestQueue], queue_dir: Path
) -> None:
    """A request file written just before a crash (no journal event yet) is queued on open."""
    first = open_queue()
    first.add_request('https://example.com/1')
    first.client.close()  # type: ignore[attr-defined]
    orphan = official_request_file('https://example.com/2', 'https://example.com/2')
    (queue_dir / file_name('https://example.com/2')).write_text(orphan, encoding='utf-8')
    second = open_queue()
    assert second.get_total_count() == 2
    assert drain(second) == ['https://example.com/1', 'https://example.com/2']
    assert metadata_file(queue_dir)['handled_request_count'] == 2


def test_a_torn_journal_line_is_cut(
    open_queue: Callable[..., RequestQueue], queue_dir: Path
) -> None:
    """A partial last line left by a writer killed mid-write is dropped, and appends continue."""
    first = open_queue()
    first.add_requests(['https://example.com/1', 'https://example.com/2'])
    first.client.close()  # type: ignore[attr-defined]
    with open(queue_dir / JOURNAL_FILE, 'ab') as journal:
        journal.write(b'["h","https://exa')
    second = open_queue()
    assert drain(second) == ['https://example.com/1', 'https://example.com/2']
    lines = (queue_dir / JOURNAL_FILE).read_bytes().splitlines()
    assert all(json.loads(line) for line in lines)


def test_requests_whose_files_were_deleted_are_forgotten(
    open_queue: Callable[..., RequestQueue], queue_dir: Path
) -> None:
    """Deleting request files (e.g. the official SDK's purge) is reflected in the counts."""
    first = open_queue()
    first.add_requests(['https://example.com/1', 'https://example.com/2', 'https://example.com/3'])
    (queue_dir / file_name('https://example.com/1')).unlink()
    assert drain(first) == ['https://example.com/2', 'https://example.com/3']
    (queue_dir / file_name('https://example.com/3')).unlink()
    second = open_queue()
    assert (second.get_total_count(), second.get_handled_count()) == (1, 1)
    assert metadata_file(queue_dir)['total_request_count'] == 1


def test_a_compacted_journal_keeps_the_state(
    open_queue: Callable[..., RequestQueue],
    queue_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the journal is compacted, this client and others keep order, locks and handled state."""
    monkeypatch.setattr(_journal, 'COMPACT_MIN_LINES', 0)
    first = open_queue()
    other = open_queue()
    first.add_requests([f'https://example.com/{i}' for i in range(12)])
    held = other.fetch_next_request()
    assert held is not None
    inode = os.stat(queue_dir / JOURNAL_FILE).st_ino
    for _ in range(11):  # churn: each fetch and reclaim appends two lines
        request = first.fetch_next_request()
        assert request is not None
        first.reclaim_request(request)
    handled = drain(first)
    assert os.stat(queue_dir / JOURNAL_FILE).st_ino != inode  # it was rewritten
    assert handled == [f'https://example.com/{i}' for i in range(1, 12)]
    assert (other.get_handled_count(), other.get_total_count()) == (11, 12)
    assert not other.is_finished()
    other.mark_request_as_handled(held)
    assert first.is_finished()


def test_another_client_appending_marks_multiple_clients(
    open_queue: Callable[..., RequestQueue], queue_dir: Path
) -> None:
    """had_multiple_clients turns true on another client's changes; the next change writes it."""
    first = open_queue()
    second = open_queue()
    first.add_request('https://example.com/1')
    assert not metadata_file(queue_dir)['had_multiple_clients']
    assert second.get_total_count() == 1
    assert second.get_metadata().had_multiple_clients
    assert not metadata_file(queue_dir)['had_multiple_clients']  # reading never writes
    second.add_request('https://example.com/2')
    assert metadata_file(queue_dir)['had_multiple_clients']
    assert first.get_metadata().had_multiple_clients


# --- official SDK compatibility -------------------------------------------------------------


def write_official_queue(queue_dir: Path, keys: list[str], handled: set[str]) -> None:
    """Write request files as crawlee 1.11 does, with no actorkit journal."""
    for index, key in enumerate(keys):
        path = queue_dir / file_name(key)
        handled_at = '2026-01-02 03:04:06.000001+00:00' if key in handled else None
        path.write_text(official_request_file(key, key, handled_at=handled_at), encoding='utf-8')
        os.utime(path, ns=(1_700_000_000_000_000_000 + index, 1_700_000_000_000_000_000 + index))
    write_official_metadata(
        queue_dir, handled=len(handled), pending=len(keys) - len(handled), total=len(keys)
    )


def test_a_queue_written_by_the_official_sdk_is_read(
    open_queue: Callable[..., RequestQueue], queue_dir: Path
) -> None:
    """Request files alone (no journal) give the requests, handled state and file-time order."""
    keys = [f'https://example.com/{name}' for name in ('c', 'a', 'd', 'b')]
    write_official_queue(queue_dir, keys, handled={'https://example.com/a'})
    queue = open_queue()
    assert (queue.get_total_count(), queue.get_handled_count()) == (4, 1)
    request = queue.fetch_next_request()
    assert request is not None
    assert request.id == platform_id(request.unique_key)
    queue.reclaim_request(request, forefront=True)
    assert drain(queue) == [
        'https://example.com/c',
        'https://example.com/d',
        'https://example.com/b',
    ]


def test_the_official_sdks_saved_order_is_used(
    open_queue: Callable[..., RequestQueue], queue_dir: Path
) -> None:
    """The order saved by the official SDK (__RQ_STATE_<id> in the default store) is followed."""
    keys = [f'https://example.com/{i}' for i in range(4)]
    write_official_queue(queue_dir, keys, handled=set())
    store = queue_dir.parent.parent / 'key_value_stores' / 'default'
    store.mkdir(parents=True)
    state = {
        'sequence_counter': 3,
        'forefront_sequence_counter': 1,
        'forefront_requests': {keys[3]: 0},
        'regular_requests': {keys[2]: 0, keys[0]: 1},
        'in_progress_requests': [keys[0]],
        'handled_requests': [],
    }
    (store / f'__RQ_STATE_{QUEUE_ID}').write_text(json.dumps(state), encoding='utf-8')
    assert drain(open_queue()) == [keys[3], keys[2], keys[0], keys[1]]


def test_camel_case_request_files_are_read(
    open_queue: Callable[..., RequestQueue], queue_dir: Path
) -> None:
    """Request files with camelCase keys (as the platform spells them) are read too."""
    key = 'https://example.com/camel'
    content = {'uniqueKey': key, 'url': key, 'userData': {'x': 1}, 'retryCount': 3}
    (queue_dir / file_name(key)).write_text(json.dumps(content), encoding='utf-8')
    request = open_queue().fetch_next_request()
    assert request is not None
    assert (request.user_data, request.retry_count) == ({'x': 1}, 3)


# --- purge, drop, formatting ----------------------------------------------------------------


def test_purge_deletes_requests_and_resets_counts(
    open_queue: Callable[..., RequestQueue], queue_dir: Path
) -> None:
    """purge() deletes request files and state; other clients see an empty queue."""
    queue = open_queue()
    other = open_queue()
    queue.add_requests(['https://example.com/1', 'https://example.com/2'])
    assert other.fetch_next_request() is not None
    queue.client.purge()  # type: ignore[attr-defined]
    assert sorted(p.name for p in queue_dir.iterdir()) == sorted(
        ['__metadata__.json', JOURNAL_FILE]
    )
    assert metadata_file(queue_dir)['total_request_count'] == 0
    assert other.is_finished()
    assert other.fetch_next_request() is None
    queue.add_request('https://example.com/1')
    assert drain(other) == ['https://example.com/1']


def test_drop_deletes_the_folder_and_disables_the_client(
    open_queue: Callable[..., RequestQueue], queue_dir: Path
) -> None:
    """drop() removes the queue folder; later calls here and in other clients raise."""
    queue = open_queue()
    other = open_queue()
    queue.add_request('https://example.com/1')
    queue.drop()
    assert not queue_dir.exists()
    with pytest.raises(StorageError, match='dropped'):
        queue.fetch_next_request()
    with pytest.raises(StorageError, match='dropped'):
        other.get_total_count()


def test_drop_calls_the_on_drop_callback(queue_dir: Path) -> None:
    """The backend learns that a queue was dropped through on_drop."""
    dropped: list[bool] = []
    client = queue_client(queue_dir, on_drop=lambda: dropped.append(True))
    client.drop()
    assert dropped == [True]


@pytest.mark.parametrize(
    'value',
    [
        {'a': 1, 'b': [1, 2.5, None, True, False, 'ü\n"'], 'c': {}, 'd': [], 'e': {'f': {'g': -3}}},
        {'nan': float('nan'), 'tuple': (1, 2)},
        {1: 'int key'},
        [],
        'text',
    ],
)
def test_fast_json_is_byte_identical_to_json_dumps(value: Any) -> None:
    """Request files are written exactly as json.dumps(indent=2, ensure_ascii=False) writes."""
    assert dump_json(value) == json.dumps(value, indent=2, ensure_ascii=False).encode()


def test_a_fetched_request_is_checked_again_only_where_it_changed(queue: RequestQueue) -> None:
    """Marking re-checks a changed URL, key or id and every handler-editable field."""
    queue.add_requests(['https://example.com/a', 'https://example.com/b', 'https://example.com/c'])
    changed_url = queue.fetch_next_request()
    assert changed_url is not None
    changed_url.url = 'not a url'
    with pytest.raises(InvalidStorageArgumentError, match=r'request\.url'):
        queue.mark_request_as_handled(changed_url)
    changed_id = queue.fetch_next_request()
    assert changed_id is not None
    changed_id.unique_key = 'something else'
    with pytest.raises(InvalidStorageArgumentError, match='does not belong to its unique key'):
        queue.reclaim_request(changed_id)
    bad_data = queue.fetch_next_request()
    assert bad_data is not None
    bad_data.user_data['x'] = float('nan')
    with pytest.raises(InvalidStorageArgumentError, match=r'request\.user_data'):
        queue.mark_request_as_handled(bad_data)
    bad_data.user_data.clear()
    bad_data.loaded_url = 'https://example.com/c/final'
    bad_data.headers = {'X-Y': '1'}
    assert queue.mark_request_as_handled(bad_data) is not None
    assert bad_data.headers == {'x-y': '1'}
    changed_url.url = 'https://example.com/a'
    assert queue.mark_request_as_handled(changed_url) is not None
    assert queue.get_handled_count() == 2
