"""Time spent protecting figures on a filter change, per page (issue 26's closing figure).

    .venv/bin/python bench/protection_time.py [DB]

Runs every page in AppTest on the demo database (built under bench/.cache/ if no DB is given),
then makes the same filter changes as bench/run.py (districts, years, area of need, phase), each
page from empty caches, under cProfile. Prints per page the median server time of a change and
the time inside disclosure control: the self time of every function in stls/disclosure.py and of
the HiGHS solver the old per-view gate called. It runs unchanged on the code before issue 26
(copy this file there), so the two can be compared on one machine. Prints figures; asserts nothing.
"""
from __future__ import annotations

import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import run  # noqa: E402  (bench/run.py: its database, filter changes and AppTest patch)


def protection_seconds(profile: cProfile.Profile) -> float:
    stats = pstats.Stats(profile)
    total = 0.0
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():   # type: ignore[attr-defined]
        if filename.endswith(os.path.join("stls", "disclosure.py")) or "_highspy" in filename or "highs" in filename:
            total += tottime
    return total


def main() -> None:
    from streamlit.testing.v1 import AppTest

    from stls import memo, queries, serve
    from stls.db import Database
    run._patch_apptest()
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
                profile = cProfile.Profile()
                started = time.perf_counter()
                profile.enable()
                at.run()
                profile.disable()
                times.append(time.perf_counter() - started)
                protect.append(protection_seconds(profile))
            run._reset(at, kind, extent)
        med, prot = statistics.median(times) * 1000, statistics.median(protect) * 1000
        print(f"{Path(page).stem:24s} {med:11.0f} ms {prot:11.1f} ms {100 * prot / med:5.0f}%", flush=True)


if __name__ == "__main__":
    main()
