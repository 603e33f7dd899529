"""Jupyter helpers: HTML views of storages and charge results, and actor.progress()."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from _subprocess import TIMEOUT, describe, script_env, write_script

from actorkit import Actor, ChargeResult, _progress


def test_dataset_html_shows_name_count_and_the_first_items_escaped(
    make_actor: Callable[..., Actor],
) -> None:
    """A dataset's view is a table of its first ten items with every text escaped."""
    actor = make_actor()
    actor.init()
    dataset = actor.open_dataset(name='products')
    dataset.push_data([{'name': '<script>alert(1)</script>', 'tags': ['a&b']}])
    dataset.push_data([{'name': f'item {n}', 'price': n} for n in range(14)])
    view = dataset._repr_html_()
    assert 'products' in view
    assert '15 items' in view
    assert '&lt;script&gt;alert(1)&lt;/script&gt;' in view
    assert '<script>' not in view
    assert '[&quot;a&amp;b&quot;]' in view
    assert '<th>name</th><th>tags</th><th>price</th>' in view
    assert view.count('<tr>') == 11  # the header and ten items
    assert 'and 5 more' in view


def test_key_value_store_and_request_queue_html_show_their_counts(
    make_actor: Callable[..., Actor],
) -> None:
    """A store shows its keys with sizes and types; a queue its handled/pending/total counts."""
    actor = make_actor()
    actor.init()
    store = actor.open_key_value_store()
    store.set_value('OUTPUT', {'ok': True})
    store.set_value("it's", '<b>text</b>', content_type='text/plain')
    view = store._repr_html_()
    assert '2 keys' in view
    assert '<td>OUTPUT</td>' in view
    assert 'application/json' in view
    assert '<td>it&#x27;s</td>' in view
    queue = actor.open_request_queue()
    queue.add_requests(['https://example.com/1', 'https://example.com/2'])
    request = queue.fetch_next_request()
    assert request is not None
    queue.mark_request_as_handled(request)
    view = queue._repr_html_()
    assert 'Request queue' in view
    assert '<td>1</td><td>1</td><td>2</td>' in view


def test_storage_html_after_the_run_ended_says_so(make_actor: Callable[..., Actor]) -> None:
    """A storage of an ended run still renders, saying its run has ended, without raising."""
    actor = make_actor()
    actor.init()
    dataset = actor.open_dataset(name='kept')
    actor.exit()
    view = dataset._repr_html_()
    assert 'kept' in view
    assert 'the run that opened it has ended' in view


def test_charge_result_html_shows_the_charge_and_the_budget() -> None:
    """A ChargeResult shows how many were charged, the limit and what is still chargeable."""
    result = ChargeResult(
        charged_count=3,
        event_charge_limit_reached=True,
        chargeable_within_limit={'page<1>': 0, 'search': None},
    )
    view = result._repr_html_()
    assert '3 charged' in view
    assert 'event charge limit reached' in view
    assert '<td>page&lt;1&gt;</td><td>0</td>' in view
    assert '<td>search</td><td>unlimited</td>' in view


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_progress_updates_the_status_message_at_most_once_a_second(
    make_actor: Callable[..., Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    """progress() yields every item; the status changes once per second and at the end."""
    clock = FakeClock()
    monkeypatch.setattr(_progress, 'time', clock)
    actor = make_actor()
    actor.init()
    seen: list[str | None] = []
    for index in actor.progress(range(10), desc='Crawling'):
        seen.append(actor.status_message)
        clock.now += 0.3 if index != 5 else 1.0
    assert seen[0] == 'Crawling: 0/10 (0%)'
    # 0.3 s steps: a new message after four items (1.2 s), then after the long step.
    assert seen[1:4] == ['Crawling: 0/10 (0%)'] * 3
    assert seen[4] == 'Crawling: 4/10 (40%)'
    assert seen[6] == 'Crawling: 6/10 (60%)'
    assert len(set(seen)) == 3
    assert actor.status_message == 'Crawling: 10/10 (100%)'


def test_progress_without_a_length_or_a_run_still_iterates() -> None:
    """progress() over a generator, with no Actor running, yields all and sets no status."""
    actor = Actor(configure_logging=False)
    items = list(actor.progress(iter('abc')))
    assert items == ['a', 'b', 'c']
    assert actor.status_message is None


def test_progress_draws_a_bar_on_a_terminal_and_nothing_when_piped(tmp_path: Path) -> None:
    """On a terminal stderr shows `desc [###...] done/total`; piped, stderr stays empty."""
    script = write_script(
        tmp_path,
        """
        from actorkit import Actor
        for _ in Actor(configure_logging=False).progress(range(3), desc='Working'):
            pass
        print('DONE')
        """,
    )
    piped = subprocess.run(
        [sys.executable, str(script)],
        env=script_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert piped.returncode == 0, describe(piped)
    assert piped.stderr == ''

    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, str(script)],
            env=script_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=follower,
        )
        os.close(follower)
        output = b''
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: the script ended
                break
            if not chunk:
                break
            output += chunk
        process.wait(TIMEOUT)
    finally:
        os.close(leader)
    text = output.decode()
    assert process.returncode == 0, text
    assert f'Working [{"#" * 30}] 3/3' in text
    assert text.startswith('\rWorking [')


def test_progress_in_a_kernel_with_ipywidgets_shows_a_widget(tmp_path: Path) -> None:
    """In a notebook with ipywidgets, progress() displays a bar and label that reach the end."""
    pytest.importorskip('ipywidgets')
    nbformat = pytest.importorskip('nbformat')
    nbclient = pytest.importorskip('nbclient')
    from ipykernel.kernelspec import write_kernel_spec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    write_kernel_spec(tmp_path / 'kernels' / 'actorkit-widgets')
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            'from actorkit import Actor\n'
            "items = list(Actor(configure_logging=False).progress(range(7), desc='Loading'))\n"
            'print(items)'
        )
    ]
    client = nbclient.NotebookClient(
        notebook,
        km=KernelManager(
            kernel_name='actorkit-widgets',
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(tmp_path / 'kernels')]),
        ),
        timeout=int(TIMEOUT),
        startup_timeout=int(TIMEOUT),
        resources={'metadata': {'path': str(tmp_path)}},
    )
    client.execute(env=script_env(tmp_path))
    outputs = notebook.cells[0].outputs
    assert any('application/vnd.jupyter.widget-view+json' in o.get('data', {}) for o in outputs)
    assert '[0, 1, 2, 3, 4, 5, 6]' in ''.join(o.get('text', '') for o in outputs)
    states = notebook.metadata['widgets']['application/vnd.jupyter.widget-state+json']['state']
    values = [state['state'] for state in states.values()]
    assert {'value': 7, 'max': 7, 'bar_style': 'success'}.items() <= next(
        value.items() for value in values if value.get('_model_name') == 'IntProgressModel'
    )
    assert any(value.get('value') == 'Loading: 7/7 (100%)' for value in values)
