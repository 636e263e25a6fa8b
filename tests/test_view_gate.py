"""Everything a view shows, attacked at once: no count from 1 to 4 can be worked out.

For each view the test reads what a person (or a script reading the chart data sent to the
browser, or the CSV) is given, writes down the relations it states (a Kent row adds up its
districts, a card's yearly count adds up that year's months, a share is a count over its
geography's total), and hands them to the independent attacker in ``tests/attacker.py``. The
true values of hidden cells, from the raw tables, only tell the attacker which hidden cells are
small (1 to 4) and which were hidden to protect them (the worst case: it knows each class).
The property test runs on demo seeds the gate was not written against.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from stls import compare, db as dbmod, disclosure, metrics, needs, queries, scorecard
from stls import reference as ref
from stls.demo import build_demo
from stls.filters import Filters
from stls.views import needs as needs_view
from stls.views import overview, scorecard as scorecard_view

from tests.attacker import pinned_cells

T = 5
PHASES = (None, "early_years", "primary", "secondary", "post_16")


@pytest.fixture(scope="module", params=[2019, 7, 31])
def seeded(request, tmp_path_factory):
    """Demo databases for three seeds (2019 is the suite's own; 7 and 31 are not)."""
    path = tmp_path_factory.mktemp(f"seed{request.param}") / "stls.duckdb"
    build_demo(path, seed=request.param, until=dt.date(2026, 10, 1))
    return dbmod.Database(path)


def _number(text: str) -> float | None:
    """A displayed figure as a number; None for a symbol."""
    text = str(text).split("  ")[0].strip()
    if text.startswith("["):
        return None
    return float(text.replace(",", "").replace("%", "").replace("£", ""))


def _classify(shown, small, other, name, atoms, text, truth):
    value = _number(text)
    if value is not None:
        shown[name] = (atoms, value)
    elif str(text).startswith("[c]"):
        (small if 0 < truth < T else other)[name] = (atoms, truth)
    elif str(text) in ("[x]", "[z]") and truth == 0:   # not returned, or before the activity began: a known zero
        shown[name] = (atoms, 0.0)


# --- need mix: counts, shares, Kent ------------------------------------------------------------

def _raw_mix(db, year: int, phase: str | None) -> pd.DataFrame:
    every = needs._mix_every(db, metrics.all_years(db, Filters(year, year)), ("referral",))
    rows = (every["academic_year"] == year) & (every["phase_key"] == (phase or queries.ALL))
    return every[rows]


def attack_mix(db, year: int, phase: str | None) -> list:
    """The areas-of-need page's small multiples table (every district and Kent: counts and
    shares) and the district profile's table (a district's and Kent's shares)."""
    mix = needs.mix(db, Filters(year, year, phase=phase), year)
    table = needs_view.small_multiples(mix, year).table
    raw = _raw_mix(db, year, phase).set_index(["name", "need_area"])
    code_of = {v: k for k, v in ref.GEOGRAPHY_NAMES.items()}
    area_of = {v: k for k, v in ref.NEED_AREAS.items()}
    shown, small, other, ratios = {}, {}, {}, []
    for _, r in table.iterrows():
        geo, area = code_of[r["Area"]], area_of[r["Area of need"]]
        members = ref.DISTRICT_CODES if geo == ref.KENT_CODE else (geo,)
        for col, share_col, key in (("Referrals", "Referral share", "referrals"), ("Pupils with SEN", "Pupil share", "pupils")):
            atoms = [(d, area, key) for d in members]
            truth = float(raw.loc[(r["Area"], area), key])
            _classify(shown, small, other, (geo, area, key), atoms, r[col], truth)
            share = _number(r[share_col])
            if share is not None:
                total = [(d, a, key) for d in members for a in ref.NEED_AREAS]
                ratios.append((atoms, total, (share - 0.05) / 100, (share + 0.05) / 100))
    # the chart's data (shares as sent to the browser) holds no share the table hides
    checked_points: list = []
    for trace in needs_view.small_multiples(mix, year).figure["data"]:
        for name, share in zip(trace.get("y", []), trace.get("x", [])):
            if share is None:
                continue
            panel = int(trace["xaxis"][1:] or 1)          # x, x2, x3, x4: one panel per area, in order
            area = list(ref.NEED_AREAS.values())[panel - 1]
            checked_points.append(name)
            col = "Referral share" if trace["name"] == "Referrals" else "Pupil share"
            cell = table[(table["Area"] == name) & (table["Area of need"] == area)][col]
            assert len(cell) == 1 and cell.iloc[0] != "[c]", (name, area, col)
    assert checked_points
    return pinned_cells(shown, small, other, T, ratios)


def attack_trend(db, f: Filters) -> list:
    """The Areas of need trend: shares (the chart) and counts (its table) by year and area, with
    the need mix of the last year beside it (the same page)."""
    chart = needs_view.trend_chart(db, f)
    truth = needs.trend(db, f).set_index(["academic_year", "need_area"])["referrals"]
    shown, small, other, ratios = {}, {}, {}, []
    label_year = {ref.academic_year_label(y): y for y in truth.index.get_level_values(0)}
    for _, r in chart.table.iterrows():
        y = label_year[r["Academic year"]]
        for area, label in ref.NEED_AREAS.items():
            if (y, area) not in truth.index:
                continue
            _classify(shown, small, other, (y, area), [(y, area)], r[f"{label}: referrals"], float(truth[(y, area)]))
            share = _number(r[f"{label}: share"])
            if share is not None:
                ratios.append(([(y, area)], [(y, a) for a in ref.NEED_AREAS if (y, a) in truth.index],
                               (share - 0.05) / 100, (share + 0.05) / 100))
    sent = {t["name"]: dict(zip(t["x"], t["y"])) for t in chart.figure["data"]}
    for _, r in chart.table.iterrows():   # the chart's data holds no share the table hides
        for label in ref.NEED_AREAS.values():
            if r[f"{label}: share"] == "[c]":
                assert sent[label].get(r["Academic year"]) is None
    return pinned_cells(shown, small, other, T, ratios)


# --- overview: the cards beside the monthly table --------------------------------------------

def attack_overview(db, f: Filters) -> list:
    page = overview.page(db, f)
    card = page.cards[0]
    assert card.kpi.id == "referrals"
    table = page.monthly.table
    truth = overview._monthly_wide(db, f, overview.DEFAULT_TYPES)["referral"]
    months = list(truth.index)
    shown, small, other = {}, {}, {}
    for m, text in zip(months, table["Referrals"]):
        _classify(shown, small, other, ("month", m), [m], text, float(truth[m]))
    # the chart's data as sent to the browser holds no more than its table
    trace = next(t for t in page.monthly.figure["data"] if t["name"] == "Referrals")
    sent = dict(zip(trace["x"], trace["y"]))
    for m, text in zip(months, table["Referrals"]):
        assert (sent.get(m) is None) == (text in ("[c]", "[x]", "[z]")), m
    upto = compare.months_covered(queries.data_extent(db), f.year_to)
    years = compare.trend_years(db, "referrals", f, upto)
    for year, value in zip(years, card.trend):   # the sparkline, the card and its change
        in_year = [m for m in compare.year_months(year, upto) if m in truth.index]
        if value == value and in_year:
            shown[("card", year)] = (in_year, float(value))
            if len(in_year) == len(compare.year_months(year, upto)):
                assert value == pytest.approx(truth[in_year].sum())   # the relation the attacker uses holds
    if card.previous is not None and card.year is not None:
        in_year = [m for m in compare.year_months(card.year - 1, upto) if m in truth.index]
        if in_year:
            shown[("previous",)] = (in_year, float(card.previous))
    return pinned_cells(shown, small, other, T)


# --- district profile: a rate card beside the monthly chart ----------------------------------

def attack_profile(db, f: Filters, code: str) -> list:
    """The referral-rate card (with the census, it gives the year's referrals) beside the monthly
    referrals chart's table (term-time months; August is not shown)."""
    from stls.views import district
    shown_page = district.profile_activity(db, f, code, "referral")
    truth = district._spc_months(db, f, code, "referral")
    months = list(truth["month"])
    shown, small, other = {}, {}, {}
    for m, v, text in zip(months, truth["activities"], shown_page.spc.table["Referrals"]):
        _classify(shown, small, other, ("month", m), [m], text, float(v))
    if shown_page.month is not None:   # the month table: that month's and a year before's referrals
        before = shown_page.month.replace(year=shown_page.month.year - 1)
        counts = district._month_counts(db, f, code, shown_page.month).loc["referral"]
        row = shown_page.month_table.set_index("Activity").loc[ref.ACTIVITY_LABELS["referral"]]
        for m, col, truth_value in ((shown_page.month, f"{shown_page.month:%b %Y}", counts["now"]),
                                    (before, f"{before:%b %Y}", counts["before"])):
            if truth_value == truth_value:
                _classify(shown, small, other, ("month", m), [m], row[col], float(truth_value))
    card = shown_page.pairs[0][0]
    assert card.kpi.id == "referral_rate"
    if card.display != "[c]" and card.year is not None and months:
        upto = compare.months_covered(queries.data_extent(db), f.year_to)
        chosen = metrics.selection(db, "referral_rate", f.with_(districts=()), "academic_year", upto)
        periods, _, rows = chosen.arrays(code)
        n = dict(zip(periods, chosen.split.body["n"].to_numpy(float)[rows]))[dt.date(card.year, 9, 1)]
        span = (months[0], months[-1])
        atoms = [m for m in compare.year_months(card.year, upto)
                 if m in months or m.month == 8 or not span[0] <= m <= span[1]]   # an in-span month with no row had none
        if atoms:
            shown[("card",)] = (atoms, n)
    return pinned_cells(shown, small, other, T)


# --- scorecard: 12 districts and Kent side by side -------------------------------------------

def attack_matrix(db, f: Filters, kpi_id: str, column: str) -> list:
    """The scorecard page's districts matrix, with (two or more districts chosen) the value for
    them taken together that its theme table shows."""
    matrix = scorecard_view.district_matrix(db, f)
    upto = compare.months_covered(queries.data_extent(db), f.year_to)
    chosen = metrics.selection(db, kpi_id, f.with_(districts=()), "academic_year", upto)
    shown, small, other = {}, {}, {}
    heads = compare.headlines_by_geography(db, kpi_id, f.with_(districts=()))
    for code, text in zip(matrix["code"], matrix[column]):
        h = heads[code]
        if h.year is None:
            continue
        periods, _, rows = chosen.arrays(code)
        body = chosen.split.body.iloc[rows]
        truth = float(body.loc[[p == dt.date(h.year, 9, 1) for p in periods], "n"].iloc[0])
        members = ref.DISTRICT_CODES if code == ref.KENT_CODE else (code,)
        _classify(shown, small, other, code, [(d, h.year) for d in members], text, truth)
    if len(f.districts) > 1:
        ln = next(ln for ln in scorecard.lines(db, f, with_spc=False) if ln.kpi.id == kpi_id)
        h = ln.headline
        if h.year is not None:
            combined = metrics.combine(ln.kpi, chosen, f.districts)
            truth = float(combined.loc[[p == dt.date(h.year, 9, 1) for p in combined["period"]], "n"].iloc[0])
            _classify(shown, small, other, "selection", [(d, h.year) for d in f.districts], ln.fields["value"], truth)
    return pinned_cells(shown, small, other, T)


def attack_comparison(db, f: Filters) -> list:
    """The Overview's districts compared on referrals per 100 pupils on SEN support: each rate,
    with the (published) census counts, gives an interval for the district's referrals."""
    chart = overview.district_comparison(db, f, "referral_rate")
    upto = compare.months_covered(queries.data_extent(db), f.year_to)
    chosen = metrics.selection(db, "referral_rate", f.with_(districts=()), "academic_year", upto)
    year = max(h.year for h in compare.headlines_by_geography(db, "referral_rate", f.with_(districts=())).values()
               if h.year is not None)
    code_of = {v: k for k, v in ref.GEOGRAPHY_NAMES.items()}
    shown, small, other, ratios = {}, {}, {}, []
    for name, text in zip(chart.table["Area"], chart.table["Referrals per 100 pupils on SEN support"]):
        code = code_of[name]
        periods, _, rows = chosen.arrays(code)
        body = chosen.split.body.iloc[rows]
        row = body.loc[[p == dt.date(year, 9, 1) for p in periods]]
        if row.empty:
            continue
        members = ref.DISTRICT_CODES if code == ref.KENT_CODE else (code,)
        n_atoms, p_atoms = [("n", d) for d in members], [("p", d) for d in members]
        shown[("pupils", code)] = (p_atoms, float(row["pupils"].iloc[0]))
        rate = _number(text)
        if rate is not None:
            ratios.append((n_atoms, p_atoms, (rate - 0.05) / 100, (rate + 0.05) / 100))
        elif str(text).startswith("[c]"):
            truth = float(row["n"].iloc[0])
            (small if 0 < truth < T else other)[code] = (n_atoms, truth)
    return pinned_cells(shown, small, other, T, ratios)


def attack_spc(db, f: Filters) -> list:
    """The scorecard page's control chart of monthly referrals (term-time months) beside the
    referrals line's yearly values (value, change and sparkline)."""
    chart = scorecard_view.spc_view(db, f, "referrals")
    ln = next(ln for ln in scorecard.lines(db, f, with_spc=False) if ln.kpi.id == "referrals")
    upto = compare.months_covered(queries.data_extent(db), f.year_to)
    chosen = metrics.selection(db, "referrals", f.with_(districts=()), "month")
    if len(f.districts) > 1:
        truth = dict(zip(metrics.combine(ln.kpi, chosen, f.districts)["period"], metrics.combine(ln.kpi, chosen, f.districts)["n"]))
    else:
        ps, _, rows = chosen.arrays(f.districts[0] if f.districts else ref.KENT_CODE)
        truth = dict(zip(ps, chosen.split.body["n"].to_numpy(float)[rows]))
    months = {m.strftime("%b %Y"): m for m in truth}
    shown, small, other = {}, {}, {}
    for label, text in zip(chart.table["Period"], chart.table["Value"]):
        m = months[label]
        _classify(shown, small, other, m, [m], text, float(truth[m]))
    for y, v in zip(compare.trend_years(db, "referrals", f, upto), ln.headline.trend):
        atoms = [m for m in compare.year_months(y, upto) if m in truth]
        if v == v and atoms:
            shown[("year", y)] = (atoms, float(v))
    return pinned_cells(shown, small, other, T)


# --- the property test ---------------------------------------------------------------------

def test_no_view_lets_a_small_count_be_worked_out(seeded):
    """Every phase, single districts, whole and part years (2026/27 holds September only)."""
    checked = 0
    for phase in PHASES:
        for year in (2024, 2025, 2026):
            assert attack_mix(seeded, year, phase) == [], (phase, year)
            checked += 1
        for code in ref.DISTRICT_CODES[::3]:
            for years in ((2023, 2025), (2024, 2026)):
                f = Filters(*years, districts=(code,), phase=phase)
                assert attack_overview(seeded, f) == [], (phase, code, years)
                assert attack_profile(seeded, f, code) == [], (phase, code, years)
                assert attack_trend(seeded, f) == [], (phase, code, years)
                checked += 3
        for years in ((2023, 2025), (2024, 2026)):
            f = Filters(*years, phase=phase)
            assert attack_matrix(seeded, f, "referrals", "Referrals") == [], (phase, years)
            assert attack_matrix(seeded, f, "intensive_support", "Intensive support") == [], (phase, years)
            assert attack_comparison(seeded, f) == [], (phase, years)
            for code in ref.DISTRICT_CODES[1::4]:
                assert attack_spc(seeded, f.with_(districts=(code,))) == [], (phase, years, code)
            for pair in (ref.DISTRICT_CODES[3:5], ref.DISTRICT_CODES[7:10]):
                assert attack_matrix(seeded, f.with_(districts=pair), "referrals", "Referrals") == [], (phase, years, pair)
            checked += 5
    assert checked == 5 * (3 + 4 * 2 * 3 + 10)  # control charts counted with the matrix


# --- one test per leak class, on hand-made numbers -------------------------------------------

def _mix_frame(referrals: dict, pupils: dict) -> pd.DataFrame:
    """A raw need mix: ``referrals[district][area]`` (other districts and areas 0)."""
    rows = []
    for code in ref.DISTRICT_CODES:
        for a in ref.NEED_AREAS:
            rows.append({"geography_code": code, "need_area": a, "referrals": referrals.get(code, {}).get(a, 0),
                         "pupils": pupils.get(code, {}).get(a, 100)})
    frame = pd.DataFrame(rows)
    kent = frame.groupby("need_area", as_index=False)[["referrals", "pupils"]].sum().assign(geography_code=ref.KENT_CODE)
    frame = pd.concat([frame, kent[frame.columns]], ignore_index=True)
    for col, share in (("referrals", "referral_share"), ("pupils", "pupil_share")):
        total = frame.groupby("geography_code")[col].transform("sum")
        frame[share] = 100 * frame[col] / total.where(total > 0)
    frame["name"] = frame["geography_code"].map(ref.GEOGRAPHY_NAMES)
    frame["area"] = frame["need_area"].map(ref.NEED_AREAS)
    return frame


def test_a_share_beside_a_hidden_count_is_hidden_too():
    """Leak class 1: Ashford CI 3 of 3 + 40 + 30 + 27 = 100 referrals; its share (3.0%) with the
    visible counts gives the 3. The share goes with the count, and the rest of the row is
    protected so the total cannot give it back."""
    ashford = ref.DISTRICT_CODES[0]
    mix = needs.protect_mix(_mix_frame({ashford: {"CI": 3, "CL": 40, "SEMH": 30, "SP": 27}}, {}))
    row = mix[(mix["geography_code"] == ashford) & (mix["need_area"] == "CI")].iloc[0]
    assert row["referrals_hidden"] and row["referral_share_hidden"] and np.isnan(row["referral_share"])
    others = mix[(mix["geography_code"] == ashford) & (mix["need_area"] != "CI")]
    assert others["referrals_hidden"].sum() >= 1          # a second cell, so 100 − visible is not 3
    shown = needs_view._mix_table(mix[mix["geography_code"] == ashford])
    assert shown.loc[0, "Referrals"] == "[c]" and shown.loc[0, "Referral share"] == "[c]"


def test_a_card_beside_the_months_of_its_year(demo_db):
    """Leak class 2: the referrals card for one district and phase beside the monthly table. On
    the demo, Dover's post-16 referrals have months of 1 to 4; the card's total minus the
    visible months must not give any of them."""
    f = Filters(2023, 2025, districts=("E07000108",), phase="post_16")
    page = overview.page(demo_db, f)
    assert (page.monthly.table["Referrals"] == "[c]").sum() > 0
    assert attack_overview(demo_db, f) == []


def test_kent_beside_its_districts_hides_a_second_district():
    """Leak class 3: Kent 8 beside Ashford 5 gives Swale's 3: a second cell is hidden."""
    gate = disclosure.Gate(t=5)
    values = {"A": 5, "S": 3}
    for d in ("A", "S", "B"):
        gate.count(d, [d], values.get(d, 0))
    gate.count("Kent", ["A", "S", "B"], 8)
    assert gate.hidden() == {"S", "A"}


def test_secondary_suppression_knows_hidden_cells_are_at_least_one():
    """Leak class 4: a row 1, 1, 20 with its total 22. The old check (hidden cells may be 0)
    called two hidden cells in a line safe; knowing each is 1 to 4, total − 20 = 2 pins both."""
    table = np.array([[1, 1, 20, 22]], dtype=float)
    hidden = disclosure.suppress_counts(table, row_totals=True, t=5)
    assert hidden[0, 0] and hidden[0, 1] and (hidden[0, 2] or hidden[0, 3])
    small = {(0, j): ([j], table[0, j]) for j in (0, 1)}
    shown = {(0, j): ([j] if j < 3 else [0, 1, 2], table[0, j]) for j in (2, 3) if not hidden[0, j]}
    other = {(0, j): ([j] if j < 3 else [0, 1, 2], table[0, j]) for j in (2, 3) if hidden[0, j]}
    assert pinned_cells(shown, small, other, 5) == []
    # and the independent attacker does pin them when only the primary cells are hidden
    assert sorted(pinned_cells({(0, 2): ([2], 20), (0, 3): ([0, 1, 2], 22)}, small, {}, 5)) == [(0, 0), (0, 1)]


def test_kent_beside_its_districts_on_the_demo(demo_db):
    """Leak class 3 on real pages: post-16 referrals in 2026/27 (September only) leave districts
    with 1 to 4; the scorecard's matrix and the Overview's comparison show Kent beside them."""
    f = Filters(2024, 2026, phase="post_16")
    matrix = scorecard_view.district_matrix(demo_db, f)
    assert matrix["Referrals"].str.startswith("[c]").sum() >= 2
    assert attack_matrix(demo_db, f, "referrals", "Referrals") == []
    assert attack_comparison(demo_db, f) == []


@pytest.mark.parametrize("view", ["same_year", "lag", "change"])
def test_activity_and_outcomes_hides_small_activity_counts(demo_db, view):
    """An intensity per 100 pupils, with the published census, gives the district's count; a
    change gives both years'. Intensive Specialist Support in early years leaves districts with
    1 to 4: their points, changes and quadrants are [c] and leave the statistics."""
    from stls import association
    from stls.views import outcomes
    o = association.Options(activity_types=("intensive_support",), view=view, year=2024, base_year=2023)
    f = Filters(2023, 2025, phase="early_years")
    res = association.analyse(demo_db, o, f)
    n = association._intensity(demo_db, o, f.with_(year_from=2016)).pivot_table(
        index="geography_code", columns="academic_year", values="n")
    x_year = 2023 if view == "lag" else 2024
    change_years = (2022, 2023) if view == "lag" else (2023, 2024)   # the lag view's change is lagged too
    table = outcomes.scatter(res, f).table.set_index("District")
    quad = outcomes.quadrants(res).set_index("District")
    small = lambda v: 0 < v < T
    hidden_seen = 0
    for code in ref.DISTRICT_CODES:
        name = ref.DISTRICT_NAMES[code]
        level = small(n.at[code, x_year])
        change = any(small(n.at[code, y]) for y in change_years)
        if (change if view == "change" else level):
            assert table.loc[name, res.x_label] == "[c]", name
            hidden_seen += 1
        if change:
            assert quad.loc[name, "Change in activity"] == "[c]" and quad.loc[name, "Quadrant"] == "[c]", name
    assert hidden_seen > 0
    assert res.n <= 12 - hidden_seen           # hidden points leave the correlations too


def test_a_small_cohort_hides_its_whole_funnel_point(demo_db, monkeypatch):
    """A cohort of 1 to 4 is a count of children, and the point's limits are a function of it:
    the table, the chart's data and the title leave it out."""
    from stls import funnel
    from stls.views import district
    real = funnel.district_funnel(demo_db, "ks2_rwm_expected", "sen_support", 2024)
    small = real.points.copy()
    small.loc[0, ["cohort", "position"]] = [3, "below 99.8% limit"]
    monkeypatch.setattr(funnel, "district_funnel", lambda *a: funnel.Funnel(small, real.curve, real.kent))
    chart = district.funnel_view(demo_db, None, "ks2_rwm_expected", "sen_support", 2024)
    row = chart.table.iloc[0]
    assert (row["Pupils"], row["Value"], row["95% limits"], row["99.8% limits"], row["Position"]) == ("[c]",) * 5
    assert chart.table.iloc[1]["Pupils"] != "[c]"
    points = next(t for t in chart.figure["data"] if t.get("customdata"))
    assert points["x"][0] is None and points["y"][0] is None
    assert small.loc[0, "name"] not in chart.title
