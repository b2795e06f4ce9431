"""A tiny registered suite (GCN on Cora, GIN on MUTAG, a few epochs; a small speed row), and a
PostgreSQL schema of its own per test (GEODL_TEST_POSTGRES_URL; skipped without it)."""

import os
import uuid

import pytest

from geodl.bench import suites_speed
from geodl.bench.suites import SUITES, Suite

POSTGRES = os.environ.get("GEODL_TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(
    not POSTGRES, reason="GEODL_TEST_POSTGRES_URL is unset: start a server with "
    "`export GEODL_TEST_POSTGRES_URL=$(bash .ci/postgres.sh)` to run the PostgreSQL tests")


def tiny_suite() -> Suite:
    return Suite("tiny", "a few epochs of the quick suite's experiments", (
        SUITES["planetoid"].experiments[0].configured(seeds=2, fit={"epochs": 3}),
        SUITES["tu"].experiments[0].configured(seeds=1, fit={"epochs": 2}, batch_size=64),
        suites_speed._gcn_layer(300, 2000, "pyg", 0.3, 1).configured(seeds=1, repeats=1),
    ))


@pytest.fixture
def tiny(monkeypatch, shared_data):
    suite = tiny_suite()
    monkeypatch.setitem(SUITES, "tiny", suite)
    return suite


@pytest.fixture
def postgres_url():
    """The test server's URL with ``search_path`` set to a fresh schema, dropped afterwards, so
    a test sees only its own rows."""
    if not POSTGRES:
        pytest.skip(needs_postgres.kwargs["reason"])
    import psycopg

    schema = f"geodl_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{POSTGRES}{'&' if '?' in POSTGRES else '?'}options=-c%20search_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as con:
            con.execute(f"DROP SCHEMA {schema} CASCADE")
