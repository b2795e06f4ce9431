"""The console script: --version and the demo main job."""

import subprocess
import sys

import pytest

import geodl
from geodl.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"geodl {geodl.__version__}"


def test_console_script_entry_point_is_installed():
    out = subprocess.run([sys.executable, "-m", "geodl.cli", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.startswith("geodl ")


def test_demo_prints_real_statistics(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "karate club: 34 nodes, 156 directed edges (78 friendships)" in out
    assert "diameter 5 hops" in out
    assert "caffeine" in out and "14 heavy atoms" in out


def test_unknown_command_is_rejected(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["benchmark"])
    assert exit_.value.code == 2
    assert "invalid choice: 'benchmark'" in capsys.readouterr().err
