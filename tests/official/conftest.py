"""Fidelity checks against the official ``apify`` SDK and ``apify-client``, run live.

These tests need the official packages, so the default test run does not collect this folder
(``norecursedirs`` in pyproject.toml); ``tox -e official`` installs the pinned versions and
runs it. The official SDK runs in a subprocess of the same interpreter (its configuration and
service locator are process-wide); actorkit runs in the test process.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import subprocess
import sys
import textwrap
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests._subprocess import TIMEOUT, script_env

_NEEDED = ('apify', 'apify_client', 'crawlee')
_missing = [name for name in _NEEDED if importlib.util.find_spec(name) is None]
if _missing:
    raise pytest.UsageError(
        f'tests/official needs the official packages ({", ".join(_missing)} missing): '
        f'run them with `tox -e official`, which installs the pinned versions'
    )

RESULT_MARK = '@@RESULT@@ '
"""Prefix of the line an official script prints its JSON result on."""

_PRELUDE = f'RESULT_MARK = {RESULT_MARK!r}\n' + (
    '''
import asyncio, base64, json, sys


def plain(value):
    """Make a value JSON-able, keeping bytes apart from text."""
    if isinstance(value, (bytes, bytearray)):
        return {'__bytes__': base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def emit(result):
    print(RESULT_MARK + json.dumps(plain(result)), flush=True)
'''
)


def unplain(value: Any) -> Any:
    """Undo the prelude's ``plain``: bytes come back as bytes."""
    if isinstance(value, dict):
        if list(value) == ['__bytes__']:
            return base64.b64decode(value['__bytes__'])
        return {key: unplain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unplain(item) for item in value]
    return value


class OfficialRunner:
    """Runs scripts that use the official packages, in subprocesses, from one test's tmp dir."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self._count = 0
        self._count_lock = threading.Lock()  # several scripts may run at once, from threads

    def __call__(
        self,
        body: str,
        *,
        storage: Path | None = None,
        purge: bool = False,
        env: Mapping[str, str | None] | None = None,
        returncode: int = 0,
        timeout: float = TIMEOUT,
    ) -> Any:
        """Run ``body`` (code that calls ``emit(result)`` once) and return the result.

        With ``storage``, the official SDK's local storage is that folder, purged on start
        only if ``purge``. The test fails with the script's output if the script exits with
        another code than ``returncode`` or does not emit exactly one result.
        """
        with self._count_lock:
            self._count += 1
            name = f'official_{self._count}.py'
        path = self.tmp_path / name
        path.write_text(_PRELUDE + '\n' + textwrap.dedent(body), encoding='utf-8')
        overrides: dict[str, str | None] = {}
        if storage is not None:
            flag = 'true' if purge else 'false'
            overrides.update(
                APIFY_LOCAL_STORAGE_DIR=str(storage),
                CRAWLEE_STORAGE_DIR=str(storage),
                APIFY_PURGE_ON_START=flag,
                CRAWLEE_PURGE_ON_START=flag,
            )
        overrides.update(env or {})
        done = subprocess.run(
            [sys.executable, str(path)],
            cwd=self.tmp_path,
            env=script_env(self.tmp_path, overrides),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        lines = done.stdout.splitlines()
        results = [line[len(RESULT_MARK) :] for line in lines if line.startswith(RESULT_MARK)]
        if done.returncode != returncode or len(results) != 1:
            pytest.fail(
                f'the official script {name} exited with {done.returncode} and emitted '
                f'{len(results)} result(s)\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}'
            )
        return unplain(json.loads(results[0]))


@pytest.fixture
def run_official(tmp_path: Path) -> OfficialRunner:
    """Run a script that uses the official packages; see :class:`OfficialRunner`."""
    return OfficialRunner(tmp_path)
