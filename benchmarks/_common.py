"""Helpers every benchmark script shares: progress logging and a check that the machine was idle.

Timings taken while other processes use the cores are distorted (seen here: 5-25x), so each
script measures that load and flags the rows it affected.
"""

from __future__ import annotations

import os
import sys
import time


def log(message: str) -> None:
    """Progress to stderr, so stdout holds only the table."""
    print(message, file=sys.stderr, flush=True)


def _cpu_seconds() -> float | None:
    """Non-idle CPU seconds of the whole machine since boot (all cores, from /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        busy = sum(fields[:8]) - fields[3] - fields[4]  # minus idle and iowait; no guest
        return busy / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class OtherLoad:
    """Average number of cores kept busy by *other* processes since construction.

    The machine's non-idle CPU time (/proc/stat) minus this process's CPU time, over wall time.
    """

    def __init__(self) -> None:
        self.machine, self.own, self.wall = _cpu_seconds(), time.process_time(), time.time()

    def cores(self) -> float | None:
        machine = _cpu_seconds()
        wall = time.time() - self.wall
        if machine is None or self.machine is None or wall <= 0:
            return None
        own = time.process_time() - self.own
        return max(0.0, (machine - self.machine - own) / wall)
