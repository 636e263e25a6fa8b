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

**Over-dispersion** (Spiegelhalter 2005, section 6; and "Handling over-dispersion of performance
indicators", Qual Saf Health Care 2005;14:347–351). Those limits allow for sampling alone, and
Kent's districts differ by more than sampling (their schools, intakes and deprivation differ), so
on sampling limits alone many districts look "outside" for reasons no one would call special.
``overdispersion`` tests for this before the limits are drawn:

- each district's z-score z = (y − target) / s, s its standard error under the target
  (100·sqrt(p0(1 − p0)/n) points for a percentage, σ/sqrt(n) for a mean score);
- z-scores winsorised at their 10th and 90th percentiles (so one real outlier cannot inflate
  the estimate), and φ̂ = the mean of their squares (about 1 when only chance is at work);
- the test: n·φ̂ against χ² on n − 1 degrees of freedom (the target, Kent's figure, is made from
  the districts themselves); over-dispersed when p < 0.05;
- when over-dispersed, an additive random effect, τ² = (n·φ̂ − (n − 1)) / (Σw − Σw²/Σw) with
  w = 1/s², and limits widened to target ± z·sqrt(s² + τ²) (normal, in the measure's unit).

Otherwise the exact binomial (or σ/√n) limits stand. The sentence under the chart (``Funnel.note``)
gives φ̂, the test's p-value, whether the limits were widened, and how many districts lie outside
each set of limits.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stls import stats
from stls.kpi import catalogue
from stls.memo import memoised

Z95, Z998 = 1.959964, 3.090232
TAILS = {"lower_998": 0.001, "lower_95": 0.025, "upper_95": 0.975, "upper_998": 0.999}
ZS = {"lower_998": -Z998, "lower_95": -Z95, "upper_95": Z95, "upper_998": Z998}
WINSOR = (10.0, 90.0)     # percentiles the z-scores are winsorised at (Spiegelhalter's 10%)
OVERDISPERSED_P = 0.05    # the over-dispersion test's level
MIN_DISTRICTS = 5         # fewer points than this: no over-dispersion test (nothing to estimate τ² from)
POSITIONS = ("above 99.8% limit", "below 99.8% limit", "above 95% limit", "below 95% limit")


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


def standard_errors(target: float, n, pupil_sd: float | None = None) -> np.ndarray:
    """Each cohort's standard error under the target, in the target's unit: 100·sqrt(p0(1 − p0)/n)
    percentage points (p0 = target/100), or σ/sqrt(n) points for a mean score."""
    n = np.asarray(n, dtype=float)
    if pupil_sd is not None:
        return pupil_sd / np.sqrt(n)
    p0 = target / 100
    return 100 * np.sqrt(p0 * (1 - p0) / n)


def chi2_sf(x: float, df: int) -> float:
    """P(χ² ≥ x) on a whole number ``df`` of degrees of freedom, in closed form (no SciPy):
    even df, exp(−x/2)·Σ_{j<df/2} (x/2)^j / j!; odd df, erfc(sqrt(x/2)) plus
    exp(−x/2)·Σ_{j=1}^{(df−1)/2} (x/2)^(j−1/2) / Γ(j + 1/2). tests/test_funnel.py checks it against SciPy."""
    if x <= 0:
        return 1.0
    h = x / 2
    if df % 2 == 0:
        terms = [j * math.log(h) - math.lgamma(j + 1) for j in range(df // 2)]
        return min(1.0, sum(math.exp(t - h) for t in terms))
    terms = [(j - 0.5) * math.log(h) - math.lgamma(j + 0.5) for j in range(1, (df - 1) // 2 + 1)]
    return min(1.0, math.erfc(math.sqrt(h)) + sum(math.exp(t - h) for t in terms))


@dataclass(frozen=True)
class Dispersion:
    """Spiegelhalter's over-dispersion test over the districts, and the random effect it implies."""
    n: int          # districts tested
    phi: float      # φ̂: the winsorised mean squared z-score (about 1 under chance alone)
    p: float        # P(χ²(n − 1) ≥ n·φ̂)
    tau2: float     # τ²: the between-district variance beyond sampling, in the unit squared (≥ 0)

    @property
    def over(self) -> bool:
        """Over-dispersed: more spread than chance, at the test's level."""
        return self.p < OVERDISPERSED_P

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2)


def winsorised(z) -> np.ndarray:
    """The z-scores pulled in to their 10th and 90th percentiles (NumPy's linear interpolation
    between order statistics, R's default type 7)."""
    z = np.asarray(z, dtype=float)
    low, high = np.percentile(z, WINSOR)
    return np.clip(z, low, high)


def overdispersion(values, se, target: float) -> Dispersion | None:
    """The over-dispersion test and τ² (see the module's notes) for results ``values`` with standard
    errors ``se`` (under the target) around ``target``; None with fewer than ``MIN_DISTRICTS``."""
    y, s = np.asarray(values, dtype=float), np.asarray(se, dtype=float)
    keep = ~(np.isnan(y) | np.isnan(s)) & (s > 0)
    y, s = y[keep], s[keep]
    n = len(y)
    if n < MIN_DISTRICTS:
        return None
    z = winsorised((y - target) / s)
    phi = float(np.mean(z * z))
    w = 1 / (s * s)
    tau2 = max(0.0, (n * phi - (n - 1)) / float(w.sum() - (w * w).sum() / w.sum()))
    return Dispersion(n, phi, chi2_sf(n * phi, n - 1), tau2)


def widened_limits(target: float, n, tau2: float, pupil_sd: float | None = None) -> dict[str, np.ndarray]:
    """The four limits widened by the random effect: target ± z·sqrt(s² + τ²), s from
    ``standard_errors``; a percentage's kept within 0–100."""
    half = np.sqrt(standard_errors(target, n, pupil_sd) ** 2 + tau2)
    out = {name: target + z * half for name, z in ZS.items()}
    return {k: np.clip(v, 0.0, 100.0) for k, v in out.items()} if pupil_sd is None else out


def _positions(v: pd.Series, lim) -> np.ndarray:
    return np.select([v > lim["upper_998"], v < lim["lower_998"], v > lim["upper_95"], v < lim["lower_95"]],
                     list(POSITIONS), "within limits")


def method(measure: str, widened: bool = False) -> str:
    """The method, in words, for the page and the chart's description: the limits for sampling
    alone (``widened``: the limits drawn are those widened for over-dispersion, ``Funnel.note``)."""
    info = catalogue.measure(measure)
    lead = "For sampling alone, limits would be" if widened else "Limits are"
    if info.pupil_sd is not None:
        return (f"{lead} Kent's mean ± 1.96 and ± 3.09 standard errors (σ/√n points for a cohort of n), with "
                f"σ = {info.pupil_sd:g} points, the spread of pupils' scores. {info.pupil_sd_source}.")
    return (f"{lead} exact binomial limits around Kent's percentage (Spiegelhalter 2005): where a cohort of that "
            "size would fall 95% and 99.8% of the time if its pupils did as well as Kent's.")


@dataclass
class Funnel:
    points: pd.DataFrame   # geography_code, name, cohort, value, lower/upper limits, position
    curve: pd.DataFrame    # cohort grid with the four limits, for drawing
    kent: float            # Kent's figure (the target), in the measure's unit
    unit: str = "percent"  # percent | score
    method: str = ""
    dispersion: Dispersion | None = None   # the over-dispersion test (None: too few districts)

    @property
    def widened(self) -> bool:
        """The limits drawn (and ``position``) allow for the districts' extra spread."""
        return self.dispersion is not None and self.dispersion.over

    def outside(self, level: str = "99.8%", sampling_only: bool = False) -> list[str]:
        """Districts outside the limits drawn (or, ``sampling_only``, outside the limits for
        sampling alone: the exact binomial or σ/√n limits, before any widening)."""
        flags = {"99.8%": POSITIONS[:2], "95%": POSITIONS}[level]
        column = "position_sampling" if sampling_only and "position_sampling" in self.points else "position"
        return self.points.loc[self.points[column].isin(flags), "name"].tolist()

    def fmt(self, value: float) -> str:
        return f"{value:.1f}%" if self.unit == "percent" else f"{value:.1f} points"

    @property
    def note(self) -> str:
        """The over-dispersion test and what it did to the limits, in words, for under the chart."""
        d = self.dispersion
        if d is None:
            return ""
        p = "p < 0.001" if d.p < 0.001 else f"p = {d.p:.3f}"
        test = f"φ̂ = {d.phi:.2f}, where about 1 is what chance alone gives; test {p}"
        if not d.over:
            return (f"The districts vary no more than sampling would explain ({test}), so the limits allow "
                    "for sampling alone.")
        unit = "percentage points" if self.unit == "percent" else "points"
        counts = "; ".join(f"outside the {level} limits: {_districts(self.outside(level, sampling_only=True))} on "
                           f"sampling alone, {_districts(self.outside(level))} after widening"
                           for level in ("99.8%", "95%"))
        return (f"The districts vary more than sampling alone would explain ({test}): schools, intakes and "
                "deprivation differ between districts. So the limits are widened for that extra spread "
                f"(Spiegelhalter's random-effects method: Kent's figure ± 1.96 or 3.09 × √(s² + τ²), s the "
                f"sampling error, τ = {d.tau:.1f} {unit} between districts), and a district outside them differs "
                f"from Kent by more than districts usually do. {counts[0].upper()}{counts[1:]}.")


def _districts(names: list[str]) -> str:
    """'no districts', '1 district (Swale)', '2 districts (Swale, Thanet)'."""
    if not names:
        return "no districts"
    return f"{len(names)} district{'s' if len(names) != 1 else ''} ({', '.join(names)})"


def funnel(points: pd.DataFrame, kent: float, pupil_sd: float | None = None) -> Funnel:
    """points: geography_code, name, cohort, value (a percentage, or a mean score with
    ``pupil_sd``). Kent's value is the target."""
    pts = points.dropna(subset=["value", "cohort"]).copy()
    pts = pts[pts["cohort"] > 0]
    sampling = limits(kent, pts["cohort"], pupil_sd)
    pts["position_sampling"] = _positions(pts["value"], sampling)
    d = overdispersion(pts["value"], standard_errors(kent, pts["cohort"], pupil_sd), kent)
    widen = d is not None and d.over
    drawn = widened_limits(kent, pts["cohort"], d.tau2, pupil_sd) if widen and d is not None else sampling
    for name, arr in drawn.items():
        pts[name] = arr
    pts["position"] = _positions(pts["value"], drawn)
    top = max(float(pts["cohort"].max()) * 1.15, 50) if len(pts) else 500
    grid = np.unique(np.geomspace(30, top, 120).round())
    curve = pd.DataFrame({"cohort": grid, **(widened_limits(kent, grid, d.tau2, pupil_sd) if widen and d is not None
                                             else limits(kent, grid, pupil_sd))})
    return Funnel(pts.reset_index(drop=True), curve, kent, "percent" if pupil_sd is None else "score", dispersion=d)


@memoised
def district_funnel(db, measure: str, sen_group: str, year: int) -> Funnel:
    """The 12 districts' results for one measure, SEN group and year, around Kent's figure."""
    from stls import reference as ref
    from stls.filters import Filters
    from stls.store import queries
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
    out.method = method(measure, out.widened)
    return out
