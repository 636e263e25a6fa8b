"""Disclosure control (DESIGN.md §5), applied once to every frame that leaves the package.

Primary suppression hides child-level counts from 1 to threshold − 1 (zeros are true zeros and
are shown). Secondary suppression then hides further cells until no hidden cell can be worked
out from the totals shown: a hidden cell is *recoverable* when its value is fixed by the linear
equations the table states (each row adds up to its row total, each column to its column
total), i.e. when its unit vector lies in the row space of those equations restricted to the
hidden cells. Rates are hidden when their cohort is below the threshold or their numerator is
hidden. Symbols follow the Analysis Function's guidance.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

SYMBOLS = {
    "[c]": "confidential: fewer than {t} children, or a figure that would reveal one",
    "[x]": "not available (for example, no assessments that year)",
    "[z]": "not applicable",
    "[low]": "rounds to zero",
    "[u]": "low reliability",
}


def threshold() -> int:
    """Smallest count shown; ``STLS_DISCLOSURE_THRESHOLD`` overrides the default of 5."""
    try:
        return max(1, int(os.environ.get("STLS_DISCLOSURE_THRESHOLD", "5")))
    except ValueError:
        return 5


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


def _equations(shape: tuple[int, int], row_totals: bool, col_totals: bool) -> np.ndarray:
    """One row per stated relation over the flattened cells: parts − total = 0."""
    rows, cols = shape
    eqs = []
    if row_totals:  # last column is each row's total
        for i in range(rows):
            e = np.zeros(shape)
            e[i, :-1], e[i, -1] = 1, -1
            eqs.append(e.ravel())
    if col_totals:  # last row is each column's total
        for j in range(cols):
            e = np.zeros(shape)
            e[:-1, j], e[-1, j] = 1, -1
            eqs.append(e.ravel())
    return np.array(eqs) if eqs else np.zeros((0, rows * cols))


def recoverable(hidden: np.ndarray, row_totals: bool, col_totals: bool) -> list[int]:
    """Flat indices of hidden cells whose value the stated totals determine."""
    eqs = _equations(hidden.shape, row_totals, col_totals)
    idx = np.flatnonzero(hidden.ravel())
    if eqs.size == 0 or idx.size == 0:
        return []
    sub = eqs[:, idx]
    sub = sub[np.any(sub != 0, axis=1)]
    if sub.size == 0:
        return []
    base = np.linalg.matrix_rank(sub)
    out = []
    for k in range(idx.size):
        unit = np.zeros(idx.size)
        unit[k] = 1
        if np.linalg.matrix_rank(np.vstack([sub, unit])) == base:
            out.append(int(idx[k]))
    return out


def _cost(values: np.ndarray, hidden: np.ndarray, cells, row_totals: bool, col_totals: bool) -> float:
    """Price of hiding ``cells``: their values, with zeros and totals made dear."""
    rows, cols = values.shape
    total = 0.0
    for r, c in cells:
        if hidden[r, c]:
            continue
        v = values[r, c]
        is_total = (row_totals and c == cols - 1) or (col_totals and r == rows - 1)
        total += (v if np.isfinite(v) and v > 0 else 1e6) + (1e4 if is_total else 0)
    return total


def _partners(values: np.ndarray, hidden: np.ndarray, cell: int, row_totals: bool, col_totals: bool):
    """Cells to hide with ``cell`` so it sits on a cycle: a rectangle in a two-way table,
    another cell of its line in a one-way table."""
    i, j = (int(x) for x in np.unravel_index(cell, values.shape))
    rows, cols = values.shape
    if row_totals and col_totals:
        options = [[(i, c), (r, j), (r, c)] for r in range(rows) if r != i for c in range(cols) if c != j]
    elif col_totals:
        options = [[(r, j)] for r in range(rows) if r != i]
    else:
        options = [[(i, c)] for c in range(cols) if c != j]
    options = [o for o in options if not all(hidden[rc] for rc in o)]
    if not options:
        return None
    return min(options, key=lambda o: _cost(values, hidden, o, row_totals, col_totals))


def suppress_counts(values: np.ndarray, row_totals: bool = False, col_totals: bool = False,
                    t: int | None = None) -> np.ndarray:
    """Boolean mask of cells to hide in a table of counts (totals in the last row/column)."""
    t = threshold() if t is None else t
    values = np.asarray(values, dtype=float)
    hidden = np.nan_to_num(values, nan=0) > 0
    hidden &= np.nan_to_num(values, nan=np.inf) < t
    for _ in range(values.size):
        leaks = recoverable(hidden, row_totals, col_totals)
        if not leaks:
            return hidden
        partners = _partners(values, hidden, leaks[0], row_totals, col_totals)
        if partners is None:  # every line through the cell is hidden: hide the table's lines fully
            hidden[:] = np.nan_to_num(values, nan=0) != 0
            continue
        for rc in partners:
            hidden[rc] = True
    return hidden


@dataclass
class Protected:
    """A frame after disclosure control: numbers for charts, text with symbols for tables."""
    numeric: pd.DataFrame          # hidden cells are NaN
    display: pd.DataFrame          # strings, with [c] / [x] in place of hidden or missing values
    symbols: set[str] = field(default_factory=set)


def _fmt(value, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def protect(frame: pd.DataFrame, counts: list[str] = (), rates: dict[str, tuple[str | None, str | None]] | None = None,
            total_row: bool = False, total_col: str | None = None, decimals: dict[str, int] | None = None,
            not_applicable: pd.DataFrame | None = None) -> Protected:
    """Disclosure control for one table.

    counts: child-level count columns (suppressed below the threshold, with secondary
    suppression against ``total_row`` — the last row holds the column totals — and
    ``total_col``, a counts column holding each row's total). rates: rate column →
    (numerator count column or None, cohort column or None); hidden when the cohort is below
    the threshold or the numerator is hidden. Missing values show as [x]; cells flagged in
    ``not_applicable`` as [z].
    """
    rates, decimals = rates or {}, decimals or {}
    numeric = frame.copy()
    hidden = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    if counts:
        cols = [c for c in counts if c != total_col] + ([total_col] if total_col else [])
        mask = suppress_counts(frame[cols].to_numpy(float), bool(total_col), total_row)
        hidden[cols] = mask
    t = threshold()
    for rate, (num, cohort) in rates.items():
        small = frame[cohort].lt(t) & frame[cohort].gt(0) if cohort else False
        hidden[rate] = hidden[rate] | small | (hidden[num] if num else False)
    for col in hidden.columns[hidden.to_numpy().any(axis=0)]:   # only columns with a hidden cell
        numeric[col] = numeric[col].mask(hidden[col])
    display = pd.DataFrame(index=frame.index)
    symbols: set[str] = set()
    for col in frame.columns:
        if col not in counts and col not in rates:
            display[col] = frame[col].astype(str) if frame[col].dtype != object else frame[col]
            continue
        d = decimals.get(col, 0 if col in counts else 1)
        text = frame[col].map(lambda v, d=d: "[x]" if pd.isna(v) else _fmt(v, d)).astype(object)
        text[hidden[col]] = "[c]"
        if not_applicable is not None and col in not_applicable:
            text[not_applicable[col].fillna(False).astype(bool)] = "[z]"
        symbols |= set(text[text.isin(list(SYMBOLS))])
        display[col] = text
    return Protected(numeric, display, symbols)


def protect_value(count: float | None, cohort: float | None = None) -> str | None:
    """A single headline figure: '[c]' if it (or its cohort) is a small child-level count."""
    t = threshold()
    for v in (count, cohort):
        if v is not None and not pd.isna(v) and 0 < v < t:
            return "[c]"
    return None
