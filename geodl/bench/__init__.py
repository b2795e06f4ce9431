"""Benchmark suites, their runner, the results database and reports (``geodl bench``).

- :func:`run_suite` runs a suite of :data:`SUITES` and returns its records; ``geodl bench run``.
- :class:`ResultStore`: the append-only results database, an SQLite file or a PostgreSQL server
  (also used by ``geodl tune``).
- :func:`rebuild_reports`: markdown tables and PNG plots from the database; ``geodl bench
  report``.
- :class:`Suite`, :class:`Experiment`, :func:`register`: the registry of suites.

Imports are lazy, so ``geodl --version`` and ``geodl bench --help`` do not load torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "ResultStore": "store", "DEFAULT_DB": "store", "DEFAULT_OUT": "store",
    "run_suite": "runner", "BenchResults": "runner",
    "Suite": "suites", "Experiment": "suites", "Published": "suites", "SUITES": "suites",
    "register": "suites", "get_suite": "suites",
    "Outcome": "experiments",
    "summarize": "report", "markdown_table": "report", "text_table": "report",
    "write_report": "report", "rebuild_reports": "report",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(importlib.import_module(f"geodl.bench.{_NAMES[name]}"), name)
    raise AttributeError(f"module 'geodl.bench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_NAMES])
