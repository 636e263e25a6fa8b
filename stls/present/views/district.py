"""The district profile: one district against Kent, England and its own last year."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stls import reference as ref
from stls.analysis import benchmarks, funnel, needs
from stls.filters import Filters
from stls.kpi import catalogue, compare, kinds, metrics, spc
from stls.memo import memoised
from stls.present import charts
from stls.store import disclosure, queries

PROFILE_KPIS = ("referral_rate", "contact_rate", "settings_reached", "ks2_rwm_sen_support", "ks2_rwm_gap")


def headline_pairs(db, f: Filters, code: str) -> list[tuple[compare.Headline, compare.Headline]]:
    """(district, Kent) headlines for the profile's KPIs."""
    d, k = f.with_(districts=(code,)), f.with_(districts=())
    return [(compare.headline(db, kpi, d), compare.headline(db, kpi, k)) for kpi in PROFILE_KPIS]


@dataclass
class ProfileActivity:
    """The profile's headline pairs, monthly control chart and one month's activity of every
    type (every count protected in the data layer)."""
    pairs: list[tuple[compare.Headline, compare.Headline]]
    spc: charts.Chart
    month: dt.date | None = None     # the month the month table shows
    months: tuple[dt.date, ...] = ()  # the months there are to choose
    month_table: pd.DataFrame | None = None


def month_choices(db, f: Filters, code: str) -> tuple[dt.date, ...]:
    """The term-time months of the chosen years up to the latest month held, newest first."""
    frame = _monthly_by_district(db, metrics.all_years(db, f.with_(districts=())))
    low, high = f.dates
    held = frame[(frame["month"] >= low) & (frame["month"] < high) & frame["term_time"]]["month"]
    gaps = [m for _, m in compare.gaps_between(db, (code,), low, high) if m.month != 8]
    return tuple(sorted(set(held) | set(gaps), reverse=True))


def profile_activity(db, f: Filters, code: str, activity_type: str, month: dt.date | None = None) -> ProfileActivity:
    """Headlines (district and Kent), the monthly chart of one activity type and one month's
    activity of every type: every count protected in the data layer, the same cell wherever it
    is shown (a month in the chart and in the month table are one figure)."""
    pairs = headline_pairs(db, f, code)
    frame = _spc_months(db, f, code, activity_type)
    choices = month_choices(db, f, code)
    month = month if month in choices else (choices[0] if choices else None)
    table = _month_table(_month_counts(db, f, code, month), month, bool(f.need or f.phase)) if month else None
    hidden = frame["activities_hidden"].to_numpy(bool)
    return ProfileActivity(pairs, _spc_chart(frame, f, code, activity_type, hidden,
                                             _seasonal_factors(db, f, code, activity_type)),
                           month, choices, table)


def _year_before(month: dt.date) -> dt.date:
    return month.replace(year=month.year - 1)


def _month_counts(db, f: Filters, code: str, month: dt.date) -> pd.DataFrame:
    """Each activity type's protected count in the district in ``month`` ("now") and the same
    month a year earlier ("before"); NaN where the district made no tracker return that month
    or the count is [c] ("now_hidden", "before_hidden")."""
    before = _year_before(month)
    frame = _monthly_by_district(db, metrics.all_years(db, f.with_(districts=())))
    mine = frame[frame["district_code"] == code]
    gaps = {m for _, m in compare.gaps_between(db, (code,), before, month + dt.timedelta(days=31))}
    out = pd.DataFrame(index=pd.Index(list(ref.ACTIVITY_TYPE_CODES), name="activity_type"))
    for col, m in (("now", month), ("before", before)):
        got = mine[mine["month"] == m].set_index("activity_type")
        out[col] = float("nan") if m in gaps else got["activities"].reindex(out.index).fillna(0.0).astype(float)
        # a type with no row that month is an empty cell: [c] if it is about children, else 0
        empty = pd.Series(out.index.isin(list(ref.CHILD_LEVEL_TYPES)), index=out.index)
        out[f"{col}_hidden"] = got["activities_hidden"].reindex(out.index).astype(object).fillna(empty).astype(bool) \
            .to_numpy() & (m not in gaps)   # a month not returned is [x], not [c]
        out.loc[out[f"{col}_hidden"], col] = float("nan")
    return out


def _month_table(counts: pd.DataFrame, month: dt.date, split: bool = False) -> pd.DataFrame:
    """The month table as shown: [c] for a protected count under the threshold (and the change
    from it), [x] for a month with no tracker return, [z] under an area of need or phase filter
    (``split``) for a type not recorded by them."""
    before = _year_before(month)
    rows = []
    for t, row in counts.iterrows():
        cells: list[str] = []
        values: list[float] = []
        if split and t in ref.NOT_BY_NEED:
            rows.append({"Activity": ref.ACTIVITY_LABELS[t], month.strftime("%b %Y"): "[z]",
                         before.strftime("%b %Y"): "[z]", "Change on a year before": "[z]"})
            continue
        for col in ("now", "before"):
            v, hide = row[col], bool(row[f"{col}_hidden"])
            cells.append(disclosure.cell(v, hide))
            if v == v and not hide:
                values.append(float(v))
        change = "[x]" if "[x]" in cells else "[c]" if len(values) < 2 else f"{values[0] - values[1]:+,.0f}"
        rows.append({"Activity": ref.ACTIVITY_LABELS[t], month.strftime("%b %Y"): cells[0],
                     before.strftime("%b %Y"): cells[1], "Change on a year before": change})
    return pd.DataFrame(rows)


def _seasonal_factors(db, f: Filters, code: str, activity_type: str) -> dict[int, float] | None:
    """The district's seasonal factors for one activity type from every year held, from the
    protected months ([c] months left out)."""
    history = _spc_months(db, metrics.all_years(db, f), code, activity_type)
    return spc.seasonal_factors(list(history["month"]), history["activities"].to_numpy(float))


def _has_month(frame: pd.DataFrame, month) -> bool:
    """Whether the chart's months span ``month`` (a month inside the span with no row had none)."""
    return bool(len(frame)) and frame["month"].min() <= month <= frame["month"].max()


def _spc_months(db, f: Filters, code: str, activity_type: str) -> pd.DataFrame:
    """The district's term-time months of one activity type, every month the tracker holds in
    the years chosen: a month it made no tracker return is a row of NaN (shown [x]: unknown, not
    none); a month with no record of the type is an empty cell, [c] for a count about children
    (as every empty cell is) and 0 otherwise."""
    frame = _monthly_by_district(db, metrics.all_years(db, f.with_(districts=())))
    low, high = f.dates
    calendar = sorted(set(frame.loc[frame["term_time"] & (frame["month"] >= low) & (frame["month"] < high), "month"]))
    gaps = {m for _, m in compare.gaps_between(db, (code,), low, high) if m.month != 8}
    mine = frame[(frame["district_code"] == code) & (frame["activity_type"] == activity_type)].set_index("month")
    months = sorted(set(calendar) | gaps)
    out = mine.reindex(months)[["activities", "activities_hidden"]].rename_axis("month").reset_index()
    empty = out["activities"].isna() & ~out["month"].isin(gaps)
    child = activity_type in ref.CHILD_LEVEL_TYPES
    out.loc[empty, "activities"] = float("nan") if child else 0.0
    out["activities_hidden"] = out["activities_hidden"].astype("boolean").fillna(child).astype(bool) \
        & ~out["month"].isin(gaps)
    return out.assign(district_code=code, activity_type=activity_type, term_time=True)


def _spc_chart(frame: pd.DataFrame, f: Filters, code: str, activity_type: str, hidden: np.ndarray,
               factors: dict[int, float] | None = None) -> charts.Chart:
    label, name = ref.ACTIVITY_LABELS[activity_type], ref.DISTRICT_NAMES[code]
    if (f.need or f.phase) and activity_type in ref.NOT_BY_NEED:
        text = f"{label} are not recorded by area of need or phase: [z] under these filters"
        return charts.Chart(charts.empty(text, "KCC STLS activity tracker"), text + ".",
                            pd.DataFrame({"Month": [], label: []}), text)
    if frame.empty:
        return charts.Chart(charts.empty(f"No {label.lower()} recorded in {name} for this selection", "KCC STLS activity tracker"),
                            "No data to chart.", pd.DataFrame(columns=["Month", label]), "No data")
    values = frame["activities"].where(~hidden)
    adjusted, factors = spc.seasonally_adjusted(list(frame["month"]), values, factors)
    res = spc.xmr(frame["month"], adjusted, [r.start for r in ref.REGIMES[1:]], catalogue.Polarity.demand)
    variation = spc.VARIATION_TEXT[res.variation]
    title = f"{label} in {name} by month: latest month {variation[0].lower() + variation[1:]}"
    fig = charts.spc_chart(res.frame, title, "KCC STLS activity tracker · " + f.with_(districts=(code,)).caption(),
                           f"{label} per month" + (", seasonally adjusted" if factors else ""), "demand")
    cells = ["[c]" if h else "[x]" if v != v else f"{v:,.0f}" for v, h in zip(frame["activities"], hidden)]
    drawn = res.frame.set_index("period").reindex(list(frame["month"]))   # xmr leaves out the [c] and [x] months
    table = spc.table_alternative(drawn, ("Month", [m.strftime("%b %Y") for m in frame["month"]]), (label, cells),
                                  [c if c.startswith("[") else f"{a:,.1f}" for c, a in zip(cells, adjusted)]
                                  if factors else None, "{:,.1f}".format)
    res_specials = int(res.frame["special"].sum()) if len(res.frame) else 0
    alt = (f"Control chart of monthly {label.lower()} in {name}, September to July each year, with the mean and "
           f"process limits recalculated at each service change; {res_specials} months show special cause variation.")
    gaps = [m.strftime("%b %Y") for m, v, h in zip(frame["month"], frame["activities"], hidden) if v != v and not h]
    protected = int(np.sum(hidden))
    notes = [f"No tracker return from {name} in {', '.join(gaps)} (shown as [x], left out of the limits)." if gaps else "",
             f"{protected} of {len(frame)} months are [c] (a count of children under 5 after protection), left out of "
             "the chart and its limits." if protected else "",
             "Each month is divided by its seasonal factor (its median share of the year's mean month over complete "
             "years), so the limits judge the level net of the season." if factors else
             "Too few complete years to adjust for the season: the limits include seasonal swings.",
             f"Latest month: {res.reason}." if res.reason else "",
             res.autocorrelation_note]
    note = " ".join(n for n in notes if n)
    return charts.Chart(fig, f"{alt} {note}", table, title, caption=note)


@memoised
def _monthly_by_district(db, f: Filters) -> pd.DataFrame:
    """Every district's monthly activity (one query a filter set; a district change reads it)."""
    frame = queries.monthly_activity_by_district(db, f)
    return frame.assign(term_time=pd.to_datetime(frame["month"]).dt.month != 8)


def need_mix(db, f: Filters, code: str, year: int) -> charts.Chart:
    """The district's referral mix and SEN pupil mix by area, with Kent's alongside in the table
    (every figure from the protected mix: a share whose count is hidden is hidden too)."""
    m = needs.mix(db, f.with_(districts=()), year)   # one protected mix for every district (memoised)
    mine = m[m["geography_code"] == code]
    kent = m[m["geography_code"] == ref.KENT_CODE].set_index("need_area")
    name = ref.DISTRICT_NAMES[code]
    index_text = lambda part: disclosure.cell(part["index"].iloc[0], bool(part["index_hidden"].iloc[0]), "{:.1f}".format)
    shown = mine.dropna(subset=["referral_share", "pupil_share"])
    if len(shown):
        over = shown.assign(diff=shown["referral_share"] - shown["pupil_share"]).sort_values("diff").iloc[-1]
        title = (f"In {name}, {over['area'].lower()} takes {over['referral_share']:.0f}% of referrals against "
                 f"{over['pupil_share']:.0f}% of pupils with SEN (dissimilarity {index_text(mine)}; "
                 f"Kent {index_text(kent)})")
    else:
        title = f"Need mix in {name}"
    fig = charts.need_mix_bars(mine, title, "KCC STLS activity tracker; DfE school census")
    pct = "{:.1f}%".format
    k = kent.reindex(mine["need_area"])
    table = pd.DataFrame({
        "Area of need": mine["area"].to_numpy(),
        "Referrals": disclosure.cells(mine["referrals"], mine["referrals_hidden"]),
        "Pupils with SEN": disclosure.cells(mine["pupils"], mine["pupils_hidden"]),
        "Referral share": disclosure.cells(mine["referral_share"], mine["referral_share_hidden"], pct),
        "Pupil share": disclosure.cells(mine["pupil_share"], mine["pupil_share_hidden"], pct),
        "Kent referral share": disclosure.cells(k["referral_share"], k["referral_share_hidden"], pct),
        "Kent pupil share": disclosure.cells(k["pupil_share"], k["pupil_share_hidden"], pct)})
    alt = f"Grouped bar chart comparing the share of referrals and of pupils with SEN in each area of need, {name}, {ref.academic_year_label(year)}."
    return charts.Chart(fig, alt, table, title)


def outcomes(db, f: Filters, code: str, measure: str, group: str) -> charts.Chart:
    """The district's outcome for a SEN group over time against Kent and England; [x] years are gaps."""
    rows = _outcome_rows(db, measure, group, metrics.all_years(db, f).year_to)
    rows = rows[rows["geography_code"].isin([code, ref.KENT_CODE, ref.ENGLAND_CODE]) & (rows["academic_year"] <= f.year_to)]
    years = list(range(ref.FIRST_ACADEMIC_YEAR, f.year_to + 1))
    grid = pd.MultiIndex.from_product([[code, ref.KENT_CODE, ref.ENGLAND_CODE], years], names=["geography_code", "academic_year"])
    frame = rows.set_index(["geography_code", "academic_year"]).reindex(grid).reset_index()
    frame["series"] = frame["geography_code"].map(ref.GEOGRAPHY_NAMES)
    name, label = ref.DISTRICT_NAMES[code], ref.MEASURE_LABELS[measure]
    mine = frame[(frame["geography_code"] == code)].dropna(subset=["value"])
    kent = frame[(frame["geography_code"] == ref.KENT_CODE)].set_index("academic_year")["value"]
    if mine.empty:
        title = f"No {label} results for {name} in these years"
    else:
        last = mine.iloc[-1]
        diff = last["value"] - kent.get(last["academic_year"], float("nan"))
        unit = "Attainment 8 points" if measure == "ks4_attainment8" else "percentage points"
        title = (f"{name}: {label}, {ref.PUPILS_IN[group]}, {abs(diff):.1f} {unit} "
                 f"{'above' if diff >= 0 else 'below'} Kent in {ref.academic_year_label(int(last['academic_year']))}")
    note = "; ".join(kinds.Attainment.unhonoured(f))   # results are for all pupils of the SEN group
    source = benchmarks.outcome_source(db, measure) + (f" · {note}" if note else "")
    fig = charts.outcome_lines(frame, title, source, f"{ref.MEASURE_SHORT[measure]}, {ref.SEN_GROUPS[group]}")
    values = frame.pivot(index="academic_year", columns="series", values="value").reindex(columns=[name, "Kent", "England"])
    table = values.map(lambda v: "[x]" if pd.isna(v) else f"{v:.1f}").reset_index()
    table["academic_year"] = table["academic_year"].map(ref.academic_year_label)
    alt = (f"Line chart of {label} for {ref.SEN_GROUPS[group]} pupils in {name}, Kent and England by academic year; "
           f"years with no assessments are left as gaps. {title}." + (f" Filter not applied: {note}." if note else ""))
    table = table.rename(columns={"academic_year": "Academic year"})
    if note:
        table["Filters not applied"] = note
    return charts.Chart(fig, alt, table, title, numbers=values.reset_index(drop=True))


@memoised
def _outcome_rows(db, measure: str, group: str, year_to: int) -> pd.DataFrame:
    """Every geography's results from the first year to ``year_to`` (a value on a cohort that is
    [c] hidden with it, by ``queries.attainment``)."""
    rows = queries.attainment(db, measure, [group], Filters(ref.FIRST_ACADEMIC_YEAR, year_to))
    return rows.assign(academic_year=rows["period"].map(ref.academic_year_start))


def unreached_settings(db, f: Filters, code: str, year: int) -> pd.DataFrame:
    """Open settings in the district with no STLS contact in the academic year (phase filter applies)."""
    every = _unreached_every_year(db, metrics.all_years(db, Filters(year, year)))
    rows = (every["academic_year"] == year) & (every["district_code"] == code)
    if f.phase:
        rows &= every["Phase"] == ref.PHASES[f.phase]
    return every[rows].drop(columns=["academic_year", "district_code"]).reset_index(drop=True)


@memoised
def _unreached_every_year(db, f: Filters) -> pd.DataFrame:
    """Unreached settings for every year of ``f`` (one query; a change of year or phase reads it)."""
    frame = queries.unreached_settings(db, f.year_from, f.year_to)
    frame["phase"] = frame["phase"].map(ref.PHASES)
    frame["last_contact"] = [m.strftime("%b %Y") if pd.notna(m) else "never" for m in frame["last_contact"]]
    return frame.rename(columns={"urn": "URN", "name": "Setting", "phase": "Phase",
                                 "last_contact": "Last STLS contact"})


def funnel_view(db, code: str | None, measure: str, group: str, year: int) -> charts.Chart:
    fn = funnel.district_funnel(db, measure, group, year)
    label = ref.MEASURE_LABELS[measure]
    y_label = f"{ref.MEASURE_SHORT[measure]}, {ref.SEN_GROUPS[group]}"
    if fn.points.empty:
        return charts.Chart(charts.empty(f"No {label} results in {ref.academic_year_label(year)}",
                                         benchmarks.outcome_source(db, measure)),
                            "No data to chart.", pd.DataFrame(columns=["District"]), "No data")
    pts = fn.points.copy().reset_index(drop=True)
    # a district's cohort is a count of children, protected in the data layer; its value and
    # limits reveal it (the limits are a function of the cohort), so a [c] cohort hides the point
    hidden = pts["cohort_hidden"].to_numpy(bool) if "cohort_hidden" in pts else np.zeros(len(pts), dtype=bool)
    for col in ("value", "cohort", "lower_95", "upper_95", "lower_998", "upper_998"):
        pts[col] = pts[col].mask(hidden)
    pts["position"] = pts["position"].mask(hidden, "[c]")
    out = [n for n in fn.outside() if n not in set(pts.loc[hidden, "name"])]
    name = ref.DISTRICT_NAMES.get(code) if code else None
    title = (funnel_title(name, pts, hidden, out) + (", widened for the spread between districts" if fn.widened else "")
             + f" ({ref.academic_year_label(year)})")
    fig = charts.funnel_chart(pts, fn.curve, fn.kent, title, benchmarks.outcome_source(db, measure), y_label,
                             name, fn.unit)
    limits = lambda lo, hi: ["[c]" if h else f"{fn.fmt(a)} to {fn.fmt(b)}" for a, b, h in zip(pts[lo], pts[hi], hidden)]
    table = pd.DataFrame({"District": pts["name"], "Pupils": disclosure.cells(pts["cohort"], hidden),
                          "Value": disclosure.cells(pts["value"], hidden, fn.fmt),
                          "95% limits": limits("lower_95", "upper_95"), "99.8% limits": limits("lower_998", "upper_998"),
                          "Position": pts["position"]})
    caption = f"{fn.method} {fn.note}".strip()   # the method, then the over-dispersion test and its effect
    alt = (f"Funnel plot of {label} for {ref.SEN_GROUPS[group]} pupils in Kent's 12 districts against cohort size, "
           f"with 95% and 99.8% limits around Kent's {fn.fmt(fn.kent)}. {title}. {caption}")
    return charts.Chart(fig, alt, table, title, caption=caption)


def funnel_title(name: str | None, pts: pd.DataFrame, hidden: np.ndarray, out: list[str]) -> str:
    """The funnel's finding, led by the profiled district (it named only the districts outside
    the limits, which on one district's profile read as that district's finding)."""
    others = f"{', '.join(out)} {'lies' if len(out) == 1 else 'lie'} outside Kent's 99.8% limits"
    if name is None:
        return others if out else ("Every district shown lies within Kent's 99.8% limits" if hidden.any()
                                   else "Every district lies within Kent's 99.8% limits")
    at = pts.index[pts["name"] == name]
    if len(at) == 0 or hidden[at[0]]:
        mine = f"{name}: too few pupils to show"
    else:
        where = str(pts.loc[at[0], "position"])
        side = where.split(" ")[0]
        mine = (f"{name} lies within Kent's 95% limits" if where == "within limits"
                else f"{name} lies {side} Kent's 95% limits, within its 99.8% limits" if "95%" in where
                else f"{name} lies {side} Kent's 99.8% limits")
    rest = [n for n in out if n != name]
    return mine + (f"; {', '.join(rest)} {'lies' if len(rest) == 1 else 'lie'} outside them" if rest else "")


def latest_outcome_year(db, measure: str, up_to: int) -> int | None:
    """The latest academic year up to ``up_to`` with results for the measure (None if none)."""
    return queries.latest_measure_year(db, measure, up_to)
