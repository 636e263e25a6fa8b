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
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from stls import catalogue, disclosure, queries, stats
from stls import reference as ref
from stls.filters import Filters
from stls.memo import memoised

Z = 1.959964
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
    base_year: int | None = None          # Y0 for change (earliest with data if None)


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
    flagged: list[str] = field(default_factory=list)   # activity up, outcome not improved
    change_period: str = ""                             # the span the quadrants compare


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


def _intensity(db, o: Options, f: Filters) -> pd.DataFrame:
    counts = queries.activity_counts(db, o.activity_types, "academic_year", f)
    counts = counts.groupby(["geography_code", "academic_year"], as_index=False)["n"].sum()
    pupils = queries.sen_pupils(db, o.per_100, f)
    out = pupils.merge(counts, on=["geography_code", "academic_year"], how="left").fillna({"n": 0})
    out["intensity"] = 100 * out["n"] / out["pupils"].where(out["pupils"] > 0)
    return out[["geography_code", "academic_year", "intensity", "n"]]


OUTCOMES = {"value": "The value", "gap": "Gap to pupils with no SEN", "vs_england": "Difference from England"}


def _outcome(db, o: Options, f: Filters) -> pd.DataFrame:
    groups = [o.sen_group] + (["no_sen"] if o.outcome == "gap" else [])
    rows = queries.attainment(db, o.measure, groups, f)
    rows["academic_year"] = rows["period"].map(ref.academic_year_start)
    england = rows[(rows["geography_code"] == ref.ENGLAND_CODE) & (rows["sen_group"] == o.sen_group)]
    rows = rows[rows["geography_code"].isin(ref.DISTRICT_CODES)]
    wide = rows.pivot_table(index=["geography_code", "academic_year"], columns="sen_group", values="value")
    if wide.empty:
        return pd.DataFrame(columns=["geography_code", "academic_year", "outcome"])
    if o.outcome == "gap":
        value = wide["no_sen"] - wide[o.sen_group]
    elif o.outcome == "vs_england":
        eng = england.set_index("academic_year")["value"]
        value = wide[o.sen_group] - wide.index.get_level_values("academic_year").map(eng).to_numpy()
    else:
        value = wide[o.sen_group]
    return value.rename("outcome").reset_index().dropna()


def _labels(o: Options) -> tuple[str, str]:
    types = " and ".join(ref.ACTIVITY_LABELS[t].lower() for t in o.activity_types) if len(o.activity_types) < 3 \
        else "STLS contacts"
    x = f"{types[0].upper() + types[1:]} per 100 pupils ({ref.SEN_GROUPS[o.per_100]})"
    measure = ref.MEASURE_SHORT[o.measure]
    group = ref.SEN_GROUPS[o.sen_group]
    y = {"value": f"{measure}, {group}",
         "gap": f"Gap to no SEN: {measure}, {group}",
         "vs_england": f"{measure}, {group}, minus England"}[o.outcome]
    return x, y


def _strength(r: float) -> str:
    a = abs(r)
    return "no" if a < 0.1 else "a weak" if a < 0.3 else "a moderate" if a < 0.5 else "a strong"


def _finding(o: Options, res_n: int, pearson: Correlation | None, spearman: Correlation | None,
             period: str, flagged: list[str], span: str = "") -> str:
    if pearson is None:
        return (f"Too few districts with data ({res_n}) to measure an association for {period}. " + CAVEATS)
    better = (pearson.r > 0) == (o.outcome != "gap")
    subject = "a rise in activity" if o.view == "change" else "more activity"
    word = "better" if better else "worse"
    if _strength(pearson.r) == "no":
        head = f"In {period}, {subject} went with no clear difference in outcomes"
    else:
        head = f"In {period}, {subject} went with {word} outcomes ({_strength(pearson.r)} " \
               f"{'positive' if pearson.r > 0 else 'negative'} association)"
    stats = (f"Pearson r = {pearson.r:.2f} (95% interval {pearson.low:.2f} to {pearson.high:.2f})"
             + (f", Spearman ρ = {spearman.r:.2f} ({spearman.low:.2f} to {spearman.high:.2f})" if spearman else "")
             + f", n = {res_n} districts")
    sure = ("The interval includes zero, so the data are also consistent with no association."
            if pearson.low < 0 < pearson.high else
            "The interval excludes zero, but with so few districts the size of the association is uncertain.")
    flags = (f" From {span}, activity rose but outcomes did not improve in {len(flagged)} "
             f"district{'s' if len(flagged) != 1 else ''}: {', '.join(flagged)}." if flagged else "")
    return f"{head}: {stats}. {sure}{flags} {CAVEATS}"


def _pick_years(o: Options, act: pd.DataFrame, out: pd.DataFrame, f: Filters) -> tuple[int | None, int | None]:
    years = sorted(y for y in out["academic_year"].unique() if f.year_from <= y <= f.year_to)
    have_act = set(act.dropna()["academic_year"].unique())
    if o.view == "lag":
        years = [y for y in years if y - 1 in have_act]
    else:
        years = [y for y in years if y in have_act]
    if not years:
        return None, None
    y1 = o.year if o.year in years else years[-1]
    earlier = [y for y in years if y < y1]
    y0 = o.base_year if o.base_year in earlier else (earlier[0] if earlier else None)
    return y0, y1


@memoised
def analyse(db, o: Options, f: Filters) -> Result:
    """One view of activity against outcome across the 12 districts (filters' need and phase apply)."""
    history = f.with_(districts=(), year_from=ref.FIRST_ACADEMIC_YEAR)
    act, out = _intensity(db, o, history), _outcome(db, o, history)
    x_label, y_label = _labels(o)
    y0, y1 = _pick_years(o, act, out, f)
    a = act.pivot_table(index="geography_code", columns="academic_year", values="intensity")
    b = out.pivot_table(index="geography_code", columns="academic_year", values="outcome")
    frame = pd.DataFrame(index=list(ref.DISTRICT_CODES))
    if y1 is not None:
        x_year = y1 - 1 if o.view == "lag" else y1
        frame["x"] = a.get(x_year)
        frame["y"] = b.get(y1)
        if y0 is not None:
            frame["activity_change"] = a.get(y1) - a.get(y0)
            frame["outcome_change"] = b.get(y1) - b.get(y0)
            if o.view == "change":
                frame["x"], frame["y"] = frame["activity_change"], frame["outcome_change"]
    frame = frame.reindex(columns=["x", "y", "activity_change", "outcome_change"]).assign(x_hidden=False, change_hidden=False)
    if y1 is not None and set(o.activity_types) & catalogue.CHILD_LEVEL_TYPES:
        frame = _protect(frame, act.pivot_table(index="geography_code", columns="academic_year", values="n"),
                         y1 - 1 if o.view == "lag" else y1, y0, y1, o.view == "change")
    frame["name"] = [ref.DISTRICT_NAMES[c] for c in frame.index]
    improved = frame["outcome_change"] < 0 if o.outcome == "gap" else frame["outcome_change"] > 0
    frame["quadrant"] = np.where(frame["activity_change"].isna() | frame["outcome_change"].isna(), "[x]",
                                 np.where(frame["activity_change"] > 0, "Activity up, ", "Activity down, ")
                                 + np.where(improved, "outcome improved", "outcome did not improve"))
    frame.loc[frame["change_hidden"], "quadrant"] = "[c]"
    frame = frame.rename_axis("geography_code").reset_index()
    usable = frame.dropna(subset=["x", "y"])
    x, y = usable["x"].to_numpy(float), usable["y"].to_numpy(float)
    pearson, spearman = correlation(x, y), correlation(x, y, rank=True)
    slope, intercept = (np.polyfit(x, y, 1) if pearson else (None, None))
    flagged = frame.loc[frame["quadrant"] == "Activity up, outcome did not improve", "name"].tolist()
    period = _period(o, y0, y1)
    span = f"{ref.academic_year_label(y0)} to {ref.academic_year_label(y1)}" if y0 is not None and y1 is not None else "[x]"
    return Result(o, frame, len(usable), pearson, spearman,
                  None if slope is None else float(slope), None if intercept is None else float(intercept),
                  x_label, y_label, period, _finding(o, len(usable), pearson, spearman, period, flagged, span),
                  flagged, span)


def _protect(frame: pd.DataFrame, n: pd.DataFrame, x_year: int, y0: int | None, y1: int,
             change_view: bool) -> pd.DataFrame:
    """Disclosure control on the districts' activity: an intensity reveals its count (the census
    is published), a change reveals both years'. Hidden points leave the chart, the table and the
    statistics (with 11 points and a correlation shown, the twelfth could be solved for)."""
    gate = disclosure.Gate()
    count = lambda d, y: float(n.at[d, y]) if y in n.columns and d in n.index else float("nan")
    for d in frame.index:
        gate.derived((d, "x"), ([(d, x_year)], count(d, x_year)))
        if y0 is not None:
            gate.derived((d, "change"), ([(d, y0)], count(d, y0)), ([(d, y1)], count(d, y1)))
    hidden = gate.hidden()
    out = frame.copy()
    change = np.array([(d, "change") in hidden for d in frame.index], dtype=bool)
    level = np.array([(d, "x") in hidden for d in frame.index], dtype=bool)
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
