"""Statistical process control: the XmR chart of NHS England's "Making Data Count".

Centre line = mean; process limits = mean ± 2.66 × mean moving range (about 3 sigma, since
sigma ≈ mR̄ / 1.128). Special cause when, within one segment:
  1. a point is beyond a process limit;
  2. 7 or more points in a row sit on the same side of the mean (a point on the mean breaks a run);
  3. 6 or more points in a row each rise (or each fall) on the one before;
  4. 2 of 3 points in a row lie beyond two-thirds of the way to a limit (2 sigma), on the same side.
Limits are recalculated from each break (e.g. September 2022, when the service model changed):
moving ranges never span a break.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stls.catalogue import Polarity

MIN_POINTS = 8   # fewer points than this in the latest segment: no SPC judgement


@dataclass
class SpcResult:
    columns: dict         # period, value, segment, mean, ucl, lcl, upper_2s, lower_2s, special, rules, side
    variation: str        # improving | concerning | common_cause | high | low | too_few_points
    assurance: str | None  # hit_and_miss | consistently_passing | consistently_failing | None

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
    "low": "Special cause: lower", "too_few_points": "Too few points to judge",
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


def _segment_rules(v: np.ndarray, mean: float, ucl: float, lcl: float) -> tuple[np.ndarray, list[str], np.ndarray]:
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
    for i in np.flatnonzero(special):
        rules[i] = ", ".join(names[flags[i]])
    return special, rules, side


def xmr(periods, values, breaks=(), polarity: Polarity = Polarity.higher, target: float | None = None) -> SpcResult:
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
    cols = {name: np.full(n, np.nan) for name in ("mean", "ucl", "lcl", "upper_2s", "lower_2s", "side")}
    special, rules = np.zeros(n, dtype=bool), [""] * n
    for seg in np.unique(segment):
        idx = np.flatnonzero(segment == seg)
        v = v_all[idx]
        mean = float(v.mean())
        mr = float(np.abs(np.diff(v)).mean()) if len(v) > 1 else 0.0
        ucl, lcl = mean + 2.66 * mr, mean - 2.66 * mr
        flags, seg_rules, side = _segment_rules(v, mean, ucl, lcl)
        for name, value in (("mean", mean), ("ucl", ucl), ("lcl", lcl), ("upper_2s", mean + 2 / 3 * 2.66 * mr),
                            ("lower_2s", mean - 2 / 3 * 2.66 * mr)):
            cols[name][idx] = value
        cols["side"][idx] = side
        special[idx] = flags
        for i, r in zip(idx, seg_rules):
            rules[i] = r
    out = {"period": period, "value": v_all, "segment": segment,
           **{k: cols[k] for k in ("mean", "ucl", "lcl", "upper_2s", "lower_2s")},
           "special": special, "rules": rules, "side": cols["side"]}
    variation = _variation(segment, special, cols["side"], polarity)
    assurance = _assurance(segment, cols["lcl"][-1], cols["ucl"][-1], polarity, target) if n else None
    return SpcResult(out, variation, assurance)


def _variation(segment: np.ndarray, special: np.ndarray, side: np.ndarray, polarity: Polarity) -> str:
    """The latest point's variation icon: special cause (by direction and polarity) or common cause."""
    if len(segment) == 0 or (segment == segment[-1]).sum() < MIN_POINTS:
        return "too_few_points"
    if not special[-1] or side[-1] == 0:
        return "common_cause"
    high = side[-1] > 0
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
