"""The bad-input catalogue's one assertion: refused with the right type, and the message names
the argument (and, where given, more words: the value, the fix). Each package's
``test_bad_input.py`` is a parametrised table of cases run through :func:`assert_refused`."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest


def assert_refused(call: Callable[[], object], exc: type[BaseException],
                   *words: str) -> BaseException:
    """``call()`` raises ``exc`` whose message contains every one of ``words`` and never
    suggests ``weights_only=False``; returns the exception."""
    with pytest.raises(exc) as info:
        call()
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} not in the message: {message}"
    assert "weights_only=False" not in message
    return info.value


def files_under(folder: str | os.PathLike) -> list[Path]:
    """Every file below ``folder`` (hidden ones too), sorted: "nothing written" checks."""
    return sorted(p for p in Path(folder).rglob("*") if p.is_file())


def case_id(case) -> str:
    return case[0]
