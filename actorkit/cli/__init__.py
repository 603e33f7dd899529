"""The ``actorkit`` command: run scripts as Actors, shell-script tools, storage inspection.

``actorkit`` (the console script) and ``python -m actorkit`` call :func:`main`. Each command
group lives in a module of its own and is imported only when its command runs, so the command
starts fast and local commands never import ``requests``.
"""

from __future__ import annotations

from actorkit.cli._main import main

__all__ = ['main']
