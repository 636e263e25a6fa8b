"""Funnel plot data: district proportions against cohort size, with control limits around Kent.

Method (Spiegelhalter, "Funnel plots for comparing institutional performance", Stat Med 2005):
the target is Kent's proportion p0; for a cohort of n pupils the limits are the normal
approximation to the binomial, p0 ± z·sqrt(p0(1 − p0)/n), with z = 1.959964 (95%) and
z = 3.090232 (99.8%), clipped to 0–100%. A district outside the 99.8% limits differs from
Kent by more than chance would explain (about 1 in 500); between 95% and 99.8%, possibly.
Districts are compared with Kent, not ranked against one another.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from stls.memo import memoised

Z95, Z998 = 1.959964, 3.090232


def limits(p0: float, n) -> dict[str, np.ndarray]:
    """Limits (as proportions) around p0 for cohort sizes n."""
    n = np.asarray(n, dtype=float)
    se = np.sqrt(p0 * (1 - p0) / n)
    return {name: np.clip(p0 + sign * z * se, 0, 1)
            for name, sign, z in (("lower_998", -1, Z998), ("lower_95", -1, Z95),
                                  ("upper_95", 1, Z95), ("upper_998", 1, Z998))}


@dataclass
class Funnel:
    points: pd.DataFrame   # geography_code, name, cohort, value (%), lower/upper limits (%), position
    curve: pd.DataFrame    # cohort grid with the four limits (%) for drawing
    kent: float            # Kent's proportion (%)

    def outside(self, level: str = "99.8%") -> list[str]:
        flags = {"99.8%": ("above 99.8% limit", "below 99.8% limit"),
                 "95%": ("above 99.8% limit", "below 99.8% limit", "above 95% limit", "below 95% limit")}[level]
        return self.points.loc[self.points["position"].isin(flags), "name"].tolist()


def funnel(points: pd.DataFrame, kent_percent: float) -> Funnel:
    """points: geography_code, name, cohort, value (a percentage). Kent's value is the target."""
    p0 = kent_percent / 100
    pts = points.dropna(subset=["value", "cohort"]).copy()
    pts = pts[pts["cohort"] > 0]
    for name, arr in limits(p0, pts["cohort"]).items():
        pts[name] = 100 * arr
    v = pts["value"]
    pts["position"] = np.select(
        [v > pts["upper_998"], v < pts["lower_998"], v > pts["upper_95"], v < pts["lower_95"]],
        ["above 99.8% limit", "below 99.8% limit", "above 95% limit", "below 95% limit"], "within limits")
    top = max(float(pts["cohort"].max()) * 1.15, 50) if len(pts) else 500
    grid = np.unique(np.geomspace(30, top, 120).round())
    curve = pd.DataFrame({"cohort": grid, **{k: 100 * v for k, v in limits(p0, grid).items()}})
    return Funnel(pts.reset_index(drop=True), curve, kent_percent)


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
    if kent.empty:
        return Funnel(districts.iloc[:0].assign(position=[]), pd.DataFrame(), float("nan"))
    return funnel(districts[["geography_code", "name", "cohort", "value"]], float(kent.iloc[0]))
