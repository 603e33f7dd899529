"""Injected faults: the next N matching requests fail in a chosen way."""

from __future__ import annotations

import re
import threading

from actorkit.testing._fake_platform._common import ApiError

_ERROR_TYPES = {
    400: 'invalid-input',
    401: 'invalid-token',
    403: 'insufficient-permissions',
    404: 'record-not-found',
    408: 'run-timeout-exceeded',
    413: 'request-too-large',
    429: 'rate-limit-exceeded',
}


class Fault:
    """One injected fault; :meth:`FakePlatform.inject_faults` returns it.

    Attributes:
        status: The status it answers with; ``None`` answers normally (after ``delay``).
        times: How many requests it fails in all.
        path: The path it matches (a substring, or a compiled regex searched in the path).
        method: The method it matches (``None``: any).
        retry_after: The ``Retry-After`` header it sends, in seconds.
        reset: Whether it drops the TCP connection instead of answering.
        delay: Seconds it holds the answer.
        after_processing: Whether the request is processed before the fault strikes.
    """

    def __init__(
        self,
        *,
        status: int | None,
        times: int,
        path: str | re.Pattern[str] | None,
        method: str | None,
        retry_after: float | None,
        reset: bool,
        delay: float | None,
        after_processing: bool,
    ) -> None:
        if times < 1:
            raise ValueError(f'times must be at least 1, got {times}')
        if status is not None and not 100 <= status <= 599:
            raise ValueError(f'status must be an HTTP status code (100-599), got {status}')
        if delay is not None and delay < 0:
            raise ValueError(f'delay must be >= 0 seconds, got {delay}')
        self.status = status
        self.times = times
        self.path = path
        self.method = method.upper() if method else None
        self.retry_after = retry_after
        self.reset = reset
        self.delay = delay
        self.after_processing = after_processing
        self._used = 0
        self._lock = threading.Lock()

    @property
    def triggered(self) -> int:
        """How many requests it has struck so far."""
        with self._lock:
            return self._used

    @property
    def remaining(self) -> int:
        """How many more requests it will strike."""
        with self._lock:
            return self.times - self._used

    def matches(self, method: str, path: str) -> bool:
        """Whether it applies to a request (it does not count the request)."""
        if self.method is not None and self.method != method:
            return False
        if self.path is None:
            return True
        if isinstance(self.path, str):
            return self.path in path
        return self.path.search(path) is not None

    def take(self, method: str, path: str) -> bool:
        """Count the request if the fault matches and is not used up."""
        if not self.matches(method, path):
            return False
        with self._lock:
            if self._used >= self.times:
                return False
            self._used += 1
            return True

    def error(self) -> ApiError | None:
        """The error answer it gives, if it answers with an error."""
        if self.status is None:
            return None
        headers = {}
        if self.retry_after is not None:
            seconds = self.retry_after
            headers['Retry-After'] = str(int(seconds)) if seconds == int(seconds) else str(seconds)
        error_type = _ERROR_TYPES.get(self.status)
        if error_type is None:
            error_type = 'internal-server-error' if self.status >= 500 else 'fake-fault'
        return ApiError(
            self.status, error_type, f'Injected fault: HTTP {self.status} (FakePlatform)', headers
        )

    def __repr__(self) -> str:
        parts = [f'status={self.status}', f'times={self.times}', f'triggered={self.triggered}']
        for name in ('path', 'method', 'retry_after', 'delay'):
            value = getattr(self, name)
            if value is not None:
                parts.append(f'{name}={value!r}')
        if self.reset:
            parts.append('reset=True')
        if self.after_processing:
            parts.append('after_processing=True')
        return f'Fault({", ".join(parts)})'


class FaultBook:
    """The faults waiting to strike, in injection order."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        """Add a fault; it strikes after those injected before it are used up."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The fault that strikes this request, if any (it is counted)."""
        with self._lock:
            faults = list(self._faults)
        for fault in faults:
            if fault.take(method, path):
                return fault
        return None

    def clear(self) -> None:
        """Forget every fault not yet used up."""
        with self._lock:
            self._faults.clear()
