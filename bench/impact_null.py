"""Claims with nothing behind them: the evaluation of support on demo databases with no effect
planted (``--effect 0``), one per seed. Printed: how often the dose-response line, any district
(after the false discovery rate control) and the no-SEN placebo claim a direction, against the
nominal 5%, and how many bundles failed to build (none should: each check is fitted on its own).

    python bench/impact_null.py [--seeds 40] [--first 1000]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stls import db as dbmod  # noqa: E402
from stls import impact  # noqa: E402
from stls.demo import build_demo  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--first", type=int, default=1000, help="the first seed (the tests use 7 and 2024)")
    args = parser.parse_args()
    runs = dose = districts = placebo = failed = main_claims = problems = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(args.first, args.first + args.seeds):
            path = Path(folder) / f"null-{seed}.duckdb"
            build_demo(path, seed=seed, effect=0.0)
            handle = dbmod.Database(path)
            try:
                bundles = impact._fit_all(handle)
            except Exception as exc:  # noqa: BLE001 - counted: the point is that none happens
                failed += 1
                print(f"seed {seed}: the evaluation failed: {exc!r}")
                continue
            finally:
                handle.close()
                path.unlink()
            for b in bundles.values():
                runs += 1
                dose += b.dose is not None and b.dose.direction() != 0
                q = impact.adjusted(b.districts)
                districts += any(v < 0.05 for v in q.values())
                pl = b.checks["placebo"].overall
                placebo += pl is not None and pl.direction() != 0
                main_claims += b.main.overall is not None and b.main.overall.direction() != 0
                problems += sum(len(e.problems) for e in [*b.checks.values(), *b.districts.values()])
    print(f"{args.seeds} seeds with no effect planted ({runs} seed × outcome runs; {time.perf_counter() - started:.0f} s)")
    for label, n in (("main estimate", main_claims), ("dose-response", dose),
                     ("any district (false discovery rate 5%)", districts), ("no-SEN placebo", placebo)):
        print(f"  {label}: claims a direction in {n}/{runs} = {n / max(runs, 1):.1%} (nominal 5%)")
    print(f"  evaluations that failed: {failed}; parts reported as not computed: {problems}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
