"""Helpers every benchmark script shares: progress logging and a check that the machine was idle.

Timings taken while other processes use the cores are distorted (seen here: 5-25x), so each
script measures that load and flags the rows it affected.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable


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


def median_times(fns: dict[str, Callable[[], object]], rounds: int,
                 clock: Callable[[], float] = time.perf_counter) -> dict[str, float]:
    """Median seconds per call of each function after one warm-up call each (which also fills
    any cache a path builds), the functions interleaved call by call so that a change of load
    hits all of them alike."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for key, fn in fns.items():
            start = clock()
            fn()
            times[key].append(clock() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def backward_step(forward: Callable[[], object], params: list) -> Callable[[], object]:
    """``forward()`` then a backward pass of ``<out, probe>`` with a fixed random probe (drawn
    on the first call, seed 0), after clearing the gradients of ``params``."""
    import torch

    probe: dict[str, torch.Tensor] = {}

    def run():
        for p in params:
            p.grad = None
        out = forward()
        if "p" not in probe:
            probe["p"] = torch.randn(out.shape, generator=torch.Generator().manual_seed(0))
        (out * probe["p"].view(out.shape)).sum().backward()
        return out
    return run
