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


def peak_program(body: str) -> str:
    """A ``python -c`` program that runs ``body`` and writes the child's own peak RSS as it exits.

    Run it as ``python -c PROGRAM PEAK_FILE ARGS...``: ``body`` sees ``sys.argv[1:] == ARGS``,
    and at exit the process writes ``peak_rss_mb()`` (MB) to PEAK_FILE. This is how a parent
    measures a child: ``os.wait4``'s ``ru_maxrss`` would include the parent's own high-water
    mark at fork on Linux, whereas ``VmHWM`` restarts at exec.
    """
    return (
        "import atexit, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
        "from memory import peak_rss_mb\n"
        "del sys.path[0]\n"
        "_peak_file = sys.argv.pop(1)\n"
        "def _write_peak():\n"
        "    with open(_peak_file, 'w', encoding='utf-8') as out:\n"
        "        out.write(str(peak_rss_mb()))\n"
        "atexit.register(_write_peak)\n"
        f"{body}\n"
    )
