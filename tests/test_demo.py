"""The synthetic demo: deterministic, calibrated to England's published figures, realistic."""
import datetime as dt

import pandas as pd
import pytest

from stls import reference as ref
from stls.demo.build import demo_tables

from conftest import DEMO_UNTIL

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
        else:
            pd.testing.assert_frame_equal(left, right)
    c = demo_tables(8, 0.2, until)
    assert not c["activity"].equals(a["activity"])


def test_scale_multiplies_activity_rows():
    until = dt.date(2018, 8, 1)
    one, four = demo_tables(3, 1, until)["activity"].num_rows, demo_tables(3, 4, until)["activity"].num_rows
    assert 3.8 < four / one < 4.2


@pytest.mark.parametrize("group,values", [
    ("ehc_plan", (13.7, 15.2, 15.7, 14.3, 14.0)),
    ("sen_support", (32.6, 36.4, 36.7, 34.9, 33.3)),
    ("all_pupils", (46.7, 50.2, 50.9, 48.8, 46.3)),
])
def test_england_attainment8_matches_published(demo_sql, group, values):
    for year, expected in zip(range(2018, 2023), values):
        assert _england(demo_sql, "ks4_attainment8", group, year) == pytest.approx(expected, abs=0.05)


@pytest.mark.parametrize("measure,group,year,expected,tol", [
    ("ks2_rwm_expected", "all_sen", 2018, 22, 1.0),
    ("ks2_rwm_expected", "all_sen", 2021, 18, 1.0),
    ("ks2_rwm_expected", "no_sen", 2018, 74, 1.0),
    ("ks2_rwm_expected", "no_sen", 2021, 69, 1.0),
    ("ks2_rwm_expected", "all_pupils", 2021, 59, 0.05),
    ("ks2_rwm_expected", "all_pupils", 2022, 59, 0.05),
    ("phonics_y1", "ehc_plan", 2022, 20, 0.05),
    ("phonics_y1", "sen_support", 2022, 48, 0.05),
    ("phonics_y1", "sen_support", 2023, 52, 0.05),
    ("eyfs_gld", "sen_support", 2018, 29, 0.05),
    ("eyfs_gld", "ehc_plan", 2018, 5, 0.05),
])
def test_england_levels_match_published(demo_sql, measure, group, year, expected, tol):
    assert _england(demo_sql, measure, group, year) == pytest.approx(expected, abs=tol)


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
    assert 19_000 <= ehc[2024] <= 21_000
    assert all(ehc[y] < ehc[y + 1] for y in range(2016, 2025)), "EHC plans grow every year"
    totals = dict(demo_sql("SELECT academic_year, sum(pupils) FILTER (sen_group = 'sen_support') / sum(pupils) "
                           "FROM sen_pupils GROUP BY 1"))
    assert all(0.11 <= share <= 0.13 for share in totals.values())
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
    eng = dict(sql("SELECT academic_year, value FROM attainment WHERE geography_code = ? AND "
                   "measure = 'ks2_rwm_expected' AND sen_group = 'sen_support'", [ENGLAND]))
    rel = {y: rows[y] - eng[y] for y in rows}
    return (rel[2023] + rel[2024] + rel[2025]) / 3 - (rel[2016] + rel[2017] + rel[2018]) / 3


def test_district_stories(demo_sql):
    """Disconnect: activity up, outcomes flat; both rise; one district where activity falls."""
    swale, thanet, maidstone, tunbridge_wells, sevenoaks = "E07000113", "E07000114", "E07000110", "E07000116", "E07000111"
    for d in (swale, thanet):
        assert _activity_growth(demo_sql, d) > 1.4
        assert abs(_ks2_change(demo_sql, d)) < 4
    for d in (maidstone, tunbridge_wells):
        assert _activity_growth(demo_sql, d) > 1.3
        assert _ks2_change(demo_sql, d) > 3
    assert _activity_growth(demo_sql, sevenoaks) < 0.8
