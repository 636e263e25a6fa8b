"""What changes between two versions of the data: the current release and a draft before it is
published, or any two releases. New months, revisions to months already published (before and
after), and the KPI values and RAG ratings a reader of the scorecard would see change, for Kent and
each district.

Every figure is read through the same protected path as the pages (``metrics``, ``compare``): a
cell whose records did not change shows the same protected value in both versions (the cell key
method, stls/store/disclosure.py), so a comparison of two versions reveals no more than two views.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from stls import reference as ref
from stls.filters import Filters, default_filters
from stls.kpi import catalogue, compare, metrics
from stls.store import queries

if TYPE_CHECKING:
    from stls.store.db import Database

AREAS = (ref.KENT_CODE, *ref.DISTRICT_CODES)
REVISION_COLUMNS = ["Indicator", "Area", "Month", "Before", "After"]
KPI_COLUMNS = ["Area", "Indicator", "Before", "After", "RAG before", "RAG after"]


@dataclass
class Changes:
    new_months: list[dt.date]
    revisions: pd.DataFrame     # REVISION_COLUMNS: a month already published whose figure changed
    kpis: pd.DataFrame          # KPI_COLUMNS (and _changed: the value, not only its RAG): what changes on the scorecard

    @property
    def kpi_table(self) -> pd.DataFrame:
        return self.kpis[KPI_COLUMNS]

    def summary(self) -> str:
        """'1 new month (Nov 2026); no revisions to earlier months; 23 KPI values and 2 RAG ratings change.'"""
        months = (f"{len(self.new_months)} new month{'s' * (len(self.new_months) != 1)} "
                  f"({', '.join(f'{m:%b %Y}' for m in self.new_months)})") if self.new_months else "no new months"
        n = len(self.revisions)
        revisions = f"{n} revised figure{'s' * (n != 1)} for earlier months" if n else "no revisions to earlier months"
        values = int(self.kpis["_changed"].sum()) if len(self.kpis) else 0
        rags = int((self.kpis["RAG before"] != self.kpis["RAG after"]).sum()) if len(self.kpis) else 0
        return (f"{months}; {revisions}; {values} KPI value{'s' * (values != 1)} and {rags} RAG rating{'s' * (rags != 1)} "
                "change.")


def _months(db: Database) -> set[dt.date]:
    extent = queries.data_extent(db)
    first, last = extent.get("first_month"), extent.get("last_month")
    if first is None or last is None:
        return set()
    return {d.date() for d in pd.date_range(first, last, freq="MS")}


def _monthly(db: Database, kpi_id: str, f: Filters, geo: str) -> dict[dt.date, str]:
    """A monthly KPI's figures for one area as shown ([c] where protection hides them)."""
    kpi = catalogue.get(kpi_id)
    chosen = metrics.selection(db, kpi_id, f, "month")
    periods, values, rows = chosen.arrays(geo)
    hidden = metrics.hidden_rows(kpi, chosen.split.body.iloc[rows])
    return {p: "[c]" if h else kpi.fmt(None if np.isnan(v) else float(v)) for p, v, h in zip(periods, values, hidden)}


def _revisions(before: Database, after: Database, months: set[dt.date]) -> pd.DataFrame:
    rows = []
    for kpi in catalogue.catalogue().values():
        if "month" not in {g.value for g in kpi.grains} or not kpi.compute.from_tracker or kpi.compute.per_pupil:
            continue
        for geo in AREAS:
            was = _monthly(before, kpi.id, default_filters(queries.data_extent(before)), geo)
            now = _monthly(after, kpi.id, default_filters(queries.data_extent(after)), geo)
            rows += [{"Indicator": kpi.label, "Area": ref.GEOGRAPHY_NAMES[geo], "Month": f"{m:%b %Y}",
                      "Before": was[m], "After": now.get(m, "[x]")}
                     for m in sorted(was) if m in months and was[m] != now.get(m, "[x]")]
    return pd.DataFrame(rows, columns=REVISION_COLUMNS)


def _scorecard(db: Database) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(area, KPI) → (period, value as shown, RAG) of the scorecard a reader opens by default."""
    f = default_filters(queries.data_extent(db))
    out = {}
    for kpi in catalogue.catalogue().values():
        heads = compare.headlines_by_geography(db, kpi.id, f)
        for geo in AREAS:
            h = heads[geo]
            out[(geo, kpi.id)] = (h.label, h.display, h.rag or "[z]" if not kpi.has_rag else h.rag or "[x]")
    return out


def _kpis(before: Database, after: Database) -> pd.DataFrame:
    was, now = _scorecard(before), _scorecard(after)
    rows = []
    for (geo, kpi_id), (period, value, rag) in now.items():
        old_period, old_value, old_rag = was.get((geo, kpi_id), ("", "[x]", "[x]"))
        if (old_value, old_rag) != (value, rag):   # the same figure for a longer period is not a change
            rows.append({"Area": ref.GEOGRAPHY_NAMES[geo], "Indicator": catalogue.get(kpi_id).label,
                         "Before": f"{old_value} ({old_period})" if old_period else old_value,
                         "After": f"{value} ({period})", "RAG before": old_rag, "RAG after": rag, "_changed": old_value != value})
    return pd.DataFrame(rows, columns=[*KPI_COLUMNS, "_changed"])


def between(before: Database, after: Database) -> Changes:
    """What a reader sees change when ``after`` replaces ``before``."""
    was, now = _months(before), _months(after)
    return Changes(sorted(now - was), _revisions(before, after, was), _kpis(before, after))
