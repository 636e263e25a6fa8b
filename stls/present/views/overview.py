"""What the Overview page shows, computed: headline cards, monthly activity, district comparison."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from stls import reference as ref
from stls.analysis import benchmarks
from stls.filters import Filters
from stls.kpi import catalogue, compare
from stls.memo import memoised
from stls.present import charts
from stls.store import disclosure, queries

HEADLINE_KPIS = ("referrals", "lift_meetings", "school_visits", "settings_reached", "ks2_rwm_sen_support")
DEFAULT_TYPES = ("referral", "school_visit", "advice", "lift_meeting")
MOST_TYPES = len(charts.PALETTE)   # lines on the monthly chart: one colour each
COMPARISON_KPIS = ("referral_rate", "contact_rate", "settings_reached", "ks2_rwm_sen_support", "cost_per_referral")
TRACKER = "KCC STLS activity tracker"


def headline_cards(db, f: Filters) -> list[compare.Headline]:
    """The headline cards (their counts protected in the data layer, as everywhere)."""
    return [compare.headline(db, k, f) for k in HEADLINE_KPIS]


@dataclass
class OverviewPage:
    """What the Overview shows about the filtered area."""
    cards: list[compare.Headline]
    monthly: charts.Chart | None


def page(db, f: Filters, types: tuple[str, ...] = DEFAULT_TYPES) -> OverviewPage:
    """The headline cards and the monthly activity chart. Every count comes protected from the
    data layer, each the same cell wherever it is shown, so nothing here hides anything."""
    cards = headline_cards(db, f)
    monthly = _monthly_chart(*_monthly_wide(db, f, types), f, types, _gaps(db, f)) if types else None
    return OverviewPage(cards, monthly)


def _gaps(db, f: Filters) -> dict:
    """Month → names of the chosen districts (all 12 for Kent) that made no tracker return."""
    out: dict = {}
    for d, m in compare.gaps_between(db, f.area.members, *f.dates):
        out.setdefault(m, []).append(ref.DISTRICT_NAMES[d])
    return out


def _change_phrase(values, label: str) -> str:
    """'Referrals in the latest 12 months were 8% higher than in the 12 months before', from the
    protected monthly counts shown (a [c] month counts as none)."""
    values = pd.Series(values).fillna(0).to_numpy()
    if len(values) < 24 or values[-24:-12].sum() == 0:
        return f"{label} by month"
    change = 100 * (values[-12:].sum() / values[-24:-12].sum() - 1)
    if abs(change) < 1:
        return f"{label} in the latest 12 months were level with the 12 months before"
    word = "higher" if change > 0 else "lower"
    return f"{label} in the latest 12 months were {abs(change):.0f}% {word} than the 12 months before"


def _monthly_wide(db, f: Filters, types: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Months × chosen activity types, protected (``queries.monthly_activity_by_type``): every
    month with any of them, each type 0 where it had none; and which of them are [c]."""
    raw = queries.monthly_activity_by_type(db, f)
    raw = raw[raw["activity_type"].isin(types)]
    # a month the chosen districts made no return has no row: keep it (as 0 here, [x] in the chart)
    months = set(raw["month"]) | {m for _, m in compare.gaps_between(db, f.area.members, *f.dates)}
    shape = lambda col: raw.pivot(index="month", columns="activity_type", values=col) \
        .reindex(index=sorted(months), columns=list(types)).rename_axis(columns="activity_type")
    counts, flags = shape("activities"), shape("activities_hidden").astype("boolean")
    # a type with no row in a month is an empty cell: [c] if it is about children (an empty cell
    # is under the threshold too), else a true 0
    hidden = pd.DataFrame({t: flags[t].fillna(t in ref.CHILD_LEVEL_TYPES).astype(bool) for t in types}, index=counts.index)
    return counts.fillna(0), hidden.rename_axis(columns="activity_type")


def _monthly_chart(wide: pd.DataFrame, hidden: pd.DataFrame, f: Filters, types: tuple[str, ...],
                   gaps: dict) -> charts.Chart:
    """The months as lines and a table. A month every chosen district left unreturned is [x]
    (unknown, not none); a month some left unreturned is shown and flagged in 'Not returned'; a
    type not recorded by area of need or phase is [z] under either filter (never 0)."""
    numeric = wide.copy()
    everyone = len(f.area.members)
    absent = np.array([len(gaps.get(m, ())) == everyone for m in wide.index], dtype=bool)
    split = bool(f.need or f.phase)
    before = {t: np.array([(split and t in ref.NOT_BY_NEED)
                           or ((start := ref.available_from([t])) is not None and m < start) for m in wide.index], dtype=bool)
              for t in types}   # months before the activity began, or a filter it is not recorded by: [z]
    for t in types:
        numeric[t] = numeric[t].mask(hidden[t].to_numpy() | absent | before[t])
    table = pd.DataFrame({"Month": pd.to_datetime(wide.index).strftime("%b %Y")})
    for t in types:
        cells = disclosure.cells(numeric[t], hidden[t].to_numpy())
        table[ref.ACTIVITY_LABELS[t]] = ["[z]" if z else "[x]" if a else c for z, a, c in zip(before[t], absent, cells)]
    if gaps:
        table["Not returned"] = [", ".join(gaps.get(m, ())) for m in wide.index]
    long = numeric.reset_index().melt(id_vars="month", var_name="activity_type", value_name="value")
    long["series"] = long["activity_type"].map(ref.ACTIVITY_LABELS)
    first = ref.ACTIVITY_LABELS[types[0]] if types else "Activity"
    title = _change_phrase(numeric[types[0]].to_numpy(), first) if types and not before[types[0]].all() else f"{first} by month"
    fig = charts.monthly_lines(long, title, TRACKER + " · " + f.caption(), "Activities per month")
    alt = (f"Line chart of monthly STLS activity by type ({', '.join(ref.ACTIVITY_LABELS[t] for t in types)}) "
           f"for {f.caption()}. {title}. August is near zero each year (school holidays); "
           f"spring 2020 dips (first lockdown). {charts.REGIME_NOTE}")
    note = "; ".join(f"{m:%b %Y}, {', '.join(names)}" for m, names in sorted(gaps.items()))
    if note:
        note = (f"No tracker return: {note}. A month no chosen district returned is [x]; a month's total over "
                "several districts leaves out those that did not return.")
    note = " ".join(n for n in (note, _protected_months(hidden, absent, before, types)) if n)
    return charts.Chart(fig, alt + (f" {note}" if note else ""), table, title, caption=note)


def _protected_months(hidden: pd.DataFrame, absent: np.ndarray, before: dict, types: tuple[str, ...]) -> str:
    """'8 of 12 months of referrals are [c] ...' for each type with a [c] month: a line with gaps
    says why (a narrow filter can leave most months under the threshold)."""
    parts = []
    for t in types:
        shown = ~absent & ~before[t]
        n = int((hidden[t].to_numpy() & shown).sum())
        if n:
            parts.append(f"{n} of {int(shown.sum())} months of {ref.ACTIVITY_LABELS[t].lower()}")
    if not parts:
        return ""
    return ("[c]: " + "; ".join(parts) + ". A month of children's counts under 5 after protection (or none) is [c] "
            "and left out of the lines.")


def district_comparison(db, f: Filters, kpi_id: str) -> charts.Chart:
    """The 12 districts on one KPI in the latest year of the filters, with Kent for reference."""
    kpi = catalogue.get(kpi_id)
    c = _comparison(db, f.with_(districts=()), kpi_id)
    if c is None:
        empty = pd.DataFrame(columns=["District", kpi.label])
        return charts.Chart(charts.empty(f"No {kpi.label.lower()} data in this range", TRACKER),
                            "No data to chart.", empty, "No data")
    fig = charts.district_bars(c["districts"], kpi.label, c["title"], benchmarks.kpi_source(db, kpi), c["kent"],
                               tuple(ref.DISTRICT_NAMES[d] for d in f.districts), kpi.decimals)
    return charts.Chart(fig, c["alt"] + (f" {c['caption']}" if c["caption"] else ""), c["table"], c["title"],
                        caption=c["caption"])


@memoised
def _comparison(db, f: Filters, kpi_id: str) -> dict | None:
    """Everything but the highlighted districts (one result for every district selection)."""
    kpi = catalogue.get(kpi_id)
    f = compare.resolved(db, f)
    heads = compare.headlines_by_geography(db, kpi_id, f)
    years = [h.year for h in heads.values() if h.year is not None]
    if not years:
        return None
    year = max(years)
    codes = [*ref.DISTRICT_CODES, ref.KENT_CODE]
    rows = pd.DataFrame({
        "geography_code": codes,
        "value": [heads[c].value if heads[c].year == year else float("nan") for c in codes],
        "suppressed": [heads[c].suppressed and heads[c].year == year for c in codes]})
    rows["value"] = pd.to_numeric(rows["value"], errors="coerce")
    rows["name"] = rows["geography_code"].map(ref.GEOGRAPHY_NAMES)
    kent = rows.loc[rows["geography_code"] == ref.KENT_CODE, "value"]
    districts = rows[rows["geography_code"].isin(ref.DISTRICT_CODES)]
    label = compare.period_label(kpi, year, f.upto if year == f.year_to else 11)
    title = _spread_title(kpi, districts, label)
    table = pd.DataFrame({"Area": rows["name"], kpi.label: [
        "[c]" if s else kpi.fmt(v) for v, s in zip(rows["value"], rows["suppressed"])]})
    alt = (f"Bar chart of {kpi.label.lower()} for Kent's 12 districts in {label}, sorted, with Kent's "
           f"figure as a dashed line; a click on a district's bar opens its profile. {title}.")
    protected = [n for n, s, c in zip(rows["name"], rows["suppressed"], rows["geography_code"]) if s and c != ref.KENT_CODE]
    caption = (f"Not drawn, [c] (a count of children under 5 after protection): {', '.join(protected)}."
               if protected else "")
    return {"districts": districts[["geography_code", "name", "value"]], "title": title, "alt": alt,
            "kent": float(kent.iloc[0]) if not kent.empty and pd.notna(kent.iloc[0]) else None,
            "table": table.reset_index(drop=True), "caption": caption}


def _spread_title(kpi, districts: pd.DataFrame, label: str) -> str:
    shown = districts.dropna(subset=["value"])
    if shown.empty:
        return f"{kpi.label}, {label}"
    low, high = shown.loc[shown["value"].idxmin()], shown.loc[shown["value"].idxmax()]
    return (f"{kpi.label} ranged from {kpi.fmt(low['value'])} in {low['name']} "
            f"to {kpi.fmt(high['value'])} in {high['name']} in {label}")
