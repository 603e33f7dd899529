"""The word_count example gives the same results locally and on the (fake) platform."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from actorkit.testing import FakePlatform
from tests._subprocess import TIMEOUT, script_env

EXAMPLE = Path(__file__).resolve().parent.parent / 'examples' / 'word_count.py'
INPUT = {'texts': ['the cat and the hat', 'A b a B a', 'one']}


def _run(cwd: Path, env: dict[str, str | None] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLE)],
        cwd=cwd,
        env=script_env(cwd, env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def _local_results(root: Path) -> tuple[list[Any], Any]:
    dataset = root / 'storage' / 'datasets' / 'default'
    items = [
        json.loads(path.read_text(encoding='utf-8'))
        for path in sorted(dataset.glob('*.json'))
        if path.name != '__metadata__.json'
    ]
    output = json.loads(
        (root / 'storage' / 'key_value_stores' / 'default' / 'OUTPUT').read_text('utf-8')
    )
    return items, output


def test_word_count_gives_the_same_results_locally_and_at_home(tmp_path: Path) -> None:
    """Dataset items and the OUTPUT record are equal whether the example runs locally or at home."""
    local_dir = tmp_path / 'local'
    local_dir.mkdir()
    (local_dir / 'INPUT.json').write_text(json.dumps(INPUT), encoding='utf-8')
    local = _run(local_dir)
    assert local.returncode == 0, local.stderr
    local_items, local_output = _local_results(local_dir)
    assert local_output == {'texts': 3, 'words': 11}

    home_dir = tmp_path / 'home'
    home_dir.mkdir()
    with FakePlatform() as platform:
        env = platform.run_env(input=INPUT)
        home = _run(home_dir, dict(env))
        assert home.returncode == 0, home.stderr
        home_items = platform.dataset_items(env['ACTOR_DEFAULT_DATASET_ID'])
        record = platform.record(env['ACTOR_DEFAULT_KEY_VALUE_STORE_ID'], 'OUTPUT')
        run = platform.run(env['ACTOR_RUN_ID'])
    assert record is not None
    assert home_items == local_items
    assert json.loads(record[0]) == local_output
    assert run['statusMessage'] == 'Actor finished with exit code 0'
    assert not (home_dir / 'storage').exists()
