"""Shared data folder for the task tests; tests that need it skip when it is absent."""

from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA  # one definition of the folder


@pytest.fixture
def shared_root():
    """A factory: ``shared_root("esol")`` is the shared root, skipping if that set is absent."""

    def need(name: str) -> Path:
        if not (SHARED_DATA / name).is_dir():
            pytest.skip(f"shared raw data {SHARED_DATA / name} is absent (set GEODL_SHARED_DATA)")
        return SHARED_DATA

    return need
