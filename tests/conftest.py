"""Shared fixtures: one demo database per test run (shared by pytest-xdist's workers); no test
reads the developer's own data/stls.duckdb."""
from __future__ import annotations

import datetime as dt
import fcntl
import os
import sys
from pathlib import Path

import duckdb
import pytest

from stls.store import db as dbmod
from stls.store.demo import build_demo

ROOT = Path(__file__).resolve().parent.parent
DEMO_UNTIL = dt.date(2026, 10, 1)   # fixed so the suite does not depend on today's date
DEMO_SEED = 2019


def run_folder(tmp_path_factory) -> Path:
    """A folder for this whole run: under pytest-xdist each worker has a base folder of its own
    inside the run's, so files built once for all workers go one level up."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session", autouse=True)
def no_local_database(tmp_path_factory):
    """``STLS_DB`` names a file that does not exist unless a test says otherwise, so code that
    falls back to the default database (the server's warm-up, the app, the command line) never
    opens the developer's data/stls.duckdb: a test behaves the same with or without one."""
    before = os.environ.get("STLS_DB")
    os.environ["STLS_DB"] = str(tmp_path_factory.mktemp("no-database") / "stls.duckdb")
    yield
    if before is None:
        os.environ.pop("STLS_DB", None)
    else:
        os.environ["STLS_DB"] = before


@pytest.fixture(autouse=True)
def main_module_put_back():
    """Streamlit's script runner (every AppTest run) installs the page it runs as
    ``sys.modules["__main__"]`` and leaves it there; a process pool started later by another test
    (the evaluation's ``spawn`` worker) then re-runs that page's file in its child, and a page made
    by ``AppTest.from_function`` fails there (NameError: ``__args``), so a test passed or failed by
    what ran before it in the same process. Each test starts with the process's own ``__main__``."""
    main = sys.modules.get("__main__")
    yield
    if main is not None and sys.modules.get("__main__") is not main:
        sys.modules["__main__"] = main


@pytest.fixture(scope="session")
def demo_path(tmp_path_factory) -> Path:
    """The demo database, built once for the run: the first worker to get here builds it under a
    lock, the others wait for it. Tests read it and never change it (they copy it to change it)."""
    folder = run_folder(tmp_path_factory) / "demo"
    folder.mkdir(exist_ok=True)
    path, built = folder / "stls.duckdb", folder / "built"   # ``built``: written once the build has finished
    with open(folder / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not built.exists():
            build_demo(path, seed=DEMO_SEED, until=DEMO_UNTIL)
            built.touch()
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


# --- pytest-xdist (test.sh runs the suite on two workers with --dist loadgroup) ------------------
# A module whose tests share a module-scoped fixture (a server, a browser, a rendered deck, a
# database built for the module) runs on one worker, in file order, so the fixture is made once and
# tests that rely on the order of their file (test_guard.py damages its server's database last)
# keep it; every other test goes to whichever worker is free. The browser tests, the longest
# module, are two groups with a server each, so both workers share them.
BROWSER_SECOND_HALF = {   # test_browser.py's tests from the upload on: about half its time
    "test_upload_through_the_data_page", "test_table_download_is_the_table_as_shown",
    "test_clicking_a_districts_bar_on_the_overview_opens_its_profile",
    "test_one_click_on_a_district_opens_its_profile_in_the_same_tab",
    "test_every_meeting_slide_is_whole_on_a_1280_by_720_screen", "test_meeting_mode_on_a_page_opens_that_pages_slide",
    "test_printing_a_page_on_a4_gives_the_whole_page_and_nothing_cut", "test_every_tab_stop_is_on_screen_and_visible",
}


def _xdist_group(item) -> str | None:
    module = item.path.name
    if module == "test_browser.py":
        return f"{module}:{'2' if item.originalname in BROWSER_SECOND_HALF else '1'}"
    scopes = {defs[-1].scope for defs in item._fixtureinfo.name2fixturedefs.values() if defs}
    return module if scopes & {"module", "class", "package"} else None


@pytest.hookimpl(tryfirst=True)   # before pytest-xdist reads the marks
def pytest_collection_modifyitems(config, items):
    for item in items:
        group = _xdist_group(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
