"""Activity versus outcome: does more STLS activity go with better outcomes for pupils with SEN?

Per district and academic year, *activity intensity* (activities of the chosen types per 100
pupils in the chosen SEN group, January census) is set against an *outcome* for pupils in a SEN
group: the value itself, the gap to pupils with no SEN (no SEN − group, so smaller is better), or
the difference from England's figure for the same group (so a national change, such as the
pandemic, does not pass for a local one).

Three views, each with one point per district (n ≤ 12):
  same_year  intensity in year Y against the outcome in Y;
  lag        intensity in Y − 1 against the outcome in Y;
  change     change in intensity from Y0 to Y1 against change in the outcome over the same span.
Pearson r with a Fisher-z 95% interval; Spearman ρ with the Fieller–Hartley–Pearson interval
(standard error sqrt(1.06 / (n − 3))). Association only: never evidence of cause.

What the text may claim (``clear_direction``): a direction only when Pearson's interval excludes
zero and Spearman does not disagree, and then with the interval's size; otherwise "no clear
association". Two figures say what 12 districts can and cannot show: the smallest correlation
that would count as clear at the 5% level (``detectable``: about 0.58), and the true correlation
12 districts would show as clear 4 times in 5 (``detectable_80``, 80% power: about 0.71), so a
weaker real association could easily go unseen.

A district's outcome change is "better" or "worse" only when it stands out from cohort sampling
once every district compared is allowed for (``outcome_verdicts``): each change's two-sided
p-value from its standard error (the 95% margin over 1.96), adjusted by Benjamini and Hochberg's
false discovery rate over the districts compared, at 5% (the level of the single 95% margin it
replaces). Judged one at a time, 12 districts with no real change would show at least one
"worse" about a quarter of the time (1 − 0.975¹²); adjusted, at least one flag either way about
1 time in 20 (tests/test_association.py simulates it on the demo's cohorts).

Changes carry *regression to the mean*: a year's result is partly luck, so districts that
started low tend to rise and those that started high to fall with no help from anyone. The change
views report the correlation between the change in outcome and its starting level (``baseline``)
and between the change in activity and that level (``activity_baseline``), in words
(``regression_note``). A change's default span never crosses a break (``ref.ACTIVITY_BREAKS``, a
measure's ``breaks``).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from stls import reference as ref
from stls import stats
from stls.analysis import benchmarks
from stls.filters import Filters
from stls.kpi import catalogue, metrics
from stls.memo import memoised
from stls.store import disclosure, queries

Z = 1.959964
FDR = 0.05     # the false discovery rate the districts' "better" and "worse" flags are held to
POWER = 0.80   # the power ``detectable_80`` reports
VIEWS = {"same_year": "same year", "lag": "activity one year before the outcome",
         "change": "change against change"}
CAVEATS = ("This shows association, not cause. There are only 12 districts, so estimates are "
           "uncertain; districts differ in deprivation, school populations and cohort sizes, "
           "which can drive both activity and outcomes.")


@dataclass(frozen=True)
class Options:
    activity_types: tuple[str, ...] = ("referral", "school_visit", "advice", "drop_in", "intensive_support")
    per_100: str = "sen_support"          # sen_support | ehc_plan
    measure: str = "ks2_rwm_expected"
    sen_group: str = "sen_support"
    outcome: str = "vs_england"           # value | gap | vs_england
    view: str = "same_year"               # same_year | lag | change
    year: int | None = None               # outcome year (latest with data if None); Y1 for change
    base_year: int | None = None          # Y0 for changes (None: the earliest that crosses no break)
    x: str = "activity"                   # activity (per 100 pupils) | spend (team budget per pupil)


# What the x axis measures: "does the money buy outcomes" compares each district team's budget
# per pupil with the outcome, through the same statistics as activity.
XS = {"activity": "STLS activity", "spend": "STLS spending (each district team's budget)"}


def _noun(o: Options) -> str:
    """What the x axis is, in a sentence: 'activity' or 'spending'."""
    return "spending" if o.x == "spend" else "activity"


@dataclass
class Correlation:
    r: float
    low: float
    high: float
    p: float


@dataclass
class Result:
    options: Options
    points: pd.DataFrame                  # geography_code, name, x, y, quadrant
    n: int
    pearson: Correlation | None
    spearman: Correlation | None
    slope: float | None
    intercept: float | None
    x_label: str
    y_label: str
    period: str
    finding: str
    flagged: list[str] = field(default_factory=list)   # activity up, outcome clearly worse
    change_period: str = ""                             # the span the quadrants compare
    headline: str = ""                                  # the chart title: what the interval supports
    slope_interval: tuple[float, float] | None = None   # 95% (t on n − 2 df)
    span_note: str = ""                                 # why the change span may mislead, if it does
    source: str = ""                                    # the chart's source line
    compared: int = 0                                   # districts whose outcome change was judged
    comparisons_note: str = ""                          # how the flags allow for the districts compared
    baseline: Correlation | None = None                 # change in outcome against its starting level
    activity_baseline: Correlation | None = None        # change in activity against the outcome's starting level
    regression_note: str = ""                           # regression to the mean, in words, with both
    standout: str = ""                                  # the commissioner's question: most activity, no better outcome

    @property
    def summary(self) -> str:
        """The finding in two sentences (the full ``finding``, about 100 words, sits behind it)."""
        return f"{self.headline}. This shows association, not cause, across {self.n} districts."


def correlation(x: np.ndarray, y: np.ndarray, rank: bool = False) -> Correlation | None:
    """Pearson (or Spearman, on average ranks) with a 95% interval and two-sided p-value."""
    n = len(x)
    if n < 4 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    if rank:
        x, y = pd.Series(x).rank().to_numpy(), pd.Series(y).rank().to_numpy()
    r = float(np.corrcoef(x, y)[0, 1])
    r = max(min(r, 0.999999), -0.999999)
    se = math.sqrt((1.06 if rank else 1.0) / (n - 3))
    z = math.atanh(r)
    t = r * math.sqrt((n - 2) / (1 - r * r))
    p = stats.t_two_sided_p(t, n - 2)
    return Correlation(r, math.tanh(z - Z * se), math.tanh(z + Z * se), p)


def _pupils(db, o: Options, f: Filters) -> pd.DataFrame:
    """Pupils per district for each year of ``f`` under the KPIs' census rule (its own year's
    January census, else the latest earlier: ``metrics.census_by_year``), so a year whose census
    is not loaded yet has the same per-pupil figure here as on the scorecard."""
    every = queries.sen_pupils(db, o.per_100, f.with_(year_from=ref.FIRST_ACADEMIC_YEAR), protected=True)
    return metrics.census_by_year(db, every, list(f.years))


def _intensity(db, o: Options, f: Filters) -> pd.DataFrame:
    if o.x == "spend":   # £ per pupil: the team's allocation for the financial year starting that April
        money = queries.budget(db, f).rename(columns={"service_code": "geography_code"})
        money["academic_year"] = money["period"].map(ref.academic_year_start)
        pupils = _pupils(db, o, f)
        out = pupils.merge(money[["geography_code", "academic_year", "gbp"]], on=["geography_code", "academic_year"])
        out["intensity"] = out["gbp"] / out["pupils"].where(out["pupils"] > 0)
        return out.assign(n_hidden=False)[["geography_code", "academic_year", "intensity", "n_hidden"]]
    # one row a district and year (the grain is the academic year): each a protected cell
    counts = queries.activity_counts(db, o.activity_types, "academic_year", f, protected=True)
    if "n_hidden" not in counts:   # activity not about children: exact
        counts["n_hidden"] = False
    counts = counts[["geography_code", "academic_year", "n", "n_hidden"]]
    pupils = _pupils(db, o, f)
    empty = ref.child_level(o.activity_types)   # a district with none that year: an empty cell, [c]
    out = pupils.merge(counts, on=["geography_code", "academic_year"], how="left").fillna({"n": 0, "n_hidden": empty})
    out["intensity"] = 100 * out["n"] / out["pupils"].where(out["pupils"] > 0)
    return out[["geography_code", "academic_year", "intensity", "n_hidden"]]


OUTCOMES = {"value": "The value", "gap": "Gap to pupils with no SEN", "vs_england": "Difference from England"}


def _outcome(db, o: Options, f: Filters) -> pd.DataFrame:
    """Per district and year: the outcome and its standard error from cohort sampling (the
    percentage's binomial spread, or the declared pupil SD for a mean score; for a gap, both
    groups'; for the difference from England, England's too)."""
    groups = [o.sen_group] + (["no_sen"] if o.outcome == "gap" else [])
    rows = queries.attainment(db, o.measure, groups, f)
    rows["academic_year"] = rows["period"].map(ref.academic_year_start)
    info = catalogue.measure(o.measure)
    small = disclosure.threshold()   # a margin reveals its cohort: none for a cohort under the threshold
    rows["var"] = [info.se(v, c) ** 2 if c and c >= small else float("nan") for v, c in zip(rows["value"], rows["cohort"])]
    england = rows[(rows["geography_code"] == ref.ENGLAND_CODE) & (rows["sen_group"] == o.sen_group)]
    rows = rows[rows["geography_code"].isin(ref.DISTRICT_CODES)]
    wide = rows.pivot_table(index=["geography_code", "academic_year"], columns="sen_group", values=["value", "var"])
    if wide.empty:
        return pd.DataFrame(columns=["geography_code", "academic_year", "outcome", "se"])
    value, var = wide["value"][o.sen_group], wide["var"][o.sen_group]
    if o.outcome == "gap":
        value, var = wide["value"]["no_sen"] - value, var + wide["var"]["no_sen"]
    elif o.outcome == "vs_england":
        years = wide.index.get_level_values("academic_year")
        eng = england.set_index("academic_year")
        value = value - years.map(eng["value"]).to_numpy()
        var = var + years.map(eng["var"]).to_numpy()
    out = pd.DataFrame({"outcome": value, "se": var ** 0.5}).reset_index()
    return out.dropna(subset=["outcome"])


def _labels(o: Options) -> tuple[str, str]:
    types = " and ".join(ref.ACTIVITY_LABELS[t].lower() for t in o.activity_types) if len(o.activity_types) < 3 \
        else "STLS contacts"
    x = f"{types[0].upper() + types[1:]} per 100 pupils ({ref.SEN_GROUPS[o.per_100]})"
    if o.x == "spend":
        x = f"Team budget per pupil ({ref.SEN_GROUPS[o.per_100]}, £)"
    measure = ref.MEASURE_SHORT[o.measure]
    group = ref.SEN_GROUPS[o.sen_group]
    y = {"value": f"{measure}, {group}",
         "gap": f"Gap to no SEN: {measure}, {group}",
         "vs_england": f"{measure}, {group}, minus England"}[o.outcome]
    return x, y


def detectable(n: int) -> float:
    """The significance threshold, not power: the smallest observed |r| that counts as clear at the
    5% level with n points, where both the two-sided t test (|r| ≥ t/sqrt(n − 2 + t²), t the
    97.5% point on n − 2 df) and the Fisher-z interval excluding zero (|r| ≥ tanh(1.96/sqrt(n − 3)))
    agree. About 0.58 for 12. A true correlation of that size is found clear only about half the
    time; ``detectable_80`` gives the size found clear 4 times in 5."""
    if n < 4:
        return float("nan")
    t = stats.t_quantile(0.05, n - 2)
    return max(t / math.sqrt(n - 2 + t * t), math.tanh(Z / math.sqrt(n - 3)))


_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(160)


def _r_density(r: np.ndarray, rho: float, n: int) -> np.ndarray:
    """The exact density of Pearson's r from n bivariate-normal pairs with correlation ρ (Hotelling
    1953, eq. 29): (n − 2)Γ(n − 1)(1 − ρ²)^((n−1)/2)(1 − r²)^((n−4)/2) / (sqrt(2π)Γ(n − ½)(1 − ρr)^(n−3/2))
    × ₂F₁(½, ½; n − ½; (1 + ρr)/2), the hypergeometric series summed until its terms vanish."""
    x = (1 + rho * r) / 2
    term, total, k = np.ones_like(r), np.ones_like(r), 0
    while k < 2000 and float(np.max(term)) > 1e-16 * float(np.max(total)):
        term = term * (k + 0.5) ** 2 / ((k + n - 0.5) * (k + 1)) * x
        total, k = total + term, k + 1
    log_front = (math.log(n - 2) + math.lgamma(n - 1) - math.lgamma(n - 0.5) - 0.5 * math.log(2 * math.pi)
                 + (n - 1) / 2 * math.log1p(-rho * rho))
    return np.exp(log_front + (n - 4) / 2 * np.log1p(-r * r) - (n - 1.5) * np.log1p(-rho * r)) * total


def power(rho: float, n: int) -> float:
    """The chance that n districts show a true correlation ρ as clear: P(|r| > ``detectable(n)``),
    from the exact distribution of r (Gauss–Legendre quadrature over each tail)."""
    c = detectable(n)
    half = (1 - c) / 2
    r = c + half * (_NODES + 1)
    upper = half * float(_WEIGHTS @ _r_density(r, rho, n))
    lower = half * float(_WEIGHTS @ _r_density(-r, rho, n))
    return upper + lower


@functools.lru_cache(maxsize=64)
def detectable_80(n: int) -> float:
    """The true correlation n districts would show as clear (``detectable``) 80% of the time at
    the 5% level: the ρ with ``power(ρ, n)`` = 0.8, by bisection. About 0.71 for 12 (Fisher's z
    approximation, tanh((1.96 + 0.84)/sqrt(n − 3)), gives 0.73)."""
    if n < 5:
        return float("nan")
    low, high = detectable(n), 0.9999
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if power(mid, n) < POWER else (low, mid)
    return (low + high) / 2


def outcome_verdicts(change, margin, lower_is_better: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each district's outcome verdict (+1 better, −1 worse, 0 no clear change; NaN where it has
    no change or margin), two-sided p-value and Benjamini–Hochberg adjusted p-value, over the
    districts with both. z = change / (margin / 1.96); better or worse when the adjusted p-value
    is at most ``FDR``."""
    change, margin = np.asarray(change, dtype=float), np.asarray(margin, dtype=float)
    known = ~(np.isnan(change) | np.isnan(margin)) & (margin > 0)
    p = np.full(len(change), np.nan)
    p[known] = [math.erfc(abs(c) / (m / Z) / math.sqrt(2)) for c, m in zip(change[known], margin[known])]
    q = bh_adjusted(p)
    good = -change if lower_is_better else change
    verdict = np.where(known, np.where(q <= FDR, np.sign(good), 0.0), np.nan)
    return verdict, p, q


def bh_adjusted(p) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values over the p-values that are not NaN (m of them): the
    i-th smallest times m/i, made non-decreasing from the largest down, capped at 1. A p-value is
    a discovery at false discovery rate α exactly when its adjusted value is at most α."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    known = ~np.isnan(p)
    m = int(known.sum())
    if not m:
        return out
    values = p[known]
    order = np.argsort(values)
    scaled = values[order] * m / np.arange(1, m + 1)
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    out[known] = adjusted
    return out


def _size(a: float) -> str:
    return "negligible" if a < 0.1 else "weak" if a < 0.3 else "moderate" if a < 0.5 else "strong"


def clear_direction(pearson: Correlation | None, spearman: Correlation | None) -> int:
    """+1 or −1 when the data support a direction (Pearson's interval excludes zero, its p-value is
    under 0.05, and Spearman's ρ does not point the other way); 0 otherwise."""
    if pearson is None or pearson.low <= 0 <= pearson.high or pearson.p >= 0.05:
        return 0
    sign = 1 if pearson.r > 0 else -1
    if spearman is not None and spearman.r * sign <= 0:
        return 0
    return sign


def _headline(o: Options, n: int, pearson: Correlation | None, spearman: Correlation | None, period: str) -> str:
    if pearson is None:
        return f"Too few districts with data for {period}"
    when = f"From {period}" if o.view == "change" else f"In {period}"
    noun = _noun(o)
    subject = f"a rise in {noun}" if o.view == "change" else f"more {noun}"
    interval = f"r = {pearson.r:.2f}, 95% interval {pearson.low:.2f} to {pearson.high:.2f}"
    sign = clear_direction(pearson, spearman)
    if not sign:
        return f"{when}, no clear association between {noun} and outcomes ({interval})"
    better = (sign > 0) == (o.outcome != "gap")
    near, far = sorted((abs(pearson.low), abs(pearson.high)))
    size = _size(near) if _size(near) == _size(far) else f"between {_size(near)} and {_size(far)}"
    return (f"{when}, {subject} went with {'better' if better else 'worse'} outcomes "
            f"({'positive' if sign > 0 else 'negative'} association, {size}: {interval})")


def _finding(o: Options, res_n: int, pearson: Correlation | None, spearman: Correlation | None,
             period: str, flagged: list[str], span: str = "", straddles: str = "", compared: int = 0,
             regression: str = "") -> str:
    head = _headline(o, res_n, pearson, spearman, period)
    if pearson is None:
        return f"{head} ({res_n}) to measure an association. {CAVEATS}"
    parts = [f"{head}. Pearson r = {pearson.r:.2f} (95% interval {pearson.low:.2f} to {pearson.high:.2f}, "
             f"p = {pearson.p:.2f})"
             + (f", Spearman ρ = {spearman.r:.2f} ({spearman.low:.2f} to {spearman.high:.2f})" if spearman else "")
             + f", n = {res_n} districts."]
    if clear_direction(pearson, spearman):
        parts.append("The interval excludes zero, but with so few districts the size of the association is uncertain.")
    else:
        parts.append("The interval includes zero, so the data are consistent with no association.")
    if spearman is not None and spearman.r * pearson.r < 0:
        parts.append(f"Pearson and Spearman disagree in sign ({pearson.r:+.2f} against {spearman.r:+.2f}), "
                     "so even the direction is unclear: the straight-line fit may rest on one or two districts.")
    parts.append(power_sentence(res_n))
    if straddles:
        parts.append(straddles)
    if o.view == "change" and regression:
        parts.append(regression)
    if flagged:
        parts.append(f"From {span}, {_noun(o)} rose and the outcome worsened by more than chance would explain in "
                     f"{len(flagged)} district{'s' if len(flagged) != 1 else ''}, after allowing for the "
                     f"{compared} districts compared: {', '.join(flagged)}.")
    return " ".join(parts + [CAVEATS])


def _fmt_x(o: Options, v: float) -> str:
    return f"£{v:,.0f}" if o.x == "spend" else f"{v:.0f}"


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def in_sentence(label: str) -> str:
    """A label as it reads mid-sentence: its first letter lower case, unless it starts an acronym (STLS)."""
    return label if label[1:2].isupper() else label[:1].lower() + label[1:]


def standout_question(o: Options) -> str:
    """The commissioner's question the ``standout`` sentence answers, for the x measure chosen."""
    noun = "spending per pupil" if o.x == "spend" else "activity per pupil"
    return f"Where is the most {noun}, and is the outcome better there?"


def standout(frame: pd.DataFrame, o: Options, x_label: str, y_label: str, period: str) -> str:
    """Which districts get the most activity (or spending) but no better outcome, in words held to
    the figures: the third of the districts with the most, and of those, the ones whose outcome is
    no better than the middle district's (the median of all shown; for a gap, no narrower). In the
    change view, the third with the largest rise, and of those the ones whose outcome did not
    improve beyond chance (their verdict, adjusted for the districts compared). Nothing is said
    with fewer than 6 districts."""
    change = o.view == "change"
    pts = frame[frame["outcome_verdict"].notna()] if change else frame.dropna(subset=["x", "y"])
    if len(pts) < 6:
        return ""
    top = pts.nlargest(max(2, round(len(pts) / 3)), "x")
    if change:
        top = top[top["x"] > 0]
        if top.empty:
            return f"{_noun(o).capitalize()} rose in none of the districts from {period}."
    noun, k = _noun(o), len(top)
    listed = _names([f"{n} ({'+' if change else ''}{_fmt_x(o, v)})" for n, v in zip(top["name"], top["x"])])
    what = in_sentence(x_label)
    if change:
        head = (f"The {k} district{'s' if k != 1 else ''} whose {noun} rose most from {period} ({what}, change) "
                f"{'are' if k != 1 else 'is'} {listed}.")
        still = top[top["outcome_verdict"] <= 0]
        if still.empty:
            return head + " Each of them saw its outcome improve by more than chance would explain."
        return (head + f" Of these, {_names(still['name'].tolist())} saw no improvement in the outcome beyond chance "
                f"({y_label}: {_names([f'{v:+.1f}' for v in still['y']])}; allowing for the {len(pts)} districts compared).")
    middle = float(pts["y"].median())
    lower_better = o.outcome == "gap"
    still = top[top["y"] >= middle] if lower_better else top[top["y"] <= middle]
    head = f"In {period}, the {k} districts with the most {what} are {listed}."
    if still.empty:
        return head + f" Each of them has {'a narrower gap' if lower_better else 'a better outcome'} than the middle district's."
    return (head + f" Of these, {_names(still['name'].tolist())} {'has' if len(still) == 1 else 'have'} "
            f"{'a gap no narrower' if lower_better else 'an outcome no better'} than the middle district's ({y_label}: "
            f"{_names([f'{v:+.1f}' if o.outcome != 'value' else f'{v:.1f}' for v in still['y']])}, against a median of "
            f"{middle:+.1f} across {len(pts)} districts). This describes the figures; it does not show that the "
            f"{noun} made no difference.")


def power_sentence(n: int) -> str:
    """What n districts can and cannot show, in words: the significance threshold and the power."""
    if n < 5:
        return f"With {n} districts, only a correlation of about {detectable(n):.2f} or more (either sign) could " \
               "be told apart from none at the 5% level."
    return (f"With {n} districts, only a correlation of about {detectable(n):.2f} or more (either sign) could be "
            f"told apart from none at the 5% level, and a true correlation would need to be about "
            f"{detectable_80(n):.2f} for {n} districts to show it 4 times in 5 (80% power): a weaker real "
            "association could easily go unseen.")


def comparisons_note(compared: int, span: str, lower_is_better: bool = False) -> str:
    """How the districts' 'better' and 'worse' allow for comparing many districts at once."""
    if not compared:
        return ""
    chance = 1 - (1 - FDR) ** compared
    return (f"Outcome changes from {span} were compared in {compared} district{'s' if compared != 1 else ''}. "
            f"Judged one at a time against its own 95% margin, chance alone would mark at least one of {compared} "
            f"'better' or 'worse' about {chance:.0%} of the time, so the flags are adjusted for the number compared "
            f"(Benjamini–Hochberg, false discovery rate {FDR:.0%}): an outcome is 'better' or 'worse' only when its "
            "adjusted p-value is 0.05 or less; otherwise 'no clear change'."
            + (" For a gap, better means narrower." if lower_is_better else ""))


def regression_note(baseline: Correlation | None, activity_baseline: Correlation | None, start: str,
                    span: str, noun: str = "activity") -> str:
    """Regression to the mean, in words, with the correlations that show how much it may matter."""
    if baseline is None:
        return ""
    text = ("Changes carry regression to the mean: a year's result is partly luck, so districts that started low "
            "tend to rise and those that started high tend to fall, with no help from anyone. "
            f"Here the change in outcome from {span} correlates r = {baseline.r:.2f} (95% interval {baseline.low:.2f} "
            f"to {baseline.high:.2f}) with the {start} level; regression to the mean shows as a negative r.")
    if activity_baseline is not None:
        text += (f" The change in {noun} correlates r = {activity_baseline.r:.2f} with that level: if {noun} rose "
                 "most where outcomes started lowest, a rise in it would seem to go with improvement even if it "
                 "did nothing.")
    return text


def _comparable_from(o: Options, y1: int) -> int:
    """The first outcome year a change to ``y1`` may start from without crossing a break: the
    tiered model's new recording (on the activity side, so a year later in the lag view) or a
    new assessment of the measure."""
    lag = 1 if o.view == "lag" else 0
    start = max([b for b in ref.ACTIVITY_BREAKS if b <= y1 - lag], default=ref.FIRST_ACADEMIC_YEAR) + lag
    return max([start] + [b for b in catalogue.measure(o.measure).breaks if b <= y1])


def _pick_years(o: Options, act: pd.DataFrame, out: pd.DataFrame, f: Filters) -> tuple[int | None, int | None, str]:
    """(Y0, Y1, note): the outcome years a change compares, and a note when the span the user
    chose crosses a break or a year assessed differently (the default span never does)."""
    years = sorted(y for y in out["academic_year"].unique() if f.year_from <= y <= f.year_to)
    have_act = set(act.dropna(subset=["intensity"])["academic_year"].unique())
    lag = 1 if o.view == "lag" else 0
    years = [y for y in years if y - lag in have_act]
    if not years:
        return None, None, ""
    y1: int = o.year if o.year is not None and o.year in years else years[-1]
    odd = set(catalogue.measure(o.measure).not_comparable)
    earlier = [y for y in years if y < y1]
    y0: int | None
    if o.base_year in earlier:
        y0 = o.base_year
    else:
        fine = [y for y in earlier if y >= _comparable_from(o, y1) and y not in odd]
        y0 = fine[0] if fine and y1 not in odd else None
    note = ""
    if y0 is not None:
        label = ref.academic_year_label
        crossed = sorted({b for b in ref.ACTIVITY_BREAKS if y0 - lag < b <= y1 - lag}
                         | {b for b in catalogue.measure(o.measure).breaks if y0 < b <= y1})
        if crossed:
            note = (f"The span {label(y0)} to {label(y1)} crosses a break in {', '.join(label(b) for b in crossed)} "
                    "(the tiered model's new recording, or a new assessment), so its change compares different things.")
        elif {y0, y1} & odd:
            note = (f"{' and '.join(label(y) for y in sorted({y0, y1} & odd))} results were assessed differently "
                    "and are not comparable with other years.")
    return y0, y1, note


@memoised
def analyse(db, o: Options, f: Filters) -> Result:
    """One view of activity against outcome across the 12 districts (filters' need and phase apply)."""
    history = f.with_(districts=(), year_from=ref.FIRST_ACADEMIC_YEAR)
    act, out = _intensity(db, o, history), _outcome(db, o, history)
    x_label, y_label = _labels(o)
    y0, y1, note = _pick_years(o, act, out, f)
    lag = 1 if o.view == "lag" else 0
    a = act.pivot_table(index="geography_code", columns="academic_year", values="intensity")
    b = out.pivot_table(index="geography_code", columns="academic_year", values="outcome")
    se = out.pivot_table(index="geography_code", columns="academic_year", values="se")
    frame = pd.DataFrame(index=list(ref.DISTRICT_CODES))
    if y1 is not None:
        frame["x"] = a.get(y1 - lag)
        frame["y"] = b.get(y1)
        if y0 is not None:   # the lag view's change is the lagged activity's change
            frame["activity_change"] = a.get(y1 - lag) - a.get(y0 - lag)
            frame["outcome_change"] = b.get(y1) - b.get(y0)
            frame["outcome_margin"] = Z * np.sqrt(se.get(y1) ** 2 + se.get(y0) ** 2)
            if o.view == "change":
                frame["x"], frame["y"] = frame["activity_change"], frame["outcome_change"]
            frame["outcome_start"] = b.get(y0)
    frame = frame.reindex(columns=["x", "y", "activity_change", "outcome_change", "outcome_margin", "outcome_start"]) \
        .assign(x_hidden=False, change_hidden=False)
    if y1 is not None:
        frame = _hide(frame, act.pivot_table(index="geography_code", columns="academic_year", values="n_hidden"),
                      y1 - lag, None if y0 is None else y0 - lag, o.view == "change")
    frame["name"] = [ref.DISTRICT_NAMES[c] for c in frame.index]
    judged = frame["activity_change"].notna() & ~frame["change_hidden"].astype(bool)   # the districts with a quadrant
    frame["outcome_verdict"], frame["outcome_p"], frame["outcome_q"] = outcome_verdicts(
        frame["outcome_change"].where(judged), frame["outcome_margin"].where(judged), o.outcome == "gap")
    frame["quadrant"] = _quadrants(frame, _noun(o).capitalize())
    frame = frame.rename_axis("geography_code").reset_index()
    usable = frame.dropna(subset=["x", "y"])
    x, y = usable["x"].to_numpy(float), usable["y"].to_numpy(float)
    pearson, spearman = correlation(x, y), correlation(x, y, rank=True)
    slope, intercept = (np.polyfit(x, y, 1) if pearson else (None, None))
    slope_ci = _slope_interval(x, y, float(slope), float(intercept)) if slope is not None and intercept is not None else None
    flagged = frame.loc[frame["quadrant"] == flag(o), "name"].tolist()
    period = _period(o, y0, y1)
    span = f"{ref.academic_year_label(y0)} to {ref.academic_year_label(y1)}" if y0 is not None and y1 is not None else "[x]"
    compared = int(frame["outcome_p"].notna().sum())
    # regression to the mean: each change against the outcome's starting level, over the districts judged
    start = frame[frame["outcome_p"].notna()]
    baseline = correlation(start["outcome_start"].to_numpy(float), start["outcome_change"].to_numpy(float))
    activity_baseline = correlation(start["outcome_start"].to_numpy(float), start["activity_change"].to_numpy(float))
    regression = regression_note(baseline, activity_baseline, ref.academic_year_label(y0) if y0 is not None else "",
                                 span, _noun(o))
    return Result(o, frame, len(usable), pearson, spearman,
                  None if slope is None else float(slope), None if intercept is None else float(intercept),
                  x_label, y_label, period,
                  _finding(o, len(usable), pearson, spearman, period, flagged, span, note, compared, regression),
                  flagged, span, headline=_headline(o, len(usable), pearson, spearman, period), span_note=note,
                  slope_interval=slope_ci, compared=compared,
                  comparisons_note=comparisons_note(compared, span, o.outcome == "gap"),
                  baseline=baseline, activity_baseline=activity_baseline, regression_note=regression,
                  standout=standout(frame, o, x_label, y_label, period),
                  source=("KCC budget allocations (illustrative in the demo)" if o.x == "spend" else "KCC STLS activity tracker")
                  + f"; DfE school census; {benchmarks.outcome_source(db, o.measure)}")


def flag(o: Options) -> str:
    """The quadrant the page names districts in: the x measure up, the outcome clearly worse
    (the words ``_quadrants`` gives it)."""
    return f"{_noun(o).capitalize()} up, outcome worse"


def _slope_interval(x: np.ndarray, y: np.ndarray, slope: float, intercept: float) -> tuple[float, float]:
    """The least-squares slope's 95% interval: b ± t(0.975, n − 2) · sqrt(SSE/(n − 2) / Sxx)."""
    n = len(x)
    resid = y - (intercept + slope * x)
    se = math.sqrt(float(resid @ resid) / (n - 2) / float(((x - x.mean()) ** 2).sum()))
    t = stats.t_quantile(0.05, n - 2)
    return slope - t * se, slope + t * se


def _quadrants(frame: pd.DataFrame, what: str = "Activity") -> np.ndarray:
    """Activity (or spending) up or down (what happened, so exact), and the outcome better or
    worse only by its verdict (``outcome_verdicts``: beyond chance once every district compared is
    allowed for); otherwise 'no clear change'."""
    verdict = frame["outcome_verdict"]
    outcome = np.where(verdict > 0, "outcome better", np.where(verdict < 0, "outcome worse", "no clear change in outcome"))
    activity = np.where(frame["activity_change"] > 0, f"{what} up, ", f"{what} down, ")
    quadrant = np.where(frame["activity_change"].isna() | verdict.isna(), "[x]",
                        np.char.add(activity.astype(str), outcome.astype(str)))
    return np.where(frame["change_hidden"], "[c]", quadrant)


def _hide(frame: pd.DataFrame, hidden: pd.DataFrame, x_year: int, y0: int | None, change_view: bool) -> pd.DataFrame:
    """The districts whose activity count is [c] (protected in the data layer): an intensity
    rests on its count, a change on both years'. Such points leave the chart, the table and the
    statistics."""
    flag = lambda y: hidden[y].reindex(frame.index).fillna(0).astype(bool).to_numpy() if y in hidden.columns \
        else np.zeros(len(frame), dtype=bool)
    level = flag(x_year)
    change = level | flag(y0) if y0 is not None else np.zeros(len(frame), dtype=bool)
    out = frame.copy()
    out["activity_change"] = out["activity_change"].mask(change)
    out["x"] = out["x"].mask(change if change_view else level)
    out["x_hidden"], out["change_hidden"] = (change if change_view else level), change
    return out


def _period(o: Options, y0: int | None, y1: int | None) -> str:
    if y1 is None:
        return "the years chosen"
    label = ref.academic_year_label
    if o.view == "change":
        return f"{label(y0)} to {label(y1)}" if y0 is not None else label(y1)
    if o.view == "lag":
        return f"{label(y1)} (activity in {label(y1 - 1)})"
    return label(y1)
