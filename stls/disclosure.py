"""Disclosure control (DESIGN.md §5), applied once to every frame that leaves the package.

Primary suppression hides child-level counts from 1 to threshold − 1 (zeros are true zeros and
are shown). Secondary suppression then hides further cells until no hidden count can be pinned
to a single value by an attacker who sees everything a view shows (``Gate``, below: one linear
programme per hidden count, bounds included, not only the equations). Rates are hidden when their cohort is below the threshold or their numerator is
hidden. Symbols follow the Analysis Function's guidance.
"""
from __future__ import annotations

import os
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import pandas as pd

SYMBOLS = {
    "[c]": "confidential: fewer than {t} children, or a figure that would reveal one",
    "[x]": "not available (for example, no assessments that year, or a month with no tracker return)",
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


def suppress_counts(values: np.ndarray, row_totals: bool = False, col_totals: bool = False,
                    t: int | None = None) -> np.ndarray:
    """Boolean mask of cells to hide in a table of counts (totals in the last row/column), by
    the view gate's rule: each cell an atom, each total the union of its line's atoms."""
    values = np.asarray(values, dtype=float)
    gate = Gate() if t is None else Gate(t=t)
    rows, cols = values.shape
    inner_r, inner_c = rows - (1 if col_totals else 0), cols - (1 if row_totals else 0)
    for r in range(rows):
        for c in range(cols):
            rr = range(inner_r) if r >= inner_r else (r,)
            cc = range(inner_c) if c >= inner_c else (c,)
            gate.count((r, c), [(i, j) for i in rr for j in cc], values[r, c])
    hidden = gate.hidden()
    mask = np.zeros(values.shape, dtype=bool)
    for r, c in cast(set[tuple[int, int]], hidden):   # every place is a (row, column) pair here
        mask[r, c] = True
    return mask


# --- The output gate: everything one view shows, protected at once ---------------------------
#
# A view registers every figure it shows: a child-level *count* as the set of atoms it adds up
# (an atom is the finest count the view knows, e.g. referrals in one district in one month), and
# a *derived* figure (a share, a rate, a difference) with the counts it is built from. A Kent row
# is the union of its districts' atoms, a yearly card the union of its months', so every relation
# between figures on the page is stated by construction. The attacker we guard against sees every
# figure that is shown, knows that each atom is a whole number ≥ 0, that each primary-hidden count
# lies between 1 and threshold − 1, and (worst case) which hidden counts were hidden only to
# protect others, each of which is then ≥ threshold (zeros are shown, so are never hidden that
# way). A derived figure is treated as revealing its inputs exactly. A hidden count is *pinned*
# when the linear programme over those facts leaves it a single whole number; secondary
# suppression hides further counts until none is.

Atom = Hashable


@dataclass
class Gate:
    """Disclosure control for one whole view: register what is shown, then ``hidden()``."""
    t: int = field(default_factory=threshold)
    _values: dict[frozenset, float] = field(default_factory=dict)
    _shown: dict[Hashable, tuple[frozenset, ...]] = field(default_factory=dict)

    def _expr(self, atoms, value: float) -> frozenset | None:
        if value is None or not np.isfinite(float(value)):
            return None          # not available: shows as [x] and states nothing
        key = frozenset(atoms)
        if not key:
            raise ValueError("a count must add up at least one atom")
        old = self._values.setdefault(key, float(value))
        if abs(old - float(value)) > 1e-6:
            raise ValueError(f"the same counts are shown as {old:g} and {value:g}")
        return key

    def count(self, where: Hashable, atoms, value: float) -> None:
        """A child-level count shown at ``where``: the sum of ``atoms``."""
        expr = self._expr(atoms, value)
        self._shown[where] = (expr,) if expr is not None else ()

    def derived(self, where: Hashable, *inputs: tuple[object, float]) -> None:
        """A figure built from child-level counts, each given as (atoms, value)."""
        exprs = tuple(e for e in (self._expr(a, v) for a, v in inputs) if e is not None)
        self._shown[where] = self._shown.get(where, ()) + exprs

    def hidden(self) -> set[Hashable]:
        """The places whose figure must show as [c]."""
        hidden = _suppress(self._values, self.t)
        return {w for w, exprs in self._shown.items() if any(e in hidden for e in exprs)}


def highs():
    """SciPy's own build of the HiGHS solver (what ``linprog(method="highs")`` runs), used directly
    so a model is built once and re-solved warm: 0.1 ms a solve against 2 ms through linprog (the
    separate ``highspy`` package prints a banner on every model). Its extension module is loaded
    from its file without ``scipy.optimize``'s package, which would import the rest of
    scipy.optimize, linalg, fft and special: 41 MiB of a server's memory and 0.8 s at its first
    use, for a solver that needs none of them. Falls back to the normal import if the file moved."""
    import sys
    name = "scipy.optimize._highspy._core"
    if name in sys.modules:
        return sys.modules[name]
    import importlib.util
    from pathlib import Path

    import scipy
    folder = Path(scipy.__file__).parent / "optimize" / "_highspy"
    found = sorted(folder.glob("_core.*.so")) + sorted(folder.glob("_core.*.pyd"))
    spec = importlib.util.spec_from_file_location(name, found[0]) if found else None
    if spec is None or spec.loader is None:
        from scipy.optimize._highspy import _core
        return _core
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module


def _components(exprs: list[frozenset]) -> list[list[int]]:
    """Expressions linked through shared atoms (union–find over atoms)."""
    parent: dict = {}

    def find(a):
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a
    for e in exprs:
        first, *rest = e
        for a in rest:
            parent[find(a)] = find(first)
    groups: dict = {}
    for i, e in enumerate(exprs):
        groups.setdefault(find(next(iter(e))), []).append(i)
    return list(groups.values())


class _Programme:
    """The attacker's linear programme over one group of linked counts, built once in HiGHS and
    re-solved for each objective (a warm-started re-solve takes a fraction of a millisecond)."""

    def __init__(self, exprs: list[frozenset], values: list[float], primary: set[int], secondary: set[int], t: int):
        highspy = highs()
        atoms = sorted({a for e in exprs for a in e}, key=repr)
        col = {a: j for j, a in enumerate(atoms)}
        self.rows = np.zeros((len(exprs), len(atoms)))
        for i, e in enumerate(exprs):
            self.rows[i, [col[a] for a in e]] = 1
        self.values = np.asarray(values, dtype=float)
        inf = highspy.kHighsInf
        lower = np.array([1.0 if i in primary else t if i in secondary else v for i, v in enumerate(self.values)])
        upper = np.array([t - 1.0 if i in primary else inf if i in secondary else v for i, v in enumerate(self.values)])
        self._h = h = highspy._Highs()
        h.setOptionValue("output_flag", False)
        n = len(atoms)
        h.addCols(n, np.zeros(n), np.zeros(n), np.full(n, inf), 0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
        starts = np.r_[0, np.cumsum([len(e) for e in exprs])[:-1]].astype(np.int32)
        index = np.concatenate([[col[a] for a in e] for e in exprs]).astype(np.int32)
        h.addRows(len(exprs), lower, upper, len(index), starts, index, np.ones(len(index)))
        self._cols = np.arange(n, dtype=np.int32)
        self._ok = highspy.HighsModelStatus.kOptimal
        self._t, self._inf = t, inf

    def protect(self, i: int, on: bool = True) -> None:
        """Hide count ``i`` as a secondary (the attacker knows only that it is at least t), or
        show it again: a change of one row's bounds, so the model is not rebuilt."""
        v = float(self.values[i])
        self._h.changeRowBounds(i, float(self._t) if on else v, self._inf if on else v)

    def solve(self, goal: np.ndarray) -> np.ndarray:
        """A solution minimising ``goal`` · atoms."""
        h = self._h
        h.changeColsCost(len(self._cols), self._cols, np.asarray(goal, dtype=float))
        h.run()
        if h.getModelStatus() != self._ok:
            raise RuntimeError(f"disclosure check could not be solved: {h.modelStatusToString(h.getModelStatus())}")
        return np.asarray(h.getSolution().col_value)

    def pinned(self, targets, first: bool = False) -> list[int]:
        """The targets the programme leaves one whole number. A solution in which a target is a
        whole unit away from its true value proves it is not pinned (the true values are a
        solution too, and the feasible set is convex), so a few joint programmes settle most."""
        left = list(targets)
        for sign in (-1, 1):            # push every unsettled target up together, then down
            if not left:
                return []
            x = self.solve(sign * self.rows[left].sum(axis=0))
            left = [i for i in left if abs(self.rows[i] @ x - self.values[i]) < 1 - 1e-7]
        out = []
        for i in left:                   # then one by one
            if all(abs(self.rows[i] @ self.solve(s * self.rows[i]) - self.values[i]) < 1 - 1e-7 for s in (-1, 1)):
                out.append(i)
                if first:
                    break
        return out


def _suppress(values: dict[frozenset, float], t: int) -> set[frozenset]:
    """Expressions to hide: primary (1 to t − 1), then secondary until none is pinned."""
    hidden: set[frozenset] = {e for e, v in values.items() if 0 < v < t}
    if not hidden:
        return hidden
    exprs = list(values)
    for group in _components(exprs):
        part = [exprs[i] for i in group]
        vals = [values[e] for e in part]
        primary = {i for i, e in enumerate(part) if e in hidden}
        if not primary:
            continue
        if len(part) == 1 and t > 2:
            continue      # a lone count in [1, t − 1] is not pinned by anything
        secondary = _protect_group(part, vals, primary, t)
        hidden |= {part[i] for i in secondary}
    return hidden


def _protect_group(part: list[frozenset], vals: list[float], primary: set[int], t: int) -> set[int]:
    secondary: set[int] = set()
    prog = _Programme(part, vals, primary, secondary, t)   # one model; a trial secondary changes one row
    for _ in range(len(part)):
        leaks = prog.pinned(sorted(primary), first=True)
        if not leaks:
            return secondary
        leak = leaks[0]
        candidates = sorted((i for i in range(len(part)) if i not in primary | secondary and vals[i] >= t),
                            key=lambda i: (vals[i] * len(part[i]), len(part[i])))
        if not candidates:       # nothing left to hide: hide every non-zero count of the group
            return {i for i in range(len(part)) if vals[i] > 0} - primary
        # Prefer the leak's siblings: counts inside a figure that also adds up the leak (another
        # month of the card's year, another district of the Kent row), cheapest first.
        lines = [part[k] for k in range(len(part)) if k != leak and part[k] & part[leak]]
        siblings = [i for i in candidates if not part[i] & part[leak] and any(part[i] <= s for s in lines)]
        ordered = siblings + [i for i in candidates if i not in siblings]
        choice = ordered[0]
        for i in ordered[:8]:
            prog.protect(i)
            if not prog.pinned([leak]):
                choice = i
                break
            prog.protect(i, on=False)
        else:
            prog.protect(choice)
        secondary.add(choice)
    return secondary


def cell(value, hidden: bool, fmt=lambda v: f"{v:,.0f}") -> str:
    """One protected figure as shown: [c] when the gate hid it, [x] when missing, else ``fmt``."""
    if hidden:
        return "[c]"
    return "[x]" if value is None or value != value else fmt(value)


def cells(values, hidden, fmt=lambda v: f"{v:,.0f}") -> list[str]:
    return [cell(v, bool(h), fmt) for v, h in zip(values, hidden)]
