"""Disclosure control (DESIGN.md §5): the cell key method, applied once, in the data layer.

Users build their own tables, so a count about children is protected as a *cell* (the set of
records it counts), never as a figure in one view: the same records show the same protected value
in every view, chart, CSV, command and pack, and a difference between two views cannot be trusted
to the unit. The method is ONS's cell key perturbation (docs/disclosure.md; ONS's
``cell-key-perturbation`` package is the oracle in tests/test_cell_key.py):

- every record carries a fixed random *record key* from 0 to 255, stored with it at load
  (``stls.store.db.record_key_sql``; a row recording several alike activities is that many records, and
  its ``record_key`` is the sum of theirs);
- a cell's *cell key* is the sum of its records' keys modulo 256, summed in the same ``GROUP BY``
  that counts them (``<count>_key`` beside each count: sums of sums, so any route to the same
  cell gives the same key);
- the shipped perturbation table (``stls/store/ptable.csv``) maps (cell value, cell key) to a small
  adjustment, at most ``largest_adjustment()`` either way;
- a protected value under the threshold (default 5) shows as [c], a cell with no records
  included (ONS's rule: its package suppresses every cell under the threshold). So [c] says
  nothing of whether there was any record: were an empty cell shown as 0, every [c] would be
  known to hold at least one, and seven [c] months under a [c] year (at most 7) would each be
  pinned to 1 (tests/test_combined_views.py found exactly that on one demo seed).

Which counts are about children is declared once, per activity type
(``reference.ACTIVITY_TYPES``), and for the census and attainment cohorts here. Rates and shares
are computed from protected counts, so protected parts may not add up to their protected total.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from stls import ROOT

SYMBOLS = {
    "[c]": "confidential: a count of children, possibly none, below {t} after protection",
    "[x]": "not available (for example, no assessments that year, or a month with no tracker return)",
    "[z]": "not applicable (for example, LIFT meetings are not recorded by area of need or phase)",
    "[low]": "rounds to zero",
    "[u]": "low reliability",
}
# Said wherever protected counts are shown (pages, CSVs, the pack, the kpis command).
ADDITIVITY_NOTE = ("Counts of children are protected by cell key perturbation, so parts may not add up "
                   "exactly to their totals.")
METHOD_DOC = "docs/disclosure.md"                      # the method, for a data protection officer
METHOD_PAGE = "accessibility#how-counts-of-children-are-protected"   # the same, in the dashboard

KEY_RANGE = 256          # record and cell keys run from 0 to 255
PTABLE = Path(__file__).with_name("ptable.csv")
# Child-level counts that are not activity: the January census's pupils (sen_pupils) and the
# attainment files' cohorts. Both arrive aggregated; each row stands for that many records
# (``stls.store.db.record_key_sql``), so a cell over several rows has the sum of their keys.
CHILD_LEVEL_TABLES = ("activity", "sen_pupils", "attainment")


@functools.cache
def method_markdown() -> str:
    """The method page (docs/disclosure.md) without its title, its headings a level down, for
    the dashboard's Accessibility page."""
    text = (ROOT / METHOD_DOC).read_text(encoding="utf-8")
    body = text.split("\n", 1)[1] if text.startswith("# ") else text
    return body.replace("\n## ", "\n### ")


def threshold() -> int:
    """Smallest protected count shown; ``STLS_DISCLOSURE_THRESHOLD`` overrides the default of 5
    (0: nothing hidden, only for checking arithmetic by hand)."""
    try:
        return max(0, int(os.environ.get("STLS_DISCLOSURE_THRESHOLD", "5")))
    except ValueError:
        return 5


@functools.cache
def ptable() -> npt.NDArray[np.int64]:
    """The perturbation table as an array: adjustment[cell value, cell key], values 0 to 750 (row 0,
    a cell with no records, is all zeros)."""
    frame = pd.read_csv(PTABLE, dtype="int64")
    table = np.zeros((int(frame["pcv"].max()) + 1, KEY_RANGE), dtype=np.int64)
    table[frame["pcv"].to_numpy(), frame["ckey"].to_numpy()] = frame["pvalue"].to_numpy()
    table.setflags(write=False)
    return table


def largest_adjustment() -> int:
    return int(np.abs(ptable()).max())


def ptable_row(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The ptable row a cell value uses: its own up to 750, then rows 501 to 750 in turn (ONS's rule)."""
    top = ptable().shape[0] - 1
    return np.where(values <= top, values, (values - 1) % 250 + (top - 249))


def perturb(n: npt.ArrayLike, key: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Each cell's count after its adjustment (NaN where the count is NaN: not available)."""
    values = np.asarray(n, dtype=float)
    ok = ~np.isnan(values)
    counts = np.where(ok, values, 0).astype(np.int64)
    keys = np.where(ok, np.nan_to_num(np.asarray(key, dtype=float)), 0).astype(np.int64) % KEY_RANGE
    out = counts + ptable()[ptable_row(counts), keys]
    return np.where(ok, out.astype(float), np.nan)


def protect(n: npt.ArrayLike, key: npt.ArrayLike, t: int | None = None) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Protected counts and which of them are [c]: a cell whose protected value is under the
    threshold is hidden (NaN, flag set), an empty one too; NaN stays NaN (not available)."""
    t = threshold() if t is None else t
    values = np.asarray(n, dtype=float)
    out = perturb(values, key)
    hidden = ~np.isnan(values) & (out < t)
    return np.where(hidden, np.nan, out), hidden


def key_column(col: str) -> str:
    return f"{col}_key"


def hidden_column(col: str) -> str:
    return f"{col}_hidden"


def protect_columns(frame: pd.DataFrame, cols: Iterable[str]) -> pd.DataFrame:
    """``frame`` with each count column in ``cols`` protected from its ``<col>_key`` (dropped) and
    a ``<col>_hidden`` flag; key columns of counts not about children are dropped unused. The one
    place a count about children becomes a figure that may leave the data layer."""
    counts = [c for c in cols if key_column(c) in frame.columns]
    keys = [c for c in frame.columns if c.endswith("_key") and c.removesuffix("_key") in frame.columns
            and c not in ("need_key", "phase_key")]
    if not counts and not keys:
        return frame
    out = frame.drop(columns=keys)
    for c in counts:
        values, hidden = protect(frame[c].to_numpy(float), frame[key_column(c)].to_numpy(float))
        out[c] = values
        out[hidden_column(c)] = hidden
    return out


def symbols_in(table: pd.DataFrame) -> set[str]:
    """The GSS symbols used as whole cells anywhere in a displayed table."""
    found: set[str] = set()
    for col in table.columns:
        try:
            found |= set(pd.unique(table[col])) & SYMBOLS.keys()
        except TypeError:   # a column of lists (e.g. sparklines) holds no symbols
            continue
    return found


def symbol_key(used: set[str] | None = None) -> list[tuple[str, str]]:
    t = threshold()
    return [(s, text.format(t=t)) for s, text in SYMBOLS.items() if used is None or s in used]


def _whole(v: float) -> str:
    return f"{v:,.0f}"


def cell(value: float | None, hidden: bool, fmt: Callable[[float], str] = _whole) -> str:
    """One protected figure as shown: [c] when protection hid it, [x] when missing, else ``fmt``."""
    if hidden:
        return "[c]"
    return "[x]" if value is None or value != value else fmt(value)


def cells(values: Iterable[float | None], hidden: Iterable[object], fmt: Callable[[float], str] = _whole) -> list[str]:
    return [cell(v, bool(h), fmt) for v, h in zip(values, hidden)]
