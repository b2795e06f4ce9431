"""The shared raw-data folder for the dataset tests; tests skip when it is absent."""

from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA  # one definition of the folder


@pytest.fixture
def shared_data():
    """A factory: ``shared_data("Cora")`` is the shared root, skipping if Cora is absent."""

    def need(name: str) -> Path:
        if not (SHARED_DATA / name).is_dir():
            pytest.skip(f"shared raw data {SHARED_DATA / name} is absent (set GEODL_SHARED_DATA "
                        "to the folder of raw datasets described in shared/data/README.md)")
        return SHARED_DATA

    return need


@pytest.fixture(autouse=True)
def _no_env_root(monkeypatch):
    """Tests pass ``root`` explicitly; a GEODL_DATA in the environment must not leak in."""
    monkeypatch.delenv("GEODL_DATA", raising=False)
