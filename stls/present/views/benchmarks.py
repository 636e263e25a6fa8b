"""Kent against its statistical neighbours: the chart, its table and its title."""
from __future__ import annotations

import pandas as pd

from stls import reference as ref
from stls.analysis import benchmarks
from stls.present import charts
from stls.store import published

SAME = 1.0   # percentage points (or Attainment 8 points) under which Kent is "about the same as"


def neighbours_chart(db, measure: str, sen_group: str) -> charts.Chart:
    c = benchmarks.comparison(db, measure, sen_group)
    label, group = ref.MEASURE_LABELS[measure], ref.SEN_GROUPS[sen_group]
    source = published.SOURCE_LINE
    if c.latest is None:
        return charts.Chart(charts.empty(f"No published {label} for {group} pupils in Kent", source),
                            "No data to chart.", pd.DataFrame(columns=["Academic year"]), "No data")
    t = c.table.set_index("academic_year")
    kent, avg, eng = (t.at[c.latest, k] for k in ("Kent", "Neighbour average", "England"))
    unit = "%" if ref.MEASURE_SHORT[measure].endswith("(%)") else " points"
    fmt = lambda v: "[x]" if pd.isna(v) else f"{v:.1f}{unit}"
    # published whole-population figures, rounded: a difference under one point is not called either way
    side = lambda v: "" if pd.isna(v) else ("about the same as" if abs(kent - v) < SAME else "above" if kent > v else "below")
    year = ref.academic_year_label(c.latest)
    title = (f"{group} pupils, {year}: Kent {fmt(kent)}, {side(avg)} its statistical neighbours' average ({fmt(avg)})"
             f" and {side(eng)} England ({fmt(eng)}); {ordinal(c.rank)} of {c.ranked}")
    y_title = f"{ref.MEASURE_SHORT[measure]}, {group}"
    fig = charts.benchmark_lines(c.table, c.neighbours, title, source, y_title)
    shown = ["Kent", "Neighbour average", "England", "South East", *c.neighbours]
    table = pd.DataFrame({"Academic year": [ref.academic_year_label(int(y)) + (" (provisional)" if y in c.provisional else "")
                                            for y in c.table["academic_year"]]})
    for col in shown:
        table[col] = [fmt(v) for v in c.table[col]]
    table["Neighbours with a figure"] = c.table["Neighbours with a figure"].astype(int).astype(str)
    breaks = "; ".join(c.breaks)
    las = c.among_las
    among = "" if las is None else (
        f"Among England's {las.authorities} local authorities with a figure in {year}, Kent ranks {ordinal(las.rank)}"
        + (f" (sharing its figure with {las.tied - 1} other{'s' if las.tied > 2 else ''})" if las.tied > 1 else "")
        + f", in {las.quartile(kent)} (quartiles {fmt(las.q1)}, {fmt(las.median)} and {fmt(las.q3)}; 1 = highest). ")
    prov = ", ".join(ref.academic_year_label(y) for y in c.provisional)
    caption = (among + (f"{prov} figures are provisional (revised figures replace them on a refresh). " if prov else "")
               + f"The neighbour average is the unweighted mean of Kent's ten DfE statistical neighbours (May 2025 list) "
               f"with a figure that year, as in the DfE's LAIT. Rank: among Kent and its neighbours, 1 = highest. "
               f"A difference under {SAME:g} point is called 'about the same' (the figures are published rounded). "
               + (f"Breaks in the series: {breaks}." if breaks else ""))
    alt = (f"Line chart of {label} for {group} pupils by academic year: Kent, England, the neighbour average and each of "
           f"Kent's ten statistical neighbours ({', '.join(c.neighbours)}). {title}. {caption}")
    return charts.Chart(fig, alt, table, title, caption=caption)


def for_kpi(db, kpi_id: str) -> charts.Chart | None:
    """The neighbours chart for an outcome KPI read from published results (its measure and SEN
    group), or None for any other KPI."""
    from stls.kpi import catalogue, kinds
    c = catalogue.get(kpi_id).compute
    return neighbours_chart(db, c.measure, c.sen_group) if isinstance(c, kinds.Attainment) else None


def ordinal(n: int | None) -> str:
    if n is None:
        return "[x]"
    return f"{n}{'th' if 11 <= n % 100 <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"
