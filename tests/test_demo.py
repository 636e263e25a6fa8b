"""The synthetic demo: deterministic, synthetic districts adding up to the real (published) county."""
import datetime as dt

import pandas as pd
import pytest
from conftest import DEMO_UNTIL
from published_file import census_file, county_file

from stls import reference as ref
from stls.store.demo.build import demo_tables

ENGLAND = ref.ENGLAND_CODE
KENT = ref.KENT_CODE


def _england(sql, measure, group, year):
    rows = sql("SELECT value FROM attainment WHERE geography_code = ? AND measure = ? "
               "AND sen_group = ? AND academic_year = ?", [ENGLAND, measure, group, year])
    return rows[0][0] if rows else None


def test_same_seed_gives_identical_tables():
    until = dt.date(2019, 8, 1)
    a, b = demo_tables(7, 0.2, until), demo_tables(7, 0.2, until)
    for name in a:
        left, right = a[name], b[name]
        if name == "activity":
            assert left.equals(right)
        elif name == "truth":   # the planted answer, JSON
            assert left == right
        else:
            pd.testing.assert_frame_equal(left, right)
    c = demo_tables(8, 0.2, until)
    assert not c["activity"].equals(a["activity"])


def test_scale_multiplies_activity_rows():
    until = dt.date(2018, 8, 1)
    one, four = demo_tables(3, 1, until)["activity"].num_rows, demo_tables(3, 4, until)["activity"].num_rows
    assert 3.8 < four / one < 4.2


DEMO_YEARS = range(2016, 2025)   # 2016/17 to 2024/25: the demo's outcome years, the shipped extract's last


def test_kent_and_england_results_are_the_published_figures(demo_sql):
    published = county_file()
    area = {"Kent": KENT, "England": ENGLAND}
    stored = {(g, m, s, y): v for g, m, s, y, v in demo_sql(
        "SELECT geography_code, measure, sen_group, academic_year, value FROM attainment WHERE geography_code IN (?, ?)",
        [KENT, ENGLAND])}
    checked = 0
    for (name, measure, group, year), value in published.items():
        if year in DEMO_YEARS:
            assert stored[(area[name], measure, group, year)] == pytest.approx(value, abs=1e-9), (name, measure, year)
            checked += 1
    assert checked == 2 * (4 * 7 + 4 * 9 + 3 * 7 + 3 * 7)   # KS2, EYFS, phonics 7 years, KS4 9; EYFS, phonics 3 groups
    # the years without assessments hold nothing, as in the file
    names = {v: k for k, v in area.items()}
    assert not [k for k in stored if k[1] != "ks4_em_grade5" and (names[k[0]], k[1], "sen_support", k[3]) not in published]


def test_the_synthetic_districts_add_up_to_published_kent(demo_sql):
    """Every measure, SEN group and year Kent publishes: the districts' cohort-weighted mean is
    Kent's published figure within rounding (each district is stored to one decimal place)."""
    agg = {(m, s, y): v for m, s, y, v in demo_sql(
        "SELECT measure, sen_group, academic_year, sum(value * cohort) / sum(cohort) FROM attainment "
        "WHERE geography_code LIKE 'E07%' GROUP BY ALL")}
    n = 0
    for (name, measure, group, year), value in county_file().items():
        if name == "Kent" and year in DEMO_YEARS:
            assert agg[(measure, group, year)] == pytest.approx(value, abs=0.05), (measure, group, year)
            n += 1
    assert n == 4 * 7 + 4 * 9 + 3 * 7 + 3 * 7
    census = {(s, y): v for s, y, v in demo_sql(
        "SELECT sen_group, academic_year, 100 * sum(pupils) / any_value(total) FROM sen_pupils JOIN "
        "(SELECT academic_year, sum(pupils) AS total FROM sen_pupils WHERE geography_code LIKE 'E07%' GROUP BY 1) "
        "USING (academic_year) WHERE geography_code LIKE 'E07%' GROUP BY sen_group, academic_year")}
    shares = census_file()
    for code, group in (("SEN_TotStat", "ehc_plan"), ("SEN_TotSENSuP", "sen_support")):
        for year in DEMO_YEARS:
            assert census[(group, year)] == pytest.approx(shares[("Kent", code, year)], abs=0.005), (group, year)
    assert census[("ehc_plan", 2016)] == pytest.approx(3.0, abs=0.005)   # as printed in the file (LAIT '2017')


def test_no_ks2_phonics_or_eyfs_results_in_pandemic_years(demo_sql):
    for measure in ("ks2_rwm_expected", "phonics_y1", "eyfs_gld"):
        rows = demo_sql("SELECT count(*) FROM attainment WHERE measure = ? AND academic_year IN (2019, 2020)", [measure])
        assert rows[0][0] == 0
    assert demo_sql("SELECT count(*) FROM attainment WHERE measure = 'ks4_attainment8' AND academic_year = 2020")[0][0] > 0


def test_every_geography_has_every_measure_and_group(demo_sql):
    rows = demo_sql("SELECT count(DISTINCT geography_code), count(DISTINCT measure), count(DISTINCT sen_group) "
                    "FROM attainment")
    assert rows[0] == (14, 5, 5)


def test_kent_magnitudes(demo_sql):
    ehc = dict(demo_sql("SELECT academic_year, sum(pupils) FROM sen_pupils WHERE sen_group = 'ehc_plan' GROUP BY 1"))
    assert 14_000 <= ehc[2024] <= 16_000   # 5.8% of about 258,000 pupils in the census
    assert all(ehc[y] < ehc[y + 1] for y in range(2016, 2024)), "EHC plans grow every year"
    settings = dict(demo_sql("SELECT phase = 'early_years', count(*) FROM settings GROUP BY 1"))
    assert 550 <= settings[False] <= 650 and 550 <= settings[True] <= 650
    budget = demo_sql("SELECT financial_year, sum(allocation_gbp), count(*) FROM budget GROUP BY 1")
    assert all(total == pytest.approx(7_800_000, abs=1) and n == 14 for _, total, n in budget)


def test_activity_shape(demo_sql):
    assert demo_sql("SELECT min(activity_date), max(activity_date) FROM activity")[0][0] >= dt.date(2016, 9, 1)
    assert demo_sql("SELECT max(activity_date) FROM activity")[0][0] < DEMO_UNTIL.replace(month=11)
    assert demo_sql("SELECT count(DISTINCT district_code), count(DISTINCT service_code), "
                    "count(DISTINCT activity_type), count(DISTINCT need_area), count(DISTINCT phase) FROM activity")[0] \
        == (12, 14, 7, 4, 4)
    early = demo_sql("SELECT count(*) FROM activity WHERE activity_type IN ('drop_in', 'intensive_support') "
                     "AND activity_date < DATE '2022-09-01'")[0][0]
    assert early == 0
    by_month = dict(demo_sql("SELECT month(activity_date), sum(count) FROM activity "
                             "WHERE activity_date BETWEEN '2023-09-01' AND '2024-08-31' GROUP BY 1"))
    assert by_month[8] < 0.1 * by_month[10], "August is near zero"
    spring = lambda y: demo_sql("SELECT sum(count) FROM activity WHERE activity_date BETWEEN ? AND ?",
                                [dt.date(y, 4, 1), dt.date(y, 7, 31)])[0][0]
    assert spring(2020) < 0.6 * spring(2019)
    dates = demo_sql("SELECT count(*) FROM activity WHERE dayofweek(activity_date) IN (0, 6)")[0][0]
    assert dates == 0, "no weekend activity"


def _activity_growth(sql, district):
    rows = dict(sql("SELECT CASE WHEN month(activity_date) >= 9 THEN year(activity_date) ELSE year(activity_date) - 1 END, "
                    "sum(count) FROM activity WHERE district_code = ? GROUP BY 1", [district]))
    return rows[2024] / rows[2017]


def _ks2_change(sql, district):
    rows = dict(sql("SELECT academic_year, value FROM attainment WHERE geography_code = ? AND "
                    "measure = 'ks2_rwm_expected' AND sen_group = 'sen_support'", [district]))
    kent = dict(sql("SELECT academic_year, value FROM attainment WHERE geography_code = ? AND "
                    "measure = 'ks2_rwm_expected' AND sen_group = 'sen_support'", [KENT]))
    rel = {y: rows[y] - kent[y] for y in rows}
    return (rel[2022] + rel[2023] + rel[2024]) / 3 - (rel[2016] + rel[2017] + rel[2018]) / 3


def test_district_stories(demo_sql):
    """Disconnect: activity up, outcomes no better against the (real) county; both rise; one
    district where activity falls. KS2 SEN support changes are against Kent, 2016/17–2018/19 to
    2022/23–2024/25, with district cohorts of a few hundred (so a few points of noise)."""
    disconnect = ("E07000107", "E07000109", "E07000113", "E07000114")   # Dartford, Gravesham, Swale, Thanet
    both_rise = ("E07000105", "E07000106", "E07000110", "E07000116")    # Ashford, Canterbury, Maidstone, Tunbridge Wells
    sevenoaks = "E07000111"
    for d in disconnect:
        assert _activity_growth(demo_sql, d) > 1.4
        assert _ks2_change(demo_sql, d) < 3
    assert sum(_ks2_change(demo_sql, d) for d in disconnect) < 0
    for d in both_rise:
        assert _activity_growth(demo_sql, d) > 1.3
        assert _ks2_change(demo_sql, d) > 3
    assert _activity_growth(demo_sql, sevenoaks) < 0.8
