"""``actorkit run --migrate-after/--abort-after``: rehearse what the platform does to long runs.

The command serves the platform's events websocket on 127.0.0.1 (the FakePlatform's server)
and starts the script with :mod:`actorkit.events._rehearsal`'s variables, so that the run gets
MIGRATING or ABORTING through the same websocket reader and event rules as at home, while its
storage stays local. Each time, after SECONDS from the start:

1. the event is sent; the run's listeners (PERSIST_STATE with ``is_migrating=True`` first) run,
   and the run acknowledges on a pipe once they have finished (``--grace`` bounds the wait);
2. the process is killed with SIGKILL, as a worker that goes away: no ``atexit``, no final
   PERSIST_STATE, no EXIT event;
3. it is started again on the same storage with purge off (a migrated run, or an aborted one
   resurrected).

After ``--migrations`` times the last start runs to its end. A process that exits by itself
ends the run there, as the platform does not restart a run whose process exited. The report
on stderr says whether the run finished and whether its state and results survived: the
records written while the listeners ran, the items pushed twice (equal items in a dataset), and
the requests that were in progress in a killed process and were fetched again after the
restart (their work was done twice unless it is idempotent).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import attrs

from actorkit.cli._common import plural
from actorkit.cli._run import (
    RunSetup,
    exit_code_of,
    forwarded_signals,
    record_stamps,
    start,
    summary,
    written_between,
)

_RUN_ID = 'rehearsal'

DEFAULT_GRACE_SECS = 10.0
"""How long the listeners of an event may take before the process is killed anyway."""


@attrs.define
class Interruption:
    """One event sent to the run and what followed."""

    number: int
    event: str
    pid: int
    connected: bool = False
    acknowledged_after: float | None = None
    pending: list[str] = attrs.Factory(list)
    exited_by_itself: int | None = None
    records_saved: list[str] = attrs.Factory(list)


def rehearse(args: argparse.Namespace, setup: RunSetup) -> int:
    """Run the script with ``args.migrations`` migrations (or aborts); report; return the code."""
    from actorkit._threads import Deadline  # noqa: PLC0415
    from actorkit.events._rehearsal import (  # noqa: PLC0415
        REHEARSAL_ACK_FD_ENV,
        REHEARSAL_EVENTS_ENV,
    )
    from actorkit.testing._fake_platform._events import EventsServer  # noqa: PLC0415

    migrations: int = args.migrations or 1
    grace: float = args.grace or DEFAULT_GRACE_SECS
    migrate = args.migrate_after is not None
    after: float = args.migrate_after if migrate else args.abort_after
    event = 'migrating' if migrate else 'aborting'
    server = EventsServer(lambda run_id: run_id == _RUN_ID)
    server.start()
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    extra = {REHEARSAL_EVENTS_ENV: server.url_for(_RUN_ID), REHEARSAL_ACK_FD_ENV: str(write_fd)}
    interruptions: list[Interruption] = []
    killed_pids: list[int] = []
    code = 0
    try:
        while True:
            process = start(setup, extra, pass_fds=(write_fd,))
            with forwarded_signals(process):
                if len(interruptions) >= migrations:
                    code = exit_code_of(process.wait())
                    break
                try:
                    code = exit_code_of(process.wait(timeout=after))
                    break  # it ended before the event: the run is over
                except subprocess.TimeoutExpired:
                    pass
                step = _interrupt(
                    server, process, event, len(interruptions) + 1, read_fd, grace, setup
                )
                interruptions.append(step)
                if step.exited_by_itself is not None:
                    code = step.exited_by_itself
                    break
                killed_pids.append(process.pid)
            # The next start is the same run going on: nothing may be purged.
            setup.env['APIFY_PURGE_ON_START'] = 'false'
    finally:
        server.stop(Deadline(5.0))
        os.close(read_fd)
        os.close(write_fd)
    sys.stderr.write(summary(setup, code))
    sys.stderr.write(report(setup, interruptions, killed_pids, code, migrate))
    return code


def _interrupt(  # noqa: PLR0917 (one step of the loop above, with its state)
    server: Any,
    process: subprocess.Popen[bytes],
    event: str,
    number: int,
    read_fd: int,
    grace: float,
    setup: RunSetup,
) -> Interruption:
    step = Interruption(number=number, event=event.upper(), pid=process.pid)
    _drain(read_fd)
    started = time.monotonic()
    stamps = record_stamps(setup.root)
    try:
        server.wait_for_connection(_RUN_ID, timeout=grace)
        step.connected = server.send(_RUN_ID, event) > 0
    except TimeoutError:
        step.connected = False
    if step.connected:
        ack = _wait_for_ack(read_fd, process, started + grace)
        if ack is not None:
            step.acknowledged_after = time.monotonic() - started
            step.pending = [str(name) for name in ack.get('pending') or []]
    if process.poll() is not None:
        step.exited_by_itself = exit_code_of(process.returncode)
        return step
    with contextlib.suppress(OSError):
        process.send_signal(signal.SIGKILL)
    process.wait()
    step.records_saved = written_between(stamps, record_stamps(setup.root))
    return step


def _drain(read_fd: int) -> None:
    with contextlib.suppress(BlockingIOError, OSError):
        while os.read(read_fd, 65536):
            pass


def _wait_for_ack(
    read_fd: int, process: subprocess.Popen[bytes], deadline: float
) -> dict[str, Any] | None:
    buffer = b''
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or process.poll() is not None:
            return None
        ready, _, _ = select.select([read_fd], [], [], min(remaining, 0.2))
        if not ready:
            continue
        with contextlib.suppress(BlockingIOError):
            buffer += os.read(read_fd, 65536)
        while b'\n' in buffer:
            line, buffer = buffer.split(b'\n', 1)
            try:
                ack = json.loads(line)
            except ValueError:
                continue
            if isinstance(ack, dict) and ack.get('pid') == process.pid:
                return ack


def duplicate_items(root: Path) -> dict[str, tuple[int, int, str]]:
    """Per dataset: (items, items that equal an earlier one, an example of one)."""
    result = {}
    base = root / 'datasets'
    with contextlib.suppress(OSError):
        for folder in sorted(p for p in base.iterdir() if p.is_dir()):
            seen: Counter[bytes] = Counter()
            example = ''
            count = 0
            duplicates = 0
            for path in sorted(folder.glob('*.json')):
                if not path.name[:-5].isdigit():
                    continue
                try:
                    item = json.loads(path.read_bytes())
                except (OSError, ValueError):
                    continue
                count += 1
                canonical = json.dumps(item, sort_keys=True, separators=(',', ':')).encode()
                digest = hashlib.blake2b(canonical, digest_size=16).digest()
                seen[digest] += 1
                if seen[digest] > 1:
                    duplicates += 1
                    example = example or canonical.decode()[:120]
            result[folder.name] = (count, duplicates, example)
    return result


def requests_fetched_again(root: Path, killed_pids: list[int]) -> dict[str, list[str]]:
    """Per queue: the requests held by a killed process and fetched again after it.

    Read from the queue's journal; a compacted journal remembers only the latest hold of each
    request, so a long rehearsal may undercount.
    """
    from actorkit.storages._local._journal import JOURNAL_FILE  # noqa: PLC0415

    killed = set(killed_pids)
    result: dict[str, list[str]] = {}
    base = root / 'request_queues'
    with contextlib.suppress(OSError):
        for folder in sorted(p for p in base.iterdir() if p.is_dir()):
            holders: dict[str, list[int]] = {}
            try:
                lines = (folder / JOURNAL_FILE).read_text('utf-8').splitlines()
            except OSError:
                continue
            for line in lines:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if isinstance(event, list) and len(event) > 2 and event[0] == 'l':
                    holders.setdefault(str(event[1]), []).append(event[2])
            again = [
                key
                for key, pids in holders.items()
                if any(pid in killed for pid in pids[:-1]) and pids[-1] not in killed
            ]
            result[folder.name] = again
    return result


def report(
    setup: RunSetup,
    interruptions: list[Interruption],
    killed_pids: list[int],
    code: int,
    migrate: bool,
) -> str:
    """The rehearsal's report (lines for stderr)."""
    what = 'migration' if migrate else 'abort'
    lines = [f'actorkit run: rehearsal of {len(interruptions)} {what}(s):']
    for step in interruptions:
        head = f'  {step.number}. {step.event} sent to process {step.pid}: '
        if not step.connected:
            head += 'it had no events connection (does it call actor.init()?)'
        elif step.acknowledged_after is None:
            head += 'its listeners did not finish within the grace'
        else:
            head += f'listeners finished in {step.acknowledged_after:.2f} s'
            if step.pending:
                head += f' (still running: {", ".join(step.pending)})'
        if step.exited_by_itself is not None:
            head += f'; it exited by itself with code {step.exited_by_itself}'
        else:
            saved = ', '.join(step.records_saved) if step.records_saved else 'no record'
            head += f'; killed (SIGKILL) and restarted; saved before the kill: {saved}'
        lines.append(head)
    finished = 'finished' if code == 0 else f'ended with exit code {code}'
    lines.append(f'  the run {finished}')
    state_saved = [s for s in interruptions if s.exited_by_itself is None and s.records_saved]
    killed = [s for s in interruptions if s.exited_by_itself is None]
    if killed:
        if len(state_saved) == len(killed):
            lines.append('  state: saved before every kill (it survives if the run reads it back)')
        else:
            lines.append(
                f'  state: no record was written between the event and the kill in '
                f'{len(killed) - len(state_saved)} of {len(killed)} cases: progress kept only '
                'in memory was lost (keep it with actor.use_state() or save it on PERSIST_STATE)'
            )
    for name, (count, duplicates, example) in duplicate_items(setup.root).items():
        if duplicates:
            lines.append(
                f'  results: dataset {name}: {duplicates:,} of {plural(count, "item")} were '
                'pushed twice '
                f'(e.g. {example}): push only after the work is recorded in the state'
            )
        elif count:
            lines.append(f'  results: dataset {name}: {plural(count, "item")}, none pushed twice')
    for name, keys in requests_fetched_again(setup.root, killed_pids).items():
        if keys:
            lines.append(
                f'  requests: queue {name}: {plural(len(keys), "request")} in progress when a '
                f'process was killed, fetched again after the restart (e.g. {keys[0]})'
            )
    return '\n'.join(lines) + '\n'
