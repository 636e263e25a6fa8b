"""Shared fixtures: one demo database per test session, and a tiny hand-made database."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from stls import db as dbmod
from stls.demo import build_demo

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


@pytest.fixture(autouse=True)
def _no_v1_pages(monkeypatch):
    """Run AppTest as `python -m stls serve` runs the server: Streamlit's v1 'pages/' mode off.

    AppTest resets the flag before every run, and a folder named pages/ would turn it on,
    making a page file run without app.py's frame (see stls/serve.py).
    """
    from streamlit.runtime import pages_manager
    from streamlit.testing.v1 import app_test

    class PagesManager(pages_manager.PagesManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            pages_manager.PagesManager.uses_pages_directory = False

    monkeypatch.setattr(app_test, "PagesManager", PagesManager)
