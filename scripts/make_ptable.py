"""Write stls/store/ptable.csv: the perturbation table of the cell key method (docs/disclosure.md).

Run once; the table is shipped and never changes (a change would change every published figure).
Format: ONS's ``cell-key-perturbation`` package's (pcv, ckey, pvalue), cell values 1 to 750 and
cell keys 0 to 255; a cell over 750 uses the row ((value - 1) mod 250) + 501, as ONS's does.

Each row (cell value) spreads its 256 keys over the adjustments so that half the cells are
unchanged and none moves by more than 3:

    adjustment   0    -1/+1   -2/+2   -3/+3
    keys        128   46 each  15 each  3 each

in an order of its own (a seeded shuffle per row), so a key that leaves one value unchanged says
nothing of another. A value is never taken below zero (the adjustment is at least -value).
Symmetric, so the expected adjustment is zero for every value from 3 up.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

SEED = 20261205
MAX_PCV, KEYS = 750, 256
SPREAD = {0: 128, -1: 46, 1: 46, -2: 15, 2: 15, -3: 3, 3: 3}


def ptable() -> list[tuple[int, int, int]]:
    rng = np.random.default_rng(SEED)
    base = np.repeat(list(SPREAD), list(SPREAD.values()))
    assert len(base) == KEYS
    rows = []
    for pcv in range(1, MAX_PCV + 1):
        for ckey, adj in enumerate(rng.permutation(base)):
            rows.append((pcv, ckey, int(max(adj, -pcv))))
    return rows


if __name__ == "__main__":
    out = Path(__file__).resolve().parent.parent / "stls" / "store" / "ptable.csv"
    with open(out, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["pcv", "ckey", "pvalue"])
        w.writerows(ptable())
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")
