"""Claims with nothing behind them: the evaluation of support on demo databases with no effect
planted (``--effect 0``), one per seed. Printed, for each outcome and overall: how often the main
estimate, the dose-response line, any district (after the false discovery rate control) and the
no-SEN placebo claim a direction, against the nominal 5%, with the Monte Carlo margin of that
share; and how many estimates failed (none should: each is fitted on its own).

Each seed builds the whole demo database and fits exactly the estimates the Impact page shows for
those claims (``worker._safe`` for the main, placebo and district estimates, ``model.dose_response``),
so what is measured is what users see. About 15 s a seed on one core.

    python bench/impact_null.py [--seeds 200] [--first 1000] [--jobs 2]
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CLAIMS = ("main estimate", "dose-response", "any district (false discovery rate 5%)", "no-SEN placebo")


def one_seed(seed: int) -> dict:
    """For each outcome: which of the four claim a direction, and the estimates that failed."""
    from stls import reference as ref
    from stls.analysis.evaluation import model, worker
    from stls.store import db as dbmod
    from stls.store.demo import build_demo
    out: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"null-{seed}.duckdb"
        build_demo(path, seed=seed, effect=0.0)
        handle = dbmod.Database(path)
        try:
            for measure in model.MEASURES:
                main = worker._safe(handle, model.Spec(measure))
                placebo = worker._safe(handle, model.Spec(measure, sen_group="no_sen"))
                districts = {c: worker._safe(handle, model.Spec(measure, district=c)) for c in ref.DISTRICT_CODES}
                dose, _ = model.dose_response(handle, measure)
                q = model.adjusted(districts)
                claims = (main.overall is not None and main.overall.direction() != 0,
                          dose is not None and dose.direction() != 0,
                          any(v < 0.05 for v in q.values()),
                          placebo.overall is not None and placebo.overall.direction() != 0)
                failed = sum(bool(e.problems) for e in [main, placebo, *districts.values()])
                out[measure] = (claims, failed)
        finally:
            handle.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--first", type=int, default=1000, help="the first seed (the tests use 7 and 2024)")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    seeds = range(args.first, args.first + args.seeds)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(one_seed, seeds))
    print(f"{args.seeds} seeds with no effect planted (seeds {args.first} to {args.first + args.seeds - 1}; "
          f"{time.perf_counter() - started:.0f} s on {args.jobs} processes)")
    measures = list(results[0])
    failed = sum(f for r in results for _, f in r.values())
    for label, i in zip(CLAIMS, range(len(CLAIMS))):
        cells = []
        for measure in measures + ["both"]:
            runs = [r[m][0][i] for r in results for m in (measures if measure == "both" else [measure])]
            share = sum(runs) / len(runs)
            margin = 1.96 * math.sqrt(0.05 * 0.95 / len(runs))   # the Monte Carlo margin around a true 5%
            cells.append(f"{measure} {sum(runs)}/{len(runs)} = {share:.1%} (5% ± {margin:.1%})")
        print(f"  {label}: claims a direction in " + "; ".join(cells))
    print(f"  estimates that failed: {failed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
