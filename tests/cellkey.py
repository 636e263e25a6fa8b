"""The cell key method written again from its statement (docs/disclosure.md), for tests that
recompute figures from the raw tables: a cell of ``n`` records whose keys sum to ``key`` shows
n plus the ptable's adjustment for (n, key mod 256), rows 501 to 750 reused above 750; under the
threshold it is [c], an empty cell included. The ptable is read here with the csv module."""
from __future__ import annotations

import csv
from pathlib import Path

T = 5
_PTABLE: dict = {}


def _ptable() -> dict:
    if not _PTABLE:
        with open(Path(__file__).resolve().parent.parent / "stls" / "store" / "ptable.csv", newline="") as fh:
            _PTABLE.update({(int(r["pcv"]), int(r["ckey"])): int(r["pvalue"]) for r in csv.DictReader(fh)})
    return _PTABLE


def protect(n, key) -> tuple[float, bool]:
    """(protected count, hidden) of one cell."""
    n = int(n)
    if n == 0:
        return float("nan"), True
    row = n if n <= 750 else (n - 1) % 250 + 501
    v = n + _ptable()[(row, int(key) % 256)]
    return (float("nan"), True) if v < T else (float(v), False)


def value(n, key) -> float:
    """The protected count (NaN for [c])."""
    return protect(n, key)[0]
