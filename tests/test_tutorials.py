"""Tutorials are executable documentation: each one runs to completion in its short mode
(``GEODL_TUTORIAL_QUICK=1``) and checks the equalities it claims.

A tutorial asserts its claims itself (an ``AssertionError`` fails the run) and prints each as
a ``same numbers: <what>: max|diff| = <d> <= <atol>`` line (``assert_same_numbers``);
this test reads those lines back and checks every one again, and that each tutorial makes at
least one such claim.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = sorted((Path(__file__).resolve().parents[1] / "tutorials").glob("[0-9]*.py"))
CLAIM = re.compile(r"^same numbers: (?P<what>.+): max\|diff\| = (?P<d>\S+) <= (?P<atol>\S+)$",
                   re.MULTILINE)


def claims(stdout: str) -> list[tuple[str, float, float]]:
    return [(m["what"], float(m["d"]), float(m["atol"])) for m in CLAIM.finditer(stdout)]


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs_and_its_equalities_hold(path, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "error::FutureWarning",
           "GEODL_TUTORIAL_QUICK": "1"}
    out = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, f"{path.name} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    found = claims(out.stdout)
    assert found, f"{path.name} claims no equality (no 'same numbers:' line in its output)"
    broken = [(what, d, atol) for what, d, atol in found if not d <= atol]
    assert not broken, f"{path.name}: equalities that do not hold: {broken}"


def test_claims_parser_reads_the_printed_line(capsys):
    import torch

    from geodl.testing import assert_same_numbers

    assert_same_numbers("a == b", torch.tensor([1.0]), torch.tensor([1.0 + 1e-12]))
    assert claims(capsys.readouterr().out) == [("a == b", pytest.approx(1e-12, rel=0.1), 1e-10)]


def test_there_is_a_tutorial():
    assert TUTORIALS
