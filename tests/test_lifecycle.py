"""The Actor lifecycle inside one process (process exits are in test_process_exit.py)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from actorkit import Actor, ActorStateError, Configuration, Event, ExitData, MigratingData

MakeActor = Callable[..., Actor]


def exits_seen(actor: Actor) -> list[ExitData]:
    seen: list[ExitData] = []
    actor.on(Event.EXIT, seen.append)
    return seen


def test_exit_is_idempotent(make_actor: MakeActor) -> None:
    """A second exit() does nothing and emits no second EXIT."""
    actor = make_actor()
    seen = exits_seen(actor)
    actor.init()
    actor.exit()
    actor.exit()
    actor.fail()
    assert len(seen) == 1
    assert not actor.is_running


def test_init_while_running_is_refused_in_a_script(make_actor: MakeActor) -> None:
    """init() twice raises a clear ActorStateError and leaves the run going."""
    actor = make_actor()
    actor.init()
    with pytest.raises(ActorStateError, match=r'call actor\.exit\(\) first'):
        actor.init()
    assert actor.is_running
    actor.exit()


def test_init_after_exit_starts_a_fresh_run(make_actor: MakeActor) -> None:
    """A second run after exit() works and gets its own events."""
    actor = make_actor()
    actor.init()
    actor.exit(exit_code=2)
    seen = exits_seen(actor)
    actor.init()
    assert actor.is_running
    assert actor.exit_code is None
    actor.exit()
    assert [data.exit_code for data in seen] == [0]


def test_with_block_exits_with_zero(make_actor: MakeActor) -> None:
    """A with block that ends normally exits with code 0."""
    actor = make_actor()
    seen = exits_seen(actor)
    with actor as entered:
        assert entered is actor
        assert actor.is_running
    assert not actor.is_running
    assert seen[0].exit_code == 0


def test_exception_in_with_block_fails_with_91_and_propagates_under_pytest(
    make_actor: MakeActor, caplog: pytest.LogCaptureFixture
) -> None:
    """An escaping exception is logged with its traceback, gives 91, and is re-raised."""
    actor = make_actor()
    seen = exits_seen(actor)
    with caplog.at_level(logging.ERROR, logger='actorkit'), pytest.raises(ZeroDivisionError):
        with actor:
            1 / 0  # noqa: B018
    assert seen[0].exit_code == 91
    assert 'Actor failed with an exception' in caplog.text
    assert 'ZeroDivisionError' in caplog.text


def test_a_set_exit_code_wins_over_91(make_actor: MakeActor) -> None:
    """actor.exit_code set before the exception is the code used."""
    actor = make_actor()
    seen = exits_seen(actor)
    with pytest.raises(KeyError), actor:
        actor.exit_code = 5
        raise KeyError('x')
    assert seen[0].exit_code == 5


def test_system_exit_keeps_its_code(make_actor: MakeActor) -> None:
    """SystemExit inside the block exits the run with its code and propagates."""
    actor = make_actor()
    seen = exits_seen(actor)
    with pytest.raises(SystemExit) as caught, actor:
        raise SystemExit(4)
    assert caught.value.code == 4
    assert seen[0].exit_code == 4


def test_keyboard_interrupt_cleans_up_and_propagates(make_actor: MakeActor) -> None:
    """KeyboardInterrupt runs the exit sequence and propagates unchanged."""
    actor = make_actor()
    seen = exits_seen(actor)
    with pytest.raises(KeyboardInterrupt), actor:
        raise KeyboardInterrupt
    assert len(seen) == 1
    assert not actor.is_running


def test_main_decorator_runs_the_function_inside_a_run(make_actor: MakeActor) -> None:
    """@actor.main inits, calls the function, returns its value and exits."""
    actor = make_actor()
    seen = exits_seen(actor)

    @actor.main
    def main(x: int) -> int:
        assert actor.is_running
        return x * 2

    assert main(21) == 42
    assert main.__name__ == 'main'
    assert seen[0].exit_code == 0


def test_main_decorator_runs_async_functions(make_actor: MakeActor) -> None:
    """@actor.main accepts a coroutine function and runs it to completion."""
    actor = make_actor()

    @actor.main
    async def main() -> str:
        return 'async ok'

    assert main() == 'async ok'


def test_main_decorator_fails_with_91(make_actor: MakeActor) -> None:
    """An exception in the decorated function gives exit code 91."""
    actor = make_actor()
    seen = exits_seen(actor)

    @actor.main
    def main() -> None:
        raise ValueError('bad')

    with pytest.raises(ValueError, match='bad'):
        main()
    assert seen[0].exit_code == 91


def test_fail_logs_the_exception_and_uses_its_code(
    make_actor: MakeActor, caplog: pytest.LogCaptureFixture
) -> None:
    """fail() logs the given exception with its traceback and exits with exit_code."""
    actor = make_actor()
    seen = exits_seen(actor)
    actor.init()
    try:
        raise OSError('disk gone')
    except OSError as exc:
        with caplog.at_level(logging.ERROR, logger='actorkit'):
            actor.fail('Could not write', exit_code=7, exception=exc)
    assert seen[0].exit_code == 7
    assert seen[0].status_message == 'Could not write'
    assert 'disk gone' in caplog.text
    assert 'Traceback' in caplog.text


def test_status_message_is_logged_only_when_it_changes(
    make_actor: MakeActor, caplog: pytest.LogCaptureFixture
) -> None:
    """set_status_message logs a message once, and exit() sets the terminal one."""
    actor = make_actor()
    actor.init()
    with caplog.at_level(logging.INFO, logger='actorkit'):
        actor.set_status_message('Crawled 1 of 2')
        actor.set_status_message('Crawled 1 of 2')
        actor.set_status_message('Crawled 2 of 2')
        actor.exit('Done')
    lines = [r.getMessage() for r in caplog.records if 'Status message' in r.getMessage()]
    assert lines == [
        '[Status message]: Crawled 1 of 2',
        '[Status message]: Crawled 2 of 2',
        '[Status message]: Done (terminal)',
    ]
    assert actor.status_message == 'Done'
    with pytest.raises(TypeError, match='str'):
        actor.set_status_message(3)  # type: ignore[arg-type]


def test_exit_from_another_thread_completes_the_run(make_actor: MakeActor) -> None:
    """exit() called from a worker thread ends the run; no actorkit thread stays alive."""
    actor = make_actor()
    actor.init()
    worker = threading.Thread(target=actor.exit)
    worker.start()
    worker.join(10)
    assert not actor.is_running


def test_exit_from_a_listener_does_not_deadlock(make_actor: MakeActor) -> None:
    """A listener that calls exit() ends the run without waiting for itself."""
    actor = make_actor(event_listeners_timeout=5)
    finished = threading.Event()

    def on_abort() -> None:
        actor.exit()
        finished.set()

    actor.on(Event.ABORTING, on_abort)
    actor.init()
    from actorkit.testing import emit

    emit(Event.ABORTING, actor=actor)
    assert finished.wait(10)
    assert not actor.is_running


def test_config_is_read_lazily_and_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    """actor.config, get_env() and is_at_home() read the environment when first needed."""
    monkeypatch.setenv('APIFY_IS_AT_HOME', '0')
    monkeypatch.setenv('ACTOR_MEMORY_MBYTES', '512')
    monkeypatch.setenv('APIFY_TOKEN', 'secret-abc')
    actor = Actor(configure_logging=False, exit_process=False)
    assert actor.is_at_home() is False
    env: dict[str, Any] = actor.get_env()
    assert env['memory_mbytes'] == 512
    assert 'secret-abc' not in repr(env)
    assert 'secret-abc' not in repr(actor)


def test_explicit_config_is_used(make_actor: MakeActor) -> None:
    """Actor(config=...) uses that configuration, not the environment."""
    actor = Actor(config=Configuration(actor_id='given'), configure_logging=False)
    assert actor.config.actor_id == 'given'


def test_exit_code_must_be_an_int() -> None:
    """Setting exit_code to a non-int is a TypeError."""
    actor = Actor(configure_logging=False)
    with pytest.raises(TypeError, match='int'):
        actor.exit_code = '3'  # type: ignore[assignment]


def test_cleanup_timeout_bounds_the_steps_after_the_listeners(
    make_actor: MakeActor, caplog: pytest.LogCaptureFixture
) -> None:
    """exit(cleanup_timeout=...) gives up on a cleanup step that hangs, and says so."""
    actor = make_actor()
    actor.init()
    actor.push_data({'a': 1})
    storages = actor._storages
    assert storages is not None
    held, release = threading.Event(), threading.Event()

    def hold_the_storage_lock() -> None:
        with storages._lock:
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold_the_storage_lock)
    holder.start()
    assert held.wait(10)
    started = time.monotonic()
    try:
        with caplog.at_level(logging.WARNING, logger='actorkit'):
            # The lock also holds up saving use_state, a listener: bound that wait too.
            actor.exit(event_listeners_timeout=0.2, cleanup_timeout=timedelta(seconds=0.2))
        took = time.monotonic() - started
    finally:
        release.set()
        holder.join(10)
    assert took < 5
    assert not actor.is_running
    assert 'actorkit-close-storages did not finish within the cleanup timeout' in caplog.text


def test_the_official_sdk_names_are_accepted(make_actor: MakeActor) -> None:
    """on/off/exit/fail/set_status_message and event_manager take the official keywords."""
    actor = make_actor()
    called: list[str] = []
    seen = exits_seen(actor)

    def by_event_name() -> None:
        called.append('event_name')

    def by_manager(data: MigratingData) -> None:
        called.append(f'manager:{type(data).__name__}')

    assert actor.on(event_name=Event.MIGRATING, listener=by_event_name) is by_event_name
    actor.init()
    assert actor.configuration is actor.config
    assert actor.event_manager.active
    actor.event_manager.on(event=Event.MIGRATING, listener=by_manager)
    actor.event_manager.emit(event=Event.MIGRATING, event_data=MigratingData())
    actor.event_manager.wait_for_all_listeners_to_complete(timeout=timedelta(seconds=10))
    assert sorted(called) == ['event_name', 'manager:MigratingData']
    actor.off(event_name=Event.MIGRATING, listener=by_event_name)
    actor.event_manager.off(event=Event.MIGRATING, listener=by_manager)
    actor.event_manager.emit(event=Event.MIGRATING, event_data=MigratingData())
    actor.event_manager.wait_for_all_listeners_to_complete()
    assert len(called) == 2
    actor.set_status_message(status_message='Working', is_terminal=None)
    actor.set_status_message(message='Still working')
    assert actor.status_message == 'Still working'
    actor.status_message = 'All done'
    assert actor.log.name == 'actorkit'
    assert actor.is_at_home() is False
    actor.exit(
        exit_code=3,
        event_listeners_timeout=timedelta(seconds=5),
        cleanup_timeout=timedelta(seconds=5),
    )
    assert [(data.exit_code, data.status_message) for data in seen] == [(3, 'All done')]
    assert not actor.event_manager.active


def test_fail_takes_the_official_keywords(make_actor: MakeActor) -> None:
    """fail(exit_code=, exception=, status_message=) works as in the official SDK."""
    actor = make_actor()
    seen = exits_seen(actor)
    actor.init()
    actor.fail(exit_code=4, exception=ValueError('broken'), status_message='Broken input')
    assert [(data.exit_code, data.status_message) for data in seen] == [(4, 'Broken input')]


def test_configuration_is_the_official_name_of_config() -> None:
    """Actor(configuration=...) is Actor(config=...); giving both is refused."""
    config = Configuration(actor_id='given')
    assert Actor(configuration=config, configure_logging=False).config is config
    with pytest.raises(TypeError, match='not both'):
        Actor(config=config, configuration=config)


def test_exit_from_a_persist_state_listener_does_not_wait_for_its_own_next_call(
    make_actor: MakeActor,
) -> None:
    """A PERSIST_STATE listener calling exit() is not made to wait for the final PERSIST_STATE."""
    actor = make_actor(event_listeners_timeout=30)
    finished = threading.Event()

    def save_then_exit() -> None:
        if not finished.is_set():
            actor.exit()
            finished.set()

    actor.on(Event.PERSIST_STATE, save_then_exit)
    actor.init()
    from actorkit.testing import emit

    started = time.monotonic()
    emit(Event.PERSIST_STATE, actor=actor)
    assert finished.wait(20)
    assert time.monotonic() - started < 10  # not the 30 s listener timeout
    assert not actor.is_running


def test_status_messages_are_published_in_order_and_never_after_the_terminal_one() -> None:
    """A message replaced while the publisher was busy is skipped; none follows the terminal."""
    from actorkit._status import StatusMessages

    published: list[tuple[str, bool]] = []
    busy, release = threading.Event(), threading.Event()

    def publish(message: str, is_terminal: bool) -> None:
        if message == 'first':
            busy.set()
            assert release.wait(10)
        published.append((message, is_terminal))

    status = StatusMessages()
    status.start_run(publish)
    first = threading.Thread(target=status.set, args=('first',), kwargs={'is_terminal': False})
    first.start()
    assert busy.wait(10)
    # Set while 'first' is still being sent: 'second' is replaced before its turn comes.
    second = threading.Thread(target=status.set, args=('second',), kwargs={'is_terminal': False})
    second.start()
    deadline = time.monotonic() + 10
    while status.message != 'second' and time.monotonic() < deadline:
        threading.Event().wait(0.005)
    last = threading.Thread(target=status.set, args=('Done',), kwargs={'is_terminal': True})
    last.start()
    while status.message != 'Done' and time.monotonic() < deadline:
        threading.Event().wait(0.005)
    release.set()
    for thread in (first, second, last):
        thread.join(10)
    status.set('too late', is_terminal=False)
    assert published == [('first', False), ('Done', True)]
    assert status.message == 'too late'
