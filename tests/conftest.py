"""Shared fixtures: one demo database per test session, and a tiny hand-made database."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from stls.store import db as dbmod
from stls.store.demo import build_demo

ROOT = Path(__file__).resolve().parent.parent
DEMO_UNTIL = dt.date(2026, 10, 1)   # fixed so the suite does not depend on today's date
DEMO_SEED = 2019


@pytest.fixture(scope="session")
def demo_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "stls.duckdb"
    build_demo(path, seed=DEMO_SEED, until=DEMO_UNTIL)
    return path


@pytest.fixture(scope="session")
def demo_db(demo_path) -> dbmod.Database:
    return dbmod.Database(demo_path)


@pytest.fixture(scope="session")
def demo_sql(demo_path):
    """An independent read-only connection for checking figures with hand-written SQL."""
    con = duckdb.connect(str(demo_path), read_only=True)
    yield lambda sql, params=None: con.execute(sql, params or []).fetchall()
    con.close()


@pytest.fixture()
def app_env(demo_path, monkeypatch):
    monkeypatch.setenv("STLS_DB", str(demo_path))
    monkeypatch.chdir(ROOT)
    return demo_path
