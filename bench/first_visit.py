"""Waiting: the server's time for a first visit to every page, on a fresh server over a database it
has never seen (as on a fresh clone once the demo is built), and again after an import (a new
data version), one page after another in headless Chromium as a person would open them.

For each visit, the script runs the page took in the server (``STLS_TIMING_FILE``: start to end of
each complete run, summed over the runs the visit made). The Impact of support page counts as
ready when it shows its figures, or, if the evaluation is still being prepared in the background,
its progress (the run that shows progress is what the visitor waits for). The issue asks for under
3 s a page.

    python bench/first_visit.py
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from run import _browser, _serve, _wait_health  # noqa: E402

PAGES = ["", "scorecard", "district?profile=E07000113", "activity_and_outcomes", "impact", "areas_of_need",
         "meeting", "data", "accessibility"]
BUDGET = "2027-28"   # a financial year the demo holds no budget for


def _runs(timing: Path, seen: int) -> tuple[list[float], int]:
    marks = [line.split() for line in timing.read_text().splitlines()] if timing.exists() else []
    starts = [float(t) for m, t in marks[seen:] if m == "start"]
    ends = [float(t) for m, t in marks[seen:] if m == "end"]
    return [e - s for s, e in zip(starts, ends)], len(marks)


def visit_all(port: int, timing: Path, label: str, browser) -> list[tuple[str, float]]:
    out, seen = [], _runs(timing, 0)[1]
    for path in PAGES:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(f"http://127.0.0.1:{port}/{path}")
        page.wait_for_selector("h1", timeout=120_000)
        page.wait_for_function("document.querySelectorAll('[data-testid=stStatusWidget]').length == 0", timeout=120_000)
        for _ in range(200):   # until every run the visit started has ended (its end is written last)
            page.wait_for_timeout(100)
            text = timing.read_text().splitlines()[seen:] if timing.exists() else []
            if text and sum(m.startswith("start") for m in text) == sum(m.startswith("end") for m in text):
                break
        page.wait_for_timeout(300)
        runs, seen = _runs(timing, seen)
        out.append((path or "overview", sum(runs)))
        if path == "impact":   # the visitor sees progress at once; the figures follow when the evaluation is done
            shown = time.perf_counter()
            page.get_by_text("How many settings, which years").wait_for(timeout=180_000)
            print(f"  impact: figures on screen {time.perf_counter() - shown:.1f} s after the first run ended")
            seen = _runs(timing, 0)[1]
        if len(runs) > 1:
            print(f"  {path or 'overview'}: runs of {', '.join(f'{r:.2f}' for r in runs)} s")
        page.close()
    worst = max(t for _, t in out)
    print(f"{label}: " + "; ".join(f"{p.split('?')[0]} {t:.2f} s" for p, t in out) + f" (slowest {worst:.2f} s)")
    return out


def main() -> int:
    from playwright.sync_api import sync_playwright

    from stls.store.demo import build_demo
    with tempfile.TemporaryDirectory() as tmp:
        db, timing = Path(tmp) / "stls.duckdb", Path(tmp) / "runs.txt"
        started = time.perf_counter()
        build_demo(db)
        print(f"demo built in {time.perf_counter() - started:.1f} s")
        proc = _serve(db, 8640, timing)
        try:
            _wait_health(8640)
            with sync_playwright() as p:
                browser = _browser(p)
                visit_all(8640, timing, "first visit, fresh server", browser)
                budget = Path(tmp) / "budget.csv"
                budget.write_text(f"financial_year,service,allocation_gbp\n{BUDGET},Swale,515000\n")
                out = subprocess.run([sys.executable, "-m", "stls", "import", "budget", str(budget), "--db", str(db)],
                                     capture_output=True, text=True, cwd=ROOT)
                print("import:", (out.stdout.strip() or out.stderr.strip()).splitlines()[0][:160])
                visit_all(8640, timing, "first visit after an import", browser)
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    shutil.rmtree(Path(tmp), ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
