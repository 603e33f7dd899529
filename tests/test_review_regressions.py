"""Regression tests for bugs found in review: each reproduced before it was fixed."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from _subprocess import describe, run_script

from actorkit import Actor, Configuration, InvalidStorageArgumentError, Secret

SIGTERM_INSIDE_STORAGE_LOCK = """\
import os
from datetime import timedelta
import signal

from actorkit import actor
from actorkit.storages._local import {module} as module

real = module.{function}
armed = []


def write_then_sigterm(*args):
    # SIGTERM lands while this thread holds the storage's lock, as it does when the platform
    # stops a run in the middle of a push or a set_value.
    result = real(*args)
    if armed:
        armed.clear()
        os.kill(os.getpid(), signal.SIGTERM)
    return result


module.{function} = write_then_sigterm
actor.init()
state = actor.use_state({'pages': 0})
state['pages'] = 42
actor.push_data({'before': True})
armed.append(True)
actor.{call}
print('NOT TERMINATED', flush=True)
"""


@pytest.mark.parametrize(
    ('module', 'function', 'call'),
    [
        ('_key_value_store', 'write_temp_file', 'set_value("OUTPUT", {"done": True})'),
        ('_dataset', 'create_new_file', 'push_data({"during": True})'),
    ],
)
def test_sigterm_inside_a_storage_call_exits_143_and_saves_state(
    tmp_path: Path, module: str, function: str, call: str
) -> None:
    """SIGTERM during a storage write ends the run with 143 and saves state, without hanging."""
    source = (
        SIGTERM_INSIDE_STORAGE_LOCK.replace('{module}', module)
        .replace('{function}', function)
        .replace('{call}', call)
    )
    result = run_script(tmp_path, source, timeout=30)
    assert result.returncode == 143, describe(result)
    assert 'NOT TERMINATED' not in result.stdout
    assert 'did not finish' not in result.stderr, describe(result)
    record = tmp_path / 'storage' / 'key_value_stores' / 'default' / 'APIFY_GLOBAL_STATE'
    assert json.loads(record.read_text(encoding='utf-8')) == {'pages': 42}


def test_interrupt_right_after_the_metadata_replace_propagates_unchanged(
    make_actor: Callable[..., Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A KeyboardInterrupt landing just after a dataset's metadata is replaced stays itself."""
    run = make_actor()
    run.init()
    run.push_data({'a': 1})
    real_replace = os.replace

    def replace_then_interrupt(src: str, dst: str) -> None:
        real_replace(src, dst)
        if str(dst).endswith('__metadata__.json'):
            raise KeyboardInterrupt

    monkeypatch.setattr(os, 'replace', replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        run.push_data({'a': 2})
    monkeypatch.undo()
    assert run.open_dataset().get_data().items == [{'a': 1}, {'a': 2}]


def test_the_input_secrets_private_key_is_hidden() -> None:
    """The input-secrets private key (the key itself, base64 PEM) is a Secret, never shown."""
    key = 'LS0tLS1CRUdJTiBFTkNSWVBURUQgUFJJVkFURSBLRVktLS0tLQ-SECRET'
    config = Configuration.from_env({'APIFY_INPUT_SECRETS_PRIVATE_KEY_FILE': key})
    assert config.input_secrets_private_key_file == key
    assert isinstance(config.input_secrets_private_key_file, Secret)
    assert key not in repr(config)
    assert key not in str(config.to_dict())


def test_fork_while_another_thread_holds_the_event_lock_does_not_hang(tmp_path: Path) -> None:
    """A child forked while a thread holds the event manager's lock starts and ends normally."""
    result = run_script(
        tmp_path,
        """\
        import os
        import threading

        from actorkit import Actor

        run = Actor(exit_process=False)
        run.init()
        held = threading.Event()
        release = threading.Event()

        def hold():
            with run._events._lock:
                held.set()
                release.wait(30)

        holder = threading.Thread(target=hold)
        holder.start()
        held.wait(30)
        child = os.fork()
        if child == 0:
            print('CHILD OK', flush=True)
            os._exit(0)
        release.set()
        holder.join()
        _, status = os.waitpid(child, 0)
        print('CHILD CODE', os.waitstatus_to_exitcode(status), flush=True)
        run.exit()
        """,
        timeout=20,
    )
    assert result.returncode == 0, describe(result)
    assert 'CHILD OK' in result.stdout
    assert 'CHILD CODE 0' in result.stdout


def test_use_state_refuses_a_bad_key_at_once_and_writes_nothing(
    make_actor: Callable[..., Actor], tmp_path: Path
) -> None:
    """use_state() with a key that can never be saved fails at the call, not at every save."""
    run = make_actor()
    run.init()
    with pytest.raises(InvalidStorageArgumentError, match="'bad/key'"):
        run.use_state({'a': 1}, key='bad/key')
    run.exit()
    store = tmp_path / 'storage' / 'key_value_stores' / 'default'
    assert not store.exists() or [path.name for path in store.iterdir()] == ['__metadata__.json']


def test_use_state_refuses_a_default_that_is_not_json(make_actor: Callable[..., Actor]) -> None:
    """A default_value that cannot be saved as JSON gets a clear error naming the state key."""
    run = make_actor()
    run.init()
    with pytest.raises(InvalidStorageArgumentError, match=r'APIFY_GLOBAL_STATE.*not JSON'):
        run.use_state({'seen': {1, 2}})


def test_add_requests_takes_the_official_batch_waiting_arguments(
    make_actor: Callable[..., Actor],
) -> None:
    """add_requests accepts the official SDK's waiting keywords; every request is added anyway."""
    run = make_actor()
    run.init()
    queue = run.open_request_queue()
    urls = [f'https://example.com/{number}' for number in range(5)]
    results = queue.add_requests(
        urls,
        batch_size=2,
        wait_time_between_batches=timedelta(seconds=0),
        wait_for_all_requests_to_be_added=True,
        wait_for_all_requests_to_be_added_timeout=timedelta(seconds=1),
    )
    assert [result.unique_key for result in results] == urls
    assert queue.get_total_count() == 5


SIGTERM_DURING_EXIT = """\
import signal
import threading
import time

from actorkit import Event, _process, actor

def on_exit(data):
    # A slow save, still running when the signal is handled. The signal goes to the main
    # thread, which waits for this listener; one landing just before the main thread blocks
    # is only seen when its wait ends, so it is sent again until the handler has deferred it.
    deadline = time.monotonic() + 10
    while _process._deferred_signal is None and time.monotonic() < deadline:
        signal.pthread_kill(threading.main_thread().ident, signal.SIGTERM)
        time.sleep(0.02)
    print('EXIT LISTENER DONE', data.exit_code, _process._deferred_signal is not None, flush=True)

def on_persist(data):
    print('PERSISTED', flush=True)

actor.on(Event.EXIT, on_exit)
actor.on(Event.PERSIST_STATE, on_persist)
actor.init()
actor.exit()
print('NOT REACHED', flush=True)
"""


def test_sigterm_during_exit_lets_the_sequence_finish_then_exits_143(tmp_path: Path) -> None:
    """A SIGTERM that lands while the main thread runs exit() defers until the sequence ends."""
    result = run_script(tmp_path, SIGTERM_DURING_EXIT)
    assert result.returncode == 143, describe(result)
    assert 'PERSISTED' in result.stdout
    assert 'EXIT LISTENER DONE 0 True' in result.stdout, describe(result)
    assert 'NOT REACHED' not in result.stdout
    assert 'did not finish' not in result.stderr
    assert 'Traceback' not in result.stderr


def test_non_str_dict_keys_are_refused_and_nothing_is_written(
    make_actor: Callable[..., Actor], tmp_path: Path
) -> None:
    """An item or record with a non-str dict key is refused instead of silently stringified."""
    actor = make_actor()
    actor.init()
    with pytest.raises(InvalidStorageArgumentError, match=r'key of type int \(1\)'):
        actor.push_data([{'ok': True}, {'nested': {1: 'a'}}])
    with pytest.raises(InvalidStorageArgumentError, match='key of type tuple'):
        actor.set_value('RECORD', {'a': [{(1, 2): 'x'}]})
    dataset = tmp_path / 'storage' / 'datasets' / 'default'
    assert not list(dataset.glob('0*.json'))
    assert not (tmp_path / 'storage' / 'key_value_stores' / 'default' / 'RECORD').exists()
    actor.exit()
