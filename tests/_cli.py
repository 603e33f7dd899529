"""Run the ``actorkit`` command in a subprocess, in a test's ``tmp_path``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from tests._subprocess import TIMEOUT, script_env


def cli(
    tmp_path: Path,
    *args: str,
    stdin: bytes | None = None,
    env: Mapping[str, str | None] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m actorkit ARGS`` with local storage in ``tmp_path / 'storage'``."""
    return subprocess.run(
        [sys.executable, '-m', 'actorkit', *args],
        input=stdin if stdin is not None else b'',
        capture_output=True,
        env=script_env(tmp_path, env),
        cwd=cwd or tmp_path,
        timeout=TIMEOUT,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[bytes]) -> bytes:
    """The stdout of a command that must have succeeded (its stderr in the failure)."""
    assert result.returncode == 0, result.stderr.decode(errors='replace')
    return result.stdout
