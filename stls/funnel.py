"""Funnel plot data: district results against cohort size, with control limits around Kent.

Method (Spiegelhalter, "Funnel plots for comparing institutional performance", Stat Med 2005),
with the target Kent's own figure and limits at 95% and 99.8%:

- **a percentage** (pupils meeting a standard): *exact binomial* limits. For a cohort of n and
  Kent's proportion p0, the limit at tail probability α is the α-quantile r of Binomial(n, p0),
  interpolated between whole numbers as in Spiegelhalter's appendix A.1.1:
  (r − ρ)/n with ρ = (F(r) − α)/(F(r) − F(r − 1)), F the binomial distribution function.
- **a mean score** (Attainment 8): μ0 ± z·σ/sqrt(n), in points, σ the standard deviation of
  pupils' scores declared for the measure in kpis.toml (``[[measure]] pupil_sd``).

A district outside the 99.8% limits differs from Kent by more than chance would explain (about
1 in 500); between 95% and 99.8%, possibly. Districts are compared with Kent, not ranked.
The binomial distribution function is the regularised incomplete beta function (stls/stats.py),
so a page does not pay SciPy's import; tests/test_funnel.py checks the limits against SciPy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stls import catalogue, stats
from stls.memo import memoised

Z95, Z998 = 1.959964, 3.090232
TAILS = {"lower_998": 0.001, "lower_95": 0.025, "upper_95": 0.975, "upper_998": 0.999}
ZS = {"lower_998": -Z998, "lower_95": -Z95, "upper_95": Z95, "upper_998": Z998}


def binomial_cdf(r: int, n: int, p: float) -> float:
    """P(R ≤ r) for R ~ Binomial(n, p): I_{1−p}(n − r, r + 1)."""
    if r < 0:
        return 0.0
    if r >= n:
        return 1.0
    return stats.regularised_beta(n - r, r + 1, 1.0 - p, p)


def binomial_cdf_all(n: int, p: float) -> np.ndarray:
    """P(R ≤ r) for r = 0 … n, R ~ Binomial(n, p) (0 < p < 1), at once: the probabilities from
    their recurrence P(r + 1) / P(r) = (n − r) / (r + 1) · p / (1 − p), summed in log space
    first so that no term underflows, then cumulated and scaled to total 1."""
    k = np.arange(n, dtype=float)
    steps = np.log((n - k) / (k + 1.0)) + (math.log(p) - math.log1p(-p))
    log_pmf = np.r_[0.0, np.cumsum(steps)]
    pmf = np.exp(log_pmf - log_pmf.max())
    return np.cumsum(pmf) / pmf.sum()


def binomial_limits(alphas, n: int, p0: float) -> np.ndarray:
    """Spiegelhalter's interpolated exact binomial limits (proportions) at tail probabilities
    ``alphas``: r the smallest count with F(r) ≥ α, ρ = (F(r) − α) / (F(r) − F(r − 1)), (r − ρ)/n.
    One distribution for every tail (the funnel's curve asks for 4 tails at 120 cohort sizes)."""
    alphas = np.asarray(alphas, dtype=float)
    if p0 <= 0.0 or p0 >= 1.0:
        return np.full(alphas.shape, p0)
    cdf = binomial_cdf_all(n, p0)
    r = np.minimum(np.searchsorted(cdf, alphas, side="left"), n)
    f_r, f_prev = cdf[r], np.where(r > 0, cdf[np.maximum(r - 1, 0)], 0.0)
    rho = np.where(f_r > f_prev, (f_r - alphas) / np.where(f_r > f_prev, f_r - f_prev, 1.0), 0.0)
    return np.clip((r - rho) / n, 0.0, 1.0)


def binomial_limit(alpha: float, n: int, p0: float) -> float:
    """One tail of ``binomial_limits``."""
    return float(binomial_limits([alpha], n, p0)[0])


def limits(target: float, n, pupil_sd: float | None = None) -> dict[str, np.ndarray]:
    """The four limits for cohort sizes n, in the target's unit: a percentage (exact binomial
    around target/100) when ``pupil_sd`` is None, else a mean score (normal, σ = pupil_sd)."""
    n = np.asarray(n, dtype=float)
    if pupil_sd is not None:
        return {name: target + z * pupil_sd / np.sqrt(n) for name, z in ZS.items()}
    p0 = target / 100
    alphas = list(TAILS.values())
    table = np.array([100 * binomial_limits(alphas, int(k), p0) for k in n]).reshape(len(n), len(alphas))
    return {name: table[:, i] for i, name in enumerate(TAILS)}


def method(measure: str) -> str:
    """The method, in words, for the page and the chart's description."""
    info = catalogue.measure(measure)
    if info.pupil_sd is not None:
        return (f"Limits are Kent's mean ± 1.96 and ± 3.09 standard errors (σ/√n points for a cohort of n), with "
                f"σ = {info.pupil_sd:g} points, the spread of pupils' scores. {info.pupil_sd_source}.")
    return ("Limits are exact binomial limits around Kent's percentage (Spiegelhalter 2005): where a cohort of that "
            "size would fall 95% and 99.8% of the time if its pupils did as well as Kent's.")


@dataclass
class Funnel:
    points: pd.DataFrame   # geography_code, name, cohort, value, lower/upper limits, position
    curve: pd.DataFrame    # cohort grid with the four limits, for drawing
    kent: float            # Kent's figure (the target), in the measure's unit
    unit: str = "percent"  # percent | score
    method: str = ""

    def outside(self, level: str = "99.8%") -> list[str]:
        flags = {"99.8%": ("above 99.8% limit", "below 99.8% limit"),
                 "95%": ("above 99.8% limit", "below 99.8% limit", "above 95% limit", "below 95% limit")}[level]
        return self.points.loc[self.points["position"].isin(flags), "name"].tolist()

    def fmt(self, value: float) -> str:
        return f"{value:.1f}%" if self.unit == "percent" else f"{value:.1f} points"


def funnel(points: pd.DataFrame, kent: float, pupil_sd: float | None = None) -> Funnel:
    """points: geography_code, name, cohort, value (a percentage, or a mean score with
    ``pupil_sd``). Kent's value is the target."""
    pts = points.dropna(subset=["value", "cohort"]).copy()
    pts = pts[pts["cohort"] > 0]
    for name, arr in limits(kent, pts["cohort"], pupil_sd).items():
        pts[name] = arr
    v = pts["value"]
    pts["position"] = np.select(
        [v > pts["upper_998"], v < pts["lower_998"], v > pts["upper_95"], v < pts["lower_95"]],
        ["above 99.8% limit", "below 99.8% limit", "above 95% limit", "below 95% limit"], "within limits")
    top = max(float(pts["cohort"].max()) * 1.15, 50) if len(pts) else 500
    grid = np.unique(np.geomspace(30, top, 120).round())
    curve = pd.DataFrame({"cohort": grid, **limits(kent, grid, pupil_sd)})
    return Funnel(pts.reset_index(drop=True), curve, kent, "percent" if pupil_sd is None else "score")


@memoised
def district_funnel(db, measure: str, sen_group: str, year: int) -> Funnel:
    """The 12 districts' results for one measure, SEN group and year, around Kent's figure."""
    from stls import queries
    from stls import reference as ref
    from stls.filters import Filters
    rows = queries.attainment(db, measure, [sen_group], Filters(year, year))
    kent = rows.loc[rows["geography_code"] == ref.KENT_CODE, "value"]
    districts = rows[rows["geography_code"].isin(ref.DISTRICT_CODES)].copy()
    districts["name"] = districts["geography_code"].map(ref.DISTRICT_NAMES)
    if kent.empty and not districts.empty:  # no published Kent figure: pool the districts
        kent = pd.Series([(districts["value"] * districts["cohort"]).sum() / districts["cohort"].sum()])
    sd = catalogue.measure(measure).pupil_sd
    if kent.empty or math.isnan(float(kent.iloc[0])):
        return Funnel(districts.iloc[:0].assign(position=[]), pd.DataFrame(), float("nan"),
                      "percent" if sd is None else "score", method(measure))
    out = funnel(districts[["geography_code", "name", "cohort", "value"]], float(kent.iloc[0]), sd)
    out.method = method(measure)
    return out
