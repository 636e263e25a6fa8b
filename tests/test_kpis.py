"""The KPI catalogue and KPI values, against hand-computed figures on a tiny database."""
import datetime as dt
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from stls import reference as ref
from stls.filters import SELECTION, Filters
from stls.kpi import catalogue, compare, metrics
from stls.kpi import line as scorecard
from stls.kpi.catalogue import CatalogueError, parse_catalogue
from stls.store import db as dbmod
from stls.store import queries

ASHFORD, SWALE, KENT, ENGLAND = "E07000105", "E07000113", ref.KENT_CODE, ref.ENGLAND_CODE
ACTIVITY = [  # date, district, service, type, need, phase, urn, count
    ("2022-10-03", ASHFORD, ASHFORD, "referral", "CI", "primary", "100001", 1),
    ("2023-09-11", ASHFORD, ASHFORD, "referral", "CI", "primary", "100001", 1),
    ("2023-10-05", ASHFORD, ASHFORD, "referral", "CL", "primary", "100002", 1),
    ("2024-01-15", ASHFORD, ASHFORD, "referral", "SEMH", "secondary", "100003", 2),
    ("2023-11-01", ASHFORD, "PD", "referral", "SP", "primary", "100002", 1),
    ("2023-09-20", SWALE, SWALE, "referral", "CI", "early_years", "EY500001", 3),
    ("2023-09-21", SWALE, SWALE, "school_visit", None, "early_years", "EY500001", 1),
    ("2024-02-01", SWALE, SWALE, "training", None, None, None, 4),
    ("2024-07-01", SWALE, SWALE, "training", None, None, None, 1),
]
SETTINGS = [("100001", "A", ASHFORD, "primary", True), ("100002", "B", ASHFORD, "primary", True),
            ("100003", "C", ASHFORD, "secondary", True), ("100004", "D", ASHFORD, "primary", True),
            ("100005", "E", ASHFORD, "primary", False), ("EY500001", "F", SWALE, "early_years", True),
            ("100010", "G", SWALE, "primary", True)]
SEN = [(2023, ASHFORD, "sen_support", "ASD", "primary", 10), (2023, ASHFORD, "sen_support", "MLD", "primary", 20),
       (2023, ASHFORD, "sen_support", "SEMH", "secondary", 30), (2023, ASHFORD, "sen_support", "HI", "primary", 5),
       (2023, ASHFORD, "sen_support", "OTH", "primary", 5), (2023, ASHFORD, "ehc_plan", "ASD", "primary", 4),
       (2023, ASHFORD, "no_sen", None, "primary", 500), (2023, SWALE, "sen_support", "SLCN", "early_years", 8),
       (2023, SWALE, "sen_support", "SPLD", "primary", 12), (2022, ASHFORD, "sen_support", "MLD", "primary", 40)]
ATTAINMENT = [(2023, ASHFORD, "ks2_rwm_expected", "sen_support", 40, 25.0),
              (2023, ASHFORD, "ks2_rwm_expected", "no_sen", 200, 70.0),
              (2023, SWALE, "ks2_rwm_expected", "sen_support", 60, 20.0),
              (2023, SWALE, "ks2_rwm_expected", "no_sen", 300, 75.0),
              (2023, KENT, "ks2_rwm_expected", "sen_support", 1000, 23.0),
              (2023, KENT, "ks2_rwm_expected", "no_sen", 9000, 72.0),
              (2023, ENGLAND, "ks2_rwm_expected", "sen_support", 100000, 24.0)]
BUDGET = [(2023, ASHFORD, 100_000.0), (2023, SWALE, 50_000.0), (2023, "PD", 20_000.0)]


@pytest.fixture(autouse=True)
def _no_perturbation(request):
    """The hand-worked arithmetic is checked with every adjustment 0 and nothing hidden: the cell
    key method itself is checked against ONS's package in test_cell_key.py, and where it hides in
    test_cli_recomputed.py and test_combined_views.py."""
    import numpy as np

    from stls.store import disclosure
    if "demo_db" in request.fixturenames:
        yield   # the demo's figures are protected as everywhere (memoised results are shared)
        return
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(disclosure, "ptable", lambda: np.zeros((751, 256), dtype=np.int64))
        mp.setenv("STLS_DISCLOSURE_THRESHOLD", "0")
        yield


def _tiny(path, published: bool) -> dbmod.Database:
    """The hand-worked world; without ``published`` its own Kent and England rows stand (the
    shipped DfE figures, which would replace them, are removed)."""
    with dbmod.writable_copy(path, fresh=True) as con:
        if not published:
            con.execute("DELETE FROM published")
        con.executemany("INSERT INTO activity VALUES (?, ?, ?, ?, ?, ?, ?, ?, 9, NULL)", ACTIVITY)
        con.executemany("INSERT INTO settings (urn, name, district_code, phase, open) VALUES (?, ?, ?, ?, ?)", SETTINGS)
        con.executemany("INSERT INTO sen_pupils VALUES (?, ?, ?, ?, ?, ?, 9, NULL)", SEN)
        con.executemany("INSERT INTO attainment VALUES (?, ?, ?, ?, ?, ?, 9, NULL)", ATTAINMENT)
        for table in dbmod.KEYED:
            dbmod.key_rows(con, table)
        con.executemany("INSERT INTO budget VALUES (?, ?, ?)", BUDGET)
        dbmod.refresh_derived(con)
    return dbmod.Database(path)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return _tiny(tmp_path_factory.mktemp("tiny") / "tiny.duckdb", published=False)


Y = Filters(2023, 2023)


def _value(tiny, kpi, f=Y, geography=None, grain="academic_year"):
    s = metrics.kpi_series(tiny, kpi, f, grain, geography=geography)
    return s.set_index("period")["value"]


def test_counts_and_rates(tiny):
    assert _value(tiny, "referrals")[dt.date(2023, 9, 1)] == 8            # 1 + 1 + 2 + 1 (PD) + 3
    assert _value(tiny, "referrals", geography=ASHFORD).iloc[0] == 5
    assert _value(tiny, "training_sessions").iloc[0] == 5                 # counts, not rows
    assert _value(tiny, "referral_rate", geography=ASHFORD).iloc[0] == pytest.approx(100 * 5 / 70)
    assert _value(tiny, "referral_rate").iloc[0] == pytest.approx(100 * 8 / 90)   # Kent: sum, then divide
    ci = Filters(2023, 2023, (ASHFORD,), "CI")
    assert _value(tiny, "referral_rate", ci).iloc[0] == pytest.approx(100 * 1 / 10)  # ASD pupils only


def test_grains(tiny):
    months = _value(tiny, "referrals", grain="month")
    assert months[dt.date(2023, 9, 1)] == 4 and months[dt.date(2024, 1, 1)] == 2
    terms = _value(tiny, "referrals", grain="term")
    assert terms[dt.date(2023, 9, 1)] == 6 and terms[dt.date(2024, 1, 1)] == 2
    rolling = _value(tiny, "referrals", Filters(2022, 2023), grain="rolling_12")
    assert rolling[dt.date(2023, 9, 1)] == 5        # Oct 2022 (1) + Sep 2023 (4)
    assert rolling[dt.date(2023, 10, 1)] == 5       # Oct 2022 drops out, Oct 2023 (1) comes in
    assert rolling[dt.date(2024, 1, 1)] == 8       # Sep 4, Oct 1, Nov 1, Jan 2
    with pytest.raises(metrics.GrainError, match="academic year only"):
        _value(tiny, "ks2_rwm_sen_support", grain="month")


def test_settings_reached(tiny):
    assert _value(tiny, "settings_reached", geography=ASHFORD).iloc[0] == pytest.approx(75.0)  # 3 of 4 open
    assert _value(tiny, "settings_reached", geography=SWALE).iloc[0] == pytest.approx(50.0)
    assert _value(tiny, "settings_reached").iloc[0] == pytest.approx(100 * 4 / 6)
    primary = Filters(2023, 2023, phase="primary")
    assert _value(tiny, "settings_reached", primary, geography=ASHFORD).iloc[0] == pytest.approx(100 * 2 / 3)


def test_attainment_gap_and_geographies(tiny):
    assert _value(tiny, "ks2_rwm_sen_support", geography=ASHFORD).iloc[0] == pytest.approx(25.0)
    assert _value(tiny, "ks2_rwm_sen_support").iloc[0] == pytest.approx(23.0)          # Kent's stored row
    assert _value(tiny, "ks2_rwm_sen_support", geography=ENGLAND).iloc[0] == pytest.approx(24.0)
    both = Filters(2023, 2023, (ASHFORD, SWALE))
    assert _value(tiny, "ks2_rwm_sen_support", both).iloc[0] == pytest.approx((40 * 25 + 60 * 20) / 100)
    assert _value(tiny, "ks2_rwm_gap", geography=ASHFORD).iloc[0] == pytest.approx(45.0)
    assert _value(tiny, "ks2_rwm_gap").iloc[0] == pytest.approx(49.0)


def test_published_kent_and_england_figures_replace_their_stored_rows(tmp_path):
    """With the shipped DfE figures (Kent and England, KS2 RWM 2023/24: SEN support 26, no SEN
    72, from the file), Kent's and England's values are the published ones; the districts' are
    their own; a published Kent figure with no stored row takes the districts' cohort."""
    db = _tiny(tmp_path / "pub.duckdb", published=True)
    assert _value(db, "ks2_rwm_sen_support").iloc[0] == pytest.approx(26.0)            # not the stored 23.0
    assert _value(db, "ks2_rwm_sen_support", geography=ENGLAND).iloc[0] == pytest.approx(26.0)   # not 24.0
    assert _value(db, "ks2_rwm_sen_support", geography=ASHFORD).iloc[0] == pytest.approx(25.0)
    assert _value(db, "ks2_rwm_gap").iloc[0] == pytest.approx(72.0 - 26.0)
    rows = queries.attainment(db, "ks2_rwm_expected", ["sen_support"], Y).set_index("geography_code")
    assert rows.loc[KENT, "published"] and not rows.loc[ASHFORD, "published"] and rows.loc[KENT, "cohort"] == 1000
    with dbmod.writable_copy(tmp_path / "pub.duckdb") as con:
        con.execute("DELETE FROM attainment WHERE geography_code = ?", [KENT])
    db = dbmod.Database(tmp_path / "pub.duckdb")
    assert _value(db, "ks2_rwm_sen_support").iloc[0] == pytest.approx(26.0)
    cohort = queries.attainment(db, "ks2_rwm_expected", ["sen_support"], Y).set_index("geography_code")["cohort"]
    assert pd.isna(cohort[KENT]) and cohort[ASHFORD] + cohort[SWALE] == 100   # metrics fills Kent's from these


def test_cost_and_need_alignment(tiny):
    # The data end in July 2024, so 2023/24 is still a part year: 11 of 12 months' budget.
    assert _value(tiny, "cost_per_referral", geography=ASHFORD).iloc[0] == pytest.approx(100_000 * 11 / 12 / 4)
    assert _value(tiny, "cost_per_referral").iloc[0] == pytest.approx(170_000 * 11 / 12 / 8)
    refs = [Fraction(1, 5), Fraction(1, 5), Fraction(2, 5), Fraction(1, 5)]      # CI CL SEMH SP
    pupils = [Fraction(14, 69), Fraction(20, 69), Fraction(30, 69), Fraction(5, 69)]  # OTH has no area
    expected = 50 * sum(abs(a - b) for a, b in zip(refs, pupils))
    assert _value(tiny, "need_alignment", geography=ASHFORD).iloc[0] == pytest.approx(float(expected))


def test_area_of_need_and_phase_for_every_kind(tiny):
    """Every kind of KPI cut by an area of need and/or a phase (read from one result split by
    both, see stls/kpi/metrics.py), against hand-computed figures."""
    def one(kpi, geography=None, **cut):
        return _value(tiny, kpi, Y.with_(**cut), geography=geography).iloc[0]
    # Rates: the activity and the pupils both cut. Swale's early years referrals (3) over its early
    # years SEN support pupils (8); Ashford's CI referral over its ASD pupils on SEN support (10).
    assert one("referral_rate", SWALE, phase="early_years") == pytest.approx(100 * 3 / 8)
    assert one("referral_rate", ASHFORD, need="CI", phase="primary") == pytest.approx(100 * 1 / 10)
    # A record with no area of need counts towards all areas only: Swale's school visit.
    assert one("school_visits", SWALE) == 1 and one("school_visits", SWALE, phase="early_years") == 1
    assert _value(tiny, "school_visits", Y.with_(need="CI"), geography=SWALE).empty
    # Settings reached: the contact's area of need, the setting's phase.
    assert one("settings_reached", ASHFORD, need="CI") == pytest.approx(100 * 1 / 4)   # 100001 of 4 open
    assert one("settings_reached", need="CI") == pytest.approx(100 * 2 / 6)            # and EY500001
    assert one("settings_reached", SWALE, need="CI", phase="early_years") == pytest.approx(100.0)
    assert _value(tiny, "settings_reached", Y.with_(phase="early_years"), geography=ASHFORD).empty  # none open
    # Cost per referral: a district's own service's referrals of that area or phase; Kent's all.
    assert one("cost_per_referral", ASHFORD, need="CI") == pytest.approx(100_000 * 11 / 12 / 1)
    assert one("cost_per_referral", need="CI") == pytest.approx(170_000 * 11 / 12 / 4)
    assert one("cost_per_referral", ASHFORD, phase="primary") == pytest.approx(100_000 * 11 / 12 / 2)
    assert one("cost_per_referral", phase="primary") == pytest.approx(170_000 * 11 / 12 / 3)
    # Need alignment is cut by phase only (an area of need filter leaves it as it is).
    refs = [Fraction(1, 3), Fraction(1, 3), 0, Fraction(1, 3)]                     # CI CL SEMH SP, primary
    pupils = [Fraction(14, 39), Fraction(20, 39), 0, Fraction(5, 39)]
    expected = float(50 * sum(abs(a - b) for a, b in zip(refs, pupils)))
    assert one("need_alignment", ASHFORD, phase="primary") == pytest.approx(expected)
    assert one("need_alignment", ASHFORD, phase="primary", need="SEMH") == pytest.approx(expected)
    assert one("need_alignment", ASHFORD, phase="secondary") == pytest.approx(0.0)  # SEMH both
    # Attainment is published for all pupils: the same whatever the cut.
    assert one("ks2_rwm_sen_support", ASHFORD, need="CL", phase="secondary") == pytest.approx(25.0)


def test_headline_rag_and_comparison(tiny):
    h = compare.headline(tiny, "ks2_rwm_sen_support", Filters(2022, 2023, (SWALE,)))
    assert h.value == 20.0 and h.rag == "Red" and h.label == "2023/24"
    h = compare.headline(tiny, "referrals", Filters(2022, 2023, (ASHFORD,)))
    # Ashford 5, Swale 3 and no other district (protection off here: each count as it is)
    assert (h.value, h.display, h.label, h.suppressed) == (5, "5", "2023/24 (Sep–Jul)", False)
    kent = compare.headline(tiny, "referrals", Filters(2022, 2023))
    assert (kent.value, kent.display) == (8, "8")
    assert h.previous == 1 and h.change == 4          # one referral in 2022/23, over the same months
    h = compare.headline(tiny, "referrals", Filters(2022, 2023, (SWALE,)))
    assert h.display == "3" and not h.suppressed      # three referrals


@pytest.mark.parametrize("value,rag", [(53, "Green"), (52, "Green"), (51.9, "Amber"), (47, "Amber"), (46.9, "Red")])
def test_rag_rule_higher_is_better(value, rag):
    assert compare.rag(catalogue.get("phonics_sen_support"), value) == rag   # target 52, floor 47


@pytest.mark.parametrize("value,england,rag", [(27, 26, "Green"), (26, 26, "Green"), (25.9, 26, "Amber"),
                                               (23, 26, "Amber"), (22.9, 26, "Red"), (30, None, None)])
def test_rag_rule_against_england(value, england, rag):
    """KS2 SEN support: at or above England's figure Green, within 3 points below Amber; none without England's."""
    assert compare.rag(catalogue.get("ks2_rwm_sen_support"), value, england) == rag


@pytest.mark.parametrize("value,rag", [(500, "Green"), (600, "Green"), (700, "Amber"), (750, "Amber"), (751, "Red")])
def test_rag_rule_lower_is_better(value, rag):
    assert compare.rag(catalogue.get("cost_per_referral"), value) == rag


def test_demand_indicators_have_no_rag():
    assert compare.rag(catalogue.get("referrals"), 10_000) is None


def test_direction_uses_the_whole_period():
    kpi = catalogue.get("ks2_rwm_sen_support")
    assert compare.direction(kpi, pd.Series([20, 21, 22, 23, 24, 20])) == "No clear change"
    assert compare.direction(kpi, pd.Series([20, 21, 22, 23, 24, 25])) == "Improving"
    assert compare.direction(catalogue.get("cost_per_referral"), pd.Series([5, 6, 7, 8, 9])) == "Worsening"
    assert compare.direction(catalogue.get("referrals"), pd.Series([9, 8, 7, 6, 5])) == "Falling"


def test_direction_regresses_on_the_year_so_gaps_stay_gaps():
    """KS2 has no results for 2019/20 and 2020/21. On the position in the series this rise looks
    significant (p = 0.039); on the year itself it is not (p = 0.061, SciPy below)."""
    from scipy.stats import linregress
    kpi = catalogue.get("ks2_rwm_sen_support")
    years = [2015, 2016, 2017, 2018, 2021, 2022, 2023, 2024]
    values = [24, 25, 24, 26, 25, 26, 25, 27.0]
    assert linregress(years, values).pvalue > 0.05 > linregress(range(8), values).pvalue
    assert compare.direction(kpi, pd.Series(values), years=years) == "No clear change"
    h = compare.Headline(kpi, 2024, "2024/25", 27.0, 25.0, "2023/24", trend=tuple(values), trend_years=tuple(years))
    assert h.direction == "No clear change"
    h = compare.Headline(kpi, 2024, "2024/25", 28.0, 27.0, "2023/24", trend=(25, 26, 25, 26, 27, 28, 27, 28.0),
                         trend_years=tuple(years))
    assert h.direction == "Improving" and linregress(years, h.trend).pvalue < 0.05


# ---- the catalogue ---------------------------------------------------------------------

def test_catalogue_is_complete():
    kpis = catalogue.catalogue()
    assert len(kpis) >= 12
    assert {k.theme.value for k in kpis.values()} == {t.value for t in catalogue.Theme}
    for k in kpis.values():
        assert k.description and k.source and k.grains and k.period_basis
        assert k.has_rag == (k.polarity is not catalogue.Polarity.demand and k.target is not None)


BASE = open(catalogue.CATALOGUE_PATH, encoding="utf-8").read()


@pytest.mark.parametrize("change,message", [
    (('polarity = "demand"', 'polarity = "sideways"'), "KPI 'referrals', field 'polarity'"),
    (('unit = "count"', 'unit = "dozens"'), "KPI 'referrals', field 'unit'"),
    (('target = 80.0', 'target = 60.0'), "KPI 'settings_reached'"),
    (('activity_types = ["referral"] }', 'activity_types = ["referal"] }'), "KPI 'referrals', field 'compute"),
    (('measure = "ks2_rwm_expected", sen_group = "sen_support" }', 'measure = "ks9", sen_group = "sen_support" }'),
     "KPI 'ks2_rwm_sen_support', field 'compute"),
    (('id = "lift_meetings"', 'id = "referrals"'), "KPI 'referrals', field 'id': declared twice"),
])
def test_invalid_declarations_name_kpi_and_field(change, message):
    with pytest.raises(CatalogueError, match=message.replace("(", r"\(")):
        parse_catalogue(BASE.replace(*change, 1))


def test_every_kpi_computes_for_every_district_kent_and_year(demo_db):
    extent = queries.data_extent(demo_db)
    f = Filters(extent["first_year"], extent["last_year"])
    years = set(range(2016, 2026))
    for kpi_id, kpi in catalogue.catalogue().items():
        frame = metrics.kpi_by_geography(demo_db, kpi_id, f)
        for geo in ref.DISTRICT_CODES + (KENT,):
            got = frame[(frame["geography_code"] == geo) & frame["value"].notna()]
            got_years = {p.year for p in got["period"]}
            expected = years
            if kpi.compute.results:   # results to 2024/25, the shipped extract's last
                outcome_years = years - {2025}
                expected = outcome_years - {2019, 2020} if "ks4" not in kpi_id else outcome_years
            if kpi_id == "intensive_support":
                expected = {y for y in years if y >= 2022}
            assert expected <= got_years, (kpi_id, geo, sorted(expected - got_years))


def test_scorecard_line_with_kent_and_england(tiny):
    ln = scorecard.line(tiny, catalogue.get("ks2_rwm_sen_support"), Filters(2023, 2023, (ASHFORD,)))
    assert (ln.fields["value"], ln.fields["kent"], ln.fields["england"], ln.fields["rag"]) == ("25.0%", "23.0%", "24.0%", "Green")


def test_activity_months_zero_filled_for_districts_and_gaps_left_as_gaps(tiny):
    """Worked by hand from ACTIVITY: a month with a referral anywhere gives every district that
    made a tracker return that month a value (0 where it had no referral); a district with no
    record of any kind that month made no return, so its value is unknown (NaN, shown [x]), not
    0; a month with no referral at all is no row (a gap)."""
    f = Filters(2022, 2023)

    def months(geo, **cut):
        periods, values, _ = metrics.selection(tiny, "referrals", f.with_(**cut), "month").arrays(geo)
        return dict(zip(periods, values))
    ashford, swale, kent = months(ASHFORD), months(SWALE), months(KENT)
    assert list(kent) == [dt.date(2022, 10, 1), dt.date(2023, 9, 1), dt.date(2023, 10, 1), dt.date(2023, 11, 1),
                          dt.date(2024, 1, 1)]
    assert (ashford[dt.date(2022, 10, 1)], kent[dt.date(2022, 10, 1)]) == (1, 1)
    assert np.isnan(swale[dt.date(2022, 10, 1)])                  # Swale recorded nothing in Oct 2022
    assert (ashford[dt.date(2023, 9, 1)], swale[dt.date(2023, 9, 1)], kent[dt.date(2023, 9, 1)]) == (1, 3, 4)
    assert ashford[dt.date(2023, 11, 1)] == 1                     # the PD team's referral counts for Ashford
    assert dt.date(2023, 12, 1) not in kent                       # no referral anywhere: a gap
    assert months(ASHFORD, need="SEMH") == {dt.date(2024, 1, 1): 2}
    semh = months(SWALE, need="SEMH")                             # Swale recorded nothing in Jan 2024
    assert list(semh) == [dt.date(2024, 1, 1)] and np.isnan(semh[dt.date(2024, 1, 1)])
    assert months(KENT, phase="early_years") == {dt.date(2023, 9, 1): 3}   # Swale's 3 only




def test_months_not_returned_by_hand(tiny):
    """Worked by hand from ACTIVITY: the tracker spans Oct 2022 to Jul 2024. Ashford recorded
    something in Oct 2022, Sep, Oct, Nov 2023 and Jan 2024; Swale in Sep 2023, Feb and Jul 2024;
    the other ten districts never. Every other district-month of the span made no return."""
    gaps = queries.not_returned(tiny)
    months = pd.date_range("2022-10-01", "2024-07-01", freq="MS").date
    held = {ASHFORD: {dt.date(2022, 10, 1), dt.date(2023, 9, 1), dt.date(2023, 10, 1), dt.date(2023, 11, 1),
                      dt.date(2024, 1, 1)},
            SWALE: {dt.date(2023, 9, 1), dt.date(2024, 2, 1), dt.date(2024, 7, 1)}}
    expected = {(d, m) for d in ref.DISTRICT_CODES for m in months if m not in held.get(d, set())}
    assert set(zip(gaps["district"], gaps["month"])) == expected and len(gaps) == 12 * 22 - 8
    # Ashford's 2023/24 referrals (5) leave out Dec 2023
    # and Feb to Jul 2024; its 2022/23 (1, compared over the same Sep–Jul) every month of the span
    # but Oct 2022 (Nov 2022 to Jul 2023)
    h = compare.headline(tiny, "referrals", Filters(2022, 2023, (ASHFORD,)))
    assert h.year == 2023 and h.value == 5 and h.not_returned == tuple(
        f"Ashford, {m}" for m in ("Dec 2023", "Feb 2024", "Mar 2024", "Apr 2024", "May 2024", "Jun 2024", "Jul 2024"))
    assert h.previous_not_returned == tuple(f"Ashford, {m:%b %Y}" for m in pd.date_range("2022-11-01", "2023-07-01", freq="MS"))
    assert h.incomplete and h.change_incomplete
    row = scorecard.row(tiny, catalogue.get("referrals"), Filters(2022, 2023, (ASHFORD,)))
    assert row["not_returned"].startswith("Ashford, Dec 2023; Ashford, Feb 2024; ")
    assert "Ashford, Nov 2022 (previous period)" in row["not_returned"] and "Aug 2023" not in row["not_returned"]
    # Swale's training (5 sessions, Feb and Jul 2024) leaves out Oct 2023 to Jan 2024 and Mar to Jun 2024
    t = compare.headline(tiny, "training_sessions", Filters(2023, 2023, (SWALE,)))
    assert t.value == 5 and t.not_returned == tuple(
        f"Swale, {m}" for m in ("Oct 2023", "Nov 2023", "Dec 2023", "Jan 2024", "Mar 2024", "Apr 2024", "May 2024", "Jun 2024"))
    # Kent's year counts every district's months: all 12 × 11 (Sep–Jul) but the 7 returns of
    # 2023/24 (Ashford's 4, Swale's 3)
    kent = compare.headline(tiny, "referrals", Filters(2022, 2023))
    assert kent.value == 8 and len(kent.not_returned) == 12 * 11 - 7
    # attainment is not from the tracker: never flagged
    assert compare.headline(tiny, "ks2_rwm_sen_support", Filters(2022, 2023, (SWALE,))).not_returned == ()
    # the monthly series: Swale's months without a return are NaN, its returned months numbers
    periods, values, _ = metrics.selection(tiny, "training_sessions", Filters(2023, 2023), "month").arrays(SWALE)
    assert dict(zip(periods, values)) == {dt.date(2024, 2, 1): 4, dt.date(2024, 7, 1): 1}


def test_several_districts_are_their_components_summed(tiny):
    """Worked by hand: 2023/24 (Sep–Jul) referrals Ashford 5, Swale 3, every other district 0,
    Kent 8; SEN support pupils Ashford 70, Swale 20."""
    both = Filters(2022, 2023, (ASHFORD, SWALE))
    h = compare.headline(tiny, "referrals", both)
    assert (h.value, h.display) == (8, "8")            # Ashford + Swale = Kent: nothing new
    rate = compare.headline(tiny, "referral_rate", both)
    assert rate.value == pytest.approx(100 * 8 / 90)
    # Ashford with a district that had none is Ashford's records: the same cell, the same figure
    dover = "E07000108"
    pair = Filters(2022, 2023, (ASHFORD, dover))
    heads = compare.headlines_by_geography(tiny, "referrals", pair)
    assert (heads[SELECTION].display, heads[ASHFORD].display, heads[KENT].display, heads[SWALE].display) \
        == ("5", "5", "8", "3")
    # the scorecard line for the selection is the same headline
    ln = scorecard.line(tiny, catalogue.get("referrals"), pair)
    assert ln.fields["value"] == "5" and ln.fields["kent"] == "8"


def test_every_compute_kind_is_one_class_with_its_parts_read_once():
    """Each kind in the catalogue's schema is one class with its own finish, and one reader of its parts."""
    import typing

    from stls.kpi import kinds
    classes = set(typing.get_args(typing.get_args(kinds.Compute)[0]))
    assert classes == set(metrics.PARTS)
    assert all("finish" in vars(c) for c in classes)   # each finishes its own value
    assert {type(k.compute) for k in catalogue.catalogue().values()} <= classes


def test_one_census_rule_for_every_per_pupil_figure(demo_db, demo_sql):
    """The demo's census runs to 2024/25 (January 2025, the shipped extract's last); activity into
    2026/27. Referral rate and need alignment for 2026/27 both use the January 2025 census, and say
    so, as does 2025/26; 2024/25 uses its own. Recomputed here from the raw tables."""
    assert catalogue.census_rule().rule == "same_year_else_latest_earlier"
    f = Filters(2016, 2026)
    rate = compare.headline(demo_db, "referral_rate", f)
    from cellkey import value  # counts protected by the cell key method (tests/cellkey.py)
    referrals = value(*demo_sql("SELECT sum(count), sum(record_key) FROM activity WHERE activity_type = 'referral' "
                                "AND activity_date >= '2026-09-01'")[0])
    pupils = value(*demo_sql("SELECT sum(pupils), sum(record_key) FROM sen_pupils WHERE academic_year = 2024 "
                             "AND sen_group = 'sen_support'")[0])
    assert rate.year == 2026 and rate.value == pytest.approx(100 * referrals / pupils)
    assert rate.census_year == 2024 and "January 2025 census" in rate.census_note
    align = compare.headline(demo_db, "need_alignment", f)
    refs = {a: value(n, k) for a, n, k in demo_sql(
        "SELECT need_area, sum(count), sum(record_key) FROM activity WHERE activity_type = 'referral' AND "
        "need_area IS NOT NULL AND activity_date >= '2026-09-01' GROUP BY 1")}
    pups = {a: value(n, k) for a, n, k in demo_sql(
        "SELECT pn.need_area, sum(s.pupils), sum(s.record_key) FROM sen_pupils s JOIN primary_needs pn ON "
        "s.primary_need = pn.code WHERE s.academic_year = 2024 AND s.sen_group IN ('ehc_plan', 'sen_support') "
        "AND pn.need_area IS NOT NULL GROUP BY 1")}
    r, p = sum(refs.values()), sum(pups.values())
    assert align.year == 2026 and align.census_year == 2024
    assert align.value == pytest.approx(50 * sum(abs(refs[a] / r - pups[a] / p) for a in ref.NEED_AREAS))
    assert compare.headline(demo_db, "referral_rate", Filters(2016, 2025)).census_year == 2024
    own = compare.headline(demo_db, "referral_rate", Filters(2016, 2024))
    assert own.year == 2024 and own.census_year is None and own.census_note == ""
    assert compare.headline(demo_db, "referrals", f).census_note == ""   # not per pupil


def test_a_part_year_is_judged_against_a_seasonally_scaled_target(demo_db, demo_sql):
    """The test demo's 2026/27 runs Sep–Oct. Kent's cost per referral is the budget's share for
    the months (2/12) over the months' referrals, so a year's Sep–Oct to full-year ratio is
    2/12 × full-year referrals / Sep–Oct referrals. Recomputed here from the raw activity rows
    for 2023/24 to 2025/26; the target and floor are scaled by the median."""
    def referrals(y, last):
        return demo_sql("SELECT sum(count) FROM activity WHERE activity_type = 'referral' AND activity_date >= ? "
                        "AND activity_date < ?", [dt.date(y, 9, 1), last])[0][0]
    ratios = [2 / 12 * referrals(y, dt.date(y + 1, 9, 1)) / referrals(y, dt.date(y, 11, 1)) for y in (2023, 2024, 2025)]
    ratio = sorted(ratios)[1]
    kpi = catalogue.get("cost_per_referral")
    h = compare.headline(demo_db, "cost_per_referral", Filters(2016, 2026))
    assert h.label == "2026/27 (Sep–Oct)"
    assert h.rag_basis == (f"against the target scaled to Sep–Oct: {kpi.fmt(kpi.target * ratio)}, floor "
                           f"{kpi.fmt(kpi.floor * ratio)} (×{ratio:.2f}, Sep–Oct to full year in 2023/24 to 2025/26)")
    expected = "Green" if h.value <= kpi.target * ratio else "Amber" if h.value <= kpi.floor * ratio else "Red"
    assert h.rag == expected
    # a complete year is judged against the full-year target, with nothing to say about it
    whole = compare.headline(demo_db, "cost_per_referral", Filters(2016, 2025))
    assert whole.rag_basis == "" and whole.rag == compare.rag(kpi, whole.value)
    # a demand indicator has no RAG, part year or not
    assert compare.headline(demo_db, "referrals", Filters(2016, 2026)).rag_basis == ""


def test_a_part_year_of_a_kpi_without_a_seasonal_target_says_it_is_provisional(demo_db):
    h = compare.headline(demo_db, "need_alignment", Filters(2016, 2026))
    assert h.label == "2026/27 (Sep–Oct)" and h.rag_basis == "provisional: Sep–Oct against the full-year target"
    assert h.rag == compare.rag(catalogue.get("need_alignment"), h.value)
