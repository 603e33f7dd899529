"""``actor.progress()``: iterate while the status message and a progress display follow along.

The display is a notebook widget when ipywidgets is installed (in a Jupyter kernel), an
updating line of text in a notebook without it, a text bar on stderr when stderr is a
terminal, and nothing otherwise (piped output stays clean). The status message changes at most
once a second, plus once at the end.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from actorkit import _process
from actorkit._logging import logger

if TYPE_CHECKING:
    from actorkit._status import StatusMessages

_T = TypeVar('_T')

STATUS_INTERVAL = 1.0
"""Seconds between two status-message updates."""

_DRAW_INTERVAL = 0.1
_BAR_WIDTH = 30


def describe(desc: str, done: int, total: int | None, *, finished: bool = False) -> str:
    """The progress as a status message: ``Crawling: 30/100 (30%)``."""
    if total:
        text = f'{done}/{total} ({min(100, done * 100 // total)}%)'
    else:
        text = f'{done} done' if finished else f'{done} so far'
    return f'{desc}: {text}'


class Display(Protocol):
    """Where the progress is drawn."""

    def update(self, done: int, total: int | None) -> None: ...

    def close(self, done: int, total: int | None) -> None: ...


class _Nothing:
    def update(self, done: int, total: int | None) -> None:
        pass

    def close(self, done: int, total: int | None) -> None:
        pass


class TerminalBar:
    """``desc [#####     ] 5/10`` redrawn in place on a terminal stream."""

    def __init__(self, desc: str, stream: Any) -> None:
        self._desc = desc
        self._stream = stream
        self._width = 0

    def _draw(self, done: int, total: int | None, end: str = '') -> None:
        if total:
            filled = min(_BAR_WIDTH, done * _BAR_WIDTH // total)
            line = f'{self._desc} [{"#" * filled}{" " * (_BAR_WIDTH - filled)}] {done}/{total}'
        else:
            line = f'{self._desc} {done}'
        pad = max(0, self._width - len(line))
        self._width = len(line)
        self._stream.write(f'\r{line}{" " * pad}{end}')
        self._stream.flush()

    def update(self, done: int, total: int | None) -> None:
        self._draw(done, total)

    def close(self, done: int, total: int | None) -> None:
        self._draw(done, total, end='\n')


class NotebookText:
    """One line of text in the cell's output, updated in place (a notebook without widgets)."""

    def __init__(self, desc: str) -> None:
        from IPython import display as ipython_display  # noqa: PLC0415

        display: Any = ipython_display.display
        self._desc = desc
        self._handle = display(describe(desc, 0, None), display_id=True)

    def update(self, done: int, total: int | None) -> None:
        self._handle.update(describe(self._desc, done, total))

    def close(self, done: int, total: int | None) -> None:
        self._handle.update(describe(self._desc, done, total, finished=True))


class NotebookWidget:
    """An ipywidgets progress bar with a label."""

    def __init__(self, desc: str, total: int | None, widgets: Any) -> None:
        from IPython import display as ipython_display  # noqa: PLC0415

        display: Any = ipython_display.display
        self._desc = desc
        self._bar = widgets.IntProgress(value=0, min=0, max=total or 1, description=desc)
        self._label = widgets.Label(value=describe(desc, 0, total))
        display(widgets.HBox([self._bar, self._label]))

    def update(self, done: int, total: int | None) -> None:
        if total:
            self._bar.max = total
            self._bar.value = min(done, total)
        self._label.value = describe(self._desc, done, total)

    def close(self, done: int, total: int | None) -> None:
        self._bar.max = total or max(done, 1)
        self._bar.value = min(done, self._bar.max)
        self._bar.bar_style = 'success'
        self._label.value = describe(self._desc, done, total, finished=True)


def choose_display(desc: str, total: int | None) -> Display:
    """The display for where the code runs (see the module docstring)."""
    if _process.in_ipython() and _in_kernel():
        try:
            import ipywidgets  # noqa: PLC0415
        except ImportError:
            return NotebookText(desc)
        return NotebookWidget(desc, total, ipywidgets)
    stream = sys.stderr
    isatty = getattr(stream, 'isatty', None)
    if isatty is not None and isatty():
        return TerminalBar(desc, stream)
    return _Nothing()


def _in_kernel() -> bool:
    from IPython import get_ipython  # noqa: PLC0415

    shell = get_ipython()
    return shell is not None and getattr(shell, 'kernel', None) is not None


def _length(iterable: Iterable[Any]) -> int | None:
    try:
        return len(iterable)  # type: ignore[arg-type]
    except TypeError:
        return None


class ActorProgressMethods:
    """``progress``: :class:`~actorkit.Actor` inherits it."""

    _status: StatusMessages

    def progress(
        self, iterable: Iterable[_T], total: int | None = None, desc: str | None = None
    ) -> Iterator[_T]:
        """Iterate over ``iterable`` while showing how far it got.

        The run's status message (``desc: 30/100 (30%)``) is updated at most once a second
        while the Actor is running, and once at the end; a progress display follows every
        item: a widget in a notebook with ipywidgets installed, a line of text in one without,
        a bar on stderr when it is a terminal, nothing when it is not.

        Example::

            for url in actor.progress(urls, desc='Crawling'):
                crawl(url)

        Args:
            iterable: What to iterate over.
            total: How many items it yields; by default ``len(iterable)`` when it has one.
            desc: What is being done (``Crawling``); ``Progress`` by default.

        Yields:
            The items of ``iterable``.
        """
        if total is None:
            total = _length(iterable)
        label = desc or 'Progress'
        display = choose_display(label, total)
        done = 0
        last_status = float('-inf')
        last_draw = float('-inf')
        try:
            for item in iterable:
                now = time.monotonic()
                if now - last_status >= STATUS_INTERVAL:
                    last_status = now
                    self._progress_status(describe(label, done, total))
                if now - last_draw >= _DRAW_INTERVAL:
                    last_draw = now
                    display.update(done, total)
                yield item
                done += 1
        finally:
            display.close(done, total)
            self._progress_status(describe(label, done, total, finished=True))

    def _progress_status(self, message: str) -> None:
        if not getattr(self, 'is_running', False):
            return
        try:
            self._status.set(message, is_terminal=False)
        except Exception:
            logger.exception('updating the status message with the progress failed')
