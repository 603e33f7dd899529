"""A dataset writer killed with SIGKILL at random moments loses and duplicates nothing.

The writer prints each item once its push has returned (acknowledged). The test kills it at
random moments, restarts it with purge off so numbering continues, and checks the folder:
every acknowledged item exactly once, every item file whole JSON, no temp file read as an item,
and the count right after the next open. Whenever a kill leaves the metadata's count stale, the
next open must repair it.

The moments come from a seeded random generator: the seed is printed, and
``ACTORKIT_CRASH_SEED=<seed>`` replays a run.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from actorkit.storages._dataset import Dataset
from actorkit.storages._local import LocalStorageBackend
from tests._subprocess import TIMEOUT, script_env, write_script

pytestmark = pytest.mark.skipif(sys.platform == 'win32', reason='needs SIGKILL')

_WRITER = """
import sys
from pathlib import Path
from actorkit.storages._dataset import Dataset
from actorkit.storages._local import LocalStorageBackend

root, round_no = Path(sys.argv[1]), int(sys.argv[2])
backend = LocalStorageBackend(root, purge_on_start=False)
dataset = Dataset(backend.open_dataset())
print('ready', flush=True)
i = 0
while True:
    size = i % 8 + 1
    batch = [{'id': f'{round_no}-{i + k}', 'pad': 'x' * ((i + k) * 37 % 3000)} for k in range(size)]
    dataset.push_data(batch if size > 1 else batch[0])
    sys.stdout.write(''.join(item['id'] + '\\n' for item in batch))
    sys.stdout.flush()
    i += size
"""

ROUNDS = 12
SEED_VARIABLE = 'ACTORKIT_CRASH_SEED'


def _run_round(
    script: Path, root: Path, tmp_path: Path, *, round_no: int, wait_for: int, kill_delay: float
) -> list[str]:
    """Start the writer, kill it after ``wait_for`` acknowledgements; return every one it gave."""
    process = subprocess.Popen(
        [sys.executable, str(script), str(root), str(round_no)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=script_env(tmp_path),
    )
    acknowledged: list[str] = []
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.strip() == 'ready', process.communicate(timeout=TIMEOUT)
        while len(acknowledged) < wait_for:
            line = process.stdout.readline()
            assert line, f'the writer died on its own: {process.communicate(timeout=TIMEOUT)}'
            acknowledged.append(line.rstrip('\n'))
        # Let it run a random bit longer, so the kill lands at any point of a push (right
        # after a line is read it would always land at the same point).
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=kill_delay)
        os.kill(process.pid, signal.SIGKILL)
        rest, _ = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    # Lines printed before the kill were acknowledged; a cut last line was not.
    lines = rest.split('\n')
    acknowledged.extend(line for line in lines[:-1] if line)
    return acknowledged


def _item_ids(folder: Path) -> dict[str, str]:
    ids = {}
    for path in folder.iterdir():
        if path.name.endswith('.json') and path.name[:-5].isdigit():
            ids[path.name] = json.loads(path.read_text(encoding='utf-8'))['id']
    return ids


def _count_after_open(root: Path) -> int:
    """Open the dataset in this process and return the count its metadata file then holds."""
    backend = LocalStorageBackend(root, purge_on_start=False)
    try:
        assert Dataset(backend.open_dataset()).item_count >= 0
    finally:
        backend.close()
    count: int = json.loads((root / 'datasets' / 'default' / '__metadata__.json').read_text())[
        'item_count'
    ]
    return count


def test_kills_at_random_moments_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    """Every acknowledged item is stored exactly once across ten SIGKILLed writers."""
    root = tmp_path / 'storage'
    script = write_script(tmp_path, _WRITER, name='writer.py')
    folder = root / 'datasets' / 'default'
    seed = int(os.environ.get(SEED_VARIABLE) or random.SystemRandom().randrange(2**32))
    print(f'{SEED_VARIABLE}={seed}')
    rng = random.Random(seed)
    acknowledged: list[str] = []
    seen: dict[str, str] = {}
    stale_counts = repaired = 0
    for round_no in range(ROUNDS):
        wait_for = rng.choice([0, 1, rng.randint(2, 50), rng.randint(50, 600)])
        kill_delay = rng.uniform(0, 0.02)
        acknowledged += _run_round(
            script, root, tmp_path, round_no=round_no, wait_for=wait_for, kill_delay=kill_delay
        )
        # No item file may ever change once written, acknowledged or not (the official SDK
        # overwrites the items a crash left uncounted).
        now = _item_ids(folder)
        changed = {name for name, item_id in seen.items() if now.get(name) != item_id}
        assert not changed, f'item files overwritten or lost: {sorted(changed)[:10]}'
        seen = now
        meta = json.loads((folder / '__metadata__.json').read_text())
        if meta['item_count'] != len(now):
            stale_counts += 1
            repaired += _count_after_open(root) == len(now)
    print(
        f'{stale_counts} of {ROUNDS} kills left a stale item_count; the next open repaired '
        f'{repaired} of them (seed {seed})'
    )
    assert 0 <= stale_counts <= ROUNDS
    assert repaired == stale_counts, f'a stale count was not repaired at open (seed {seed})'

    names = sorted(p.name for p in folder.iterdir())
    item_names = [name for name in names if name.endswith('.json') and name[:-5].isdigit()]
    assert len(item_names) >= len(acknowledged)
    stored: list[str] = []
    for name in item_names:
        item = json.loads((folder / name).read_text(encoding='utf-8'))  # whole JSON, never torn
        assert isinstance(item, dict)
        stored.append(item['id'])
    assert len(stored) == len(set(stored)), 'an item was stored twice'
    missing = set(acknowledged) - set(stored)
    assert not missing, f'acknowledged items lost: {sorted(missing)[:10]}'
    # Order: within a round, items keep their push order.
    for round_no in range(ROUNDS):
        numbers = [int(i.split('-')[1]) for i in stored if i.startswith(f'{round_no}-')]
        assert numbers == sorted(numbers)
    # Anything else in the folder is metadata or a temp file, which is never read as an item.
    others = [name for name in names if name not in item_names]
    assert all(n == '__metadata__.json' or n.startswith('.actorkit-tmp-') for n in others)

    backend = LocalStorageBackend(root, purge_on_start=False)
    dataset = Dataset(backend.open_dataset())
    assert dataset.item_count == len(stored)
    assert [item['id'] for item in dataset.iterate_items()] == stored
    dataset.push_data({'id': 'after'})
    assert dataset.item_count == len(stored) + 1
    backend.close()
    meta = json.loads((folder / '__metadata__.json').read_text())
    assert meta['item_count'] == len(stored) + 1
    assert not any(p.name.startswith('.actorkit-tmp-') for p in folder.iterdir())
