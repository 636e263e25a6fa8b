"""The KPI scorecard page: KPIs by outcome theme, SPC per KPI, and the districts × KPIs matrix."""
from __future__ import annotations

import pandas as pd

from stls import reference as ref
from stls.analysis import benchmarks
from stls.filters import Filters
from stls.kpi import catalogue, compare, spc
from stls.kpi import line as scorecard
from stls.present import charts

RAG_ICON = {"Green": "✔ Green", "Amber": "▲ Amber", "Red": "✖ Red"}
VARIATION_ICON = {"improving": "⬆ Improving", "concerning": "⬇ Concerning", "common_cause": "● Common cause (no real change)",
                  "high": "⬆ Higher", "low": "⬇ Lower", "mixed": "⇅ Mixed", "too_few_points": "… Too few points"}
ASSURANCE_ICON = {"hit_and_miss": "~ Hit and miss", "consistently_passing": "✔ Consistently passing",
                  "consistently_failing": "✖ Consistently failing"}


def themed(db, f: Filters, with_spc: bool = True) -> dict[str, list[scorecard.Line]]:
    """Every KPI's scorecard line (``scorecard.line``, the one builder the command line and the
    pack use too), grouped by outcome theme in catalogue order. The SPC needs monthly series:
    leave it out where it is not shown."""
    out: dict[str, list[scorecard.Line]] = {}
    for ln in scorecard.lines(db, f, with_spc):
        out.setdefault(ln.kpi.theme.value, []).append(ln)
    return out


def icon(table: dict, key: str | None, symbol: str) -> str:
    """A status as icon and word, or the line's symbol where it has none."""
    return table.get(key, symbol) if key else symbol


NOTES = ("Filters not applied", "Not returned", "Census", "RAG basis")   # columns shown only where one says something


def row(ln: scorecard.Line, f: Filters, with_spc: bool = True) -> dict:
    """A scorecard line as a table row, the one rendering the page and the meeting pack share:
    value, Kent (for a district or selection) and England beside it, target, RAG, change, trend,
    with SPC its icons and the trend line, and the notes."""
    r, s, na = ln.fields, ln.spc, ln.headline.not_applicable   # [z]: nothing to judge
    beside = ({"Kent": r["kent"]} if not f.area.is_kent else {}) | {"England": r["england"]}   # the benchmarks
    spc_cells = {
        "Variation": icon(VARIATION_ICON, s.variation if s and not na else None, r["variation"]),
        "Assurance": icon(ASSURANCE_ICON, s.assurance if s and not na else None, r["assurance"]),
        "Trend line": [round(v, 2) for v in ln.headline.spark],
    } if with_spc else {}
    return {"Indicator": r["label"], "Period": r["period"], "Value": r["value"], **beside, "Target": r["target"],
            "RAG": rag_cell(ln), "Change": r["change"], "Trend": r["direction"], **spc_cells,
            "Filters not applied": r["filters_not_applied"], "Not returned": r["not_returned"], "Census": r["census"],
            "RAG basis": r["rag_basis"]}


def theme_tables(db, f: Filters) -> dict[str, pd.DataFrame]:
    """One compact table per outcome theme (``row`` for each KPI)."""
    return {theme: only_saying([row(ln, f) for ln in items], *NOTES) for theme, items in themed(db, f).items()}


def rag_cell(ln: scorecard.Line) -> str:
    """The RAG as icon and word, flagged when its period has a month not returned."""
    h = ln.headline
    return icon(RAG_ICON, h.rag, ln.fields["rag"]) + (scorecard.INCOMPLETE if h.rag and h.incomplete else "")


def only_saying(rows: list[dict], *columns: str) -> pd.DataFrame:
    """The rows as a table, without those of ``columns`` that are empty on every row."""
    empty = {c for c in columns if not any(r.get(c) for r in rows)}
    return pd.DataFrame([{k: v for k, v in r.items() if k not in empty} for r in rows] if empty else rows)


def spc_view(db, f: Filters, kpi_id: str) -> charts.Chart:
    kpi = catalogue.get(kpi_id)
    res = scorecard.spc_for(db, kpi, f)
    frame = res.frame
    monthly = bool(len(frame)) and len({p.year for p in frame["period"]}) < len(frame)
    grain = "month (August left out)" if monthly else "academic year"
    variation = spc.VARIATION_TEXT[res.variation]
    title = f"{kpi.label}, {f.area.label}: {variation[0].lower() + variation[1:]}"
    if res.assurance:
        title += f"; {spc.ASSURANCE_TEXT[res.assurance].split(':')[0].lower()}"
    y_title = kpi.label + (", seasonally adjusted" if res.adjusted else "")
    fig = charts.spc_chart(frame, title, benchmarks.kpi_source(db, kpi), y_title, kpi.polarity.value, kpi.fixed_target, kpi.decimals)
    table = spc.table_alternative(
        frame, ("Period", [p.strftime("%b %Y") if monthly else ref.academic_year_label(p.year) for p in frame["period"]]),
        ("Value", [kpi.fmt(v) for v in frame["raw"]]),
        [kpi.fmt(v) for v in frame["value"]] if res.adjusted else None, kpi.fmt)
    n_special = int(frame["special"].sum()) if len(frame) else 0
    breaks = ", ".join(f"{d:%B %Y}" for d in scorecard.spc_breaks(kpi))
    method = ((f"Limits restart at {breaks}. " if breaks else "")
              + ("Each month is divided by its seasonal factor (its median share of the year's mean month over "
                 "complete years), so the limits judge the level net of the season. " if res.adjusted else "")
              + (f"Latest point: {res.reason}. " if res.reason else "")
              + res.autocorrelation_note)
    alt = (f"Statistical process control chart of {kpi.label} by {grain} for {f.area.label}, "
           f"{len(frame)} points, with mean and process limits. {n_special} points show special cause variation. "
           f"Latest point: {variation}. {method}")
    return charts.Chart(fig, alt, table, title, caption=method.strip())


def district_matrix(db, f: Filters) -> pd.DataFrame:
    """12 districts and Kent × KPIs with RAG as word and icon, for the LIFT Executive (after disclosure)."""
    frame = pd.DataFrame({"code": list(ref.DISTRICT_CODES) + [ref.KENT_CODE]})
    frame["Area"] = frame["code"].map(ref.GEOGRAPHY_NAMES)
    for kpi in catalogue.catalogue().values():
        heads = compare.headlines_by_geography(db, kpi.id, f)
        frame[kpi.short_label or kpi.label] = [
            heads[c].display + (f"  {icon(RAG_ICON, heads[c].rag, '')}" if heads[c].rag else "")
            + (scorecard.INCOMPLETE if heads[c].incomplete else "") for c in frame["code"]]
    return frame
