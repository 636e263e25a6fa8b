"""KPI values for any geography and grain, computed from additive components.

``components`` asks ``stls.store.queries`` for additive parts (counts, pupils, cohorts) per district
and period; ``aggregate`` sums them to the geography shown (a district, several districts, Kent)
and ``finish`` divides. Kent and England use their stored rows where the source publishes them
(attainment; Kent's budget includes the countywide teams).

Speed, since every filter change asks for these (budgets in docs/performance.md):
- ``series_by_geography`` gives every district, Kent and England from one computation, kept per
  data version (``stls.memo``): a change of district reads it; it is worked out over every year
  held and cut to the filters' years, so a change of years costs a slice;
- every combination of area of need and phase comes from the same statement (GROUPING SETS,
  ``queries._split_sql``) and is kept in one sorted frame (``Split``): a change of need or phase
  is a slice too;
- the activity KPIs' parts come from one query for all of them (``_activity_block``), and their
  series from one pass (``_activity_every_combination``);
- each kind of computation is one class (``kinds``), its parts read by ``PARTS``;
- a KPI's result is shared across filters it does not depend on (``_independent_of``).

Disclosure control happens here, once, at the grain shown: components that count children come
from ``queries`` as cells (a count and its cell key, ``<count>_key``); every sum below (Kent, a
district selection, 12 rolling months) adds keys as it adds counts, and ``_protect`` turns the
cells of the geography and period shown into protected counts (stls/store/disclosure.py) before any
value is finished. What leaves this module (``Split.body``, ``combine``, ``kpi_series``) holds
only protected counts, each with a ``<count>_hidden`` flag; ``Split.parts`` keeps the cells for
``combine`` and is read nowhere else.
"""
from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from stls import reference as ref
from stls.filters import Filters
from stls.kpi import catalogue, kinds
from stls.kpi.catalogue import Kpi
from stls.memo import memoised
from stls.store import disclosure, queries

if TYPE_CHECKING:
    from stls.store.db import Database

AREAS = tuple(ref.NEED_AREAS)
# Components that are stocks (a level at a time) rather than flows (summed over time).
STOCKS = {"pupils", "settings"}
Geography = str | tuple[str, ...]


class GrainError(ValueError):
    """A KPI asked for at a grain it is not defined for."""


BLOCK_KINDS = (kinds.ActivityCount, kinds.ActivityRate)   # read together in one query (``_activity_block``)
KEYS = ["need_key", "phase_key"]   # the combination a row of a split result belongs to
SPLIT = ("need", "phase")


def combination(f: Filters) -> tuple[str, str]:
    """The filters' area of need and phase as the keys of a split result."""
    return f.need or queries.ALL, f.phase or queries.ALL


def _whole(f: Filters) -> Filters:
    """The filters without area of need and phase (the key of a result split by both) or
    districts (every result covers them all)."""
    return f.with_(need=None, phase=None, districts=())


@memoised
def _activity_block(db: Database, grain: str, f: Filters, upto: int) -> tuple[pd.DataFrame, list[str]]:
    """Every activity KPI's parts for every area of need × phase from one query
    (``queries.activity_block``), and the KPI ids in its column order: a page showing ten of them
    pays for one statement, not ten, and a change of need or phase for none."""
    kpis = [k for k in catalogue.catalogue().values() if isinstance(k.compute, BLOCK_KINDS)]
    groups = tuple(sorted({k.compute.per_100 for k in kpis if isinstance(k.compute, kinds.ActivityRate)}))
    block = queries.activity_block(db, {k.id: k.compute.counted for k in kpis},
                                   groups, grain, f, upto)
    return block, [k.id for k in kpis]


def _activity(db: Database, kpi: Kpi, grain: str, f: Filters, upto: int) -> pd.DataFrame:
    """need_key, phase_key, geography_code, period, n (and pupils for a rate): districts × periods
    with a record of the KPI's activity types, zero where a district had none."""
    block, _ = _activity_block(db, grain, f, upto)
    cols = _block_columns(kpi)
    rows = block[f"p_{kpi.id}"].to_numpy(bool) & (block["geography_code"].to_numpy() != ref.KENT_CODE)
    return block.loc[rows, list(cols)].rename(columns=cols).reset_index(drop=True)


def _block_columns(kpi: Kpi) -> dict[str, str]:
    """The activity block's columns of one KPI (counts with their cell keys) and their names here."""
    cols = {k: k for k in KEYS} | {"geography_code": "geography_code", "period": "period",
                                   f"n_{kpi.id}": "n", f"n_{kpi.id}_key": "n_key"}
    if isinstance(kpi.compute, kinds.ActivityRate):
        cols |= {f"pupils_{kpi.compute.per_100}": "pupils", f"pupils_{kpi.compute.per_100}_key": "pupils_key"}
    return cols


def _attainment(db: Database, kpi: Kpi, f: Filters) -> pd.DataFrame:
    """Published for all pupils: one combination, need and phase 'all'."""
    c = kpi.compute
    assert isinstance(c, kinds.Attainment | kinds.AttainmentGap)
    groups = [c.sen_group] + ([c.reference_group] if isinstance(c, kinds.AttainmentGap) else [])
    rows = queries.attainment(db, c.measure, groups, f)   # cohorts protected (a stored row is a cell)
    kent = rows["geography_code"] == ref.KENT_CODE
    if rows.loc[kent, "cohort"].isna().any():   # a published Kent figure with no stored row: the districts' cohort
        districts = rows[rows["geography_code"].isin(ref.DISTRICT_CODES)].groupby(["period", "sen_group"])["cohort"].sum()
        fill = pd.Series(list(zip(rows["period"], rows["sen_group"])), index=rows.index).map(districts)
        rows["cohort"] = rows["cohort"].mask(kent & rows["cohort"].isna() & ~rows["cohort_hidden"], fill)
    rows = rows[rows["cohort"].notna() | rows["cohort_hidden"]].copy()
    rows["met"] = rows["value"] * rows["cohort"]
    wide = rows.pivot_table(index=["geography_code", "period"], columns="sen_group",
                            values=["met", "cohort", "cohort_hidden"], aggfunc="sum")
    def name(part: str, group: str) -> str:   # met_a, cohort_a, cohort_a_hidden; b for the reference group
        side = "a" if group == c.sen_group else "b"
        return f"cohort_{side}_hidden" if part == "cohort_hidden" else f"{part}_{side}"
    wide.columns = [name(part, group) for part, group in wide.columns]
    wide = wide.reset_index().dropna()
    for col in [c for c in wide.columns if c.endswith("_hidden")]:
        wide[col] = wide[col].astype(bool)
        wide.loc[wide[col], col.removesuffix("_hidden")] = float("nan")
    return wide.assign(need_key=queries.ALL, phase_key=queries.ALL)


def _cost(db: Database, kpi: Kpi, f: Filters, upto: int) -> pd.DataFrame:
    counts = queries.activity_counts(db, kpi.compute.counted, "academic_year", f, upto,
                                     by_service=True, split=SPLIT)
    money = _part_year(queries.budget(db, f), queries.data_extent(db), upto)
    own = counts[counts["service_code"] == counts["geography_code"]].groupby(
        ["geography_code", "period"] + KEYS)[["n", "n_key"]].sum()
    district = money.rename(columns={"service_code": "geography_code"}).merge(
        own.reset_index(), on=["geography_code", "period"], how="inner")
    kent = money.groupby("period", as_index=False)["gbp"].sum().merge(
        counts.groupby(["period"] + KEYS, as_index=False)[["n", "n_key"]].sum(), on="period")
    return pd.concat([district, kent.assign(geography_code=ref.KENT_CODE)], ignore_index=True)


def _part_year(money: pd.DataFrame, extent: dict[str, Any], upto: int) -> pd.DataFrame:
    """A year still under way (or cut to year-to-date) pays only its months' share of the budget."""
    last = extent.get("last_month")
    def months(period: dt.date) -> int:
        covered = upto
        if last is not None and ref.academic_year_start(last) == period.year:
            covered = min(covered, ref.academic_month(last))
        return covered + 1
    money = money.copy()
    money["gbp"] = money["gbp"] * money["period"].map(months) / 12
    return money


def need_cells(db: Database, types: tuple[str, ...], f: Filters, upto: int = 11) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two statements every need mix is built from (the need alignment KPI, the areas-of-need
    page): activity of ``types`` and pupils with SEN, by district, academic year of ``f``, area of
    need and phase (``phase_key``, 'all' too), as cells (counts with their cell keys), the pupils
    under the census rule (``census_by_year``)."""
    refs = queries.referral_need_mix(db, types, f, upto, split=("phase",))
    pupils = census_by_year(db, queries.sen_pupils(db, "all_sen", f.with_(year_from=ref.FIRST_ACADEMIC_YEAR),
                                                   by_need_area=True, split=("phase",)).dropna(subset=["need_area"]),
                            list(f.years))
    return refs, pupils


def _need_alignment(db: Database, kpi: Kpi, f: Filters, upto: int) -> pd.DataFrame:
    """Compares the areas of need, so it is split by phase only (need 'all')."""
    refs, pupils = need_cells(db, kpi.compute.counted, f, upto)
    wide = [frame.pivot_table(index=["phase_key", "geography_code", "academic_year"], columns="need_area",
                              values=col, aggfunc="sum").reindex(columns=list(AREAS)).add_prefix(prefix).add_suffix(suffix)
            for frame, col, prefix in ((refs, "n", "ref_"), (pupils, "pupils", "pup_"))
            for col, suffix in ((col, ""), (f"{col}_key", "_key"))]
    out = wide[0].join(wide[1]).join(wide[2], how="inner").join(wide[3]).fillna(0).astype("int64").reset_index()
    out["period"] = pd.to_datetime(out["academic_year"].astype(str) + "-09-01").dt.date
    return out.drop(columns="academic_year").assign(need_key=queries.ALL)


def census_by_year(db: Database, pupils: pd.DataFrame, years: Iterable[int]) -> pd.DataFrame:
    """Census rows (with ``academic_year``) relabelled to each year that uses them under the
    census rule (``queries.census_for``: its own year's census, else the latest earlier)."""
    parts = []
    for y in years:
        used = queries.census_for(db, int(y))
        if used is not None:
            parts.append(pupils[pupils["academic_year"] == used].assign(academic_year=y))
    return pd.concat(parts, ignore_index=True) if parts else pupils.iloc[:0]


def _independent_of(kpi: Kpi, f: Filters, upto: int) -> tuple[Filters, int]:
    """The filters and months that decide this KPI's values, the others reset: attainment is
    published for whole years and all pupils; need alignment compares the areas of need, so
    it cannot be cut by one."""
    return kpi.compute.honoured(f), kpi.compute.months(upto)


def _check_grain(kpi: Kpi, grain: str) -> None:
    if grain not in {g.value for g in kpi.grains}:
        allowed = ", ".join(g.value.replace("_", " ") for g in kpi.grains)
        raise GrainError(f"{kpi.label} is defined by {allowed} only, not by {grain.replace('_', ' ')}")


@memoised
def _components_split(db: Database, kpi: Kpi, grain: str, f: Filters, upto: int) -> pd.DataFrame:
    """Additive parts per need_key, phase_key, geography_code and period, for every combination
    of area of need and phase the KPI depends on (``f`` has neither): its kind's ``parts``."""
    base_grain = "month" if grain == "rolling_12" else grain
    return PARTS[type(kpi.compute)](db, kpi, base_grain, f, upto)


@memoised
def components(db: Database, kpi: Kpi, grain: str, f: Filters, upto: int = 11) -> pd.DataFrame:
    """Additive parts per geography_code and period, before any division: the filters' rows of
    the result split by need and phase (computed once for every combination)."""
    _check_grain(kpi, grain)
    same = _independent_of(kpi, f, upto)
    if same != (f, upto):   # a filter this KPI does not depend on: share one result
        return components(db, kpi, grain, *same)
    every = _components_split(db, kpi, grain, _whole(f), upto)
    need, phase = combination(f)
    rows = (every["need_key"].to_numpy() == need) & (every["phase_key"].to_numpy() == phase)
    return every.loc[rows].drop(columns=KEYS).reset_index(drop=True)


# How each kind's additive parts are read (need_key, phase_key, geography_code, period and the
# parts, every area of need × phase at once); how a value is finished is the kind's (``kinds``).
PARTS: dict[type[kinds.Kind], Callable[[Database, Kpi, str, Filters, int], pd.DataFrame]] = {
    kinds.ActivityCount: _activity,
    kinds.ActivityRate: _activity,
    kinds.SettingsReached: lambda db, kpi, grain, f, upto: queries.settings_reached(db, grain, f, upto),
    kinds.Attainment: lambda db, kpi, grain, f, upto: _attainment(db, kpi, f),
    kinds.AttainmentGap: lambda db, kpi, grain, f, upto: _attainment(db, kpi, f),
    kinds.CostPerActivity: lambda db, kpi, grain, f, upto: _cost(db, kpi, f, upto),
    kinds.NeedAlignment: lambda db, kpi, grain, f, upto: _need_alignment(db, kpi, f, upto),
}


def finish(kpi: Kpi, frame: pd.DataFrame) -> pd.Series:
    """The KPI value from summed, protected components (its kind's ``finish``)."""
    return kpi.compute.finish(frame)


def _protect(kpi: Kpi, cells: pd.DataFrame) -> pd.DataFrame:
    """Cells summed to the geography and period shown, as protected counts (the key columns gone).
    Flags of parts protected already (attainment's cohorts) were summed with them: any is hidden."""
    flags = [c for c in cells.columns if c.endswith("_hidden")]
    if flags:
        cells = cells.assign(**{c: cells[c].fillna(0).astype(bool) for c in flags})
    return disclosure.protect_columns(cells, kpi.compute.child_level_components())


def hidden_rows(kpi: Kpi, body: pd.DataFrame) -> np.ndarray:
    """Which rows' value protection hides ([c]): a count it rests on is [c] (need alignment's index
    is worked out from the protected counts, a [c] area as none, so it is never hidden)."""
    out = np.zeros(len(body), dtype=bool)
    if kpi.compute.index:
        return out
    for c in kpi.compute.child_level_components():
        flag = disclosure.hidden_column(c)
        if flag in body.columns:
            out |= body[flag].to_numpy(bool)
    return out


def aggregate(comps: pd.DataFrame, geography: Geography) -> pd.DataFrame:
    """Components summed to one geography, one row per period."""
    cols = [c for c in comps.columns if c not in ("geography_code", "period")]
    if isinstance(geography, str) and (comps["geography_code"] == geography).any():
        rows = comps[comps["geography_code"] == geography]
    elif geography == ref.KENT_CODE or geography == ():
        rows = comps[comps["geography_code"].isin(ref.DISTRICT_CODES)]
    else:
        rows = comps[comps["geography_code"].isin([geography] if isinstance(geography, str) else geography)]
    return rows.groupby("period", as_index=False)[cols].sum(min_count=1).sort_values("period")


def _rolling(frame: pd.DataFrame) -> pd.DataFrame:
    """Rolling 12-month sums over calendar months (a month with no activity counts as zero)."""
    if frame.empty:
        return frame
    months = pd.date_range(min(frame["period"]), max(frame["period"]), freq="MS").date
    frame = frame.set_index("period").reindex(months)
    stocks = [c for c in frame.columns if c.removesuffix("_key") in STOCKS]   # a stock's cell key is a stock too
    flows = [c for c in frame.columns if c not in stocks]
    frame[flows] = frame[flows].fillna(0).rolling(12, min_periods=12).sum()
    frame[stocks] = frame[stocks].ffill()
    return frame.rename_axis("period").reset_index().iloc[11:]


def geography_of(f: Filters) -> Geography:
    return f.area.selection or f.area.key


def kpi_series(db: Database, kpi_id: str, f: Filters, grain: str = "academic_year",
               geography: Geography | None = None, upto: int = 11) -> pd.DataFrame:
    """Periods and values of one KPI for one geography (default: the filters' area)."""
    kpi = catalogue.get(kpi_id)
    comps = components(db, kpi, grain, f, upto)
    geo = geography_of(f) if geography is None else geography
    cols = ["period", "value"]
    if comps.empty:
        return pd.DataFrame(columns=cols)
    frame = aggregate(comps, geo)
    if grain == "rolling_12":
        frame = _rolling(frame)
    frame = _protect(kpi, frame)
    frame["value"] = finish(kpi, frame)
    return frame.reset_index(drop=True)


@memoised
def series_by_geography(db: Database, kpi_id: str, f: Filters, grain: str = "academic_year", upto: int = 11,
                        geographies: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
    """One KPI's series for many geographies, for the filters' academic years, area of need and
    phase (districts ignored).

    Worked out once for every year held and every area of need × phase (``_every_combination``,
    memoised without them) and sliced to those asked for, so changing the years, the area of need
    or the phase on a page costs a slice, not the queries.
    """
    return selection(db, kpi_id, f, grain, upto).frames(geographies)


def selection(db: Database, kpi_id: str, f: Filters, grain: str = "academic_year", upto: int = 11) -> Selection:
    """The rows of one KPI's all-combinations result that the filters select (see ``Selection``)."""
    kpi = catalogue.get(kpi_id)
    same, upto = _independent_of(kpi, f, upto)   # a filter this KPI does not depend on: share one result
    _check_grain(kpi, grain)
    split = _every_combination(db, kpi_id, _whole(all_years(db, same)), grain, upto)
    return split.select(*combination(same), *f.dates)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"period": [], "value": []})


def all_years(db: Database, f: Filters) -> Filters:
    """The filters widened to every academic year the database holds."""
    extent = queries.data_extent(db)
    first = min(ref.FIRST_ACADEMIC_YEAR, f.year_from, extent["first_year"])
    last = max(f.year_to, extent["last_year"], extent.get("last_outcome_year") or 0)
    return f.with_(year_from=first, year_to=last)


@memoised
def _every_combination(db: Database, kpi_id: str, f: Filters, grain: str, upto: int) -> Split:
    """One KPI's series for every geography and every combination of area of need and phase.
    Activity KPIs come from the shared block."""
    kpi = catalogue.get(kpi_id)
    if isinstance(kpi.compute, BLOCK_KINDS) and grain != "rolling_12":
        return _activity_every_combination(db, grain, f, upto)[kpi_id]
    return _series_from_components(db, kpi, _components_split(db, kpi, grain, f, upto), grain)


class Split:
    """Series for every combination × geography in one frame sorted by need_key, phase_key,
    geography and period: a combination is a contiguous run of rows, each geography a run within
    it, and a range of years a run within that, so selecting is bisecting (no copies until a
    caller asks for frames)."""

    def __init__(self, frame: pd.DataFrame, geographies: list[str], parts: pd.DataFrame | None = None):
        frame = frame.reset_index(drop=True)
        self.geographies = geographies
        self.body = frame.drop(columns=KEYS + ["geography_code"])
        # the unprotected cells of the same rows, for ``combine`` only (districts summed, then protected)
        self.parts = self.body if parts is None else parts.reset_index(drop=True).drop(columns=KEYS + ["geography_code"])
        self.periods: list[dt.date] = frame["period"].tolist()
        self.values = pd.to_numeric(frame["value"], errors="coerce").to_numpy(float)
        codes = frame["geography_code"].to_numpy()
        need, phase = frame["need_key"].to_numpy(), frame["phase_key"].to_numpy()
        starts = _runs(need, phase, codes)
        ends = np.r_[starts[1:], len(frame)]
        self._runs: dict[tuple[str, str], dict[str, tuple[int, int]]] = {}
        for a, b in zip(starts, ends):
            self._runs.setdefault((need[a], phase[a]), {})[codes[a]] = (a, b)

    def select(self, need: str, phase: str, low: dt.date, high: dt.date) -> Selection:
        """Each geography's rows with period in [low, high) for one combination."""
        runs = {}
        for geo, (a, b) in self._runs.get((need, phase), {}).items():
            runs[geo] = (bisect.bisect_left(self.periods, low, a, b), bisect.bisect_left(self.periods, high, a, b))
        return Selection(self, runs)


class Selection:
    """Row ranges of a ``Split`` per geography: ``frames`` gives pandas series for pages;
    ``arrays`` gives plain arrays for code that works through many geographies (headlines)."""

    def __init__(self, split: Split, runs: dict[str, tuple[int, int]]):
        self.split, self.runs = split, runs

    @property
    def geographies(self) -> list[str]:
        return self.split.geographies

    def frames(self, geographies: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
        body = self.split.body
        return {g: body.iloc[slice(*self.runs[g])] if g in self.runs else _empty()
                for g in (geographies or self.geographies)}

    def arrays(self, geography: str) -> tuple[list[dt.date], np.ndarray, slice]:
        """(periods, values, rows of ``split.body``) for one geography; empty if it has none."""
        rows = slice(*self.runs.get(geography, (0, 0)))
        return self.split.periods[rows], self.split.values[rows], rows


def _runs(*keys: np.ndarray) -> np.ndarray:
    """Where each run of equal values (of all ``keys`` together, sorted) starts."""
    if not len(keys[0]):
        return np.array([], dtype=int)
    new = np.zeros(len(keys[0]) - 1, dtype=bool)
    for k in keys:
        new |= k[1:] != k[:-1]
    return np.flatnonzero(np.r_[True, new])


def _series_from_components(db: Database, kpi: Kpi, comps: pd.DataFrame, grain: str) -> Split:
    """Series per combination and geography from one KPI's components: districts straight from
    their rows; Kent from its stored row or the districts' sum; one vectorised ``finish`` gives
    every value."""
    stored = set(comps["geography_code"]) if not comps.empty else set()
    geographies = list(ref.DISTRICT_CODES) + [ref.KENT_CODE] + ([ref.ENGLAND_CODE] if ref.ENGLAND_CODE in stored else [])
    if comps.empty:
        return Split(comps.assign(value=pd.Series(dtype=float)), geographies)
    cols = [c for c in comps.columns if c not in ["geography_code", "period"] + KEYS]
    parts = [comps]   # only districts, Kent and England are ever stored (the geography ENUM)
    if ref.KENT_CODE not in stored:
        districts = comps[comps["geography_code"].isin(ref.DISTRICT_CODES)]
        parts.append(districts.groupby(KEYS + ["period"], as_index=False)[cols].sum(min_count=1)
                     .assign(geography_code=ref.KENT_CODE))
    frame = pd.concat(parts, ignore_index=True)
    where = KEYS + ["geography_code", "period"]
    if frame.duplicated(where).any():   # parts repeated per geography and period
        frame = frame.groupby(where, as_index=False)[cols].sum(min_count=1)
    if grain == "rolling_12":
        frame = pd.concat([_rolling(p.drop(columns=where[:3])).assign(need_key=k[0], phase_key=k[1], geography_code=k[2])
                           for k, p in frame.groupby(where[:3])], ignore_index=True)
    cells = frame.sort_values(where, kind="stable").reset_index(drop=True)
    frame = _protect(kpi, cells)
    frame["value"] = finish(kpi, frame)
    if kpi.compute.from_tracker:
        frame["value"] = frame["value"].mask(not_returned_rows(db, frame, grain))
    return Split(frame, geographies, cells)


@memoised
def _activity_every_combination(db: Database, grain: str, f: Filters, upto: int) -> dict[str, Split]:
    """Every activity KPI's series for every combination at once, from the shared block (which
    has Kent's rows already, in order): per KPI a mask and ``finish``. The same result as
    ``_series_from_components`` on each KPI's components (tests/test_kpis.py checks they agree),
    in a fraction of the time.
    """
    block, ids = _activity_block(db, grain, f, upto)
    geographies = list(ref.DISTRICT_CODES) + [ref.KENT_CODE]
    gap = not_returned_rows(db, block, grain)
    out = {}
    for kpi_id in ids:
        kpi = catalogue.get(kpi_id)
        cols = _block_columns(kpi)
        keep = block[f"p_{kpi_id}"].to_numpy(bool)
        cells = block.loc[keep, list(cols)].rename(columns=cols)
        body = _protect(kpi, cells)
        body["value"] = finish(kpi, body).mask(gap[keep])
        out[kpi_id] = Split(body, geographies, cells)
    return out


def not_returned_rows(db: Database, frame: pd.DataFrame, grain: str) -> np.ndarray:
    """Which rows of a monthly district series are months the district made no tracker return
    (``queries.not_returned``): their value is not a zero but unknown, so NaN (shown as [x]).
    Totals over them (a year, Kent's month) keep their value and are flagged by ``compare``."""
    gaps = queries.not_returned(db)
    if grain != "month" or gaps.empty or frame.empty:
        return np.zeros(len(frame), dtype=bool)
    rows = pd.MultiIndex.from_arrays([frame["geography_code"].to_numpy(), frame["period"].to_numpy()])
    return np.asarray(rows.isin(list(zip(gaps["district"], gaps["month"]))), dtype=bool)


def combine(kpi: Kpi, chosen: Selection, districts: tuple[str, ...]) -> pd.DataFrame:
    """Several districts taken together from the all-geographies result: their cells summed
    period by period (the same additive cells Kent is the sum of), protected, then finished."""
    parts = chosen.split.parts
    frames = [parts.iloc[slice(*chosen.runs[d])] for d in districts if d in chosen.runs]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["period", "value"])
    body = pd.concat(frames, ignore_index=True).drop(columns="value", errors="ignore")
    out = _protect(kpi, body.groupby("period", as_index=False, sort=True).sum(min_count=1))
    out["value"] = finish(kpi, out)
    return out


def kpi_by_geography(db: Database, kpi_id: str, f: Filters, grain: str = "academic_year", upto: int = 11) -> pd.DataFrame:
    """Long frame of geography_code, period, value for the 12 districts, Kent and (if stored) England."""
    parts = [frame.assign(geography_code=geo) for geo, frame in series_by_geography(db, kpi_id, f, grain, upto).items()]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["geography_code", "period", "value"])
