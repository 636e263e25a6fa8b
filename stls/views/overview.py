"""What the Overview page shows, computed: headline cards, monthly activity, district comparison."""
from __future__ import annotations

import pandas as pd

from stls import catalogue, charts, compare, disclosure, metrics, queries
from stls import reference as ref
from stls.filters import Filters
from stls.memo import memoised

HEADLINE_KPIS = ("referrals", "lift_meetings", "school_visits", "settings_reached", "ks2_rwm_sen_support")
DEFAULT_TYPES = ("referral", "school_visit", "advice", "lift_meeting")
COMPARISON_KPIS = ("referral_rate", "contact_rate", "settings_reached", "ks2_rwm_sen_support", "cost_per_referral")
TRACKER = "KCC STLS activity tracker"


def headline_cards(db, f: Filters) -> list[compare.Headline]:
    extent = queries.data_extent(db)
    return [compare.headline(db, k, f, extent) for k in HEADLINE_KPIS]


def _change_phrase(values, label: str) -> str:
    """'Referrals in the latest 12 months were 8% higher than in the 12 months before'.

    Uses the unsuppressed monthly counts: 12-month totals for an area are not small numbers.
    """
    values = pd.Series(values).fillna(0).to_numpy()
    if len(values) < 24 or values[-24:-12].sum() == 0:
        return f"{label} by month"
    change = 100 * (values[-12:].sum() / values[-24:-12].sum() - 1)
    if abs(change) < 1:
        return f"{label} in the latest 12 months were level with the 12 months before"
    word = "higher" if change > 0 else "lower"
    return f"{label} in the latest 12 months were {abs(change):.0f}% {word} than the 12 months before"


def monthly_activity(db, f: Filters, types: tuple[str, ...] = DEFAULT_TYPES) -> charts.Chart:
    """Monthly activity by type for the filtered area, with regime changes marked."""
    raw = queries.monthly_activity_by_type(db, f)
    raw = raw[raw["activity_type"].isin(types)]
    # every month with any of the chosen activity, each type zero where it had none
    wide = raw.pivot(index="month", columns="activity_type", values="activities") \
        .reindex(index=sorted(raw["month"].unique()), columns=list(types)).fillna(0)
    wide.columns.name = "activity_type"
    child = [t for t in types if t in catalogue.CHILD_LEVEL_TYPES]
    protected = disclosure.protect(wide.reset_index(), counts=child)
    table = protected.display.rename(columns=ref.ACTIVITY_LABELS)
    table["month"] = pd.to_datetime(wide.index).strftime("%b %Y")
    long = protected.numeric.melt(id_vars="month", var_name="activity_type", value_name="value")
    long["series"] = long["activity_type"].map(ref.ACTIVITY_LABELS)
    first = ref.ACTIVITY_LABELS[types[0]] if types else "Activity"
    title = _change_phrase(wide[types[0]].to_numpy(), first) if types else "Activity by month"
    fig = charts.monthly_lines(long, title, TRACKER + " · " + f.caption(), "Activities per month")
    alt = (f"Line chart of monthly STLS activity by type ({', '.join(ref.ACTIVITY_LABELS[t] for t in types)}) "
           f"for {f.caption()}. {title}. August is near zero each year (school holidays); "
           f"spring 2020 dips (first lockdown). {charts.REGIME_NOTE}")
    return charts.Chart(fig, alt, table.rename(columns={"month": "Month"}), title)


def district_comparison(db, f: Filters, kpi_id: str) -> charts.Chart:
    """The 12 districts on one KPI in the latest year of the filters, with Kent for reference."""
    kpi = catalogue.get(kpi_id)
    c = _comparison(db, f.with_(districts=()), kpi_id)
    if c is None:
        empty = pd.DataFrame(columns=["District", kpi.label])
        return charts.Chart(charts.empty(f"No {kpi.label.lower()} data in this range", TRACKER),
                            "No data to chart.", empty, "No data")
    fig = charts.district_bars(c["districts"], kpi.label, c["title"], kpi.source, c["kent"],
                               tuple(ref.DISTRICT_NAMES[d] for d in f.districts), kpi.decimals)
    return charts.Chart(fig, c["alt"], c["table"], c["title"])


@memoised
def _comparison(db, f: Filters, kpi_id: str) -> dict | None:
    """Everything but the highlighted districts (one result for every district selection)."""
    kpi = catalogue.get(kpi_id)
    extent = queries.data_extent(db)
    upto = compare.months_covered(extent, f.year_to)
    frame = metrics.kpi_by_geography(db, kpi_id, f, "academic_year", upto=upto)
    frame = compare.hide_small(kpi, frame)
    latest = frame[frame["value"].notna()]["period"].max()
    if pd.isna(latest):
        return None
    year = ref.academic_year_start(latest)
    rows = frame[frame["period"] == latest].copy()
    rows["name"] = rows["geography_code"].map(ref.GEOGRAPHY_NAMES)
    kent = rows.loc[rows["geography_code"] == ref.KENT_CODE, "value"]
    districts = rows[rows["geography_code"].isin(ref.DISTRICT_CODES)]
    label = compare.period_label(kpi, year, upto if year == f.year_to else 11)
    title = _spread_title(kpi, districts, label)
    table = pd.DataFrame({"Area": rows["name"], kpi.label: [
        "[c]" if s else kpi.fmt(v) for v, s in zip(rows["value"], rows["suppressed"])]})
    alt = (f"Bar chart of {kpi.label.lower()} for Kent's 12 districts in {label}, sorted, with Kent's "
           f"figure as a dashed line. {title}.")
    return {"districts": districts[["name", "value"]], "title": title, "alt": alt,
            "kent": float(kent.iloc[0]) if not kent.empty and pd.notna(kent.iloc[0]) else None,
            "table": table.reset_index(drop=True)}


def _spread_title(kpi, districts: pd.DataFrame, label: str) -> str:
    shown = districts.dropna(subset=["value"])
    if shown.empty:
        return f"{kpi.label}, {label}"
    low, high = shown.loc[shown["value"].idxmin()], shown.loc[shown["value"].idxmax()]
    return (f"{kpi.label} ranged from {kpi.fmt(low['value'])} in {low['name']} "
            f"to {kpi.fmt(high['value'])} in {high['name']} in {label}")
