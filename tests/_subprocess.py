"""Run a Python script in a fresh interpreter, for tests of process exit, signals and fork.

The script is written into the test's ``tmp_path`` and run there with the interpreter running
the tests, so it imports the same actorkit. Its environment is the test process's, without any
Apify/actorkit variables, with local storage under ``tmp_path`` and unbuffered output.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

import actorkit

TIMEOUT = 60.0
"""Seconds a script may run before the test fails (generous: CI machines are slow)."""

_OWN_PREFIXES = ('APIFY_', 'ACTOR_', 'ACTORKIT_', 'CRAWLEE_')
_PACKAGE_ROOT = str(Path(actorkit.__file__).resolve().parent.parent)


def script_env(tmp_path: Path, overrides: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """Return the environment for a script: ``os.environ`` cleaned, plus ``overrides``.

    An override of ``None`` removes the variable.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(_OWN_PREFIXES)}
    env['APIFY_LOCAL_STORAGE_DIR'] = str(tmp_path / 'storage')
    env['PYTHONUNBUFFERED'] = '1'
    env['PYTHONPATH'] = os.pathsep.join(
        [_PACKAGE_ROOT, *filter(None, [os.environ.get('PYTHONPATH')])]
    )
    for key, value in (overrides or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def write_script(tmp_path: Path, source: str, name: str = 'script.py') -> Path:
    """Write ``source`` (dedented) to ``tmp_path / name`` and return the path."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(source), encoding='utf-8')
    return path


def run_script(
    tmp_path: Path,
    source: str,
    env: Mapping[str, str | None] | None = None,
    timeout: float = TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run ``source`` as a script in ``tmp_path`` and wait for it; stdout/stderr are captured."""
    path = write_script(tmp_path, source)
    return subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env=script_env(tmp_path, env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_script(
    tmp_path: Path, source: str, env: Mapping[str, str | None] | None = None
) -> subprocess.Popen[str]:
    """Start ``source`` as a script in ``tmp_path`` without waiting; stdout/stderr are pipes."""
    path = write_script(tmp_path, source)
    return subprocess.Popen(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env=script_env(tmp_path, env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(process: subprocess.Popen[str], expected: str) -> list[str]:
    """Read stdout lines until one equals ``expected``; return the lines read before it.

    Raises:
        AssertionError: The script ended without printing ``expected`` (its stderr is shown).
    """
    assert process.stdout is not None
    seen: list[str] = []
    for line in process.stdout:
        if line.rstrip('\n') == expected:
            return seen
        seen.append(line)
    _, stderr = process.communicate(timeout=TIMEOUT)
    raise AssertionError(
        f'the script ended (code {process.returncode}) before printing {expected!r}\n'
        f'stdout: {"".join(seen)}\nstderr: {stderr}'
    )


def describe(result: subprocess.CompletedProcess[str]) -> str:
    """Return a script's exit code and output, for assertion messages."""
    return (
        f'exit code {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}'
    )
