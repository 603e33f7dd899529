"""The Actor in a Jupyter notebook: cells re-run, exit() and failures never end the kernel.

The notebook runs in a real ipykernel through nbclient, with a kernel spec written for the
interpreter running the tests, so no installed kernel spec is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from _subprocess import TIMEOUT, script_env
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

KERNEL_NAME = 'actorkit-test'


@pytest.fixture(scope='module')
def kernel_dirs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A kernel spec directory whose one kernel runs this interpreter."""
    root = tmp_path_factory.mktemp('kernels')
    write_kernel_spec(root / KERNEL_NAME)
    return [str(root)]


def run_notebook(
    tmp_path: Path, kernel_dirs: list[str], cells: list[tuple[str, list[str]]]
) -> list[str]:
    """Execute ``(source, tags)`` cells in a fresh kernel; return each cell's text output."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(source, metadata={'tags': tags}) for source, tags in cells
    ]
    manager = KernelManager(
        kernel_name=KERNEL_NAME, kernel_spec_manager=KernelSpecManager(kernel_dirs=kernel_dirs)
    )
    client = NotebookClient(
        notebook,
        km=manager,
        timeout=int(TIMEOUT),
        startup_timeout=int(TIMEOUT),
        resources={'metadata': {'path': str(tmp_path)}},
    )
    client.execute(env=script_env(tmp_path))
    return [cell_text(cell) for cell in notebook.cells]


def cell_text(cell: Any) -> str:
    """All the text a cell showed: streams, results and errors (name and message)."""
    parts = []
    for output in cell.outputs:
        if output.output_type == 'stream':
            parts.append(output.text)
        elif output.output_type in ('execute_result', 'display_data'):
            parts.append(output.data.get('text/plain', ''))
        elif output.output_type == 'error':
            parts.append(f'ERROR {output.ename}: {output.evalue}\n')
    return ''.join(parts)


def test_notebook_cells_rerun_exit_and_fail_without_ending_the_kernel(
    tmp_path: Path, kernel_dirs: list[str]
) -> None:
    """Re-running init(), exit() and a failing `with actor:` all leave the kernel alive."""
    outputs = run_notebook(
        tmp_path,
        kernel_dirs,
        [
            ('from actorkit import Event, actor', []),
            (
                'exits = []\n'
                'actor.init()\n'
                "actor.on(Event.EXIT, lambda data: exits.append(('first', data.exit_code)))\n"
                "print('RUNNING', actor.is_running)",
                [],
            ),
            # Re-running the init cell finishes the previous run and starts a new one.
            (
                'actor.init()\n'
                "actor.on(Event.EXIT, lambda data: exits.append(('second', data.exit_code)))\n"
                "print('RUNNING AGAIN', actor.is_running, exits)",
                [],
            ),
            ("actor.exit()\nprint('AFTER EXIT', actor.is_running, exits)", []),
            ("print('KERNEL ALIVE')", []),
            (
                "with actor:\n    actor.exit_code = None\n    raise ValueError('bad cell')",
                ['raises-exception'],
            ),
            ("print('STILL ALIVE', actor.is_running, actor.exit_code)", []),
            # A listener of the previous run reads actor.config while init() finishes that run.
            (
                'import time\n'
                'from actorkit import Actor\n'
                'patient = Actor(event_listeners_timeout=30)\n'
                'seen = []\n'
                'patient.init()\n'
                'patient.on(Event.EXIT, lambda: seen.append(patient.config.is_at_home))',
                [],
            ),
            (
                'started = time.monotonic()\n'
                'patient.init()\n'
                "print('REINIT TOOK', round(time.monotonic() - started, 1), seen)\n"
                'patient.exit()',
                [],
            ),
        ],
    )
    assert 'RUNNING True' in outputs[1]
    assert 'Initializing Actor' in outputs[1]
    assert "RUNNING AGAIN True [('first', 0)]" in outputs[2]
    assert 'finishing the previous run' in outputs[2]
    assert "AFTER EXIT False [('first', 0), ('second', 0)]" in outputs[3]
    assert 'KERNEL ALIVE' in outputs[4]
    assert 'ERROR ValueError: bad cell' in outputs[5]
    assert 'Actor failed with an exception' in outputs[5]
    assert 'STILL ALIVE False 91' in outputs[6]
    took, seen = outputs[8].split('REINIT TOOK ')[1].split(' ', 1)
    assert seen.strip() == '[False]', outputs[8]
    assert float(took) < 10, outputs[8]  # the listener timeout (30 s) must not be waited out
