"""Memory readings shared by the benchmarks (Linux ``/proc``, ``getrusage`` elsewhere)."""

from __future__ import annotations

import resource
from pathlib import Path


def status_mb(key: str) -> float:
    """A ``/proc/self/status`` figure in MB: ``VmRSS`` (now) or ``VmHWM`` (peak).

    ``VmHWM`` restarts at exec, whereas ``ru_maxrss`` would include the parent's peak at fork
    time on Linux, so ``ru_maxrss`` is only the fallback where ``/proc`` is missing.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    return status_mb("VmRSS")


def peak_rss_mb() -> float:
    return status_mb("VmHWM")


def reset_peak() -> bool:
    """Reset the process's RSS high-water mark (Linux); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False
