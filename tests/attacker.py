"""An attacker, written independently of ``stls.disclosure``: it reads what a view shows and
solves a linear programme (SciPy's HiGHS) for each hidden count.

The attacker knows: every atom is a count ≥ 0; every shown figure adds up the atoms it names;
every count hidden as [c] whose true value is 1 to t − 1 lies in that range; any other hidden count
(a secondary suppression) is at least t. A hidden small count is *pinned* when the programme
leaves it one whole number.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import linprog


def pinned_cells(shown: dict, hidden_small: dict, hidden_other: dict, t: int = 5, ratios=()) -> list:
    """shown / hidden_*: {name: (atoms, value)}; value is unknown to the attacker for hidden
    entries (used only to know the class). ``ratios``: shown shares as (numerator atoms,
    denominator atoms, low, high): low × denominator ≤ numerator ≤ high × denominator (a share
    shown rounded gives the interval). Returns the names of small counts it can pin."""
    atoms = sorted({a for d in (shown, hidden_small, hidden_other) for atoms, _ in d.values() for a in atoms}
                   | {a for num, den, _, _ in ratios for a in (*num, *den)}, key=repr)
    col = {a: j for j, a in enumerate(atoms)}

    def row(names):
        r = np.zeros(len(atoms))
        for a in names:
            r[col[a]] = 1
        return r
    a_eq = [row(a) for a, _ in shown.values()]
    b_eq = [v for _, v in shown.values()]
    a_ub, b_ub = [], []
    for a, _ in hidden_small.values():
        a_ub += [row(a), -row(a)]
        b_ub += [t - 1, -1]
    for a, _ in hidden_other.values():
        a_ub.append(-row(a))
        b_ub.append(-t)
    for num, den, low, high in ratios:
        a_ub += [low * row(den) - row(num), row(num) - high * row(den)]
        b_ub += [0, 0]
    out = []
    for name, (a, _) in hidden_small.items():
        ends = []
        for sign in (1, -1):
            res = linprog(sign * row(a), A_ub=np.array(a_ub) if a_ub else None, b_ub=b_ub or None,
                          A_eq=np.array(a_eq) if a_eq else None, b_eq=b_eq or None, bounds=(0, None), method="highs")
            assert res.status == 0, res.message
            ends.append(sign * res.fun)
        if math.floor(ends[1] + 1e-7) - math.ceil(ends[0] - 1e-7) < 1:
            out.append(name)
    return out
