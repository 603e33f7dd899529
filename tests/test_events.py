"""Events: listeners, the local timers, MIGRATING/ABORTING rules and the exit sequence."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from actorkit import (
    AbortingData,
    Actor,
    Event,
    ExitData,
    MigratingData,
    PersistStateData,
    SystemInfoData,
)
from actorkit._threads import Deadline
from actorkit.testing import emit, wait_for_listeners

MakeActor = Callable[..., Actor]


class Recorder:
    """Collects listener calls and lets a test wait for a number of them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, str]] = []
        self._cond = threading.Condition()

    def listener(self, label: str) -> Callable[[Any], None]:
        def record(data: Any) -> None:
            with self._cond:
                self.calls.append((label, data, threading.current_thread().name))
                self._cond.notify_all()

        return record

    def wait_for(self, label: str, count: int = 1, timeout: float = 10.0) -> list[Any]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.of(label)) >= count, timeout), (
                f'{label} seen {len(self.of(label))} times, wanted {count}'
            )
            return self.of(label)

    def of(self, label: str) -> list[Any]:
        return [data for name, data, _ in self.calls if name == label]


def test_periodic_persist_state_reaches_listeners_off_the_timer_thread(
    make_actor: MakeActor,
) -> None:
    """PERSIST_STATE comes every interval and runs on a callback thread."""
    recorder = Recorder()
    actor = make_actor(persist_state_interval_millis=20)
    actor.on(Event.PERSIST_STATE, recorder.listener('persist'))
    actor.init()
    payloads = recorder.wait_for('persist', 3)
    assert all(p == PersistStateData(is_migrating=False) for p in payloads)
    threads = {thread for label, _, thread in recorder.calls}
    assert all(name.startswith('actorkit-callback-') for name in threads)
    actor.exit()


def test_system_info_is_sampled_locally(make_actor: MakeActor) -> None:
    """SYSTEM_INFO carries CPU ratio, memory bytes and an overload flag from psutil."""
    recorder = Recorder()
    actor = make_actor(system_info_interval_millis=30, max_used_cpu_ratio=0.0)
    actor.on(Event.SYSTEM_INFO, recorder.listener('info'))
    actor.init()
    info = recorder.wait_for('info', 2)[-1]
    assert isinstance(info, SystemInfoData)
    assert info.mem_current_bytes > 1_000_000
    assert info.cpu_current_usage >= 0.0
    assert info.created_at.tzinfo is not None
    assert info.is_cpu_overloaded is (info.cpu_current_usage > 0.0)
    actor.exit()


def test_listeners_take_zero_or_one_argument(make_actor: MakeActor) -> None:
    """A listener without parameters is called without the payload."""
    called = threading.Event()
    got: list[Any] = []
    actor = make_actor()

    def no_args() -> None:
        called.set()

    actor.on(Event.MIGRATING, no_args)
    actor.on(Event.MIGRATING, got.append)
    actor.init()
    emit(Event.MIGRATING, MigratingData(), actor=actor)
    wait_for_listeners(actor=actor)
    assert called.is_set()
    assert got == [MigratingData()]
    actor.exit()


def test_a_listener_needing_two_arguments_is_refused(make_actor: MakeActor) -> None:
    """on() rejects a listener that requires more than one argument, naming it."""
    actor = make_actor()

    def two(a: object, b: object) -> None:
        raise AssertionError

    with pytest.raises(TypeError, match='two'):
        actor.on(Event.PERSIST_STATE, two)
    with pytest.raises(ValueError, match='not an actorkit event'):
        actor.on('nonsense', print)


def test_on_returns_the_listener_and_accepts_event_names(make_actor: MakeActor) -> None:
    """on() returns its listener and takes 'persistState' as well as Event.PERSIST_STATE."""
    actor = make_actor()

    def listener() -> None:
        pass

    assert actor.on('persistState', listener) is listener
    assert actor.on('PERSIST_STATE', listener) is listener


def test_off_removes_one_listener_or_all(make_actor: MakeActor) -> None:
    """off(event, cb) removes that listener; off(event) removes every one."""
    recorder = Recorder()
    actor = make_actor()
    first = actor.on(Event.ABORTING, recorder.listener('first'))
    actor.on(Event.ABORTING, recorder.listener('second'))
    actor.init()
    actor.off(Event.ABORTING, first)
    emit(Event.ABORTING, actor=actor)
    wait_for_listeners(actor=actor)
    assert [label for label, *_ in recorder.calls] == ['second']
    actor.off(Event.ABORTING)
    emit(Event.ABORTING, actor=actor)
    wait_for_listeners(actor=actor)
    assert [label for label, *_ in recorder.calls] == ['second']
    actor.exit()


def test_raising_listener_is_logged_by_name_and_later_events_run(
    make_actor: MakeActor, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception in one listener is logged with its name; others and later events go on."""
    recorder = Recorder()
    actor = make_actor()

    def broken_listener(data: object) -> None:
        raise RuntimeError('listener broke')

    actor.on(Event.MIGRATING, broken_listener)
    actor.on(Event.MIGRATING, recorder.listener('ok'))
    actor.init()
    with caplog.at_level(logging.ERROR, logger='actorkit'):
        emit(Event.MIGRATING, actor=actor)
        emit(Event.MIGRATING, actor=actor)
        wait_for_listeners(actor=actor)
    assert len(recorder.of('ok')) == 2
    assert 'broken_listener' in caplog.text
    assert 'listener broke' in caplog.text
    actor.exit()


def test_slow_listener_does_not_delay_other_events(make_actor: MakeActor) -> None:
    """A listener blocked on one event does not hold back listeners of other events."""
    release = threading.Event()
    started = threading.Event()
    recorder = Recorder()
    actor = make_actor(event_listeners_timeout=5)

    def slow() -> None:
        started.set()
        release.wait(10)

    actor.on(Event.ABORTING, slow)
    actor.on(Event.SYSTEM_INFO, recorder.listener('info'))
    actor.on(Event.PERSIST_STATE, recorder.listener('persist'))
    actor.init()
    emit(Event.ABORTING, actor=actor)
    assert started.wait(5)
    emit(Event.SYSTEM_INFO, actor=actor)
    recorder.wait_for('info')
    recorder.wait_for('persist')  # ABORTING's own PERSIST_STATE ran while slow() blocks
    assert not release.is_set()
    release.set()
    actor.exit()


def test_migrating_persists_once_and_stops_the_timer(make_actor: MakeActor) -> None:
    """After MIGRATING, PERSIST_STATE(is_migrating=True) comes exactly once; the timer stops."""
    recorder = Recorder()
    actor = make_actor(persist_state_interval_millis=20)
    actor.on(Event.PERSIST_STATE, recorder.listener('persist'))
    actor.init()
    recorder.wait_for('persist', 1)
    emit(Event.MIGRATING, MigratingData(), actor=actor)
    emit(Event.MIGRATING, MigratingData(), actor=actor)
    emit(Event.PERSIST_STATE, PersistStateData(is_migrating=True), actor=actor)
    wait_for_listeners(actor=actor)
    migrating_persists = [p for p in recorder.of('persist') if p.is_migrating]
    assert migrating_persists == [PersistStateData(is_migrating=True)]
    ticker_threads = [t for t in threading.enumerate() if t.name == 'actorkit-persist-state']
    for thread in ticker_threads:
        thread.join(5)
        assert not thread.is_alive()
    count = len(recorder.of('persist'))
    wait_for_listeners(actor=actor)
    assert len(recorder.of('persist')) == count
    actor.exit()
    assert recorder.of('persist')[-1] == PersistStateData(is_migrating=False)


def test_aborting_runs_persist_state_listeners(make_actor: MakeActor) -> None:
    """ABORTING schedules PERSIST_STATE so state is saved before the platform kills the run."""
    recorder = Recorder()
    actor = make_actor()
    actor.on(Event.PERSIST_STATE, recorder.listener('persist'))
    actor.on(Event.ABORTING, recorder.listener('abort'))
    actor.init()
    emit(Event.ABORTING, actor=actor)
    wait_for_listeners(actor=actor)
    assert recorder.of('abort') == [AbortingData()]
    assert recorder.of('persist') == [PersistStateData(is_migrating=False)]
    actor.exit()


def test_interrupt_on_abort_raises_keyboard_interrupt_in_the_main_thread(
    make_actor: MakeActor,
) -> None:
    """With interrupt_on_abort, ABORTING interrupts the main thread."""
    actor = make_actor(interrupt_on_abort=True)
    actor.init()
    with pytest.raises(KeyboardInterrupt):
        emit(Event.ABORTING, actor=actor)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            threading.Event().wait(0.01)
    actor.exit()


def test_exit_emits_final_persist_state_then_exit(make_actor: MakeActor) -> None:
    """exit() runs PERSIST_STATE(is_migrating=False) listeners, then EXIT listeners."""
    order: list[str] = []
    lock = threading.Lock()
    actor = make_actor()

    def persist(data: PersistStateData) -> None:
        with lock:
            order.append(f'persist:{data.is_migrating}')

    def on_exit(data: ExitData) -> None:
        with lock:
            order.append(f'exit:{data.exit_code}:{data.status_message}')

    actor.on(Event.PERSIST_STATE, persist)
    actor.on(Event.EXIT, on_exit)
    actor.init()
    actor.exit('All done', exit_code=0)
    assert order == ['persist:False', 'exit:0:All done']
    assert not [t for t in threading.enumerate() if t.name.startswith('actorkit-')]


def test_exit_warns_about_a_listener_that_does_not_finish(
    make_actor: MakeActor, caplog: pytest.LogCaptureFixture
) -> None:
    """exit() waits up to the timeout, then names the listener still running."""
    release = threading.Event()
    actor = make_actor(event_listeners_timeout=0.3)

    def stuck_saver() -> None:
        release.wait(10)

    actor.on(Event.EXIT, stuck_saver)
    actor.init()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger='actorkit'):
        actor.exit()
    assert time.monotonic() - started < 5
    assert 'stuck_saver' in caplog.text
    release.set()


def test_listeners_are_removed_by_exit(make_actor: MakeActor) -> None:
    """A second run does not call the listeners of the first one."""
    recorder = Recorder()
    actor = make_actor()
    actor.on(Event.EXIT, recorder.listener('exit'))
    actor.init()
    actor.exit()
    actor.init()
    actor.exit()
    assert len(recorder.of('exit')) == 1


def test_async_listeners_are_run(make_actor: MakeActor) -> None:
    """A coroutine function listener is awaited on its worker thread."""
    done = threading.Event()
    actor = make_actor()

    async def async_listener(data: object) -> None:
        done.set()

    actor.on(Event.MIGRATING, async_listener)
    actor.init()
    emit(Event.MIGRATING, actor=actor)
    wait_for_listeners(actor=actor)
    assert done.is_set()
    actor.exit()


def test_emit_checks_payload_type_and_running_state(make_actor: MakeActor) -> None:
    """testing.emit refuses a wrong payload, EXIT, and an Actor that is not running."""
    from actorkit import ActorStateError

    actor = make_actor()
    with pytest.raises(ActorStateError, match='not running'):
        emit(Event.MIGRATING, actor=actor)
    actor.init()
    with pytest.raises(TypeError, match='MigratingData'):
        emit(Event.MIGRATING, PersistStateData(), actor=actor)
    with pytest.raises(ValueError, match='exit'):
        emit(Event.EXIT, actor=actor)
    actor.exit()


def test_many_listeners_of_one_event_run_concurrently(make_actor: MakeActor) -> None:
    """Listeners of one event do not wait for each other."""
    barrier = threading.Barrier(3, timeout=10)
    actor = make_actor()
    passed: list[bool] = []

    def meet() -> None:
        barrier.wait()
        passed.append(True)

    for _ in range(3):
        actor.on(Event.MIGRATING, meet)
    actor.init()
    emit(Event.MIGRATING, actor=actor)
    wait_for_listeners(actor=actor)
    assert passed == [True, True, True]
    actor.exit()


def _saved_state(tmp_path: Path) -> Any:
    record = tmp_path / 'storage' / 'key_value_stores' / 'default' / 'APIFY_GLOBAL_STATE'
    return json.loads(record.read_text(encoding='utf-8')) if record.exists() else None


@pytest.mark.parametrize('raised', [SystemExit(3), KeyboardInterrupt(), GeneratorExit()])
def test_a_listener_raising_any_base_exception_stops_no_later_event(
    make_actor: MakeActor,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    raised: BaseException,
) -> None:
    """A listener raising SystemExit (or any BaseException) again and again stops nothing."""
    recorder = Recorder()
    actor = make_actor()

    def exits_the_worker() -> None:
        raise raised

    actor.on(Event.SYSTEM_INFO, exits_the_worker)
    actor.on(Event.MIGRATING, recorder.listener('migrating'))
    actor.init()
    state = actor.use_state({'pages': 0})
    with caplog.at_level(logging.ERROR, logger='actorkit'):
        for _ in range(40):  # more calls than the pool has workers
            emit(Event.SYSTEM_INFO, actor=actor)
            wait_for_listeners(actor=actor)
    assert f'exits_the_worker (listener of SYSTEM_INFO) raised {type(raised).__name__}' in (
        caplog.text
    )
    emit(Event.MIGRATING, actor=actor)
    recorder.wait_for('migrating', timeout=5)
    state['pages'] = 7
    actor.exit()
    assert _saved_state(tmp_path) == {'pages': 7}


def test_a_stuck_listener_holds_back_only_itself(
    make_actor: MakeActor, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A listener that never returns keeps one call running and one waiting, and warns once."""
    release = threading.Event()
    recorder = Recorder()
    actor = make_actor(event_listeners_timeout=0.5)

    def never_returns() -> None:
        release.wait(30)

    actor.on(Event.SYSTEM_INFO, never_returns)
    actor.on(Event.MIGRATING, recorder.listener('migrating'))
    actor.init()
    state = actor.use_state({'pages': 0})
    state['pages'] = 3
    with caplog.at_level(logging.WARNING, logger='actorkit'):
        for _ in range(100):
            emit(Event.SYSTEM_INFO, actor=actor)
        emit(Event.MIGRATING, actor=actor)
        recorder.wait_for('migrating', timeout=5)
        pending = actor._event_manager.wait_idle(Deadline(0))
    release.set()  # the asserts below may fail: never leave the worker stuck
    assert len([name for name in pending if 'never_returns' in name]) == 2, pending
    callbacks = [t for t in threading.enumerate() if t.name.startswith('actorkit-callback-')]
    assert len(callbacks) < 8
    assert caplog.text.count('never_returns') == 1, caplog.text
    # The migration's PERSIST_STATE reached actorkit's own listener, which saved the state.
    deadline = time.monotonic() + 5
    while _saved_state(tmp_path) != {'pages': 3} and time.monotonic() < deadline:
        threading.Event().wait(0.01)
    assert _saved_state(tmp_path) == {'pages': 3}
    actor.exit()


def test_events_merged_into_a_waiting_call_keep_a_migration(make_actor: MakeActor) -> None:
    """A busy PERSIST_STATE listener gets one more call, migrating if any merged one was."""
    busy = threading.Event()
    release = threading.Event()
    seen: list[PersistStateData] = []
    actor = make_actor()

    def slow_saver(data: PersistStateData) -> None:
        seen.append(data)
        busy.set()
        release.wait(10)

    actor.on(Event.PERSIST_STATE, slow_saver)
    actor.init()
    emit(Event.PERSIST_STATE, actor=actor)
    assert busy.wait(5)
    emit(Event.PERSIST_STATE, actor=actor)
    emit(Event.MIGRATING, actor=actor)
    emit(Event.PERSIST_STATE, actor=actor)
    release.set()
    wait_for_listeners(actor=actor)
    assert seen == [PersistStateData(is_migrating=False), PersistStateData(is_migrating=True)]
    actor.exit()
