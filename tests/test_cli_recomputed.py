"""`python -m stls kpis --format json`, for Kent and each district and several years, against an
independent recomputation from the raw tables (activity, sen_pupils, attainment, budget,
settings), written here in pandas without the package's queries: the value and its symbol, the
period, the census a rate uses and the months with no tracker return.

The rules recomputed, as docs/statistics.md, docs/disclosure.md and kpis.toml state them:
- a year still under way is cut to its months so far (the test demo ends in October 2026);
- a rate uses its own year's January census, else the latest earlier one;
- a district-month with no record of any kind in the tracker's span is not returned;
- a count about children is protected by the cell key method, written here again from the
  method's statement (docs/disclosure.md) with the ptable read by the csv module: the cell's
  count plus the ptable's adjustment for (count, sum of its records' keys mod 256); under 5 it is
  [c], and a figure resting on a [c] count is [c];
- a KPI with no activity of its types in the year falls back to the latest year with some;
  before its activity began it is [z].
"""
from __future__ import annotations

import datetime as dt
import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from stls import reference as ref
from stls.cli import main
from stls.kpi import catalogue

T = 5
YEARS = (2016, 2019, 2023, 2026)   # the first year; no KS2 in 2019/20; Dover's missing March 2024; 2026/27 Sep–Oct
GEOGRAPHIES = (ref.KENT_CODE, *ref.DISTRICT_CODES)
CHILD = {"referral", "school_visit", "advice", "drop_in", "intensive_support"}


from cellkey import protect  # noqa: E402  (the method written again, tests/cellkey.py)


class Raw:
    """The raw tables and the rules above, in pandas."""

    def __init__(self, path):
        con = duckdb.connect(str(path), read_only=True)
        q = lambda sql: con.execute(sql).df()
        self.activity = q("SELECT activity_date AS day, district_code::VARCHAR AS d, service_code::VARCHAR AS s, "
                          "activity_type::VARCHAR AS t, need_area::VARCHAR AS need, setting_urn AS urn, count, record_key AS k FROM activity")
        self.activity["month"] = pd.to_datetime(self.activity["day"]).dt.to_period("M").dt.start_time.dt.date
        self.pupils = q("SELECT s.academic_year AS y, s.geography_code::VARCHAR AS g, s.sen_group::VARCHAR AS grp, "
                        "pn.need_area::VARCHAR AS need, s.pupils, s.record_key AS k FROM sen_pupils s LEFT JOIN primary_needs pn "
                        "ON s.primary_need = pn.code")
        self.attainment = q("SELECT academic_year AS y, geography_code::VARCHAR AS g, measure::VARCHAR AS measure, "
                            "sen_group::VARCHAR AS grp, cohort, value, record_key AS k FROM attainment")
        self.budget = q("SELECT financial_year AS y, service_code::VARCHAR AS s, allocation_gbp AS gbp FROM budget")
        self.settings = q("SELECT urn, district_code::VARCHAR AS d, open FROM settings")
        con.close()
        last = max(self.activity["month"])
        self.last_year = ref.academic_year_start(last)
        self.last_upto = (last.month + 3) % 12
        span = pd.date_range(min(self.activity["month"]), last, freq="MS").date
        held = set(zip(self.activity["d"], self.activity["month"]))
        self.gaps = {(d, m) for d in ref.DISTRICT_CODES for m in span if (d, m) not in held}

    def months(self, y: int, upto: int) -> list[dt.date]:
        return [dt.date(y + (k + 8) // 12, (k + 8) % 12 + 1, 1) for k in range(upto + 1)]

    def rows(self, y: int, upto: int, types=None) -> pd.DataFrame:
        a = self.activity
        keep = a["month"].isin(set(self.months(y, upto)))
        if types is not None:
            keep &= a["t"].isin(types)
        return a[keep]

    def census(self, y: int) -> int | None:
        held = sorted(y0 for y0 in self.pupils["y"].unique() if y0 <= y)
        return int(held[-1]) if held else None


def districts_of(g: str) -> tuple[str, ...]:
    return ref.DISTRICT_CODES if g == ref.KENT_CODE else (g,)


def cell(rows: pd.DataFrame, col: str, child: bool) -> tuple[float, bool]:
    """A cell's figure: protected if it counts children, else exact."""
    n = float(rows[col].sum())
    return protect(n, float(rows["k"].sum())) if child else (n, False)


def activity_figure(raw: Raw, kpi, g: str, y: int, upto: int):
    """(value, hidden) for a tracker KPI, or None if it has no value."""
    c = kpi.compute
    ds = districts_of(g)
    if c.kind in ("activity_count", "activity_rate"):
        rows = raw.rows(y, upto, c.activity_types)
        if rows.empty:
            return None
        n, hidden = cell(rows[rows["d"].isin(ds)], "count", bool(set(c.activity_types) & CHILD))
        if c.kind == "activity_count":
            return n, hidden
        year = raw.census(y)
        p = raw.pupils
        pupils, hidden_p = cell(p[(p["y"] == year) & p["g"].isin(ds) & p["grp"].eq(c.per_100)], "pupils", True)
        return (100 * n / pupils if pupils else float("nan")), hidden or hidden_p
    if c.kind == "settings_reached":
        rows = raw.rows(y, upto).dropna(subset=["urn"])
        if rows.empty:
            return None
        s = raw.settings[raw.settings["open"] & raw.settings["d"].isin(ds)]
        return 100 * len(set(rows["urn"]) & set(s["urn"])) / len(s), False
    if c.kind == "cost_per_activity":
        b = raw.budget[raw.budget["y"] == y]
        rows = raw.rows(y, upto, c.activity_types)
        if g == ref.KENT_CODE:
            money, (n, hidden) = b["gbp"].sum(), cell(rows, "count", True)
        else:
            money, (n, hidden) = b.loc[b["s"] == g, "gbp"].sum(), cell(rows[(rows["d"] == g) & (rows["s"] == g)], "count", True)
        if b.empty or rows.empty:
            return None
        return money * (upto + 1) / 12 / n, hidden
    if c.kind == "need_alignment":
        rows = raw.rows(y, upto, c.activity_types).dropna(subset=["need"])
        year = raw.census(y)
        p = raw.pupils
        pupils = p[(p["y"] == year) & p["g"].isin(ds) & p["grp"].isin(["ehc_plan", "sen_support"])].dropna(subset=["need"])
        mine = rows[rows["d"].isin(ds)]
        if mine.empty or pupils.empty:
            return None
        # each area's counts protected; a [c] area counts as none in the index
        r = np.array([np.nan_to_num(cell(mine[mine["need"] == a], "count", True)[0]) for a in ref.NEED_AREAS])
        q = np.array([np.nan_to_num(cell(pupils[pupils["need"] == a], "pupils", True)[0]) for a in ref.NEED_AREAS])
        return 50 * float(np.abs(r / r.sum() - q / q.sum()).sum()), False
    raise AssertionError(c.kind)


def outcome_figure(raw: Raw, kpi, g: str, y: int):
    """(value, hidden): a stored row's cohort is a cell of its own, protected."""
    c = kpi.compute
    a = raw.attainment
    rows = a[(a["y"] == y) & (a["g"] == g) & (a["measure"] == c.measure)].set_index("grp")
    if c.sen_group not in rows.index or pd.isna(rows.at[c.sen_group, "value"]):
        return None
    value = float(rows.at[c.sen_group, "value"])
    groups = [c.sen_group] + ([c.reference_group] if c.kind == "attainment_gap" else [])
    hidden = any(protect(rows.at[grp, "cohort"], rows.at[grp, "k"])[1] for grp in groups)
    if c.kind == "attainment_gap":
        value = float(rows.at[c.reference_group, "value"]) - value
    return value, hidden


def figure(raw: Raw, kpi, g: str, year_to: int, cut: int | None = None):
    """(year, value, hidden) of the latest year ≤ year_to with a value, else None; a
    tracker KPI cut to September–``cut`` (default: the months held of a year under way)."""
    upto = cut if cut is not None else raw.last_upto if year_to == raw.last_year else 11
    for y in range(year_to, ref.FIRST_ACADEMIC_YEAR - 1, -1):
        got = activity_figure(raw, kpi, g, y, upto) if kpi.compute.from_tracker else outcome_figure(raw, kpi, g, y)
        if got is not None:
            return y, *got
    return None


def period_label(kpi, y: int, year_to: int, raw: Raw) -> str:
    label = ref.academic_year_label(y)
    if kpi.compute.from_tracker and y == year_to == raw.last_year and raw.last_upto < 11:
        label += f" (Sep–{['Sep', 'Oct', 'Nov', 'Dec', 'Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug'][raw.last_upto]})"
    return label


@pytest.fixture(scope="module")
def raw(demo_path) -> Raw:
    return Raw(demo_path)


@pytest.fixture(scope="module")
def cli(demo_path):
    """The command line's JSON for every geography and year, run once."""
    out = {}
    for year in YEARS:
        for g in GEOGRAPHIES:
            args = ["kpis", "--db", str(demo_path), "--year", ref.academic_year_label(year), "--format", "json"]
            if g != ref.KENT_CODE:
                args += ["--district", g]
            buf = __import__("io").StringIO()
            with __import__("contextlib").redirect_stdout(buf):
                assert main(args) == 0
            out[(g, year)] = {r["id"]: r for r in json.loads(buf.getvalue())["kpis"]}
    return out


@pytest.mark.parametrize("year", YEARS, ids=ref.academic_year_label)
@pytest.mark.parametrize("kpi_id", list(catalogue.catalogue()))
def test_each_figure_equals_the_raw_recomputation(raw, cli, kpi_id, year):
    kpi = catalogue.get(kpi_id)
    figures = {g: figure(raw, kpi, g, year) for g in GEOGRAPHIES}
    for g in GEOGRAPHIES:
        row, got = cli[(g, year)][kpi_id], figures[g]
        where = (kpi_id, ref.GEOGRAPHY_NAMES[g], ref.academic_year_label(year))
        if got is None:
            expected = "[z]" if not kpi.exists_in(year) else "[x]"
            assert row["value"] == expected, where
            continue
        y, value, hidden = got
        assert row["period"] == period_label(kpi, y, year, raw), where
        assert row["value"] == ("[c]" if hidden else kpi.fmt(value)), where
        # the previous year, over the same months: [z] if it cannot exist, [x] if none is held
        upto = raw.last_upto if y == raw.last_year else 11
        before = figure(raw, kpi, g, y - 1, upto)
        if before is None:
            assert row["previous"] == ("[z]" if not kpi.exists_in(y - 1) else "[x]"), where
        else:
            assert row["previous"] == ("[c]" if before[2] else kpi.fmt(before[1])), where
        # a per-pupil figure names an earlier census; the months no return came in are listed
        used = raw.census(y)
        assert ("January" in row["census"]) == (kpi.compute.per_pupil and used is not None and used != y), where
        if kpi.compute.from_tracker:
            gaps = sorted((m, d) for d, m in raw.gaps if d in districts_of(g) and m in set(raw.months(y, upto)))
            listed = [part for part in row["not_returned"].split("; ") if part and "previous" not in part]
            assert listed == [f"{ref.DISTRICT_NAMES[d]}, {m:%b %Y}" for m, d in gaps], where
        else:
            assert row["not_returned"] == "", where


def test_the_recomputation_meets_every_symbol(raw, cli):
    """The sweep above is not vacuous: it meets numbers, [c], [x] and [z], and the gap month."""
    values = [r[k] for rows in cli.values() for r in rows.values() for k in ("value", "previous")]
    for symbol in ("[c]", "[x]", "[z]"):
        assert symbol in values, symbol
    assert any("Dover, Mar 2024" in r["not_returned"] for rows in cli.values() for r in rows.values())
