"""Every way an Actor run can end the process, each in a real interpreter.

Scripts print markers to stdout (event listeners print theirs with the pid); the tests assert on
the exit code, stdout and stderr of the finished process.
"""

from __future__ import annotations

import json
import signal
import textwrap
from pathlib import Path

import pytest
from _subprocess import TIMEOUT, describe, run_script, start_script, wait_for_line

PRELUDE = """\
import logging
import os
import signal
import sys
import threading

from actorkit import Actor, ActorStateError, ConfigurationError, Event, actor


def on_persist(data):
    print(f'PERSIST_STATE pid={os.getpid()} migrating={data.is_migrating}', flush=True)


def on_exit(data):
    print(
        f'EXIT pid={os.getpid()} code={data.exit_code} status={data.status_message}',
        flush=True,
    )


"""


def script(body: str) -> str:
    """Return the common imports and listeners followed by ``body`` (dedented)."""
    return PRELUDE + textwrap.dedent(body)


def pids_of(stdout: str, marker: str) -> list[str]:
    """Return the ``pid=`` value of every stdout line starting with ``marker``."""
    return [
        line.split('pid=')[1].split()[0] for line in stdout.splitlines() if line.startswith(marker)
    ]


# -- exit() and fail() -----------------------------------------------------------------------------


def test_exit_ends_the_process_with_code_zero(tmp_path: Path) -> None:
    """actor.exit() ends a plain script with code 0 and skips the code after it."""
    result = run_script(
        tmp_path,
        script("""
            actor.on(Event.EXIT, on_exit)
            actor.init()
            actor.exit()
            print('AFTER EXIT')
        """),
    )
    assert result.returncode == 0, describe(result)
    assert 'EXIT pid=' in result.stdout
    assert 'code=0' in result.stdout
    assert 'AFTER EXIT' not in result.stdout


def test_exit_with_code_ends_the_process_with_that_code(tmp_path: Path) -> None:
    """actor.exit(exit_code=3) ends the process with code 3."""
    result = run_script(
        tmp_path,
        script("""
            actor.on(Event.EXIT, on_exit)
            actor.init()
            actor.exit(exit_code=3)
            print('AFTER EXIT')
        """),
    )
    assert result.returncode == 3, describe(result)
    assert 'code=3' in result.stdout
    assert 'AFTER EXIT' not in result.stdout


def test_exit_with_message_logs_the_terminal_status_message(tmp_path: Path) -> None:
    """actor.exit('msg') logs the terminal status message and passes it to EXIT listeners."""
    result = run_script(
        tmp_path,
        script("""
            actor.on(Event.EXIT, on_exit)
            actor.init()
            actor.exit('all 12 pages done')
        """),
    )
    assert result.returncode == 0, describe(result)
    assert '[Status message]: all 12 pages done (terminal)' in result.stderr
    assert 'status=all 12 pages done' in result.stdout


def test_fail_ends_the_process_with_code_one(tmp_path: Path) -> None:
    """actor.fail() ends the process with code 1."""
    result = run_script(
        tmp_path,
        script("""
            actor.on(Event.EXIT, on_exit)
            actor.init()
            actor.fail()
            print('AFTER FAIL')
        """),
    )
    assert result.returncode == 1, describe(result)
    assert 'code=1' in result.stdout
    assert 'AFTER FAIL' not in result.stdout


def test_fail_with_exception_logs_its_traceback_and_uses_the_code(tmp_path: Path) -> None:
    """actor.fail(exit_code=7, exception=exc) logs exc with its traceback and ends with 7."""
    result = run_script(
        tmp_path,
        script("""
            actor.init()
            try:
                raise ValueError('the page had no title')
            except ValueError as exc:
                actor.fail(exit_code=7, exception=exc)
        """),
    )
    assert result.returncode == 7, describe(result)
    assert 'Actor failed with an exception' in result.stderr
    assert 'Traceback (most recent call last)' in result.stderr
    assert 'ValueError: the page had no title' in result.stderr


# -- exceptions and SystemExit in `with actor:` and @actor.main ------------------------------------


def test_exception_in_with_block_exits_91_with_one_traceback(tmp_path: Path) -> None:
    """An exception escaping `with actor:` ends the process with 91, its traceback logged once."""
    result = run_script(
        tmp_path,
        script("""
            actor.on(Event.EXIT, on_exit)
            with actor:
                raise RuntimeError('scraper broke')
        """),
    )
    assert result.returncode == 91, describe(result)
    assert 'code=91' in result.stdout
    assert result.stderr.count('Actor failed with an exception') == 1, describe(result)
    assert result.stderr.count('Traceback (most recent call last)') == 1, describe(result)
    assert result.stderr.count('RuntimeError: scraper broke') == 1, describe(result)


def test_exception_in_main_function_exits_91_with_one_traceback(tmp_path: Path) -> None:
    """An exception escaping an @actor.main function ends the process with 91, logged once."""
    result = run_script(
        tmp_path,
        script("""
            @actor.main
            def main():
                actor.on(Event.EXIT, on_exit)
                raise RuntimeError('scraper broke')

            main()
            print('AFTER MAIN')
        """),
    )
    assert result.returncode == 91, describe(result)
    assert 'code=91' in result.stdout
    assert 'AFTER MAIN' not in result.stdout
    assert result.stderr.count('Actor failed with an exception') == 1, describe(result)
    assert result.stderr.count('Traceback (most recent call last)') == 1, describe(result)


def test_exception_in_with_block_uses_the_exit_code_set_before(tmp_path: Path) -> None:
    """actor.exit_code = 5 set before an exception escapes `with actor:` makes the code 5."""
    result = run_script(
        tmp_path,
        script("""
            with actor:
                actor.exit_code = 5
                raise RuntimeError('scraper broke')
        """),
    )
    assert result.returncode == 5, describe(result)
    assert 'Actor failed with an exception' in result.stderr


def test_sys_exit_with_code_in_with_block_keeps_the_code(tmp_path: Path) -> None:
    """sys.exit(4) inside `with actor:` runs the exit sequence and ends the process with 4."""
    result = run_script(
        tmp_path,
        script("""
            actor.on(Event.EXIT, on_exit)
            with actor:
                sys.exit(4)
        """),
    )
    assert result.returncode == 4, describe(result)
    assert 'code=4' in result.stdout
    assert 'Actor failed' not in result.stderr


def test_sys_exit_without_code_in_with_block_exits_zero(tmp_path: Path) -> None:
    """sys.exit() inside `with actor:` ends the process with 0."""
    result = run_script(
        tmp_path,
        script("""
            actor.on(Event.EXIT, on_exit)
            with actor:
                sys.exit()
        """),
    )
    assert result.returncode == 0, describe(result)
    assert 'code=0' in result.stdout


def test_sys_exit_with_message_in_with_block_exits_one(tmp_path: Path) -> None:
    """sys.exit('boom') inside `with actor:` ends with 1 and Python prints the message."""
    result = run_script(
        tmp_path,
        script("""
            actor.on(Event.EXIT, on_exit)
            with actor:
                sys.exit('boom')
        """),
    )
    assert result.returncode == 1, describe(result)
    assert 'code=1' in result.stdout
    assert result.stderr.splitlines()[-1] == 'boom', describe(result)


def test_keyboard_interrupt_in_with_block_runs_exit_sequence_and_propagates(
    tmp_path: Path,
) -> None:
    """KeyboardInterrupt in `with actor:` runs the exit sequence, then ends Python as usual."""
    result = run_script(
        tmp_path,
        script("""
            actor.on(Event.PERSIST_STATE, on_persist)
            actor.on(Event.EXIT, on_exit)
            with actor:
                raise KeyboardInterrupt
        """),
    )
    # Python ends on an uncaught KeyboardInterrupt by killing itself with SIGINT.
    assert result.returncode == -signal.SIGINT, describe(result)
    assert 'KeyboardInterrupt' in result.stderr
    assert 'PERSIST_STATE pid=' in result.stdout
    assert 'code=130' in result.stdout


@pytest.mark.parametrize('sigint', ['signal.SIG_IGN', 'signal.default_int_handler'])
def test_abort_with_interrupt_on_abort_interrupts_a_blocked_main_thread(
    tmp_path: Path, sigint: str
) -> None:
    """ABORTING with ACTORKIT_INTERRUPT_ON_ABORT=1 interrupts a blocked main thread.

    It does so whether SIGINT is ignored (a script started as a background job) or not.
    """
    result = run_script(
        tmp_path,
        script(f"""
            import time

            signal.signal(signal.SIGINT, {sigint})

            from actorkit.testing import emit

            actor.on(Event.PERSIST_STATE, on_persist)
            actor.on(Event.EXIT, on_exit)
            started = time.monotonic()
            main = threading.main_thread()

            def emit_once_main_is_blocked():
                # A signal that lands just before the main thread enters its wait is only seen
                # when the wait ends: emit once the main thread is inside Event.wait.
                # Blocked = seen inside a wait at the same instruction twice in a row.
                deadline = time.monotonic() + 10
                last = None
                while time.monotonic() < deadline:
                    frame = sys._current_frames().get(main.ident)
                    here = frame and (frame.f_code.co_name, frame.f_lasti)
                    if here and here[0] == 'wait' and here == last:
                        break
                    last = here
                    time.sleep(0.01)
                emit(Event.ABORTING)

            try:
                with actor:
                    threading.Thread(target=emit_once_main_is_blocked).start()
                    threading.Event().wait(15)
                    print('NOT INTERRUPTED')
            finally:
                print(f'INTERRUPTED AFTER {{time.monotonic() - started:.1f}}', flush=True)
                print('SIGINT RESTORED', signal.getsignal(signal.SIGINT) is {sigint}, flush=True)
        """),
        env={'ACTORKIT_INTERRUPT_ON_ABORT': '1'},
    )
    assert result.returncode == -signal.SIGINT, describe(result)
    assert 'NOT INTERRUPTED' not in result.stdout
    assert 'KeyboardInterrupt' in result.stderr
    assert 'PERSIST_STATE pid=' in result.stdout
    assert 'code=130' in result.stdout
    (line,) = [line for line in result.stdout.splitlines() if line.startswith('INTERRUPTED')]
    # A blocking wait must be woken (as Ctrl-C would), not left to run out its 15 s.
    assert float(line.split()[-1]) < 10, describe(result)
    assert 'SIGINT RESTORED True' in result.stdout, describe(result)


def test_abort_says_so_when_the_main_thread_cannot_be_interrupted(tmp_path: Path) -> None:
    """With SIGINT ignored and init() off the main thread, the log says it cannot interrupt."""
    result = run_script(
        tmp_path,
        script("""
            from actorkit.testing import emit, wait_for_listeners

            signal.signal(signal.SIGINT, signal.SIG_IGN)
            run = Actor(interrupt_on_abort=True, exit_process=False)
            worker = threading.Thread(target=run.init)
            worker.start()
            worker.join()
            emit(Event.ABORTING, actor=run)
            wait_for_listeners(actor=run)
            print('MAIN THREAD GOES ON', flush=True)
            run.exit()
        """),
    )
    assert result.returncode == 0, describe(result)
    assert 'MAIN THREAD GOES ON' in result.stdout
    assert 'an abort will not interrupt the main thread' in result.stderr, describe(result)
    assert 'the main thread could not be interrupted' in result.stderr, describe(result)
    assert 'interrupting the main thread' not in result.stderr, describe(result)


def test_exit_does_not_hang_on_a_stuck_listener(tmp_path: Path) -> None:
    """exit() ends the process after its timeout even if an EXIT listener never returns."""
    result = run_script(
        tmp_path,
        script("""
            never = threading.Event()
            actor.on(Event.EXIT, lambda: never.wait())
            actor.init()
            actor.exit(exit_code=2, event_listeners_timeout=0.5)
        """),
        timeout=20,
    )
    assert result.returncode == 2, describe(result)
    assert 'did not finish before the Actor exited' in result.stderr, describe(result)


# -- exit_process ----------------------------------------------------------------------------------


def test_exit_process_env_off_lets_code_after_exit_run(tmp_path: Path) -> None:
    """ACTORKIT_EXIT_PROCESS=0 makes exit() return, so the code after it runs."""
    result = run_script(
        tmp_path,
        script("""
            actor.init()
            actor.exit(exit_code=3)
            print('AFTER EXIT', actor.is_running)
        """),
        env={'ACTORKIT_EXIT_PROCESS': '0'},
    )
    assert result.returncode == 0, describe(result)
    assert 'AFTER EXIT False' in result.stdout


def test_exit_process_argument_off_lets_code_after_exit_run(tmp_path: Path) -> None:
    """Actor(exit_process=False) makes exit() return, so the code after it runs."""
    result = run_script(
        tmp_path,
        script("""
            run = Actor(exit_process=False)
            run.init()
            run.exit(exit_code=3)
            print('AFTER EXIT', run.is_running)
        """),
    )
    assert result.returncode == 0, describe(result)
    assert 'AFTER EXIT False' in result.stdout


def test_exit_from_another_thread_does_not_end_the_process(tmp_path: Path) -> None:
    """actor.exit() called from a non-main thread ends the run but not the process."""
    result = run_script(
        tmp_path,
        script("""
            actor.on(Event.EXIT, on_exit)
            actor.init()
            worker = threading.Thread(target=actor.exit, kwargs={'exit_code': 2})
            worker.start()
            worker.join(30)
            print('MAIN CONTINUES', actor.is_running)
        """),
    )
    assert result.returncode == 0, describe(result)
    assert 'code=2' in result.stdout
    assert 'MAIN CONTINUES False' in result.stdout


@pytest.mark.parametrize(
    ('make_run', 'env'),
    [
        pytest.param('Actor(exit_process=True)', {}, id='argument'),
        pytest.param('actor', {'ACTORKIT_EXIT_PROCESS': '1'}, id='environment'),
    ],
)
def test_exit_process_on_ends_the_process_from_another_thread(
    tmp_path: Path, make_run: str, env: dict[str, str]
) -> None:
    """exit_process on makes exit() from a non-main thread end the process with the code."""
    result = run_script(
        tmp_path,
        script(f"""
            run = {make_run}
            run.on(Event.EXIT, on_exit)
            run.init()
            threading.Thread(target=run.exit, kwargs={{'exit_code': 6}}).start()
            threading.Event().wait(30)
            print('MAIN CONTINUES')
        """),
        env=env,
    )
    assert result.returncode == 6, describe(result)
    assert 'code=6' in result.stdout
    assert 'MAIN CONTINUES' not in result.stdout


# -- atexit and the excepthook ---------------------------------------------------------------------


def test_run_without_exit_is_finished_at_interpreter_exit(tmp_path: Path) -> None:
    """A script that never calls exit() gets the final PERSIST_STATE and EXIT at its end."""
    result = run_script(
        tmp_path,
        script("""
            actor.on(Event.PERSIST_STATE, on_persist)
            actor.on(Event.EXIT, on_exit)
            actor.init()
            print('END OF SCRIPT')
        """),
    )
    assert result.returncode == 0, describe(result)
    lines = result.stdout.splitlines()
    assert lines[0] == 'END OF SCRIPT', describe(result)
    assert len(pids_of(result.stdout, 'PERSIST_STATE')) == 1, describe(result)
    assert len(pids_of(result.stdout, 'EXIT')) == 1, describe(result)
    assert 'code=0' in result.stdout


def test_uncaught_exception_is_recorded_and_chains_the_excepthook(tmp_path: Path) -> None:
    """An uncaught exception fails the run at exit, and the earlier sys.excepthook still runs."""
    result = run_script(
        tmp_path,
        script("""
            def custom_hook(exc_type, exc, tb):
                print('CUSTOM HOOK', exc_type.__name__, flush=True)
                sys.__excepthook__(exc_type, exc, tb)

            sys.excepthook = custom_hook
            actor.on(Event.EXIT, on_exit)
            actor.init()
            raise LookupError('no such product')
        """),
    )
    assert result.returncode == 91, describe(result)
    assert 'CUSTOM HOOK LookupError' in result.stdout
    exit_lines = [line for line in result.stdout.splitlines() if line.startswith('EXIT')]
    assert len(exit_lines) == 1, describe(result)
    assert 'code=0' not in exit_lines[0]
    assert 'code=91' in exit_lines[0]
    error_lines = [line for line in result.stderr.splitlines() if 'ERROR' in line]
    assert any('LookupError' in line for line in error_lines), describe(result)
    # The traceback is printed by the chained hook (Python's own), once.
    assert result.stderr.count('Traceback (most recent call last)') == 1, describe(result)


def test_uncaught_exception_ends_the_process_with_the_code_exit_reported(tmp_path: Path) -> None:
    """`init(); raise ValueError` exits 91, as the EXIT event says; later atexit hooks run."""
    result = run_script(
        tmp_path,
        script("""
            import atexit

            actor.on(Event.EXIT, on_exit)
            actor.init()
            atexit.register(lambda: print('ATEXIT HOOK RAN', flush=True))
            logging.getLogger('actorkit').info('LAST LOG LINE')
            raise ValueError('bad input')
        """),
    )
    assert result.returncode == 91, describe(result)
    assert f'EXIT pid={result.stdout.split("pid=")[1].split()[0]} code=91' in result.stdout
    assert 'ATEXIT HOOK RAN' in result.stdout
    assert 'LAST LOG LINE' in result.stderr
    assert result.stderr.count('Traceback (most recent call last)') == 1, describe(result)


def test_uncaught_exception_keeps_an_exit_code_set_before(tmp_path: Path) -> None:
    """An exit code set before an uncaught exception is the process's code and EXIT's."""
    result = run_script(
        tmp_path,
        script("""
            actor.on(Event.EXIT, on_exit)
            actor.init()
            actor.exit_code = 7
            raise ValueError('bad input')
        """),
    )
    assert result.returncode == 7, describe(result)
    assert 'code=7' in result.stdout


def test_ctrl_c_outside_with_block_finishes_the_run_at_exit(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT) in a script without `with actor:` finishes the run with code 130."""
    process = start_script(
        tmp_path,
        script("""
            actor.on(Event.PERSIST_STATE, on_persist)
            actor.on(Event.EXIT, on_exit)
            actor.init()
            print('READY', flush=True)
            threading.Event().wait(60)
            print('NOT INTERRUPTED')
        """),
    )
    wait_for_line(process, 'READY')
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == -signal.SIGINT, f'{process.returncode}\n{stdout}\n{stderr}'
    assert 'NOT INTERRUPTED' not in stdout
    assert pids_of(stdout, 'PERSIST_STATE') == [str(process.pid)]
    assert f'EXIT pid={process.pid} code=130' in stdout
    assert 'KeyboardInterrupt' in stderr


# -- SIGTERM ---------------------------------------------------------------------------------------

SIGTERM_SCRIPT = """
    def on_persist_to_file(data):
        with open('persisted.txt', 'a') as file:
            file.write(f'{os.getpid()}\\n')

    actor.on(Event.PERSIST_STATE, on_persist_to_file)
    actor.on(Event.EXIT, on_exit)
    actor.init()
    print('READY', flush=True)
    threading.Event().wait(60)
    print('NOT TERMINATED')
"""


def test_sigterm_runs_the_exit_sequence_and_exits_143(tmp_path: Path) -> None:
    """SIGTERM runs the final PERSIST_STATE and EXIT and ends the process with 143."""
    process = start_script(tmp_path, script(SIGTERM_SCRIPT))
    wait_for_line(process, 'READY')
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 143, f'{process.returncode}\n{stdout}\n{stderr}'
    assert (tmp_path / 'persisted.txt').read_text().split() == [str(process.pid)]
    assert f'EXIT pid={process.pid} code=143' in stdout
    assert 'NOT TERMINATED' not in stdout


def test_sigterm_calls_the_previous_python_handler(tmp_path: Path) -> None:
    """SIGTERM also calls the Python handler installed before init()."""
    body = """
        def previous_handler(signum, frame):
            print('PREVIOUS HANDLER', signum, flush=True)

        signal.signal(signal.SIGTERM, previous_handler)
    """
    process = start_script(tmp_path, script(body) + textwrap.dedent(SIGTERM_SCRIPT))
    wait_for_line(process, 'READY')
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 143, f'{process.returncode}\n{stdout}\n{stderr}'
    assert (tmp_path / 'persisted.txt').exists()
    assert f'PREVIOUS HANDLER {int(signal.SIGTERM)}' in stdout
    # The exit sequence runs on a thread of its own (the handler may interrupt the main thread
    # inside a lock the sequence needs), so it ends after the previous handler may have run;
    # it still ends before the process does.
    assert f'EXIT pid={process.pid} code=143' in stdout


def test_sigterm_saves_the_use_state_dict(tmp_path: Path) -> None:
    """SIGTERM saves the use_state() dict to the default key-value store before ending."""
    process = start_script(
        tmp_path,
        script("""
            actor.init()
            state = actor.use_state({'pages': 0})
            state['pages'] = 42
            print('READY', flush=True)
            threading.Event().wait(60)
        """),
    )
    wait_for_line(process, 'READY')
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 143, f'{process.returncode}\n{stdout}\n{stderr}'
    record = tmp_path / 'storage' / 'key_value_stores' / 'default' / 'APIFY_GLOBAL_STATE'
    assert json.loads(record.read_text(encoding='utf-8')) == {'pages': 42}


def test_exit_restores_the_previous_sigterm_handler(tmp_path: Path) -> None:
    """init() replaces the SIGTERM handler and exit() puts the previous one back."""
    result = run_script(
        tmp_path,
        script("""
            def previous_handler(signum, frame):
                pass

            signal.signal(signal.SIGTERM, previous_handler)
            run = Actor(exit_process=False)
            run.init()
            print('DURING RUN', signal.getsignal(signal.SIGTERM) is previous_handler)
            run.exit()
            print('AFTER EXIT', signal.getsignal(signal.SIGTERM) is previous_handler)
        """),
    )
    assert result.returncode == 0, describe(result)
    assert 'DURING RUN False' in result.stdout
    assert 'AFTER EXIT True' in result.stdout


# -- fork ------------------------------------------------------------------------------------------


def test_forked_child_has_no_threads_and_skips_the_parent_exit(tmp_path: Path) -> None:
    """A child forked during a run has no actorkit threads and never runs the parent's exit."""
    result = run_script(
        tmp_path,
        script("""
            actor.on(Event.PERSIST_STATE, on_persist)
            actor.on(Event.EXIT, on_exit)
            actor.init()
            child = os.fork()
            if child == 0:
                names = [t.name for t in threading.enumerate() if t.name.startswith('actorkit-')]
                print(f'CHILD pid={os.getpid()} threads={names} running={actor.is_running}',
                      flush=True)
                sys.exit(0)
            _, status = os.waitpid(child, 0)
            print(f'CHILD ENDED pid={child} code={os.waitstatus_to_exitcode(status)}', flush=True)
            print(f'PARENT pid={os.getpid()}', flush=True)
            actor.exit()
        """),
    )
    assert result.returncode == 0, describe(result)
    (parent,) = pids_of(result.stdout, 'PARENT')
    (child,) = pids_of(result.stdout, 'CHILD ENDED')
    assert f'CHILD pid={child} threads=[] running=False' in result.stdout
    assert f'CHILD ENDED pid={child} code=0' in result.stdout
    assert pids_of(result.stdout, 'EXIT') == [parent], describe(result)
    assert pids_of(result.stdout, 'PERSIST_STATE') == [parent], describe(result)


def test_forked_child_can_start_its_own_run(tmp_path: Path) -> None:
    """A child forked during a run can init() and exit() a run of its own."""
    result = run_script(
        tmp_path,
        script("""
            actor.on(Event.EXIT, on_exit)
            actor.init()
            child = os.fork()
            if child == 0:
                actor.on(Event.EXIT, on_exit)
                actor.init()
                names = [t.name for t in threading.enumerate() if t.name.startswith('actorkit-')]
                print(f'CHILD pid={os.getpid()} has_threads={bool(names)}', flush=True)
                actor.exit(exit_code=8)
            _, status = os.waitpid(child, 0)
            print(f'CHILD ENDED pid={child} code={os.waitstatus_to_exitcode(status)}', flush=True)
            actor.exit()
        """),
    )
    assert result.returncode == 0, describe(result)
    (child,) = pids_of(result.stdout, 'CHILD ENDED')
    assert f'CHILD pid={child} has_threads=True' in result.stdout
    assert f'CHILD ENDED pid={child} code=8' in result.stdout
    assert f'EXIT pid={child} code=8' in result.stdout
    assert len(pids_of(result.stdout, 'EXIT')) == 2, describe(result)


def test_forked_child_runs_no_listener_of_the_parent_and_keeps_its_state(tmp_path: Path) -> None:
    """A child's own run has none of the parent's listeners and never writes the parent's state."""
    result = run_script(
        tmp_path,
        script("""
            from actorkit.testing import emit, wait_for_listeners

            actor.on(Event.EXIT, on_exit)
            actor.on(Event.PERSIST_STATE, on_persist)
            actor.init()
            state = actor.use_state({'n': 0})
            state['n'] = 1  # not saved yet: the child gets this copy
            go_read, go_write = os.pipe()
            child = os.fork()
            if child == 0:
                os.read(go_read, 1)
                actor.init()
                state['n'] = 'child'  # the parent's dict, in the child: never saved
                actor.exit(exit_code=0)
            state['n'] = 2
            emit(Event.PERSIST_STATE)
            wait_for_listeners()
            os.write(go_write, b'x')
            _, status = os.waitpid(child, 0)
            print(f'CHILD ENDED pid={child} code={os.waitstatus_to_exitcode(status)}', flush=True)
            emit(Event.PERSIST_STATE)
            wait_for_listeners()
            print('PARENT', os.getpid(), flush=True)
            actor.exit()
        """),
    )
    assert result.returncode == 0, describe(result)
    (child,) = pids_of(result.stdout, 'CHILD ENDED')
    assert f'CHILD ENDED pid={child} code=0' in result.stdout
    assert child not in pids_of(result.stdout, 'EXIT'), describe(result)
    assert child not in pids_of(result.stdout, 'PERSIST_STATE'), describe(result)
    record = tmp_path / 'storage' / 'key_value_stores' / 'default' / 'APIFY_GLOBAL_STATE'
    assert json.loads(record.read_text(encoding='utf-8')) == {'n': 2}, describe(result)


# -- re-initialization -----------------------------------------------------------------------------


def test_init_twice_raises_a_clear_error(tmp_path: Path) -> None:
    """init() while the run is going raises ActorStateError that says what to do."""
    result = run_script(
        tmp_path,
        script("""
            actor.init()
            try:
                actor.init()
            except ActorStateError as exc:
                print('ERROR', exc)
            print('STILL RUNNING', actor.is_running)
            actor.exit()
        """),
    )
    assert result.returncode == 0, describe(result)
    assert 'ERROR actor.init() was called while the Actor is already running' in result.stdout
    assert 'actor.exit()' in result.stdout
    assert 'STILL RUNNING True' in result.stdout


def test_init_after_exit_starts_a_new_run_that_receives_events(tmp_path: Path) -> None:
    """init() after exit() in one process starts a fresh run whose listeners get events."""
    result = run_script(
        tmp_path,
        script("""
            run = Actor(exit_process=False)
            run.init()
            run.on(Event.EXIT, lambda data: print('FIRST RUN EXIT', data.exit_code, flush=True))
            run.exit(exit_code=4)
            print('BETWEEN RUNS', run.is_running, run.exit_code)

            persisted = threading.Event()
            run.on(Event.PERSIST_STATE, persisted.set)
            run.on(Event.EXIT, lambda data: print('SECOND RUN EXIT', data.exit_code, flush=True))
            run.init()
            print('SECOND RUN', run.is_running, run.exit_code)
            print('PERIODIC PERSIST_STATE', persisted.wait(30), flush=True)
            run.exit()
        """),
        env={'APIFY_PERSIST_STATE_INTERVAL_MILLIS': '50'},
    )
    assert result.returncode == 0, describe(result)
    assert result.stdout.count('FIRST RUN EXIT 4') == 1, describe(result)
    assert 'BETWEEN RUNS False 4' in result.stdout
    assert 'SECOND RUN True None' in result.stdout
    assert 'PERIODIC PERSIST_STATE True' in result.stdout
    assert result.stdout.count('SECOND RUN EXIT 0') == 1, describe(result)


# -- configuration and secrets ---------------------------------------------------------------------


def test_configuration_error_names_every_variable_and_starts_nothing(tmp_path: Path) -> None:
    """Invalid variables fail init() naming each of them, with no thread started."""
    result = run_script(
        tmp_path,
        script("""
            try:
                actor.init()
            except ConfigurationError as exc:
                print('ERROR', exc)
            names = [t.name for t in threading.enumerate() if t.name.startswith('actorkit-')]
            print('THREADS', names, 'RUNNING', actor.is_running, flush=True)
            actor.init()
        """),
        env={
            'APIFY_PERSIST_STATE_INTERVAL_MILLIS': 'abc',
            'APIFY_IS_AT_HOME': 'maybe',
            'APIFY_TOKEN': 'secret-token-123',
        },
    )
    assert result.returncode == 1, describe(result)
    assert 'ERROR invalid actorkit configuration (2 problems)' in result.stdout
    assert 'APIFY_PERSIST_STATE_INTERVAL_MILLIS' in result.stdout
    assert 'APIFY_IS_AT_HOME' in result.stdout
    assert 'THREADS [] RUNNING False' in result.stdout
    assert 'ConfigurationError' in result.stderr
    assert 'secret-token-123' not in result.stdout + result.stderr


def test_secrets_never_appear_in_output(tmp_path: Path) -> None:
    """Secret values show in no repr, env dict or DEBUG log line of a whole run."""
    secrets = {
        'APIFY_TOKEN': 'secret-token-123',
        'APIFY_PROXY_PASSWORD': 'proxy-pass-456',
        'APIFY_INPUT_SECRETS_PRIVATE_KEY_PASSPHRASE': 'passphrase-789',
    }
    result = run_script(
        tmp_path,
        script("""
            print('CONFIG', repr(actor.config))
            print('ENV', actor.get_env())
            actor.init()
            actor.log.debug('configuration: %r', actor.config)
            actor.log.debug('environment: %s', actor.get_env())
            actor.exit()
        """),
        env={**secrets, 'APIFY_LOG_LEVEL': 'DEBUG'},
    )
    assert result.returncode == 0, describe(result)
    assert "Secret('***')" in result.stdout
    assert 'DEBUG' in result.stderr, describe(result)
    output = result.stdout + result.stderr
    for name, value in secrets.items():
        assert value not in output, f'{name} leaked: {describe(result)}'


# -- logging ---------------------------------------------------------------------------------------


def test_init_logs_to_stderr_when_logging_is_not_configured(tmp_path: Path) -> None:
    """With no root handler, init() prints readable log lines to stderr."""
    result = run_script(
        tmp_path,
        script("""
            actor.init()
            actor.exit()
        """),
    )
    assert result.returncode == 0, describe(result)
    (line,) = [line for line in result.stderr.splitlines() if 'Initializing Actor' in line]
    assert ' INFO  actorkit: Initializing Actor' in line
    assert result.stdout == ''


def test_init_uses_the_root_handler_when_logging_is_configured(tmp_path: Path) -> None:
    """After logging.basicConfig(), actorkit adds no handler and each record shows once."""
    result = run_script(
        tmp_path,
        script("""
            logging.basicConfig(level='INFO', format='ROOT %(levelname)s %(name)s %(message)s')
            actor.init()
            handlers = [type(h).__name__ for h in logging.getLogger('actorkit').handlers]
            print('ACTORKIT HANDLERS', handlers)
            print('ROOT HANDLERS', len(logging.getLogger().handlers))
            actor.exit()
        """),
    )
    assert result.returncode == 0, describe(result)
    assert "ACTORKIT HANDLERS ['NullHandler']" in result.stdout
    assert 'ROOT HANDLERS 1' in result.stdout
    init_lines = [line for line in result.stderr.splitlines() if 'Initializing Actor' in line]
    assert len(init_lines) == 1, describe(result)
    assert init_lines[0].startswith('ROOT INFO actorkit Initializing Actor')


def test_log_level_error_hides_info_lines(tmp_path: Path) -> None:
    """APIFY_LOG_LEVEL=ERROR hides info lines and keeps error lines."""
    result = run_script(
        tmp_path,
        script("""
            actor.init()
            actor.log.error('the proxy refused every request')
            actor.exit()
        """),
        env={'APIFY_LOG_LEVEL': 'ERROR'},
    )
    assert result.returncode == 0, describe(result)
    assert 'Initializing Actor' not in result.stderr
    assert 'Exiting Actor' not in result.stderr
    assert 'the proxy refused every request' in result.stderr


def test_import_adds_no_root_handler_and_starts_nothing(tmp_path: Path) -> None:
    """`import actorkit` alone adds no root handler, starts no thread and logs nothing."""
    result = run_script(
        tmp_path,
        """
        import logging
        import threading

        import actorkit

        print('ROOT HANDLERS', logging.getLogger().handlers)
        handlers = logging.getLogger('actorkit').handlers
        print('ACTORKIT HANDLERS', [type(h).__name__ for h in handlers])
        print('THREADS', [t.name for t in threading.enumerate()])
        """,
    )
    assert result.returncode == 0, describe(result)
    assert 'ROOT HANDLERS []' in result.stdout
    assert "ACTORKIT HANDLERS ['NullHandler']" in result.stdout
    assert "THREADS ['MainThread']" in result.stdout
    assert result.stderr == ''
