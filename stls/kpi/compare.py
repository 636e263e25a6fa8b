"""A KPI's value for a period with its comparisons, RAG rating and direction of travel.

Year-to-date: when the last academic year shown is still running, every year in the view is
cut to the same months (September to the last complete month) so like is compared with like.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from stls import reference as ref
from stls import stats
from stls.filters import SELECTION, Area, Filters
from stls.kpi import catalogue, metrics
from stls.kpi.catalogue import Kpi, Polarity
from stls.memo import memoised
from stls.store import queries

if TYPE_CHECKING:
    from stls.store.db import Database

MONTH_NAMES = ("Sep", "Oct", "Nov", "Dec", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug")


def resolved(db: Database, f: Filters) -> Filters:
    """``f`` with its as-of month, the latest month the database holds (``Filters.upto``): the
    frame resolves it once for a page; a caller with plain filters gets it here."""
    if f.as_of is not None:
        return f
    last = queries.data_extent(db).get("last_month")
    return f.with_(as_of=last) if last else f


def months_span(upto: int) -> str:
    """The months September to academic month ``upto`` (Sep = 0) in words: 'Sep–Oct', 'Sep'."""
    return f"Sep–{MONTH_NAMES[upto]}" if upto > 0 else "Sep"


def period_label(kpi: Kpi, year: int, upto: int) -> str:
    label = ref.academic_year_label(year)
    return label + f" ({months_span(upto)})" if kpi.compute.is_part_year(upto) else label


def rag(kpi: Kpi, value: float | None, england: float | None = None) -> str | None:
    """Kent's rule: Green target met; Amber floor met, target not; Red floor not met. A target
    against England (``Kpi.target_against``) is England's figure for the year plus the target
    (and floor): without England's figure there is no RAG."""
    if not kpi.has_rag or value is None or pd.isna(value):
        return None
    assert kpi.target is not None and kpi.floor is not None
    base = 0.0
    if kpi.target_against:
        if england is None or pd.isna(england):
            return None
        base = england
    better: Callable[[float, float], bool] = (lambda a, b: a >= b) if kpi.polarity is Polarity.higher else (lambda a, b: a <= b)
    if better(value, base + kpi.target):
        return "Green"
    return "Amber" if better(value, base + kpi.floor) else "Red"


def _against_england(kpi: Kpi, h: Headline, england: dict[int, float]) -> Headline:
    """A headline judged against England's published figure for its year, said so."""
    eng = england.get(h.year) if h.year is not None else None
    if eng is None or pd.isna(eng):
        return replace(h, rag=None, rag_basis="no RAG: England's figure for the year is not held")
    target, floor = eng + (kpi.target or 0.0), eng + (kpi.floor or 0.0)
    return replace(h, rag=rag(kpi, h.value, eng),
                   rag_basis=f"against England's {kpi.fmt(eng)}: target {kpi.fmt(target)}, floor {kpi.fmt(floor)}")


def slope_test(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope and its two-sided p-value (t test, n − 2 degrees of freedom)."""
    n = len(x)
    xc, yc = x - x.mean(), y - y.mean()
    sxx = float((xc ** 2).sum())
    slope = float((xc * yc).sum() / sxx)
    resid = yc - slope * xc
    if n <= 2:
        return slope, 1.0
    se = np.sqrt(float((resid ** 2).sum()) / (n - 2) / sxx)
    if se == 0:
        return slope, 0.0
    t = abs(slope / se)
    return slope, stats.t_two_sided_p(t, n - 2)


def direction(kpi: Kpi, values: np.ndarray | pd.Series, alpha: float = 0.05,
              years: npt.ArrayLike | None = None) -> str:
    """Direction of travel from a least-squares line over every period shown (not the last two),
    against the academic year itself (``years``; the position in the series if not given), so a
    gap such as 2019/20 and 2020/21 with no KS2 results stays a gap rather than being squeezed out.

    'No clear change' unless the slope differs from zero at the 5% level; demand indicators
    are 'Rising' or 'Falling', others 'Improving' or 'Worsening' by polarity.
    """
    y = values.astype(float) if isinstance(values, np.ndarray) else np.asarray(pd.to_numeric(values, errors="coerce"), dtype=float)
    x = np.arange(len(y), dtype=float) if years is None else np.asarray(years, dtype=float)
    ok = ~np.isnan(y)
    if ok.sum() < 3 or np.ptp(y[ok]) == 0:
        return "Not enough data" if ok.sum() < 3 else "No clear change"
    slope, pvalue = slope_test(x[ok], y[ok])
    if pvalue >= alpha:
        return "No clear change"
    if kpi.polarity is Polarity.demand:
        return "Rising" if slope > 0 else "Falling"
    good = (slope > 0) == (kpi.polarity is Polarity.higher)
    return "Improving" if good else "Worsening"


@dataclass
class Headline:
    kpi: Kpi
    year: int | None                  # academic year of the value (None: no data in range)
    label: str                        # '2025/26' or '2026/27 (Sep–Oct)'
    value: float | None
    previous: float | None
    previous_label: str | None
    rag: str | None = None
    suppressed: bool = False          # a protected count under the threshold (shown as [c])
    previous_suppressed: bool = False  # ... and the previous value (so the change too)

    not_applicable: bool = False      # e.g. LIFT meetings are not recorded by area of need
    previous_not_applicable: bool = False   # the previous year cannot have a value (the activity began later)
    note: str = ""                    # the chosen filters the figure does not honour, in words
    trend: tuple[float, ...] = field(default=(), repr=False, compare=False)   # each period, NaN for gaps
    trend_years: tuple[int, ...] = field(default=(), repr=False, compare=False)  # the academic year of each
    previous_year: int | None = None
    census_year: int | None = None               # the census a per-pupil value uses, when not its own year's
    rag_basis: str = ""                          # how a part year's RAG was judged (a scaled target)
    not_returned: tuple[str, ...] = ()           # district-months with no tracker return in the value's period
    previous_not_returned: tuple[str, ...] = ()  # ... and in the previous period's
    months: str = ""                             # 'Sep–Oct' when the value (and its trend) is a part year

    @property
    def incomplete(self) -> bool:
        """The value counts a period in which some district made no tracker return."""
        return bool(self.not_returned)

    @property
    def change_incomplete(self) -> bool:
        return bool(self.not_returned or self.previous_not_returned)

    @property
    def census_note(self) -> str:
        """Said beside a per-pupil figure that uses an earlier year's census (the census rule)."""
        return census_note(self.year, self.census_year)

    @property
    def returns_note(self) -> str:
        """'2023/24 is incomplete: no tracker return from Dover, Mar 2024', for each period shown."""
        return "; ".join(f"{label} is incomplete: no tracker return from {', '.join(gaps)}"
                         for label, gaps in ((self.label, self.not_returned), (self.previous_label, self.previous_not_returned))
                         if gaps)

    @property
    def spark(self) -> tuple[float, ...]:
        """The values shown, oldest first (for sparklines): ``trend`` without its gaps."""
        return tuple(v for v in self.trend if v == v)

    def trend_text(self, last: int = 6) -> str:
        """The trend's latest ``last`` shown values in words, e.g. '2021/22 to 2025/26: 31.0%,
        32.4%, ...' (the cards' text in place of a sparkline; empty with fewer than two)."""
        pairs = [(y, v) for y, v in zip(self.trend_years, self.trend) if v == v][-last:]
        if len(pairs) < 2:
            return ""
        span = f"{ref.academic_year_label(pairs[0][0])} to {ref.academic_year_label(pairs[-1][0])}"
        return (f"{self.months} of each year, " if self.months else "") + f"{span}: " \
            + ", ".join(self.kpi.fmt(v) for _, v in pairs)

    @functools.cached_property
    def direction(self) -> str:
        """Direction of travel over ``trend``, worked out when first asked for: the districts
        matrix makes 195 headlines and shows none of their directions."""
        if not self.trend:
            return "Not enough data"
        return direction(self.kpi, np.array(self.trend, dtype=float), years=self.trend_years or None)

    @property
    def display(self) -> str:
        if self.not_applicable:
            return "[z]"
        return "[c]" if self.suppressed else self.kpi.fmt(self.value)

    @property
    def previous_display(self) -> str:
        """The previous value as shown: [c] hidden, [z] cannot exist, [x] not held."""
        if self.previous_suppressed:
            return "[c]"
        return "[z]" if self.previous_not_applicable or self.not_applicable else self.kpi.fmt(self.previous)

    @property
    def change_display(self) -> str | None:
        """The change as shown, or the symbol it takes: a change beside a hidden value is hidden."""
        if self.suppressed or self.previous_suppressed:
            return "[c]"
        if self.not_applicable or self.previous_not_applicable:
            return "[z]"
        return self.kpi.fmt_change(self.change, self.previous)

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


def _value(frame: pd.DataFrame, year: int) -> float | None:
    hit = frame[frame["period"] == dt.date(year, 9, 1)]["value"]
    return None if hit.empty or pd.isna(hit.iloc[0]) else float(hit.iloc[0])




def _from_arrays(kpi: Kpi, periods: list[dt.date], values: np.ndarray, suppressed: np.ndarray, f: Filters,
                 upto: int) -> Headline:
    """The headline from plain arrays (periods, values, which values are protected as [c]):
    a scorecard makes one of these for every KPI and geography."""
    values = np.where(suppressed, np.nan, values)
    shown = np.flatnonzero(~np.isnan(values) | suppressed)
    if not len(shown):
        return _before_it_began(kpi, f) or Headline(kpi, None, "no data", None, None, None)
    last = int(shown[-1])
    year = ref.academic_year_start(periods[last])
    prev = int(shown[-2]) if len(shown) > 1 else None
    prev_year = ref.academic_year_start(periods[prev]) if prev is not None else None
    pick: Callable[[int | None], float | None] = lambda i: None if i is None or np.isnan(values[i]) else float(values[i])
    value = pick(last)
    cut = upto if year == f.year_to else 11
    return Headline(
        kpi, year, period_label(kpi, year, cut), value, pick(prev),
        period_label(kpi, prev_year, cut) if prev_year is not None else None,
        rag=None if kpi.target_against else rag(kpi, value), suppressed=bool(suppressed[last]), trend=tuple(values.tolist()),
        previous_suppressed=prev is not None and bool(suppressed[prev]),
        trend_years=tuple(ref.academic_year_start(p) for p in periods), previous_year=prev_year,
        previous_not_applicable=prev is None and not kpi.exists_in(year - 1),
        months=months_span(cut) if kpi.compute.is_part_year(cut) else "",
        note="; ".join(kpi.compute.unhonoured(f)))


SEASONAL_YEARS = 3   # complete earlier years whose profile scales a part year's target


def seasonal_ratio(year: int, cut: Mapping[dt.date, float], full: Mapping[dt.date, float]) -> tuple[float, list[int]] | None:
    """The median, over the latest ``SEASONAL_YEARS`` complete years before ``year``, of each
    year's value over the same months (``cut``: period → value) to its full-year value
    (``full``), and the years used; None without one."""
    ratios = []
    for p in sorted(full, reverse=True):
        y = ref.academic_year_start(p)
        a, b = cut.get(p), full.get(p)
        if y < year and a is not None and b is not None and a == a and b == b and b != 0:
            ratios.append((y, a / b))
        if len(ratios) == SEASONAL_YEARS:
            break
    if not ratios:
        return None
    return float(np.median([r for _, r in ratios])), sorted(y for y, _ in ratios)


def _seasonal_rag(h: Headline, cut: Mapping[dt.date, float], full: Mapping[dt.date, float], upto: int) -> Headline:
    """A part year's RAG as its KPI declares (``Kpi.part_year``): against the target and floor
    scaled by the seasonal profile (a seasonal KPI such as cost per referral would otherwise show
    Green in November for a year that ends Amber), or against the full-year target, said so."""
    kpi = h.kpi
    assert kpi.target is not None and kpi.floor is not None and h.year is not None and h.value is not None
    months = months_span(upto)
    if kpi.part_year == "full_year_target":
        return replace(h, rag_basis=f"provisional: {months} against the full-year target")
    found = seasonal_ratio(h.year, cut, full)
    if found is None:
        return replace(h, rag=None, rag_basis=f"no RAG: no complete earlier year to scale the full-year target to {months}")
    ratio, years = found
    scaled = kpi.model_copy(update={"target": kpi.target * ratio, "floor": kpi.floor * ratio})
    span = ref.academic_year_label(years[0]) + ("" if len(years) == 1 else f" to {ref.academic_year_label(years[-1])}")
    basis = (f"against the target scaled to {months}: {kpi.fmt(scaled.target)}, floor {kpi.fmt(scaled.floor)} "
             f"(×{ratio:.2f}, {months} to full year in {span})")
    return replace(h, rag=rag(scaled, h.value), rag_basis=basis)


def _before_it_began(kpi: Kpi, f: Filters) -> Headline | None:
    """The [z] headline of a KPI whose activity began after the years chosen, else None."""
    if kpi.exists_in(f.year_to):
        return None
    start = kpi.available_from
    return Headline(kpi, None, f"not applicable before {start:%B %Y}", None, None, None, not_applicable=True)


def census_note(year: int | None, used: int | None) -> str:
    """What a per-pupil figure for ``year`` says when it uses an earlier census (``used``)."""
    if year is None or used is None or used == year:
        return ""
    return (f"Per pupil from the January {used + 1} census: {ref.academic_year_label(year)}'s "
            f"(January {year + 1}) is not loaded yet")


def census_note_for(db: Database, year: int) -> str:
    """``census_note`` for a view of one academic year (the areas-of-need mix, the profile's mix)."""
    return census_note(year, queries.census_for(db, year))


def not_returned_in(db: Database, districts: Iterable[str], months: Iterable[dt.date],
                    gaps: tuple[tuple[str, dt.date], ...] | None = None) -> tuple[str, ...]:
    """'Dover, Mar 2024' for each of these districts' months with no tracker return
    (``queries.not_returned``; ``gaps``, its pairs if the caller has them), in month order."""
    gaps = _gap_pairs(db) if gaps is None else gaps
    if not gaps:
        return ()
    months, districts = set(months), set(districts)
    return tuple(f"{ref.DISTRICT_NAMES[d]}, {m:%b %Y}" for d, m in gaps if d in districts and m in months)


def gaps_between(db: Database, districts: Iterable[str], low: dt.date, high: dt.date) -> list[tuple[str, dt.date]]:
    """(district, month) of these districts' months with no tracker return in [low, high), in
    month order (``queries.not_returned``): the Overview's and the profile's monthly views."""
    chosen = set(districts)
    return [(d, m) for d, m in _gap_pairs(db) if d in chosen and low <= m < high]


@memoised
def _gap_pairs(db: Database) -> tuple[tuple[str, dt.date], ...]:
    """``queries.not_returned`` as plain (district, month) pairs, in month order."""
    gaps = queries.not_returned(db)
    return tuple(zip(gaps["district"], gaps["month"]))


@dataclass(frozen=True)
class _Context:
    """What every headline of one KPI and filter set needs besides its own series: looked up
    once for the thirteen geographies, not once each (a scorecard makes 195 headlines)."""
    gaps: tuple[tuple[str, dt.date], ...]
    census_years: tuple[int, ...]

    @classmethod
    def of(cls, db: Database) -> _Context:
        return cls(_gap_pairs(db), queries.census_years(db))

    def census_for(self, year: int) -> int | None:
        return queries.census_of(self.census_years, year)


def _with_returns(db: Database, h: Headline, districts: Iterable[str], upto: int, f: Filters, ctx: _Context | None = None) -> Headline:
    """A tracker KPI's headline with the months its value and its previous value leave out, and
    a per-pupil one's census where it is not the value's own year's (``catalogue.census_rule``)."""
    ctx = ctx or _Context.of(db)
    if h.year is not None and h.kpi.compute.per_pupil:
        used = ctx.census_for(h.year)
        if used is not None and used != h.year:
            h = replace(h, census_year=used)
    if not h.kpi.compute.from_tracker or h.year is None or not ctx.gaps:
        return h
    cut = upto if h.year == f.year_to else 11   # the previous period is cut to the same months
    missing = not_returned_in(db, districts, year_months(h.year, cut), ctx.gaps)
    before = not_returned_in(db, districts, year_months(h.previous_year, cut), ctx.gaps) \
        if h.previous_year is not None else ()
    if not (missing or before):
        return h
    return replace(h, not_returned=missing, previous_not_returned=before)


def _not_recorded(kpi: Kpi) -> Headline:
    return Headline(kpi, None, "not recorded by area of need or phase", None, None, None, not_applicable=True)


def headline(db: Database, kpi_id: str, f: Filters) -> Headline:
    """The latest academic year in the filters with data, against the year before it.

    Kent or one district is picked out of the all-geographies result (computed once per
    filter set without districts), so moving between districts costs almost nothing.
    """
    return headlines_by_geography(db, kpi_id, f)[f.area.key]


class Headlines(Mapping[str, Headline]):
    """Headlines by geography, each worked out when first asked for: a page showing Kent or one
    district needs one of the thirteen, the districts matrix all of them."""

    def __init__(self, make: Callable[[str], Headline], geographies: Iterable[str]) -> None:
        self._make, self._geographies = make, tuple(geographies)
        self._done: dict[str, Headline] = {}

    def __getitem__(self, geography: str) -> Headline:
        if geography not in self._done:
            if geography not in self._geographies:
                raise KeyError(geography)
            self._done[geography] = self._make(geography)   # same value whichever thread gets here
        return self._done[geography]

    def __iter__(self) -> Iterator[str]:
        return iter(self._geographies)

    def __len__(self) -> int:
        return len(self._geographies)


def headlines_by_geography(db: Database, kpi_id: str, f: Filters) -> Mapping[str, Headline]:
    """Headlines for the 12 districts and Kent from one set of queries (for the districts matrix),
    read from plain arrays of the KPI's all-geographies result; with two or more districts
    chosen, also for them taken together (key ``SELECTION``, its cells summed then protected)."""
    if not f.area.is_selection:
        f = f.with_(districts=())   # one result for Kent and every single district
    return _headlines_by_geography(db, kpi_id, resolved(db, f))


@memoised
def _headlines_by_geography(db: Database, kpi_id: str, f: Filters) -> Mapping[str, Headline]:
    kpi = catalogue.get(kpi_id)
    geos = list(ref.DISTRICT_CODES) + [ref.KENT_CODE] + ([SELECTION] if f.area.is_selection else [])
    types = set(kpi.compute.counted)
    if (f.need or f.phase) and types and types <= ref.NOT_BY_NEED:   # declared in reference.ACTIVITY_TYPES
        return {g: _not_recorded(kpi) for g in geos}
    return Headlines(_Maker(db, kpi, f).make, geos)


class _Maker:
    """Makes one KPI's headline for any geography of one filter set, from results read once."""

    def __init__(self, db: Database, kpi: Kpi, f: Filters):
        self.db, self.kpi, self.f, self.upto = db, kpi, f, f.upto
        self.chosen = metrics.selection(db, kpi.id, f, "academic_year", self.upto)
        self.selection = f.area.selection
        # which values are [c]: protected in the data layer (stls/kpi/metrics.py), the same in every view
        self.hidden = metrics.hidden_rows(kpi, self.chosen.split.body)
        self.ctx = _Context.of(db)
        seasonal = kpi.has_rag and kpi.compute.from_tracker and self.upto < 11
        self.full = metrics.selection(db, kpi.id, f, "academic_year", 11) if seasonal else None
        self.england: dict[int, float] = {}
        if kpi.target_against:
            eng_periods, eng_values, _ = self.chosen.arrays(ref.ENGLAND_CODE)
            self.england = {ref.academic_year_start(p): float(v) for p, v in zip(eng_periods, eng_values)}

    def _series(self, geo: str, source: metrics.Selection, protect: bool) -> tuple[list[dt.date], np.ndarray, np.ndarray]:
        """(periods, values, which are [c]) of ``geo`` in ``source`` (the selection's cells summed)."""
        if geo == SELECTION:
            whole = metrics.combine(self.kpi, source, self.selection)
            hidden = metrics.hidden_rows(self.kpi, whole) if protect else np.zeros(len(whole), dtype=bool)
            return whole["period"].tolist(), whole["value"].to_numpy(float), hidden
        periods, values, rows = source.arrays(geo)
        return periods, values, self.hidden[rows] if protect else np.zeros(len(periods), dtype=bool)

    def make(self, geo: str) -> Headline:
        kpi, f = self.kpi, self.f
        periods, values, hidden = self._series(geo, self.chosen, protect=True)
        if not len(periods):
            return _before_it_began(kpi, f) or Headline(kpi, None, "no data", None, None, None)
        h = self._part_year(_from_arrays(kpi, periods, values, hidden, f, self.upto), periods, values, geo)
        h = _with_returns(self.db, h, Area.of_key(geo, self.selection).members, self.upto, f, self.ctx)
        return _against_england(kpi, h, self.england) if kpi.target_against and h.value is not None else h

    def _part_year(self, h: Headline, cut_periods: list[dt.date], cut_values: np.ndarray, geo: str) -> Headline:
        if self.full is None or h.year != self.f.year_to or h.value is None:
            return h
        full_periods, full_values, _ = self._series(geo, self.full, protect=False)
        return _seasonal_rag(h, dict(zip(cut_periods, cut_values)), dict(zip(full_periods, full_values)), self.upto)


def year_months(year: int, upto: int) -> list[dt.date]:
    """The months of academic year ``year`` from September to academic month ``upto``."""
    return [dt.date(year + (k + 8) // 12, (k + 8) % 12 + 1, 1) for k in range(upto + 1)]


def trend_years(db: Database, kpi_id: str, f: Filters) -> list[int]:
    """The academic year of each point of a headline's trend (as ``headline`` builds it)."""
    f = resolved(db, f)
    chosen = metrics.selection(db, kpi_id, f.with_(districts=()), "academic_year", f.upto)
    if f.area.is_selection:
        combined = metrics.combine(catalogue.get(kpi_id), chosen, f.area.selection)
        return [ref.academic_year_start(p) for p in combined["period"]]
    periods, _, _ = chosen.arrays(f.area.key)
    return [ref.academic_year_start(p) for p in periods]
