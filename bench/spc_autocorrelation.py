"""How often does an XmR chart flag its latest point by chance when consecutive months are related?

Simulates AR(1) series x_t = r·x_(t−1) + e_t (e normal, after a burn-in) of a regime's length,
runs each through ``stls.kpi.spc.xmr`` (all four Making Data Count rules) and counts how often the
latest point is flagged special cause, with nothing changed. The figures behind
``spc.HIGH_AUTOCORRELATION``; also the mean lag-1 estimate (``spc.lag1_autocorrelation``), which
runs below the true value in short series.

    .venv/bin/python bench/spc_autocorrelation.py               # 33 and 13 months, 4000 draws
    .venv/bin/python bench/spc_autocorrelation.py --draws 1000 --months 33
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stls.kpi import spc  # noqa: E402
from stls.kpi.catalogue import Polarity  # noqa: E402


def rates(n: int, r: float, draws: int, rng: np.random.Generator) -> tuple[float, float, float]:
    """(share flagged special cause, share beyond a limit, mean lag-1 estimate) on the latest point."""
    months = [dt.date(2020 + i // 12, i % 12 + 1, 1) for i in range(n)]
    flagged = beyond = 0
    estimates = []
    for _ in range(draws):
        e = rng.normal(size=n + 50)
        x = np.zeros(n + 50)
        for t in range(1, n + 50):
            x[t] = r * x[t - 1] + e[t]
        res = spc.xmr(months, x[50:], polarity=Polarity.demand)
        flagged += bool(res.frame["special"].iloc[-1])
        beyond += "beyond limit" in res.frame["rules"].iloc[-1]
        estimates.append(res.autocorrelation)
    return flagged / draws, beyond / draws, float(np.mean(estimates))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=4000)
    ap.add_argument("--months", type=int, nargs="*", default=[33, 13])
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    print("months  true r1  latest flagged  beyond a limit  mean estimate")
    for n in args.months:
        for r in (0.0, 0.3, 0.4, 0.5, 0.6, 0.7):
            flagged, beyond, est = rates(n, r, args.draws, rng)
            print(f"{n:6d}  {r:7.1f}  {flagged:14.1%}  {beyond:14.1%}  {est:13.2f}")


if __name__ == "__main__":
    main()
