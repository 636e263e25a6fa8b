"""Benchmark: validate and load a 1 million-row activity CSV (budget: under 3 s).

    .venv/bin/python bench/import_bench.py [--rows N] [--repeat K]

Builds the CSV once (realistic mix: names and codes, UK and ISO dates, blanks), imports it into a
fresh database (schema and the demo's settings list) K times, and prints the median.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stls import reference as ref  # noqa: E402
from stls.store import db as dbmod  # noqa: E402
from stls.store.ingest import import_file  # noqa: E402

BUDGET_S = 3.0


def make_csv(path: Path, rows: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 5 * 365, rows)
    dates = np.datetime64("2019-09-01") + days.astype("timedelta64[D]")
    iso = np.datetime_as_string(dates)
    names = np.array([d.name for d in ref.DISTRICTS] + [d.code for d in ref.DISTRICTS])
    types = np.array(["referral", "School visit", "advice", "lift_meeting", "training"])
    needs = np.array(["CI", "CL", "SEMH", "SP", ""])
    phases = np.array(["Primary", "secondary", "Early years", "post_16", ""])
    cols = [iso, names[rng.integers(0, len(names), rows)], np.full(rows, ""), types[rng.integers(0, 5, rows)],
            needs[rng.integers(0, 5, rows)], phases[rng.integers(0, 5, rows)], np.full(rows, ""),
            rng.integers(1, 4, rows).astype(str)]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("date,district,service,activity_type,need_area,phase,setting_urn,count\n")
        for start in range(0, rows, 200_000):
            block = [c[start:start + 200_000] for c in cols]
            fh.write("\n".join(",".join(r) for r in zip(*block)) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        csv_path = tmp / "activity.csv"
        make_csv(csv_path, args.rows)
        base = dbmod.ensure_database(tmp / "base.duckdb")
        times = []
        for i in range(args.repeat):
            target = tmp / f"run{i}.duckdb"
            shutil.copyfile(base, target)
            started = time.perf_counter()
            report = import_file(csv_path, "activity", target)
            times.append(time.perf_counter() - started)
            if report.status != "loaded":
                print("\n".join(report.lines()[:8]))
                return 1
        median = statistics.median(times)
        size = csv_path.stat().st_size / 2**20
        print(f"import of {args.rows:,} activity rows ({size:.0f} MB CSV): median {median:.2f} s over {args.repeat} runs "
              f"({args.rows / median:,.0f} rows/s); budget {BUDGET_S:.1f} s: {'met' if median < BUDGET_S else 'MISSED'}")
        return 0 if median < BUDGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
