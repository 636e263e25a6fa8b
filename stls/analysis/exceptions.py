"""The exception list: for every KPI, in Kent and each district, what needs someone's attention,
with its reason in words and the view that shows it.

The rules (``RULES``), each judged by a method the dashboard already shows:
- **special cause** in the latest point of the KPI's XmR chart (NHS "Making Data Count"): which
  rule, which direction, improving or concerning by the KPI's polarity (``spc``);
- **assurance failing**: the target lies outside the process limits, on the wrong side;
- **red** against the target (Kent's RAG rule, ``compare.rag``);
- **worse than Kent and getting worse**: a district outside the funnel plot's 95% limits on the
  worse side of Kent (``funnel``, outcome KPIs, which have cohorts to judge it by) whose own
  trend is worsening (the least-squares slope at the 5% level, ``compare.direction``);
- **data quality**: months with no tracker return in the latest period, and a tracker more than a
  month behind the last complete month.

Every figure comes from the protected data layer: a value protection hides ([c]) is never judged
or quoted, so an exception, its words and a digest built from them reveal no small count.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import pandas as pd

from stls import reference as ref
from stls.analysis import funnel
from stls.filters import Filters, default_filters
from stls.kpi import catalogue, compare, kinds, spc
from stls.kpi import line as scorecard
from stls.kpi.catalogue import Kpi, Polarity
from stls.memo import memoised
from stls.store import queries

if TYPE_CHECKING:
    from stls.store.db import Database

RULES = {
    "special_cause": "Special cause in the latest point",
    "assurance": "Assurance: failing the target",
    "red": "Red against the target",
    "worse_than_kent": "Worse than Kent and getting worse",
    "data_quality": "Data quality",
}
AREAS = (ref.KENT_CODE, *ref.DISTRICT_CODES)
COLUMNS = ["Indicator", "Area", "Rule", "Reason", "Concern", "Link"]


TRACKER = "Activity tracker returns"   # what a data-quality exception is about (not one KPI)


@dataclass(frozen=True)
class Alert:
    kpi: str             # a KPI id ("" for the activity tracker's returns)
    area: str            # a geography code
    rule: str            # a key of RULES
    reason: str          # the numbers it rests on, in words
    concerning: bool     # False only for a special cause that is an improvement
    link: str            # the page and view that shows it, relative to the dashboard's address

    @property
    def area_name(self) -> str:
        return ref.GEOGRAPHY_NAMES[self.area]

    def row(self) -> dict[str, object]:
        return {"Indicator": catalogue.get(self.kpi).label if self.kpi else TRACKER, "Area": self.area_name, "Rule": RULES[self.rule],
                "Reason": self.reason, "Concern": "concerning" if self.concerning else "improving", "Link": self.link}


def link(kpi: Kpi, area: str, f: Filters, page: str = "scorecard") -> str:
    """The exact view: the scorecard (with the KPI's control chart chosen) for the area and years."""
    g = f.with_(districts=() if area == ref.KENT_CODE else (area,))
    return f"{page}?" + urlencode({**g.to_query_params(), **({"kpi": kpi.id} if page == "scorecard" else {})})


def _special_cause(kpi: Kpi, area: str, s: spc.SpcResult | None, f: Filters) -> list[Alert]:
    if s is None or s.variation not in ("improving", "concerning", "high", "low", "mixed"):
        return []
    concerning = s.variation != "improving"
    words = spc.VARIATION_TEXT[s.variation] + (f": {s.reason}" if s.reason else "")
    return [Alert(kpi.id, area, "special_cause", words, concerning, link(kpi, area, f))]


def _assurance(kpi: Kpi, area: str, s: spc.SpcResult | None, f: Filters) -> list[Alert]:
    if s is None or s.assurance != "consistently_failing":
        return []
    return [Alert(kpi.id, area, "assurance", f"{spc.ASSURANCE_TEXT[s.assurance]} ({kpi.target_text()}): the process "
                  "will not meet it without a change to the system", True, link(kpi, area, f))]


def _red(kpi: Kpi, area: str, h: compare.Headline, f: Filters) -> list[Alert]:
    if h.rag != "Red" or h.suppressed:
        return []
    basis = f"; {h.rag_basis}" if h.rag_basis else f" (target {kpi.target_text()}, floor {kpi.target_text('floor')})"
    return [Alert(kpi.id, area, "red", f"{h.display} in {h.label}: below the floor standard{basis}", True,
                  link(kpi, area, f))]


def _data_quality(db: Database, f: Filters) -> list[Alert]:
    """Each district whose tracker has months with no return in the latest academic year shown
    (once per district, not once per KPI that counts activity)."""
    kpi = catalogue.get("referrals")
    h = compare.headlines_by_geography(db, kpi.id, f.with_(districts=()))
    return [Alert("", area, "data_quality", f"{h[area].label} is incomplete: no tracker return for "
                  f"{', '.join(m.split(', ', 1)[1] for m in h[area].not_returned)}", True, link(kpi, area, f, "data"))
            for area in ref.DISTRICT_CODES if h[area].not_returned]


def _judged_month(s: spc.SpcResult | None, h: compare.Headline) -> bool:
    """Whether the chart's latest point may be judged: not a month some district did not return
    (a low point there is missing data, not a special cause)."""
    if s is None or not len(s.columns["period"]):
        return False
    latest = f"{s.columns['period'][-1]:%b %Y}"
    return not any(m.endswith(latest) for m in h.not_returned)


def _worse_than_kent(db: Database, kpi: Kpi, heads: Mapping[str, compare.Headline], f: Filters) -> list[Alert]:
    c = kpi.compute
    if not isinstance(c, kinds.Attainment | kinds.AttainmentGap) or kpi.polarity is Polarity.demand:
        return []
    measure, group = c.measure, c.sen_group
    year = heads[ref.KENT_CODE].year
    if year is None:
        return []
    found = funnel.district_funnel(db, measure, group, year)
    worse = ("below 99.8% limit", "below 95% limit") if kpi.polarity is Polarity.higher else \
        ("above 99.8% limit", "above 95% limit")
    out = []
    for row in found.points.itertuples():
        h = heads.get(str(row.geography_code))
        if row.position in worse and h is not None and not h.suppressed and h.direction == "Worsening":
            years = [y for y, v in zip(h.trend_years, h.trend) if v == v]
            out.append(Alert(kpi.id, row.geography_code, "worse_than_kent",
                             f"{h.display} in {h.label} against Kent's {found.fmt(found.kent)}, {row.position} of the funnel "
                             f"plot, and worsening from {ref.academic_year_label(years[0])} to {ref.academic_year_label(years[-1])} "
                             "(a straight-line trend, 5% level)", True, link(kpi, row.geography_code, f)))
    return out


def _tracker_late(db: Database, f: Filters, today: dt.date | None = None) -> list[Alert]:
    last = queries.data_extent(db).get("last_month")
    expected = ref.last_complete_month(today)
    if last is None or (expected.year - last.year) * 12 + expected.month - last.month <= 1:
        return []
    kpi = catalogue.get("referrals")
    return [Alert(kpi.id, ref.KENT_CODE, "data_quality", f"the tracker runs to {last:%B %Y}, more than a month behind "
                  f"the last complete month ({expected:%B %Y}): a file is late", True, link(kpi, ref.KENT_CODE, f, "data"))]


@memoised
def alerts(db: Database, f: Filters | None = None) -> tuple[Alert, ...]:
    """Every exception of the data in ``db`` for the years of ``f`` (default: the view a first
    visit opens), Kent first then the districts, in catalogue order."""
    f = f or default_filters(queries.data_extent(db))
    out: list[Alert] = []
    for kpi in catalogue.catalogue().values():
        heads = compare.headlines_by_geography(db, kpi.id, f.with_(districts=()))
        for area in AREAS:
            h = heads[area]
            if h.not_applicable or h.year is None:
                continue
            s = None if h.suppressed else scorecard.spc_for(db, kpi, f.with_(districts=() if area == ref.KENT_CODE else (area,)))
            s = s if _judged_month(s, h) else None
            out += _special_cause(kpi, area, s, f) + _assurance(kpi, area, s, f) + _red(kpi, area, h, f)
        out += _worse_than_kent(db, kpi, heads, f)
    return tuple(out + _data_quality(db, f) + _tracker_late(db, f))


def table(found: tuple[Alert, ...] | list[Alert]) -> pd.DataFrame:
    """The exceptions as rows, Kent first then each district in turn (each in catalogue order)."""
    ordered = sorted(found, key=lambda a: AREAS.index(a.area))   # stable: catalogue order within an area
    return pd.DataFrame([a.row() for a in ordered], columns=COLUMNS)


VARIATION_ICON = {"improving": "⬆ Improving", "concerning": "⬇ Concerning", "common_cause": "● Common cause",
                  "high": "⬆ Higher", "low": "⬇ Lower", "mixed": "⇅ Mixed", "too_few_points": "… Too few points"}
ASSURANCE_ICON = {"hit_and_miss": "~ Hit and miss", "consistently_passing": "✔ Consistently passing",
                  "consistently_failing": "✖ Consistently failing"}


def variation_type(s: spc.SpcResult | None) -> str:
    """The one-line variation type of Making Data Count's summary table."""
    if s is None:
        return "No chart: the value is protected or not held"
    kind = {"improving": "special cause variation, improving", "concerning": "special cause variation, concerning",
            "high": "special cause variation, higher", "low": "special cause variation, lower",
            "mixed": "special cause variation in both directions",
            "common_cause": "common cause variation: no significant change",
            "too_few_points": "too few points to judge"}[s.variation]
    return kind[0].upper() + kind[1:] + (f" ({s.reason})" if s.reason and s.variation != "common_cause" else "")


def summary_icons(db: Database, f: Filters) -> pd.DataFrame:
    """Making Data Count's summary icon table for the area of ``f``: each KPI's variation and
    assurance icons with their names in words, its last three values and its variation type."""
    rows = []
    for kpi in catalogue.catalogue().values():
        h = compare.headline(db, kpi.id, f)
        s = None if h.suppressed or h.not_applicable or h.year is None else scorecard.spc_for(db, kpi, f)
        shown = [(y, v) for y, v in zip(h.trend_years, h.trend) if v == v][-3:]
        last3 = "; ".join(f"{ref.academic_year_label(y)}: {kpi.fmt(v)}" for y, v in shown) or "[x]"
        rows.append({"Indicator": kpi.label, "Variation": VARIATION_ICON.get(s.variation, "[x]") if s else "[x]",
                     "Assurance": ASSURANCE_ICON.get(s.assurance or "", "[z]" if not kpi.has_rag else "[x]") if s else
                     ("[z]" if not kpi.has_rag else "[x]"),
                     "Last three values": last3, "Variation type": variation_type(s)})
    return pd.DataFrame(rows, columns=["Indicator", "Variation", "Assurance", "Last three values", "Variation type"])
