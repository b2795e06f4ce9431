"""Tutorials are executable documentation: each one runs to completion."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = sorted((Path(__file__).resolve().parents[1] / "tutorials").glob("[0-9]*.py"))


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(path, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "error::FutureWarning"}
    out = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, f"{path.name} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"


def test_there_is_a_tutorial():
    assert TUTORIALS
