"""`python -m stls serve` warms the Overview's first run: the same cached calls, filled in advance."""
from __future__ import annotations

import functools
import shutil

import pytest
from conftest import ROOT
from streamlit.testing.v1 import AppTest

from stls import memo
from stls.present.views import overview
from stls.ui import serve

VIEWS = ("page", "district_comparison")


def _counting(monkeypatch) -> dict[str, int]:
    """Count calls of the Overview's view functions (same module and name, so the same cache keys)."""
    calls = dict.fromkeys(VIEWS, 0)
    for name in VIEWS:
        real = getattr(overview, name)

        @functools.wraps(real)
        def counted(*args, _real=real, _name=name, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)
        monkeypatch.setattr(overview, name, counted)
    return calls


def _first_overview_run() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run()
    assert not at.exception and at.title[0].value == "STLS overview"
    return at


@pytest.fixture()
def unseen(app_env, tmp_path, monkeypatch):
    """A copy of the demo at a path of its own: a data version nothing in this process has
    computed, so the first run starts cold (without clearing every other test's kept results)."""
    path = tmp_path / "stls.duckdb"
    shutil.copyfile(app_env, path)
    monkeypatch.setenv("STLS_DB", str(path))
    return path


def test_first_run_reads_what_the_warm_up_computed(unseen, monkeypatch):
    serve.warm_default_view()
    calls = _counting(monkeypatch)
    _first_overview_run()
    assert calls == dict.fromkeys(VIEWS, 0)


def test_without_the_warm_up_the_first_run_computes_them(unseen, monkeypatch):
    calls = _counting(monkeypatch)
    _first_overview_run()
    assert calls == dict.fromkeys(VIEWS, 1)


def test_warm_up_waits_for_the_server_then_gives_up_waiting(monkeypatch, tmp_path):
    """Every step of the warm-up, in order, after waiting for the server (here: none in this
    process, so after the wait runs out). On its own temporary database path: this test fitted the
    real evaluation of support (warm_impact, not replaced) whenever data/stls.duckdb existed."""
    import time
    import types
    monkeypatch.setenv("STLS_DB", str(tmp_path / "stls.duckdb"))
    done = []
    monkeypatch.setattr(serve, "warm_streamlit", lambda: done.append("streamlit"))
    monkeypatch.setattr(serve, "warm_imports", lambda: done.append("imports"))
    monkeypatch.setattr(serve, "warm_default_view", lambda: done.append("view"))
    monkeypatch.setattr(serve, "warm_impact", lambda: done.append("impact"))
    monkeypatch.setattr(serve, "gc", types.SimpleNamespace(freeze=lambda: done.append("freeze")))
    started = time.monotonic()
    serve.warm_after_start(wait=0.05)   # no server in this process: waits 0.05 s, then warms
    assert time.monotonic() - started >= 0.05
    assert done == ["streamlit", "view", "imports", "impact", "freeze"]
    assert not (tmp_path / "stls.duckdb").exists()


def test_warming_with_no_database_leaves_it_to_the_page(monkeypatch, tmp_path):
    """No database file yet: the warm-up neither builds one nor fills any cache (the page's first
    run builds the demo and says so)."""
    monkeypatch.setenv("STLS_DB", str(tmp_path / "stls.duckdb"))
    kept = set(memo._cache)
    serve.warm_default_view()
    serve.warm_impact()
    assert not (tmp_path / "stls.duckdb").exists()
    assert set(memo._cache) == kept
