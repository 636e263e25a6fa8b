"""Does the evaluation of support recover the demo's planted effect? (issue 15's check)

For each of N demo seeds, build the demo with the planted effect and with ``--effect 0``, estimate
(``stls.analysis.evaluation.model.estimate``, the view's main specification and its other control group), and count
how often the 95% interval covers the planted effect, and how often the naive comparison
(supported against other settings, same years) misses it. Prints one line per seed and a summary.

    .venv/bin/python bench/impact_coverage.py            # 20 seeds, KS2, effect 6 and 0
    .venv/bin/python bench/impact_coverage.py --seeds 5 --jobs 2
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stls.analysis.evaluation import model  # noqa: E402
from stls.store import db as dbmod
from stls.store.demo import build_demo  # noqa: E402
from stls.store.demo.impact import DEFAULT_EFFECT  # noqa: E402


def one(seed: int, effect: float, measure: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stls.duckdb"
        build_demo(path, seed=seed, effect=effect)
        handle = dbmod.Database(path)
        truth = json.loads(handle.meta()["impact_truth"])["effect"][measure]
        out = {"seed": seed, "effect": effect, "truth": truth}
        for control in model.CONTROLS:
            est = model.estimate(handle, model.Spec(measure, control=control))
            assert est.overall is not None and est.naive is not None, est.reason
            out[control] = (est.overall.estimate, est.overall.low, est.overall.high)
            out["naive"] = (est.naive.estimate, est.naive.low, est.naive.high)
            out["pretrend_p"] = out.get("pretrend_p", est.pretrend_p)
        handle.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--measure", default="ks2_rwm_expected", choices=list(model.MEASURES))
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    started = time.perf_counter()
    for effect in (DEFAULT_EFFECT, 0.0):
        with ProcessPoolExecutor(args.jobs) as pool:
            rows = list(pool.map(one, seeds, [effect] * len(seeds), [args.measure] * len(seeds)))
        truth = rows[0]["truth"]
        print(f"\nPlanted effect {truth:g} ({args.measure}, pupils on SEN support)")
        print(f"{'seed':>5} {'Sun-Abraham (95% interval)':>30} {'two-stage (95% interval)':>30} {'naive (95% interval)':>28} {'pre-trend p':>11}")
        covered = {c: 0 for c in model.CONTROLS}
        naive_missed = naive_below = 0
        for r in rows:
            cells = []
            for c in model.CONTROLS:
                est, lo, hi = r[c]
                covered[c] += lo <= truth <= hi
                cells.append(f"{est:+6.2f} ({lo:+6.2f} to {hi:+6.2f}){'' if lo <= truth <= hi else ' x'}".rjust(30))
            n, lo, hi = r["naive"]
            naive_missed += not (lo <= truth <= hi)
            naive_below += hi < truth
            p = "" if r["pretrend_p"] is None else f"{r['pretrend_p']:.3f}"
            print(f"{r['seed']:>5} {cells[0]} {cells[1]} {f'{n:+6.2f} ({lo:+6.2f} to {hi:+6.2f})':>28} {p:>11}")
        mean = {c: sum(r[c][0] for r in rows) / len(rows) for c in model.CONTROLS}
        print(f"covered: Sun-Abraham {covered['never']} of {len(rows)}, two-stage {covered['not_yet']} of {len(rows)}; "
              f"mean estimate {mean['never']:+.2f} and {mean['not_yet']:+.2f} (planted {truth:g})")
        print(f"naive comparison's interval misses the planted effect in {naive_missed} of {len(rows)} "
              f"(wholly below it in {naive_below})")
    print(f"\n{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
