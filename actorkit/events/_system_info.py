"""Local SYSTEM_INFO samples of this process and its children, from psutil."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from actorkit.events._models import SystemInfoData


class SystemInfoSampler:
    """Measures CPU and memory of this process tree.

    CPU use is a ratio of all CPUs of the machine (0.0-1.0). psutil measures CPU between two
    calls, so the sampler keeps one ``psutil.Process`` per pid; :meth:`prime` takes the first
    reading. psutil is imported on first use, off the main thread.
    """

    def __init__(self, max_used_cpu_ratio: float) -> None:
        self._max_used_cpu_ratio = max_used_cpu_ratio
        self._processes: dict[int, Any] = {}
        self._cpu_count = 1

    def prime(self) -> None:
        """Take the first CPU reading, so the next sample has something to compare with."""
        import psutil  # noqa: PLC0415 (costly import, kept off start-up)

        self._cpu_count = psutil.cpu_count() or 1
        self._read()

    def _read(self) -> tuple[float, int]:
        import psutil  # noqa: PLC0415

        me = self._processes.get(0) or psutil.Process()
        self._processes[0] = me
        try:
            tree = [me, *me.children(recursive=True)]
        except psutil.Error:
            tree = [me]
        cpu_percent = 0.0
        memory = 0
        seen = {0}
        for process in tree:
            key = 0 if process is me else process.pid
            cached = self._processes.setdefault(key, process)
            seen.add(key)
            try:
                with cached.oneshot():
                    cpu_percent += cached.cpu_percent(None)
                    memory += cached.memory_info().rss
            except psutil.Error:
                continue
        for key in list(self._processes):
            if key not in seen:
                del self._processes[key]
        return cpu_percent / 100.0 / self._cpu_count, memory

    def sample(self) -> SystemInfoData:
        """Return the CPU and memory use since the previous call."""
        if not self._processes:
            self.prime()
        cpu_ratio, memory = self._read()
        return SystemInfoData(
            created_at=datetime.now(timezone.utc),
            cpu_current_usage=cpu_ratio,
            mem_current_bytes=memory,
            is_cpu_overloaded=cpu_ratio > self._max_used_cpu_ratio,
        )
