"""Count the file-system calls a storage makes on one folder, to pin how its costs scale.

Tests of scaling count calls instead of timing them: a page read that lists a folder of 100,000
files is slow only on a big folder, but it lists the folder on a small one too. The counter wraps
the ``os`` functions every file access goes through (``os.scandir``, ``os.listdir``, ``os.open``,
``os.stat`` and the builtin ``open``) for the duration of a ``with`` block and records the calls
on paths inside one folder; the calls still happen.
"""

from __future__ import annotations

import builtins
import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


class FsCalls:
    """The calls recorded on one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = os.path.abspath(folder)
        self.listings = 0
        """How many times the folder itself was listed."""
        self.opened: list[str] = []
        """Names of the files opened in the folder, in order."""
        self.stats: list[str] = []
        """Names of the files stat-ed in the folder, in order (the folder itself is ``.``)."""

    def _where(self, path: Any) -> str | None:
        """Return the name of ``path`` inside the folder (``.`` for the folder), or ``None``."""
        if isinstance(path, int):
            return None
        full = os.path.abspath(os.fspath(path))
        if full == self.folder:
            return '.'
        parent, name = os.path.split(full)
        return name if parent == self.folder else None

    def reset(self) -> None:
        """Forget the calls recorded so far."""
        self.listings = 0
        self.opened.clear()
        self.stats.clear()


@contextlib.contextmanager
def count_fs_calls(monkeypatch: pytest.MonkeyPatch, folder: Path) -> Iterator[FsCalls]:
    """Record the listings, opens and stats of ``folder`` made inside the block."""
    calls = FsCalls(folder)
    real_scandir, real_listdir = os.scandir, os.listdir
    real_os_open, real_open, real_stat = os.open, builtins.open, os.stat

    def listing(real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(path: Any = '.', *args: Any, **kwargs: Any) -> Any:
            if calls._where(path) == '.':
                calls.listings += 1
            return real(path, *args, **kwargs)

        return wrapper

    def opening(real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(path: Any, *args: Any, **kwargs: Any) -> Any:
            name = calls._where(path) if kwargs.get('dir_fd') is None else None
            if name is not None and name != '.':
                calls.opened.append(name)
            return real(path, *args, **kwargs)

        return wrapper

    def stat(path: Any, *args: Any, **kwargs: Any) -> Any:
        name = calls._where(path) if kwargs.get('dir_fd') is None else None
        if name is not None:
            calls.stats.append(name)
        return real_stat(path, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(os, 'scandir', listing(real_scandir))
        patch.setattr(os, 'listdir', listing(real_listdir))
        patch.setattr(os, 'open', opening(real_os_open))
        patch.setattr(builtins, 'open', opening(real_open))
        patch.setattr(os, 'stat', stat)
        yield calls
