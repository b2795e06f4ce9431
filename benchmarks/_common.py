"""Helpers every benchmark script shares: progress logging and a check that the machine was idle.

Timings taken while other processes use the cores are distorted (seen here: 5-25x), so each
script measures that load and flags the rows it affected.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable


def log(message: str) -> None:
    """Progress to stderr, so stdout holds only the table."""
    print(message, file=sys.stderr, flush=True)


_LABELS = {"torch_geometric": "PyG", "sklearn": "scikit-learn"}


def machine_info(**versions: str) -> dict:
    """The machine and the versions a benchmark ran with (torch's first; ``versions`` adds
    others, e.g. ``torch_geometric=...``), for the header line and the JSON output."""
    import torch

    return {"cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "torch": torch.__version__, **versions,
            "python": platform.python_version()}


def machine_line(info: dict) -> str:
    """``CPU: x86_64 x 2 | torch threads: 1 | torch 2.13.0 | PyG 2.8.1 | Python 3.11.7``."""
    versions = [f"{_LABELS.get(k, k)} {v}" for k, v in info.items()
                if k not in ("cpu", "cpu_count", "torch_threads", "python")]
    return " | ".join([f"CPU: {info['cpu']} x {info['cpu_count']}",
                       f"torch threads: {info['torch_threads']}", *versions,
                       f"Python {info['python']}"])


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
