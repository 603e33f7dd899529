"""Storages belong to a run: unusable after exit, shared (not purged) by the run's processes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from actorkit import Actor, ActorStateError
from tests._subprocess import describe, run_script, write_script

MakeActor = Callable[..., Actor]


@pytest.mark.parametrize(
    'call',
    [
        pytest.param(lambda s: s['store'].set_value('k', 1), id='set_value'),
        pytest.param(lambda s: s['store'].get_value('k'), id='get_value'),
        pytest.param(lambda s: s['store'].list_keys(), id='list_keys'),
        pytest.param(lambda s: s['dataset'].push_data({'a': 1}), id='push_data'),
        pytest.param(lambda s: s['dataset'].get_data(), id='get_data'),
        pytest.param(lambda s: list(s['dataset'].iterate_items()), id='iterate_items'),
        pytest.param(lambda s: s['queue'].add_request('https://example.com'), id='add_request'),
        pytest.param(lambda s: s['queue'].fetch_next_request(), id='fetch_next_request'),
        pytest.param(lambda s: s['queue'].is_finished(), id='is_finished'),
    ],
)
def test_every_storage_refuses_calls_after_exit(
    make_actor: MakeActor, tmp_path: Path, call: Callable[[dict[str, object]], object]
) -> None:
    """After exit() any call on a storage raises ActorStateError naming it; nothing is written."""
    actor = make_actor()
    actor.init()
    storages: dict[str, object] = {
        'store': actor.open_key_value_store(name='things'),
        'dataset': actor.open_dataset(),
        'queue': actor.open_request_queue(),
    }
    actor.exit()
    before = sorted(str(path) for path in (tmp_path / 'storage').rglob('*'))
    with pytest.raises(ActorStateError, match=r'(named .things.|dataset|request queue).*has ended'):
        call(storages)
    assert sorted(str(path) for path in (tmp_path / 'storage').rglob('*')) == before
    assert 'things' in repr(storages['store'])


def test_a_storage_opened_again_in_a_new_run_works(make_actor: MakeActor) -> None:
    """The next run opens a fresh object for the same storage; the old one stays ended."""
    actor = make_actor(purge_on_start=False)
    actor.init()
    old = actor.open_dataset(name='rows')
    old.push_data({'n': 1})
    actor.exit()
    actor.init()
    new = actor.open_dataset(name='rows')
    assert new is not old
    new.push_data({'n': 2})
    assert [item['n'] for item in new.list_items()] == [1, 2]
    with pytest.raises(ActorStateError, match='has ended'):
        old.push_data({'n': 3})
    actor.exit()


PARENT_WITH_WORKERS = """\
import multiprocessing
import subprocess
import sys

from actorkit import actor

def worker(method):
    with actor:
        actor.push_data({'by': method})

if __name__ == '__main__':
    with actor:
        actor.set_value('BEFORE_WORKERS', {'n': 1})
        actor.push_data({'by': 'parent'})
        child = subprocess.run([sys.executable, 'child.py'], capture_output=True, text=True)
        assert child.returncode == 0, child.stderr
        for method in ('spawn', 'fork'):
            process = multiprocessing.get_context(method).Process(target=worker, args=(method,))
            process.start()
            process.join(60)
            assert process.exitcode == 0, (method, process.exitcode)
        items = actor.open_dataset().list_items()
        print('ITEMS', sorted(item['by'] for item in items))
        print('RECORD', actor.get_value('BEFORE_WORKERS'), actor.get_value('CHILD'))
"""

CHILD = """\
from actorkit import actor

with actor:
    actor.push_data({'by': 'child'})
    actor.set_value('CHILD', 'was here')
"""

FRESH = """\
from actorkit import actor

with actor:
    print('FRESH', actor.open_dataset().list_items(), actor.get_value('CHILD'))
"""


def test_workers_of_a_run_share_its_storages_and_a_new_run_purges(tmp_path: Path) -> None:
    """A subprocess and spawned and forked workers push beside the parent; a new run purges."""
    stale = tmp_path / 'storage' / 'datasets' / 'default'
    stale.mkdir(parents=True)
    (stale / '000000001.json').write_text(json.dumps({'by': 'an earlier run'}))
    write_script(tmp_path, CHILD, 'child.py')
    result = run_script(tmp_path, PARENT_WITH_WORKERS)
    assert result.returncode == 0, describe(result)
    assert "ITEMS ['child', 'fork', 'parent', 'spawn']" in result.stdout, describe(result)
    assert "RECORD {'n': 1} was here" in result.stdout, describe(result)
    fresh = run_script(tmp_path, FRESH)
    assert fresh.returncode == 0, describe(fresh)
    assert 'FRESH [] None' in fresh.stdout, describe(fresh)


WORKER_FIRST = """\
import subprocess
import sys

from actorkit import actor

with actor:
    child = subprocess.run([sys.executable, 'child.py'], capture_output=True, text=True)
    assert child.returncode == 0, child.stderr
    actor.push_data({'by': 'parent'})
    print('ITEMS', [item['by'] for item in actor.open_dataset().list_items()])
"""


def test_a_worker_that_opens_a_storage_first_purges_it_for_the_whole_run(tmp_path: Path) -> None:
    """Whichever process of the run opens the dataset first purges it; the parent keeps it."""
    stale = tmp_path / 'storage' / 'datasets' / 'default'
    stale.mkdir(parents=True)
    (stale / '000000001.json').write_text(json.dumps({'by': 'an earlier run'}))
    write_script(tmp_path, CHILD, 'child.py')
    result = run_script(tmp_path, WORKER_FIRST)
    assert result.returncode == 0, describe(result)
    assert "ITEMS ['child', 'parent']" in result.stdout, describe(result)


def test_the_run_token_leaves_the_environment_when_the_run_ends(
    make_actor: MakeActor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """init() sets ACTORKIT_RUN_TOKEN for the run's children and exit() removes it."""
    import os

    monkeypatch.delenv('ACTORKIT_RUN_TOKEN', raising=False)
    actor = make_actor()
    actor.init()
    token = os.environ.get('ACTORKIT_RUN_TOKEN')
    assert token
    actor.push_data({'n': 1})
    actor.exit()
    assert 'ACTORKIT_RUN_TOKEN' not in os.environ
    record = json.loads((tmp_path / 'storage' / '.actorkit-purged.json').read_text())
    assert record['run'] == token
