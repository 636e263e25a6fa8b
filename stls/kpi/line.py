"""The KPI scorecard: every declared KPI for one area and year, with its comparisons and SPC.

SPC runs on monthly values for activity KPIs (August, the school holiday, left out) and on
academic-year values otherwise, with limits recalculated at each service-regime change.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from stls import reference as ref
from stls.filters import Filters
from stls.kpi import catalogue, compare, metrics, spc
from stls.kpi.catalogue import Kpi
from stls.memo import memoised

if TYPE_CHECKING:
    from stls.store.db import Database

COLUMNS = ["id", "label", "theme", "period", "value", "target", "rag", "previous_period", "previous",
           "change", "kent", "england", "direction", "variation", "assurance", "filters_not_applied", "not_returned", "census", "rag_basis"]
INCOMPLETE = " (incomplete)"   # a figure over a period with a month not returned ("not_returned" says which)


def spc_series(db: Database, kpi: Kpi, f: Filters) -> tuple[list[dt.date], np.ndarray]:
    """The series SPC judges, as (periods, values): term-time months where the KPI has them, else
    academic years; values on small child counts are NaN (left out of the chart's limits)."""
    monthly = "month" in {g.value for g in kpi.grains} and kpi.compute.monthly_spc
    grain = "month" if monthly else "academic_year"
    chosen = metrics.selection(db, kpi.id, f, grain)   # the all-geographies result (memoised)
    if not f.area.is_selection:   # one geography's rows, as arrays
        periods, values, rows = chosen.arrays(f.area.key)
        hidden = metrics.hidden_rows(kpi, chosen.split.body.iloc[rows])
    else:                       # the chosen districts' cells summed, then protected
        combined = metrics.combine(kpi, chosen, f.area.selection)
        periods, values = list(combined["period"]), combined["value"].to_numpy(float)
        hidden = metrics.hidden_rows(kpi, combined)
    values = np.where(hidden, np.nan, np.asarray(values, dtype=float))
    if not len(periods):
        return [], np.array([], dtype=float)
    if monthly:
        keep = np.array([p.month != 8 for p in periods])
        periods, values = [p for p, k in zip(periods, keep) if k], values[keep]
    return periods, values


def spc_breaks(kpi: Kpi) -> list[dt.date]:
    """Where a KPI's control limits restart: the service regimes for what the tracker counts; a
    new assessment (``[[measure]] breaks`` in kpis.toml) for an outcome."""
    c = kpi.compute
    if kpi.compute.from_tracker:
        return [r.start for r in ref.REGIMES[1:]]
    measure = getattr(c, "measure", None)
    return [dt.date(y, 9, 1) for y in catalogue.measure(measure).breaks] if measure else []


@memoised
def spc_for(db: Database, kpi: Kpi, f: Filters) -> spc.SpcResult:
    """The KPI's control chart: monthly activity seasonally adjusted (``spc.seasonally_adjusted``),
    yearly outcomes without the years assessed differently; limits restart at ``spc_breaks``.
    ``columns['raw']`` keeps each point's value before adjustment; ``adjusted`` says whether."""
    periods, values = spc_series(db, kpi, f)
    monthly = len(periods) > 0 and len({p.year for p in periods}) < len(periods)
    raw = dict(zip(periods, values))
    factors = None
    if monthly:   # factors from every year held (the filters' years may hold too few complete ones)
        wide = metrics.all_years(db, f)
        history = (periods, values) if wide == f else spc_series(db, kpi, wide)
        values, factors = spc.seasonally_adjusted(periods, values, spc.seasonal_factors(*history))
    else:
        measure = kpi.compute.measure
        odd = set(catalogue.measure(measure).not_comparable) if measure else set()
        values = np.array([np.nan if p.year in odd else v for p, v in zip(periods, values)], dtype=float)
    res = spc.xmr(periods, values, spc_breaks(kpi), kpi.polarity, kpi.fixed_target)
    res.columns["raw"] = np.array([raw[p] for p in res.columns["period"]], dtype=float)
    res.adjusted = factors is not None
    return res


def _england(db: Database, kpi: Kpi, f: Filters, year: int | None) -> float | None:
    if not kpi.compute.results or year is None:
        return None
    periods, values, _ = metrics.selection(db, kpi.id, f).arrays(ref.ENGLAND_CODE)
    hit = [v for p, v in zip(periods, values) if p == dt.date(year, 9, 1)]
    return None if not hit or np.isnan(hit[0]) else float(hit[0])


@dataclass
class Line:
    """One KPI's scorecard line, built once for the page, the command line and the meeting pack:
    ``fields`` are the figures and symbols as shown (after disclosure control)."""
    kpi: Kpi
    headline: compare.Headline
    spc: spc.SpcResult | None
    fields: dict[str, str]


def line(db: Database, kpi: Kpi, f: Filters, with_spc: bool = True) -> Line:
    heads = compare.headlines_by_geography(db, kpi.id, f)   # the selection too
    h = compare.headline(db, kpi.id, f)
    kent = heads[ref.KENT_CODE]
    same_year = kent.year == h.year
    s = spc_for(db, kpi, f) if with_spc else None
    attainment = kpi.compute.results
    fields = {
        "id": kpi.id, "label": kpi.label, "theme": kpi.theme.value, "period": h.label,
        "value": h.display, "target": kpi.target_text(),
        "rag": (h.rag + (INCOMPLETE if h.incomplete else "")) if h.rag else ("[z]" if not kpi.has_rag else "[x]"),
        "previous_period": h.previous_label or ("[z]" if h.previous_not_applicable else "[x]"),
        "previous": h.previous_display,
        "change": (change + (INCOMPLETE if h.change_incomplete and not change.startswith("[") else ""))
        if (change := h.change_display) else "[x]",
        "kent": kent.display if same_year else "[x]",
        "england": kpi.fmt(_england(db, kpi, f, h.year)) if attainment else "[z]",
        "direction": h.direction,
        # no variation or assurance without SPC; assurance needs a target ([z] without one) and
        # enough points ([x] when too few)
        "variation": spc.VARIATION_TEXT[s.variation] if s else "[x]",
        "assurance": ("[z]" if not kpi.has_rag else spc.ASSURANCE_TEXT.get(s.assurance, "[x]") if s and s.assurance else "[x]"),
        "filters_not_applied": h.note,
        "census": h.census_note,
        "rag_basis": h.rag_basis,
        "not_returned": "; ".join(h.not_returned + tuple(f"{m} (previous period)" for m in h.previous_not_returned)),
    }
    if h.not_applicable:   # nothing to compare or judge: the figure cannot exist
        fields.update({k: "[z]" for k in ("previous_period", "previous", "change", "direction", "variation", "assurance")})
    return Line(kpi, h, s, fields)


def lines(db: Database, f: Filters, with_spc: bool = True) -> list[Line]:
    """Every declared KPI's line, in catalogue order."""
    f = compare.resolved(db, f)
    return [line(db, kpi, f, with_spc) for kpi in catalogue.catalogue().values()]


def row(db: Database, kpi: Kpi, f: Filters) -> dict[str, str]:
    return line(db, kpi, f).fields


def scorecard(db: Database, f: Filters) -> pd.DataFrame:
    """One row per declared KPI, in catalogue order, as displayed (after disclosure control)."""
    return pd.DataFrame([ln.fields for ln in lines(db, f)], columns=COLUMNS)
