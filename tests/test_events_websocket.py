"""The platform's events websocket: each event end to end, drops, close codes, pings, init."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from actorkit import (
    AbortingData,
    Actor,
    Configuration,
    Event,
    ExitData,
    MigratingData,
    PersistStateData,
    SystemInfoData,
)
from actorkit.events._websocket import (
    EventsConnectionError,
    MalformedFrameError,
    PlatformEventSource,
    backoff_delay,
    parse_frame,
)
from actorkit.testing import FakePlatform
from tests._subprocess import script_env, write_script

READER = 'actorkit-events-ws'


class Recorder:
    """Collects listener calls (payload and thread) and lets a test wait for them."""

    def __init__(self) -> None:
        self.calls: list[tuple[Event, Any, str]] = []
        self._cond = threading.Condition()

    def listener(self, event: Event) -> Callable[[Any], None]:
        def record(data: Any) -> None:
            with self._cond:
                self.calls.append((event, data, threading.current_thread().name))
                self._cond.notify_all()

        return record

    def listen(self, actor: Actor, *events: Event) -> None:
        for event in events or tuple(Event):
            actor.on(event, self.listener(event))

    def wait_for(self, event: Event, count: int = 1, timeout: float = 10.0) -> list[Any]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.of(event)) >= count, timeout), (
                f'{event.name} seen {len(self.of(event))} times, wanted {count}: {self.calls}'
            )
            return self.of(event)

    def of(self, event: Event) -> list[Any]:
        return [data for seen, data, _ in self.calls if seen is event]


MakeHomeActor = Callable[..., tuple[Actor, str]]


@pytest.fixture
def home_actor(platform: FakePlatform) -> Iterator[MakeHomeActor]:
    """Build Actors at home on the fake platform (not yet initialized); exit them after."""
    made: list[Actor] = []

    def make(**env_overrides: str) -> tuple[Actor, str]:
        env = platform.run_env(memory_mbytes=8192)  # APIFY_DEDICATED_CPUS=2
        env['APIFY_PERSIST_STATE_INTERVAL_MILLIS'] = '600000'
        env.update(env_overrides)
        actor = Actor(
            config=Configuration.from_env(env),
            configure_logging=False,
            exit_process=False,
            event_listeners_timeout=5,
        )
        made.append(actor)
        return actor, env['ACTOR_RUN_ID']

    yield make
    for actor in made:
        actor.exit(event_listeners_timeout=1)


def _reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == READER]


def _wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, 'the condition did not hold in time'
        threading.Event().wait(0.01)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port: int = sock.getsockname()[1]
    return port


# -- each event, end to end ---------------------------------------------------------------------


def test_platform_events_reach_listeners_with_their_payloads(
    platform: FakePlatform, home_actor: MakeHomeActor
) -> None:
    """persistState, systemInfo, migrating, aborting and exit frames become the events."""
    actor, run_id = home_actor()
    recorder = Recorder()
    recorder.listen(actor)
    actor.init()
    platform.wait_for_events_connection(run_id)

    platform.send_event(run_id, 'persistState', {'isMigrating': False})
    assert recorder.wait_for(Event.PERSIST_STATE) == [PersistStateData(is_migrating=False)]

    platform.send_event(
        run_id,
        'systemInfo',
        {
            'cpuCurrentUsage': 150.0,
            'cpuAvgUsage': 100,
            'cpuMaxUsage': 200,
            'memCurrentBytes': 1000,
            'memAvgBytes': 900,
            'memMaxBytes': 2000,
            'isCpuOverloaded': True,
            'createdAt': '2026-01-02T03:04:05.678Z',
        },
    )
    assert recorder.wait_for(Event.SYSTEM_INFO) == [
        SystemInfoData(
            created_at=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc),
            cpu_current_usage=0.75,  # 150 % over 2 dedicated CPUs
            cpu_avg_usage=0.5,
            cpu_max_usage=1.0,
            mem_current_bytes=1000,
            mem_avg_bytes=900,
            mem_max_bytes=2000,
            is_cpu_overloaded=True,
        )
    ]

    platform.send_event(run_id, 'migrating', {'timeRemainingSecs': 30})
    assert recorder.wait_for(Event.MIGRATING) == [
        MigratingData(time_remaining=timedelta(seconds=30))
    ]
    persisted = recorder.wait_for(Event.PERSIST_STATE, 2)
    assert persisted[1] == PersistStateData(is_migrating=True)

    platform.send_event(run_id, 'aborting')
    assert recorder.wait_for(Event.ABORTING) == [AbortingData()]
    assert recorder.wait_for(Event.PERSIST_STATE, 3)[2] == PersistStateData(is_migrating=False)

    platform.send_event(run_id, 'exit', {'exitCode': 3, 'statusMessage': 'bye'})
    assert recorder.wait_for(Event.EXIT) == [
        ExitData(exit_code=3, status_message='bye', timeout=timedelta(seconds=5))
    ]
    assert actor.is_running, 'a platform exit event is only delivered, as in the official SDK'
    threads = {thread for _, _, thread in recorder.calls}
    assert READER not in threads
    assert all(name.startswith('actorkit-callback-') for name in threads)


def test_migrating_persists_once_stops_the_timer_and_the_run_goes_on(
    platform: FakePlatform, home_actor: MakeHomeActor
) -> None:
    """MIGRATING gives one PERSIST_STATE(is_migrating) and ends the periodic timer only."""
    actor, run_id = home_actor(APIFY_PERSIST_STATE_INTERVAL_MILLIS='20')
    recorder = Recorder()
    recorder.listen(actor, Event.PERSIST_STATE, Event.MIGRATING, Event.SYSTEM_INFO)
    actor.init()
    recorder.wait_for(Event.PERSIST_STATE, 2)  # the periodic timer runs at home too
    assert not [t for t in threading.enumerate() if t.name == 'actorkit-system-info']
    timer = next(t for t in threading.enumerate() if t.name == 'actorkit-persist-state')

    platform.send_event(run_id, 'migrating', {'timeRemainingSecs': 10})
    platform.send_event(run_id, 'persistState', {'isMigrating': True})
    recorder.wait_for(Event.MIGRATING)
    timer.join(5)
    assert not timer.is_alive()
    platform.send_event(run_id, 'systemInfo', {'cpuCurrentUsage': 1, 'memCurrentBytes': 1})
    recorder.wait_for(Event.SYSTEM_INFO)  # the reader goes on after the migrating frame
    actor.event_manager.wait_for_all_listeners_to_complete(timeout=5)
    assert recorder.of(Event.PERSIST_STATE).count(PersistStateData(is_migrating=True)) == 1
    assert actor.is_running


def test_raising_and_blocking_listeners_stop_no_later_event(
    platform: FakePlatform, home_actor: MakeHomeActor, caplog: pytest.LogCaptureFixture
) -> None:
    """A listener that raises and one that blocks delay no other listener or event."""
    actor, run_id = home_actor()
    release = threading.Event()
    recorder = Recorder()

    def raises(data: SystemInfoData) -> None:
        raise RuntimeError('listener bug')

    def blocks(data: SystemInfoData) -> None:
        release.wait(10)

    actor.on(Event.SYSTEM_INFO, raises)
    actor.on(Event.SYSTEM_INFO, blocks)
    recorder.listen(actor, Event.SYSTEM_INFO, Event.ABORTING)
    actor.init()
    platform.wait_for_events_connection(run_id)
    try:
        for usage in (10, 20, 30):
            platform.send_event(
                run_id, 'systemInfo', {'cpuCurrentUsage': usage, 'memCurrentBytes': 5}
            )
            recorder.wait_for(Event.SYSTEM_INFO, usage // 10)
        platform.send_event(run_id, 'aborting')
        recorder.wait_for(Event.ABORTING)
    finally:
        release.set()
    assert [round(d.cpu_current_usage, 3) for d in recorder.of(Event.SYSTEM_INFO)] == [
        0.05,
        0.1,
        0.15,
    ]
    assert 'listener bug' in caplog.text or 'raises' in caplog.text


def test_exit_called_from_a_listener_ends_the_run_and_the_reader(
    platform: FakePlatform, home_actor: MakeHomeActor
) -> None:
    """actor.exit() in an ABORTING listener runs the exit sequence and stops the reader."""
    actor, run_id = home_actor()
    exited = threading.Event()
    recorder = Recorder()
    recorder.listen(actor, Event.EXIT)

    def on_abort() -> None:
        actor.exit(status_message='aborted by the platform')
        exited.set()

    actor.on(Event.ABORTING, on_abort)
    actor.init()
    platform.wait_for_events_connection(run_id)
    platform.send_event(run_id, 'aborting')
    assert exited.wait(10)
    assert not actor.is_running
    assert recorder.of(Event.EXIT)[0].status_message == 'aborted by the platform'
    for thread in _reader_threads():
        thread.join(5)
    assert not _reader_threads()
    _wait_until(lambda: not platform.events_connections(run_id))


def test_graceful_abort_through_the_api_sends_aborting_and_persist_state(
    platform: FakePlatform, home_actor: MakeHomeActor
) -> None:
    """POST /abort?gracefully=true reaches the run's process as aborting + persistState."""
    from actorkit.client import ApifyClient

    actor, run_id = home_actor()
    recorder = Recorder()
    recorder.listen(actor, Event.ABORTING, Event.PERSIST_STATE)
    actor.init()
    platform.wait_for_events_connection(run_id)
    ApifyClient(platform.token, api_url=platform.api_url).run(run_id).abort(gracefully=True)
    assert recorder.wait_for(Event.ABORTING) == [AbortingData()]
    # One from the ABORTING rule, one from the platform's own persistState frame.
    assert recorder.wait_for(Event.PERSIST_STATE, 2) == [PersistStateData(is_migrating=False)] * 2
    assert platform.run(run_id)['status'] == 'ABORTING'


def test_a_subprocess_at_home_gets_migrating_and_is_interrupted_on_abort(
    platform: FakePlatform, tmp_path: Path
) -> None:
    """A real run process: migrating reaches its listeners; a graceful abort interrupts it."""
    from actorkit.client import ApifyClient

    env = platform.run_env()
    run_id = env['ACTOR_RUN_ID']
    script = write_script(
        tmp_path,
        """
        import sys
        import threading
        from actorkit import Event, actor

        lock = threading.Lock()

        def say(*words):
            with lock:
                sys.stdout.write(' '.join(map(str, words)) + '\\n')
                sys.stdout.flush()

        actor.on(Event.MIGRATING, lambda d: say('migrating', d.time_remaining.seconds))
        actor.on(Event.PERSIST_STATE, lambda d: say('persist', d.is_migrating))
        actor.on(Event.ABORTING, lambda: say('aborting'))
        with actor:
            try:
                threading.Event().wait(60)
            except KeyboardInterrupt:
                say('interrupted')
        """,
    )
    process = subprocess.Popen(
        [sys.executable, str(script)],
        env=script_env(tmp_path, {**env, 'ACTORKIT_INTERRUPT_ON_ABORT': '1'}),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        platform.wait_for_events_connection(run_id, timeout=30)
        platform.send_event(run_id, 'migrating', {'timeRemainingSecs': 25})
        ApifyClient(platform.token, api_url=platform.api_url).run(run_id).abort(gracefully=True)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, err
    lines = out.splitlines()
    assert 'migrating 25' in lines
    assert 'persist True' in lines
    assert 'aborting' in lines
    assert 'interrupted' in lines
    assert lines.count('persist True') == 1


# -- frames that are not events -----------------------------------------------------------------


def test_cpu_info_unknown_and_malformed_frames_are_skipped(
    platform: FakePlatform, home_actor: MakeHomeActor, caplog: pytest.LogCaptureFixture
) -> None:
    """cpuInfo and unknown names are ignored, malformed frames logged; the next event arrives."""
    actor, run_id = home_actor()
    recorder = Recorder()
    recorder.listen(actor)
    caplog.set_level(logging.DEBUG, logger='actorkit.events')
    actor.init()
    platform.wait_for_events_connection(run_id)
    platform.send_event(run_id, 'cpuInfo', {'isCpuOverloaded': False})
    platform.send_event(run_id, 'somethingNew', {'x': 1})
    platform.send_event(run_id, 'systemInfo', 'not an object')
    platform.send_event(run_id, 'persistState', {'isMigrating': 'yes'})
    platform.send_event(run_id, 'systemInfo', {'memCurrentBytes': 1})
    platform.send_event(run_id, 'aborting')
    recorder.wait_for(Event.ABORTING)
    assert recorder.wait_for(Event.PERSIST_STATE) == [PersistStateData(is_migrating=False)]
    actor.event_manager.wait_for_all_listeners_to_complete(timeout=5)
    assert recorder.of(Event.SYSTEM_INFO) == []
    skipped = [r for r in caplog.records if 'malformed frame' in r.getMessage()]
    assert len(skipped) == 3
    assert 'deprecated cpuInfo' in caplog.text
    assert "unknown platform event 'somethingNew'" in caplog.text
    assert len(platform.events_connections(run_id)) == 1


@pytest.mark.parametrize(
    'frame',
    [
        'not json',
        b'\xff\xfe',
        '[1, 2]',
        '{"data": {}}',
        '{"name": 5}',
        '{"name": "migrating", "data": {"timeRemainingSecs": "soon"}}',
        '{"name": "exit", "data": {"exitCode": "1"}}',
        '{"name": "systemInfo", "data": {"cpuCurrentUsage": 1, "memCurrentBytes": 1,'
        ' "isCpuOverloaded": "no"}}',
    ],
)
def test_parse_frame_refuses_what_the_platform_does_not_send(frame: str | bytes) -> None:
    """Frames that are not the platform's event shapes are malformed."""
    with pytest.raises(MalformedFrameError):
        parse_frame(frame, dedicated_cpus=1, exit_timeout=1)


def test_parse_frame_takes_frames_without_data() -> None:
    """A frame without data gets the payload's defaults."""
    assert parse_frame('{"name": "migrating"}', dedicated_cpus=1, exit_timeout=1) == (
        Event.MIGRATING,
        MigratingData(time_remaining=None),
    )
    assert parse_frame('{"name": "persistState"}', dedicated_cpus=1, exit_timeout=1) == (
        Event.PERSIST_STATE,
        PersistStateData(is_migrating=False),
    )


# -- drops, close codes, pings ------------------------------------------------------------------


def test_a_tcp_drop_reconnects_and_later_events_arrive(
    platform: FakePlatform, home_actor: MakeHomeActor
) -> None:
    """After the TCP connection drops, the reader reconnects and gets the next event."""
    actor, run_id = home_actor()
    recorder = Recorder()
    recorder.listen(actor, Event.MIGRATING)
    actor.init()
    platform.wait_for_events_connection(run_id)
    first = platform.events_connections(run_id)[0].number
    started = time.monotonic()
    assert platform.drop_events_connection(run_id) == 1
    platform.wait_for_events_connection(run_id)
    assert time.monotonic() - started < 5  # first retry within 1 s (generous bound)
    assert platform.events_connections(run_id)[0].number > first
    assert platform.send_event(run_id, 'migrating', {'timeRemainingSecs': 1}) == 1
    recorder.wait_for(Event.MIGRATING)


@pytest.mark.parametrize('code', [1000, 1001, 1011])
def test_other_close_codes_reconnect(
    platform: FakePlatform, home_actor: MakeHomeActor, code: int
) -> None:
    """A close frame with a code the platform may recover from is followed by a reconnect."""
    actor, run_id = home_actor()
    recorder = Recorder()
    recorder.listen(actor, Event.ABORTING)
    actor.init()
    platform.wait_for_events_connection(run_id)
    platform.drop_events_connection(run_id, close_code=code)
    platform.wait_for_events_connection(run_id)
    platform.send_event(run_id, 'aborting')
    recorder.wait_for(Event.ABORTING)


@pytest.mark.parametrize('code', [1002, 1003, 1007, 1008, 1010])
def test_permanent_close_codes_end_the_reader_with_one_error(
    platform: FakePlatform,
    home_actor: MakeHomeActor,
    caplog: pytest.LogCaptureFixture,
    code: int,
) -> None:
    """Close codes 1002, 1003, 1007, 1008 and 1010 are logged once and never reconnected."""
    actor, run_id = home_actor()
    actor.init()
    platform.wait_for_events_connection(run_id)
    (reader,) = _reader_threads()
    platform.drop_events_connection(run_id, close_code=code)
    reader.join(10)
    assert not reader.is_alive()
    assert platform.events_connections(run_id) == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert f'code {code}' in errors[0].getMessage()
    assert actor.is_running
    actor.exit()


def test_pings_keep_the_connection_in_both_directions() -> None:
    """With short ping intervals both sides ping and answer, and the connection stays."""
    with FakePlatform(events_ping_interval=0.02) as platform:
        env = platform.run_env()
        env['ACTORKIT_EVENTS_PING_INTERVAL_SECS'] = '0.02'
        env['ACTORKIT_EVENTS_PING_TIMEOUT_SECS'] = '2'
        actor = Actor(config=Configuration.from_env(env), configure_logging=False)
        run_id = env['ACTOR_RUN_ID']
        actor.init()
        try:
            platform.wait_for_events_connection(run_id)
            (first,) = platform.events_connections(run_id)

            def pinged() -> bool:
                (now,) = platform.events_connections(run_id)
                assert now.number == first.number, 'the connection was replaced'
                return now.pings_received >= 5 and now.pongs_received >= 5

            _wait_until(pinged)
        finally:
            actor.exit()


def test_a_connection_that_stops_answering_pings_is_replaced(
    platform: FakePlatform, home_actor: MakeHomeActor
) -> None:
    """A half-open connection (no pongs) is dropped after the ping timeout and reopened."""
    actor, run_id = home_actor(
        ACTORKIT_EVENTS_PING_INTERVAL_SECS='0.05', ACTORKIT_EVENTS_PING_TIMEOUT_SECS='0.2'
    )
    recorder = Recorder()
    recorder.listen(actor, Event.MIGRATING)
    actor.init()
    platform.wait_for_events_connection(run_id)
    (first,) = platform.events_connections(run_id)
    assert platform.stall_events_connection(run_id) == 1

    def replaced() -> bool:
        return any(c.number > first.number for c in platform.events_connections(run_id))

    _wait_until(replaced)
    platform.send_event(run_id, 'migrating')
    recorder.wait_for(Event.MIGRATING)


def test_exit_closes_the_socket_and_joins_the_reader(
    platform: FakePlatform, home_actor: MakeHomeActor
) -> None:
    """exit() closes the connection and the reader thread ends within the exit deadline."""
    actor, run_id = home_actor()
    actor.init()
    platform.wait_for_events_connection(run_id)
    (reader,) = _reader_threads()
    started = time.monotonic()
    actor.exit(event_listeners_timeout=2)
    assert time.monotonic() - started < 2.5
    assert not reader.is_alive()
    _wait_until(lambda: not platform.events_connections(run_id))


def test_exit_during_the_reconnect_backoff_is_prompt(platform: FakePlatform) -> None:
    """A reader waiting to reconnect stops at once when the Actor exits."""
    events_platform = FakePlatform().start()
    events_run = events_platform.start_run()
    env = platform.run_env()
    env['ACTOR_EVENTS_WEBSOCKET_URL'] = events_platform.environment(events_run)[
        'ACTOR_EVENTS_WEBSOCKET_URL'
    ]
    actor = Actor(config=Configuration.from_env(env), configure_logging=False)
    actor.init()
    events_platform.wait_for_events_connection(events_run)
    (reader,) = _reader_threads()
    events_platform.stop()  # every reconnect is refused now
    started = time.monotonic()
    actor.exit(event_listeners_timeout=2)
    assert time.monotonic() - started < 2.5
    assert not reader.is_alive()


# -- the first connection ------------------------------------------------------------------------


@pytest.mark.parametrize('where', ['closed port', 'wrong path'])
def test_init_fails_clearly_when_the_events_websocket_is_unreachable(
    platform: FakePlatform, where: str
) -> None:
    """init() raises an error naming the URL, without its token, and starts nothing."""
    env = platform.run_env()
    if where == 'closed port':
        url = f'ws://127.0.0.1:{_closed_port()}/runs/x?token=s3cr3t-t0ken'
    else:
        base = env['ACTOR_EVENTS_WEBSOCKET_URL'].rsplit('/runs/', 1)[0]
        url = f'{base}/elsewhere?token=s3cr3t-t0ken'
    env['ACTOR_EVENTS_WEBSOCKET_URL'] = url
    actor = Actor(config=Configuration.from_env(env), configure_logging=False)
    with pytest.raises(EventsConnectionError) as caught:
        actor.init()
    message = str(caught.value)
    assert url.split('?')[0] in message
    assert 'ACTOR_EVENTS_WEBSOCKET_URL' in message
    assert 's3cr3t-t0ken' not in message
    assert caught.value.__cause__ is None
    assert isinstance(caught.value, RuntimeError)
    assert not actor.is_running
    assert not [t for t in threading.enumerate() if t.name.startswith('actorkit-persist')]


def test_the_legacy_variable_name_is_read(platform: FakePlatform) -> None:
    """APIFY_ACTOR_EVENTS_WS_URL works as ACTOR_EVENTS_WEBSOCKET_URL."""
    env = platform.run_env()
    env['APIFY_ACTOR_EVENTS_WS_URL'] = env.pop('ACTOR_EVENTS_WEBSOCKET_URL')
    actor = Actor(config=Configuration.from_env(env), configure_logging=False)
    actor.init()
    try:
        platform.wait_for_events_connection(env['ACTOR_RUN_ID'])
    finally:
        actor.exit()


def test_the_source_repr_hides_the_token() -> None:
    """A source's repr shows the URL without query values or password."""
    source = PlatformEventSource('ws://user:pw@127.0.0.1:9/runs/r?token=s3cr3t')
    assert 's3cr3t' not in repr(source)
    assert 'pw' not in repr(source)
    assert '127.0.0.1:9/runs/r' in repr(source)


def test_reconnect_delays_start_under_a_second_double_and_are_capped() -> None:
    """The first retry comes within 1 s; later ones double up to a cap, with jitter."""
    first = [backoff_delay(0) for _ in range(200)]
    assert all(0 < delay <= 1.0 for delay in first)
    assert len(set(first)) > 1  # jittered
    assert max(backoff_delay(3) for _ in range(200)) <= 8 * max(first) * 2
    assert all(backoff_delay(1000) <= 30.0 for _ in range(200))
    assert min(backoff_delay(1000) for _ in range(200)) >= 15.0


def test_reconnects_never_log_the_token_of_the_url(
    platform: FakePlatform, caplog: pytest.LogCaptureFixture
) -> None:
    """A URL with a token in its query is connected to, and no log line shows the token."""
    caplog.set_level(logging.DEBUG)
    env = platform.run_env()
    env['ACTOR_EVENTS_WEBSOCKET_URL'] += '?token=s3cr3t-t0ken'
    run_id = env['ACTOR_RUN_ID']
    actor = Actor(config=Configuration.from_env(env), configure_logging=False)
    actor.init()
    platform.wait_for_events_connection(run_id)
    platform.drop_events_connection(run_id)
    platform.wait_for_events_connection(run_id)
    actor.exit()
    assert 'reconnected' in caplog.text
    assert 's3cr3t-t0ken' not in caplog.text
