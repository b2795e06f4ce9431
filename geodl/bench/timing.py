"""The one timer of ``geodl bench``: interleaved calls, medians and spread, one clock.

Every speed row times all of its sides (geodl, its peer, geodl's generic path) *in one
process, call by call*: after one warm-up call each (which also fills any cache a path
builds), the functions run in turn, ``rounds`` times, so that a change of load on the machine
hits every side alike. The clock is ``time.perf_counter`` (wall time) everywhere. A row
reports the median and the spread (min, max, quartiles) of its calls, never a mean +- std,
and how many cores *other* processes kept busy while it was measured
(:class:`OtherLoad`, from ``/proc/stat``): above :data:`BUSY_CORES` the row is marked
"machine busy" in the report.

:func:`paired` turns a measurement that returns every side's :class:`Outcome` at once into
the runner's per-implementation trial, so the interleaving survives the runner's loop::

    @paired
    def my_speed(exp, seed, config, root):
        t = interleaved({"geodl": ours, "torch": theirs}, rounds=config["repeats"])
        return {impl: speed_outcome(t[impl]) for impl in t}
"""

from __future__ import annotations

import functools
import json
import os
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from geodl.bench.experiments import Outcome

__all__ = ["CLOCK", "BUSY_CORES", "Timing", "interleaved", "OtherLoad", "backward_step",
           "speed_outcome", "paired"]

CLOCK: Callable[[], float] = time.perf_counter
BUSY_CORES = 0.5  # other processes using more than this many cores make a row "machine busy"


@dataclass(frozen=True)
class Timing:
    """Seconds of every timed call of one function (warm-up excluded).

    >>> t = Timing((0.3, 0.1, 0.2, 0.4))
    >>> t.median, t.min, t.max, tuple(round(q, 6) for q in t.quartiles)
    (0.25, 0.1, 0.4, (0.175, 0.325))
    """

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)

    @property
    def quartiles(self) -> tuple[float, float]:
        """The first and third quartile (linear interpolation; equal for one sample)."""
        if len(self.samples) < 2:
            return self.samples[0], self.samples[0]
        q = statistics.quantiles(self.samples, n=4, method="inclusive")
        return q[0], q[2]


def interleaved(fns: Mapping[str, Callable[[], object]], rounds: int,
                warmup: int = 1) -> dict[str, Timing]:
    """Time each of ``fns`` ``rounds`` times, interleaved call by call after ``warmup`` calls
    each; returns ``{name: Timing}``.

    >>> sorted(interleaved({"a": lambda: None, "b": lambda: None}, rounds=3)["a"].samples)[0] >= 0
    True
    """
    if isinstance(rounds, bool) or int(rounds) < 1:
        raise ValueError(f"rounds={rounds!r}; time at least one call per function, e.g. 5.")
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(int(rounds)):
        for key, fn in fns.items():
            start = CLOCK()
            fn()
            times[key].append(CLOCK() - start)
    return {k: Timing(tuple(v)) for k, v in times.items()}


def _cpu_seconds() -> float | None:
    """Non-idle CPU seconds of the whole machine since boot (all cores, from /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        busy = sum(fields[:8]) - fields[3] - fields[4]  # minus idle and iowait; no guest
        return busy / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class OtherLoad:
    """Average number of cores kept busy by *other* processes since construction: the
    machine's non-idle CPU time (``/proc/stat``) minus this process's, over wall time;
    ``None`` where ``/proc/stat`` does not exist."""

    def __init__(self) -> None:
        self.machine, self.own, self.wall = _cpu_seconds(), time.process_time(), CLOCK()

    def cores(self) -> float | None:
        machine, wall = _cpu_seconds(), CLOCK() - self.wall
        if machine is None or self.machine is None or wall <= 0:
            return None
        return max(0.0, (machine - self.machine - (time.process_time() - self.own)) / wall)


def backward_step(forward: Callable[[], object], params: list) -> Callable[[], object]:
    """``forward()`` then a backward pass of ``<out, probe>`` after clearing the gradients of
    ``params``. The fixed random probe (seed 0) is laid out *like the output* (same strides:
    a channels-last output gets a channels-last probe), so no side pays for a layout
    conversion the other does not."""
    import torch

    probe: dict[str, torch.Tensor] = {}

    def run():
        for p in params:
            p.grad = None
        out = forward()
        if "p" not in probe:
            values = torch.randn(out.shape, generator=torch.Generator().manual_seed(0))
            probe["p"] = torch.empty_like(out, requires_grad=False).copy_(values)
        (out * probe["p"]).sum().backward()
        return out
    return run


def speed_outcome(t: Timing, load: float | None = None, params: int | None = None,
                  **metrics: float) -> Outcome:
    """A speed row's :class:`Outcome`: ``ms`` (the median), ``ms_min``, ``ms_max``,
    ``ms_q1``, ``ms_q3``, ``calls``, ``busy_cores`` (other processes' load, when known) and
    ``metrics``; ``train_time`` is the seconds of the timed calls."""
    q1, q3 = t.quartiles
    out = {"ms": 1e3 * t.median, "ms_min": 1e3 * t.min, "ms_max": 1e3 * t.max,
           "ms_q1": 1e3 * q1, "ms_q3": 1e3 * q3, "calls": float(len(t.samples)), **metrics}
    if load is not None:
        out["busy_cores"] = float(load)
    return Outcome(out, params=params, train_time=sum(t.samples))


def paired(measure: Callable[..., Mapping[str, Outcome]]) -> Callable[..., Outcome]:
    """A trial from ``measure(exp, seed, config, root) -> {impl: Outcome}``, which measures
    every side of a row together (interleaved). The first implementation's trial runs it;
    the others take their outcome from that same measurement (same process, same seed and
    config), so the runner can still record one row per implementation."""
    cache: dict[tuple, dict[str, Outcome]] = {}

    @functools.wraps(measure)
    def trial(exp, impl: str, seed: int, config: dict, root=None) -> Outcome:
        key = (exp.key, seed, json.dumps(config, sort_keys=True, default=str), root)
        if impl not in cache.get(key, {}):
            cache[key] = dict(measure(exp, seed, config, root))
        if impl not in cache[key]:
            raise ValueError(f"impl={impl!r} is not measured by {measure.__name__}; it "
                             f"measures {sorted(cache[key])}.")
        out = cache[key].pop(impl)
        if not cache[key]:
            del cache[key]
        return out
    return trial
