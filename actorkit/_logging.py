"""Logging set-up: the library adds only a NullHandler; ``init()`` may add a console handler."""

from __future__ import annotations

import logging
import sys
import time

logger = logging.getLogger('actorkit')
"""The ``actorkit`` logger, also ``actor.log``."""
logger.addHandler(logging.NullHandler())

_LEVELS = {
    'DEBUG': logging.DEBUG,
    'PERF': logging.DEBUG,
    'INFO': logging.INFO,
    'WARNING': logging.WARNING,
    'WARN': logging.WARNING,
    'SOFT_FAIL': logging.WARNING,
    'ERROR': logging.ERROR,
    'CRITICAL': logging.CRITICAL,
    'OFF': logging.CRITICAL + 10,
}


class ConsoleFormatter(logging.Formatter):
    """``2026-11-22T05:45:06.123Z INFO  actorkit: message``, in UTC."""

    def __init__(self) -> None:
        super().__init__('%(asctime)s %(levelname)-5s %(name)s: %(message)s')

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        stamp = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(record.created))
        return f'{stamp}.{int(record.msecs):03d}Z'


class _ConsoleHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler actorkit added, so it is added once per process."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(ConsoleFormatter())


def configure_logging(level_name: str | None, *, force: bool) -> None:
    """Give the ``actorkit`` logger a console handler and a level.

    The handler is added only when the root logger has no handler (the application has not
    configured logging) or when ``force`` is set, and only once per process.

    Args:
        level_name: A level name from ``APIFY_LOG_LEVEL`` (``None``: INFO).
        force: Add the handler even if the root logger has handlers.
    """
    level = _LEVELS.get((level_name or 'INFO').upper(), logging.INFO)
    if any(isinstance(handler, _ConsoleHandler) for handler in logger.handlers):
        logger.setLevel(level)
        return
    if logging.getLogger().handlers and not force:
        if level_name is not None:
            logger.setLevel(level)
        return
    logger.addHandler(_ConsoleHandler())
    logger.setLevel(level)
    # The root logger has no handler of ours; do not print our records twice through it.
    logger.propagate = False
