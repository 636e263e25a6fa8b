"""The synthetic demo: deterministic, synthetic districts adding up to the real (published) county."""
import csv
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from stls import reference as ref
from stls.demo.build import demo_tables

from conftest import DEMO_UNTIL

ENGLAND = ref.ENGLAND_CODE
KENT = ref.KENT_CODE
PUBLISHED = Path(__file__).resolve().parent.parent / "data" / "published" / "lait_send_outcomes_kent_england_sn.csv"


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


def _published_file() -> dict[tuple, float]:
    """Kent's and England's figures read straight from the shipped LAIT file with the csv module:
    (geography, LAIT code, academic year) → value, a final figure preferred to a provisional one."""
    gss = {"886": KENT, "970": ENGLAND}
    out: dict[tuple, float] = {}
    with open(PUBLISHED, encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["value"].strip() and r["old_la_code"].split(".")[0] in gss]
    for r in sorted(rows, key=lambda r: not r["lait_year_label"].endswith("(prov)")):   # finals last, so they win
        out[(gss[r["old_la_code"].split(".")[0]], r["lait_measure_code"], int(r["lait_year_label"][:4]) - 1)] = float(r["value"])
    return out


# LAIT code → (measure, SEN group), written out here rather than imported
OUTCOME_CODES = {
    "KS2RWM_Expected_STD": ("ks2_rwm_expected", "all_pupils"), "NEW_KS2_RWM_Sen_W/Osta": ("ks2_rwm_expected", "sen_support"),
    "NEW_KS2_RWM_Sen_Withsta": ("ks2_rwm_expected", "ehc_plan"), "NoID_SEN_NEW_KS2_RWM": ("ks2_rwm_expected", "no_sen"),
    "AVG_Attain8_Score": ("ks4_attainment8", "all_pupils"), "SEN_Stat_AVG_Attain8_Score": ("ks4_attainment8", "ehc_plan"),
    "SEN_WoStat_AVG_Attain8_Score": ("ks4_attainment8", "sen_support"),
    "SEN_NoID_AVG_Attain8_Score": ("ks4_attainment8", "no_sen"),
    "FSP_NEW_GOODDEV": ("eyfs_gld", "all_pupils"), "FSP_Gooddev_With_SENSTATE": ("eyfs_gld", "ehc_plan"),
    "FSP_Gooddev_Without_SENSTATE": ("eyfs_gld", "sen_support"),
    "KS1P_EHCP": ("phonics_y1", "ehc_plan"), "KS1P_SEND": ("phonics_y1", "sen_support"), "KS1P_NonSEND": ("phonics_y1", "no_sen"),
}
DEMO_YEARS = range(2016, 2025)   # 2016/17 to 2024/25: the demo's outcome years, the shipped extract's last


def test_kent_and_england_results_are_the_published_figures(demo_sql):
    published = _published_file()
    stored = {(g, m, s, y): v for g, m, s, y, v in demo_sql(
        "SELECT geography_code, measure, sen_group, academic_year, value FROM attainment WHERE geography_code IN (?, ?)",
        [KENT, ENGLAND])}
    checked = 0
    for (geo, code, year), value in published.items():
        if code in OUTCOME_CODES and year in DEMO_YEARS:
            measure, group = OUTCOME_CODES[code]
            assert stored[(geo, measure, group, year)] == pytest.approx(value, abs=1e-9), (geo, code, year)
            checked += 1
    assert checked == 2 * (4 * 7 + 4 * 9 + 3 * 7 + 3 * 7)   # KS2, EYFS, phonics 7 years, KS4 9; EYFS, phonics 3 groups
    # the years without assessments hold nothing, as in the file
    assert not [k for k in stored if k[1] != "ks4_em_grade5" and (k[0], next(
        c for c, mg in OUTCOME_CODES.items() if mg == (k[1], "sen_support")), k[3]) not in published]


def test_the_synthetic_districts_add_up_to_published_kent(demo_sql):
    """Every measure, SEN group and year Kent publishes: the districts' cohort-weighted mean is
    Kent's published figure within rounding (each district is stored to one decimal place)."""
    published = _published_file()
    agg = {(m, s, y): v for m, s, y, v in demo_sql(
        "SELECT measure, sen_group, academic_year, sum(value * cohort) / sum(cohort) FROM attainment "
        "WHERE geography_code LIKE 'E07%' GROUP BY ALL")}
    n = 0
    for (geo, code, year), value in published.items():
        if geo == KENT and code in OUTCOME_CODES and year in DEMO_YEARS:
            assert agg[(*OUTCOME_CODES[code], year)] == pytest.approx(value, abs=0.05), (code, year)
            n += 1
    assert n == 4 * 7 + 4 * 9 + 3 * 7 + 3 * 7
    census = {(s, y): v for s, y, v in demo_sql(
        "SELECT sen_group, academic_year, 100 * sum(pupils) / any_value(total) FROM sen_pupils JOIN "
        "(SELECT academic_year, sum(pupils) AS total FROM sen_pupils WHERE geography_code LIKE 'E07%' GROUP BY 1) "
        "USING (academic_year) WHERE geography_code LIKE 'E07%' GROUP BY sen_group, academic_year")}
    for code, group in (("SEN_TotStat", "ehc_plan"), ("SEN_TotSENSuP", "sen_support")):
        for year in DEMO_YEARS:
            assert census[(group, year)] == pytest.approx(published[(KENT, code, year)], abs=0.005), (group, year)
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
