"""Time spent protecting figures on a filter change, per page (issue 26's closing figure).

    .venv/bin/python bench/protection_time.py [DB]

Runs every page in AppTest on the demo database (built under bench/.cache/ if no DB is given),
then makes the same filter changes as bench/run.py (districts, years, area of need, phase), each
page from empty caches, under cProfile. Prints per page the median server time of a change and
the time inside disclosure control: every function of stls/store/disclosure.py and the functions
elsewhere that built or applied a view's protection (``ENTRY``, those that exist in the code
measured), timed by wrapping them and counting only the outermost call (AppTest runs the script in
a thread of its own, out of cProfile's sight). It runs unchanged on the code before issue 26 (copy
this file there), so the two can be compared on one machine. Prints figures; asserts nothing.
"""
from __future__ import annotations

import functools
import importlib
import inspect
import os
import statistics
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import run  # noqa: E402  (bench/run.py: its database, filter changes and AppTest patch)

# Where protection was built and applied outside stls/store/disclosure.py, before and after issue 26.
ENTRY = [("stls.kpi.compare", "gated_mask"), ("stls.kpi.compare", "small_mask"), ("stls.analysis.needs", "protect_mix"),
         ("stls.kpi.line", "_months_against_years"), ("stls.analysis.association", "_protect"), ("stls.analysis.association", "_hide"),
         ("stls.kpi.metrics", "_protect"), ("stls.store.queries", "_protect_by_type"), ("stls.store.queries", "_protected")]
SPENT = [0.0]
_DEPTH = threading.local()


def _timed(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        depth = getattr(_DEPTH, "n", 0)
        _DEPTH.n = depth + 1
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _DEPTH.n = depth
            if depth == 0:
                SPENT[0] += time.perf_counter() - started
    return wrapper


def instrument() -> None:
    from stls.store import disclosure
    for name, obj in list(vars(disclosure).items()):
        if inspect.isfunction(obj) and obj.__module__ == disclosure.__name__ and name not in ("threshold", "symbol_key"):
            setattr(disclosure, name, _timed(obj))
        elif inspect.isclass(obj) and obj.__module__ == disclosure.__name__:
            for attr, member in list(vars(obj).items()):
                if inspect.isfunction(member):
                    setattr(obj, attr, _timed(member))
    for module, name in ENTRY:
        mod = importlib.import_module(module)
        if hasattr(mod, name):
            setattr(mod, name, _timed(getattr(mod, name)))


def main() -> None:
    from streamlit.testing.v1 import AppTest

    from stls import memo
    from stls.store import queries
    from stls.store.db import Database
    from stls.ui import serve
    run._patch_apptest()
    instrument()
    db = Path(sys.argv[1]) if len(sys.argv) > 1 else run.database(1)
    os.environ["STLS_DB"] = str(db)
    serve.warm_imports()
    handle = Database(db)
    extent = queries.data_extent(handle)
    handle.close()
    print(f"{'page':24s} {'median change':>14s} {'in protection':>14s} {'share':>6s}")
    for page in run.PAGES:
        memo.clear()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        at.switch_page(page)
        at.run()
        times, protect = [], []
        for kind, values in run.CHANGES.items():
            for value in values[:3]:
                run._set(at, kind, value)
                SPENT[0] = 0.0
                started = time.perf_counter()
                at.run()
                times.append(time.perf_counter() - started)
                protect.append(SPENT[0])
            run._reset(at, kind, extent)
        med, prot = statistics.median(times) * 1000, statistics.median(protect) * 1000
        print(f"{Path(page).stem:24s} {med:11.0f} ms {prot:11.1f} ms {100 * prot / med:5.0f}%", flush=True)


if __name__ == "__main__":
    main()
