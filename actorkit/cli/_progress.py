"""A progress bar on stderr, drawn only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

_REDRAW_SECS = 0.1


class Progress:
    """Shows ``desc [#####     ] done/total`` on one line of stderr while long work goes on.

    Nothing is drawn when stderr is not a terminal (piped, redirected, under tests), so piped
    output stays clean. The line is redrawn at most ten times a second and erased at the end.

    Args:
        desc: What is being counted (``exporting``, ``pushing``).
        total: The expected count, or ``None`` when unknown (a counter is shown instead).
        unit: The unit after the counts (``items``).
        stream: Where to draw (stderr).
    """

    def __init__(
        self,
        desc: str,
        total: int | None = None,
        *,
        unit: str = 'items',
        stream: TextIO | None = None,
    ) -> None:
        self._stream = sys.stderr if stream is None else stream
        self.enabled = _isatty(self._stream)
        self._desc = desc
        self._total = total
        self._unit = unit
        self._done = 0
        self._drawn_at = 0.0
        self._width = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def done(self) -> int:
        """How many were counted so far."""
        return self._done

    def set_total(self, total: int | None) -> None:
        """Change the expected count."""
        self._total = total

    def update(self, count: int = 1) -> None:
        """Count ``count`` more, redrawing if the last drawing is old enough."""
        self._done += count
        self.set(self._done)

    def set(self, done: int) -> None:
        """Set the count done, redrawing if the last drawing is old enough."""
        self._done = done
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._drawn_at >= _REDRAW_SECS:
            self._drawn_at = now
            self._draw()

    def close(self) -> None:
        """Erase the line."""
        if self.enabled and self._width:
            self._write('\r' + ' ' * self._width + '\r')
            self._width = 0

    def _draw(self) -> None:
        if self._total:
            ratio = min(1.0, self._done / self._total)
            bar = '#' * int(ratio * 30)
            line = (
                f'{self._desc} [{bar:<30}] {self._done:,}/{self._total:,} {self._unit} '
                f'({ratio:.0%})'
            )
        else:
            line = f'{self._desc}: {self._done:,} {self._unit}'
        padding = max(0, self._width - len(line))
        self._width = len(line)
        self._write('\r' + line + ' ' * padding)

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):
            self.enabled = False


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
