"""Peak memory and time of the evaluation of support's worker process.

    .venv/bin/python bench/impact_memory.py [--db PATH] [--repeat N]

Runs what the server's worker runs (``worker._worker(path)``: open the file, fit every bundle,
close) in a fresh interpreter, as ``worker.bundles`` does, and prints its peak resident memory
and how long the work took (imports of the scientific stack included, interpreter start not).
With --repeat, the largest peak and the median time of N runs.

The peak is the child's own high-water mark, ``VmHWM`` in /proc/self/status: its address
space's, which starts afresh at exec. Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux carries
that across fork and exec, so a child started from a large process reports the parent's peak.
bench/run.py's probe read it after its own AppTest runs at 10 million rows had grown the bench
process, and reported 2,035 MiB for a worker whose own peak is under 400 MiB.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, sys, time
started = time.perf_counter()
from stls.analysis.evaluation import worker
worker._worker(sys.argv[1])
took = time.perf_counter() - started
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
print(json.dumps({"peak_mib": int(status["VmHWM"].split()[0]) / 1024, "seconds": took}))
"""


def measure(db: Path | str) -> tuple[float, float]:
    """(peak resident memory in MiB, seconds) of one worker run on ``db``, in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", PROBE, str(db)], capture_output=True, text=True, cwd=ROOT,
                         check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    return got["peak_mib"], got["seconds"]


def activity_rows(db: Path | str) -> int | None:
    import duckdb
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:
        return None
    try:
        return int(con.execute("SELECT count(*) FROM activity").fetchone()[0])
    finally:
        con.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=str(ROOT / "data" / "stls.duckdb"), help="database file (default: the demo's)")
    parser.add_argument("--repeat", type=int, default=1, help="runs (largest peak, median time)")
    args = parser.parse_args()
    rows = activity_rows(args.db)
    runs = [measure(args.db) for _ in range(max(args.repeat, 1))]
    peak = max(p for p, _ in runs)
    seconds = statistics.median(s for _, s in runs)
    size = f"{rows:,} activity rows" if rows is not None else "activity rows unknown"
    print(f"evaluation worker on {args.db} ({size}): peak {peak:.0f} MiB (VmHWM), {seconds:.1f} s"
          + (f" (median of {len(runs)})" if len(runs) > 1 else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
