"""Student's t test p-values without SciPy.

SciPy's import takes about 0.2 s, which a cold start pays before its first page can show a
trend. The two-sided p-value of a t statistic with ``df`` degrees of freedom is the regularised
incomplete beta function I_x(df/2, 1/2) at x = df / (df + t²), evaluated here by its continued
fraction (modified Lentz's method, as in Numerical Recipes §6.4). tests/test_stats.py checks it
against SciPy to 1e-12 over a grid of t and df.
"""
from __future__ import annotations

import math

_EPS, _TINY, _MAX_ITER = 1e-15, 1e-300, 500


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction for I_x(a, b) (converges fast for x < (a + 1) / (a + b + 2))."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_ITER + 1):
        for aa in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                   -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + aa / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < _EPS:
            break
    return h


def regularised_beta(a: float, b: float, x: float, y: float | None = None) -> float:
    """I_x(a, b), the regularised incomplete beta function, for a, b > 0 and 0 ≤ x ≤ 1.

    ``y`` is 1 − x, if the caller can compute it without the rounding of ``1 - x`` near x = 1."""
    y = 1.0 - x if y is None else y
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(y))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, y) / b


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| ≥ |t|) for Student's t with ``df`` degrees of freedom."""
    if math.isnan(t) or df <= 0:
        return float("nan")
    if math.isinf(t):
        return 0.0
    return regularised_beta(df / 2.0, 0.5, df / (df + t * t), t * t / (df + t * t))


def t_quantile(p_two_sided: float, df: float) -> float:
    """The t with P(|T| ≥ t) = ``p_two_sided`` (e.g. 0.05 → 2.228 for 10 df), by bisection on
    ``t_two_sided_p`` (monotone decreasing in t); tests check it against SciPy's ``t.ppf``."""
    lo, hi = 0.0, 1.0
    while t_two_sided_p(hi, df) > p_two_sided:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_two_sided_p(mid, df) > p_two_sided:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-13 * hi:
            break
    return 0.5 * (lo + hi)
