"""Shared test set-up: fixed seeds, a fast hypothesis profile, the shared data folder, a
PostgreSQL schema per test."""

import os
import random
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings

# One torch thread per process: the suite runs as two pytest-xdist workers on two cores, and
# more threads per worker only oversubscribe them (the float64 gradchecks slowed 10-30x).
torch.set_num_threads(1)

settings.register_profile(
    "geodl", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "geodl"))

#: Real raw datasets (see their README.md): ``../shared/data`` beside the repository,
#: or the folder named by GEODL_SHARED_DATA.
SHARED_DATA = Path(os.environ.get("GEODL_SHARED_DATA",
                                  Path(__file__).resolve().parents[1].parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def _seed():
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    yield


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder not found at {SHARED_DATA} (set GEODL_SHARED_DATA)")
    return SHARED_DATA


#: The throw-away PostgreSQL server of CI (`.ci/postgres.sh`); its tests skip without it.
POSTGRES = os.environ.get("GEODL_TEST_POSTGRES_URL")


@pytest.fixture
def postgres_url():
    """The test server's URL with ``search_path`` set to a fresh schema, dropped afterwards, so
    a test sees only its own rows."""
    if not POSTGRES:
        pytest.skip("GEODL_TEST_POSTGRES_URL is unset: start a server with `export "
                    "GEODL_TEST_POSTGRES_URL=$(bash .ci/postgres.sh)` to run the PostgreSQL tests")
    import psycopg

    schema = f"geodl_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{POSTGRES}{'&' if '?' in POSTGRES else '?'}options=-c%20search_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as con:
            con.execute(f"DROP SCHEMA {schema} CASCADE")
