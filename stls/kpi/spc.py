"""Statistical process control: the XmR chart of NHS England's "Making Data Count".

Centre line = mean; process limits = mean ± 2.66 × mean moving range (about 3 sigma, since
sigma ≈ mR̄ / 1.128). Special cause when, within one segment:
  1. a point is beyond a process limit;
  2. 7 or more points in a row sit on the same side of the mean (a point on the mean breaks a run);
  3. 6 or more points in a row each rise (or each fall) on the one before;
  4. 2 of 3 points in a row lie beyond two-thirds of the way to a limit (2 sigma), on the same side.
Limits are recalculated from each break (e.g. September 2022, when the service model changed):
moving ranges never span a break.

A special cause's direction follows its rule: a trend's is the way it runs, the others' the side
of the mean. When the latest point's rules disagree (rising six times in a row, yet still below
the mean) the verdict is "mixed" and the text says why, rather than calling a rise concerning.

Monthly activity is seasonal (autumn high, August near zero), so limits on raw months are wide
and "common cause" almost certain. ``seasonally_adjusted`` divides each month by its seasonal
factor (the median over complete years of that month's share of its year's monthly mean) so the
chart judges the level net of the season.

XmR limits assume consecutive points are independent. Monthly activity often is not (a busy month
tends to follow a busy month, even after the seasonal adjustment), and then the moving ranges are
small beside the series' real spread, the limits too narrow, and signals turn up by chance.
``lag1_autocorrelation`` measures this on the points the latest limits use (the current regime),
``SpcResult.autocorrelation`` carries it, and ``SpcResult.autocorrelation_note`` says so beside
the chart when it is high (``HIGH_AUTOCORRELATION``). The limits themselves are not changed.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from stls.kpi.catalogue import Polarity

MIN_POINTS = 8   # fewer points than this in the latest segment: no SPC judgement
# Lag-1 autocorrelation above which the chart says its limits are too narrow. Declared, with its
# reason: bench/spc_autocorrelation.py simulates AR(1) series of 33 months (a three-year regime)
# through ``xmr`` and counts how often the latest point is flagged with nothing changed: about 2%
# when months are independent, 6% at a true r1 of 0.3, 14% at 0.5, 20% at 0.6, 31% at 0.7. The
# estimate runs low in series this short (a true 0.6 reads about 0.5 on average over 33 months,
# 0.37 over 13), so an estimate above 0.5 means a true value of 0.6 or more: a false signal on the
# latest point ten times as likely as the chart's nominal rate. Below it the estimate's own
# sampling error (about 1/sqrt(n), 0.17 to 0.28 for 33 to 13 months) makes a moderate value hard
# to tell from chance, so the chart says nothing rather than cry wolf about its own limits.
HIGH_AUTOCORRELATION = 0.5


@dataclass
class SpcResult:
    columns: dict[str, Any]  # arrays (rules a list): period, value, segment, mean, ucl, lcl, upper_2s, lower_2s, special, rules, side, direction
    variation: str        # improving | concerning | high | low | mixed | common_cause | too_few_points
    assurance: str | None  # hit_and_miss | consistently_passing | consistently_failing | None
    reason: str = ""      # the latest point's special-cause rules, in words
    adjusted: bool = False  # the values are seasonally adjusted (``columns['raw']`` holds them before)
    autocorrelation: float | None = None  # lag-1 autocorrelation of the latest segment's values (None: too few)

    @property
    def autocorrelated(self) -> bool:
        """Consecutive points are strongly related: the limits are too narrow."""
        return self.autocorrelation is not None and self.autocorrelation > HIGH_AUTOCORRELATION

    @property
    def autocorrelation_note(self) -> str:
        """The caution to show beside the chart when consecutive points are strongly related, else ''."""
        if not self.autocorrelated:
            return ""
        unit = "months" if self.monthly else "points"
        return (f"Consecutive {unit} are strongly related (lag-1 autocorrelation {self.autocorrelation:.2f}, "
                f"where above {HIGH_AUTOCORRELATION:g} is strong): the limits are too narrow and signals should be "
                "read with care.")

    @property
    def monthly(self) -> bool:
        """The points are months (several in a year), not academic years."""
        periods = self.columns["period"]
        return len(periods) > 0 and len({p.year for p in periods}) < len(periods)

    @functools.cached_property
    def frame(self) -> pd.DataFrame:
        """The columns as a frame, made when first asked for (a scorecard needs only the verdicts)."""
        return pd.DataFrame(self.columns)

    @property
    def latest(self) -> pd.Series:
        return self.frame.iloc[-1]


VARIATION_TEXT = {
    "improving": "Special cause: improving", "concerning": "Special cause: concerning",
    "common_cause": "Common cause: no significant change", "high": "Special cause: higher",
    "low": "Special cause: lower", "mixed": "Special cause in both directions",
    "too_few_points": "Too few points to judge",
}
ASSURANCE_TEXT = {
    "hit_and_miss": "Hit and miss: the target lies inside the process limits",
    "consistently_passing": "Consistently passing the target",
    "consistently_failing": "Consistently failing the target",
}


def _runs(flags: np.ndarray, length: int) -> np.ndarray:
    """Mark every point that belongs to a run of at least ``length`` True values."""
    edges = np.diff(np.r_[0, np.asarray(flags, dtype=np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    out = np.zeros(len(flags), dtype=bool)
    for a, b in zip(starts, ends):
        if b - a >= length:
            out[a:b] = True
    return out


def _segment_rules(v: np.ndarray, mean: float, ucl: float, lcl: float) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    n = len(v)
    side = np.sign(v - mean)
    beyond = (v > ucl) | (v < lcl)
    shift = _runs(side > 0, 7) | _runs(side < 0, 7)
    rising = np.r_[False, np.diff(v) > 0]
    falling = np.r_[False, np.diff(v) < 0]
    trend = np.zeros(n, dtype=bool)
    for steps in (rising, falling):  # 6 points in a row = 5 consecutive steps
        marked = _runs(steps, 5)
        trend |= marked | np.r_[marked[1:], False]
    upper2, lower2 = mean + (ucl - mean) * 2 / 3, mean - (mean - lcl) * 2 / 3
    near = np.zeros(n, dtype=bool)
    for hi in (v > upper2, v < lower2):  # 2 of any 3 consecutive points beyond 2 sigma, same side
        if n >= 3:
            windows = np.lib.stride_tricks.sliding_window_view(hi, 3)
            for start in np.flatnonzero(windows.sum(axis=1) >= 2):
                near[start:start + 3] |= hi[start:start + 3]
    names = np.array(["beyond limit", "run of 7", "trend of 6", "2 of 3 near limit"])
    flags = np.column_stack([beyond, shift, trend, near])
    special = np.asarray(flags.any(axis=1), dtype=bool)
    rules = [""] * n
    # each rule's direction at each point: the side of the mean, but a trend's own way
    rise_run = np.zeros(n, dtype=bool)
    marked = _runs(rising, 5)
    rise_run |= marked | np.r_[marked[1:], False]
    trend_way = np.where(rise_run, 1.0, -1.0)
    direction = np.zeros(n)
    for i in np.flatnonzero(special):
        rules[i] = ", ".join(names[flags[i]])
        ways = {float(side[i])} if (beyond[i] or shift[i] or near[i]) and side[i] != 0 else set()
        if trend[i]:
            ways.add(float(trend_way[i]))
        direction[i] = ways.pop() if len(ways) == 1 else 0.0
    return special, rules, side, direction


def xmr(periods: Iterable[dt.date], values: Iterable[float], breaks: Sequence[dt.date] = (),
        polarity: Polarity = Polarity.higher, target: float | None = None) -> SpcResult:
    """XmR limits and special-cause rules for a series, with limits recalculated at ``breaks``.

    Computed on NumPy arrays and made into one frame at the end: a scorecard runs this for every
    KPI on every filter change, and per-segment pandas frames cost more than the arithmetic."""
    v_all = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").to_numpy(float)
    keep = ~np.isnan(v_all)
    period = np.array(list(periods), dtype=object)[keep] if len(v_all) else np.array([], dtype=object)
    v_all = v_all[keep]
    segment = (np.searchsorted(np.array(sorted(breaks), dtype=object), period, side="right")
               if len(breaks) and len(period) else np.zeros(len(period), dtype=int))
    n = len(v_all)
    cols = {name: np.full(n, np.nan) for name in ("mean", "ucl", "lcl", "upper_2s", "lower_2s", "side", "direction")}
    special, rules = np.zeros(n, dtype=bool), [""] * n
    for seg in np.unique(segment):
        idx = np.flatnonzero(segment == seg)
        v = v_all[idx]
        mean = float(v.mean())
        mr = float(np.abs(np.diff(v)).mean()) if len(v) > 1 else 0.0
        ucl, lcl = mean + 2.66 * mr, mean - 2.66 * mr
        flags, seg_rules, side, way = _segment_rules(v, mean, ucl, lcl)
        for name, value in (("mean", mean), ("ucl", ucl), ("lcl", lcl), ("upper_2s", mean + 2 / 3 * 2.66 * mr),
                            ("lower_2s", mean - 2 / 3 * 2.66 * mr)):
            cols[name][idx] = value
        cols["side"][idx] = side
        cols["direction"][idx] = way
        special[idx] = flags
        for i, r in zip(idx, seg_rules):
            rules[i] = r
    out = {"period": period, "value": v_all, "segment": segment,
           **{k: cols[k] for k in ("mean", "ucl", "lcl", "upper_2s", "lower_2s")},
           "special": special, "rules": rules, "side": cols["side"], "direction": cols["direction"]}
    variation = _variation(segment, special, cols["direction"], polarity)
    assurance = _assurance(segment, cols["lcl"][-1], cols["ucl"][-1], polarity, target) if n else None
    latest = v_all[segment == segment[-1]] if n else v_all
    return SpcResult(out, variation, assurance, _reason(rules[-1], cols["side"][-1], variation) if n else "",
                     autocorrelation=lag1_autocorrelation(latest) if len(latest) >= MIN_POINTS else None)


def lag1_autocorrelation(values: npt.ArrayLike) -> float | None:
    """The correlation between each point and the next (Pearson's r over the pairs (x_t, x_t+1),
    as pandas' ``Series.autocorr``); None with fewer than 3 points or no variation in either."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) < 3:
        return None
    a, b = v[:-1], v[1:]
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


RULE_WORDS = {"beyond limit": "beyond a process limit", "run of 7": "7 or more points on one side of the mean",
              "trend of 6": "6 or more points rising or falling in a row", "2 of 3 near limit": "2 of 3 points near a limit"}


def _reason(rules: str, side: float, variation: str) -> str:
    """The latest point's rules in words; for 'mixed', which way each points."""
    if not rules or variation in ("too_few_points", "common_cause"):
        return ""
    words = "; ".join(RULE_WORDS[r] for r in rules.split(", "))
    if variation == "mixed":
        words += f" (the trend and the point's place {'above' if side > 0 else 'below'} the mean point opposite ways)"
    return words


def _variation(segment: np.ndarray, special: np.ndarray, direction: np.ndarray, polarity: Polarity) -> str:
    """The latest point's variation icon: special cause (by the direction of its rules and the
    polarity), mixed when its rules point opposite ways, or common cause."""
    if len(segment) == 0 or (segment == segment[-1]).sum() < MIN_POINTS:
        return "too_few_points"
    if not special[-1]:
        return "common_cause"
    if direction[-1] == 0:
        return "mixed"
    high = direction[-1] > 0
    if polarity is Polarity.demand:
        return "high" if high else "low"
    return "improving" if high == (polarity is Polarity.higher) else "concerning"


def _assurance(segment: np.ndarray, lcl: float, ucl: float, polarity: Polarity, target: float | None) -> str | None:
    """Can the process be relied on to meet the target? Judged on the latest segment's limits."""
    if target is None or polarity is Polarity.demand or len(segment) == 0:
        return None
    if (segment == segment[-1]).sum() < MIN_POINTS:
        return None
    if lcl <= target <= ucl:
        return "hit_and_miss"
    above = target < lcl  # the whole process runs above the target
    return "consistently_passing" if above == (polarity is Polarity.higher) else "consistently_failing"


def seasonal_factors(periods: Iterable[dt.date], values: Iterable[float], min_years: int = 2) -> dict[int, float] | None:
    """Calendar month → seasonal factor, from complete academic years (every term-time month,
    September to July, present): the median over those years of the month's value over the
    year's mean month, scaled so the factors average 1. None with fewer than ``min_years``."""
    by_year: dict[int, dict[int, float]] = {}
    for p, v in zip(periods, values):
        if v == v and p.month != 8:
            by_year.setdefault(p.year if p.month >= 9 else p.year - 1, {})[p.month] = float(v)
    shares: dict[int, list[float]] = {}
    for months in by_year.values():
        mean = sum(months.values()) / len(months) if months else 0.0
        if len(months) == 11 and mean > 0:
            for m, v in months.items():
                shares.setdefault(m, []).append(v / mean)
    if not shares or min(len(v) for v in shares.values()) < min_years:
        return None
    factors = {m: float(np.median(v)) for m, v in shares.items()}
    scale = float(np.mean(list(factors.values())))
    return {m: f / scale for m, f in factors.items()}


def seasonally_adjusted(periods: Sequence[dt.date], values: Iterable[float],
                        factors: dict[int, float] | None = None) -> tuple[np.ndarray, dict[int, float] | None]:
    """Each month's value over its seasonal factor (``factors``, or estimated from these months);
    the values unchanged when there are too few complete years (the second item is then None)."""
    v = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").to_numpy(float)
    factors = factors if factors is not None else seasonal_factors(periods, v)
    if factors is None:
        return v, None
    return np.array([x / factors[p.month] if p.month in factors and factors[p.month] > 0 else np.nan
                     for p, x in zip(periods, v)], dtype=float), factors


def table_alternative(frame: pd.DataFrame, periods: tuple[str, list[str]], shown: tuple[str, list[str]],
                      adjusted: list[str] | None, fmt: Callable[[float], str]) -> pd.DataFrame:
    """An XmR chart's table alternative: every figure the chart draws, as displayed.

    ``frame`` is ``SpcResult.frame``; ``periods`` and ``shown`` are the first two columns' names
    and cells (the period labels, and the values as protected: [c], [x]); ``adjusted`` the
    seasonally adjusted cells when the chart plots those; ``fmt`` formats the centre line and
    limits. A row the chart leaves out (a hidden or missing value) has no mean or limits.
    One builder for the scorecard's and the district profile's charts."""
    columns = {periods[0]: periods[1], shown[0]: shown[1]}
    if adjusted is not None:
        columns["Seasonally adjusted"] = adjusted
    blank: Callable[[float | None], str] = lambda v: "" if v is None or v != v else fmt(v)   # noqa: E731 - no limits before a segment's first points
    return pd.DataFrame(columns | {
        "Mean": [blank(v) for v in frame["mean"]],
        "Lower limit": [blank(v) for v in frame["lcl"]], "Upper limit": [blank(v) for v in frame["ucl"]],
        "Special cause": [r if isinstance(r, str) else "" for r in frame["rules"]]})
