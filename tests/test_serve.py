"""`python -m stls serve` warms the Overview's first run: the same cached calls, filled in advance."""
from __future__ import annotations

import functools

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


def test_first_run_reads_what_the_warm_up_computed(app_env, monkeypatch):
    memo.clear()
    serve.warm_default_view()
    calls = _counting(monkeypatch)
    _first_overview_run()
    assert calls == dict.fromkeys(VIEWS, 0)


def test_without_the_warm_up_the_first_run_computes_them(app_env, monkeypatch):
    memo.clear()
    calls = _counting(monkeypatch)
    _first_overview_run()
    assert calls == dict.fromkeys(VIEWS, 1)


def test_warm_up_waits_for_the_server_then_gives_up_waiting(monkeypatch):
    done = []
    monkeypatch.setattr(serve, "warm_streamlit", lambda: done.append("streamlit"))
    monkeypatch.setattr(serve, "warm_imports", lambda: done.append("imports"))
    monkeypatch.setattr(serve, "warm_default_view", lambda: done.append("view"))
    serve.warm_after_start(wait=0.05)   # no server in this process: waits 0.05 s, then warms
    assert done == ["streamlit", "view", "imports"]
