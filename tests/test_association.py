"""Activity versus outcome: correlations against scipy, and the analysis on the demo."""
import math

import numpy as np
import pytest
from scipy import stats

from stls import association as assoc
from stls.filters import Filters


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_correlations_match_scipy(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=12)
    y = 0.5 * x + rng.normal(size=12)
    p = assoc.correlation(x, y)
    ref_p = stats.pearsonr(x, y)
    assert p.r == pytest.approx(ref_p.statistic) and p.p == pytest.approx(ref_p.pvalue)
    ci = ref_p.confidence_interval(0.95)
    assert (p.low, p.high) == pytest.approx((ci.low, ci.high), abs=1e-6)
    s = assoc.correlation(x, y, rank=True)
    ref_s = stats.spearmanr(x, y)
    assert s.r == pytest.approx(ref_s.statistic) and s.p == pytest.approx(ref_s.pvalue)
    se = math.sqrt(1.06 / 9)
    assert s.low == pytest.approx(math.tanh(math.atanh(s.r) - 1.959964 * se))


def test_too_few_points_gives_no_correlation():
    assert assoc.correlation(np.array([1.0, 2, 3]), np.array([2.0, 1, 3])) is None
    assert assoc.correlation(np.ones(6), np.arange(6.0)) is None


def test_same_year_view_against_direct_sql(demo_db, demo_sql):
    res = assoc.analyse(demo_db, assoc.Options(view="same_year", year=2023, outcome="value"), Filters(2016, 2025))
    types = list(assoc.Options().activity_types)
    for code in ("E07000113", "E07000116"):
        n = demo_sql("SELECT sum(count) FROM activity WHERE district_code = ? AND activity_type IN (SELECT unnest(?)) "
                     "AND activity_date BETWEEN '2023-09-01' AND '2024-08-31'", [code, types])[0][0]
        pupils = demo_sql("SELECT sum(pupils) FROM sen_pupils WHERE geography_code = ? AND academic_year = 2023 "
                          "AND sen_group = 'sen_support'", [code])[0][0]
        value = demo_sql("SELECT value FROM attainment WHERE geography_code = ? AND academic_year = 2023 AND "
                         "measure = 'ks2_rwm_expected' AND sen_group = 'sen_support'", [code])[0][0]
        point = res.points.set_index("geography_code").loc[code]
        assert point["x"] == pytest.approx(100 * n / pupils) and point["y"] == pytest.approx(value)
    r = stats.pearsonr(res.points["x"], res.points["y"]).statistic
    assert res.n == 12 and res.pearson.r == pytest.approx(r)
    slope, intercept = np.polyfit(res.points["x"], res.points["y"], 1)
    assert res.slope == pytest.approx(slope) and res.intercept == pytest.approx(intercept)


def test_change_view_flags_the_disconnect_districts(demo_db):
    res = assoc.analyse(demo_db, assoc.Options(view="change"), Filters(2016, 2025))
    assert res.period == "2016/17 to 2025/26"
    for name in ("Swale", "Thanet", "Gravesham"):
        assert name in res.flagged
    for name in ("Maidstone", "Tunbridge Wells", "Sevenoaks"):
        assert name not in res.flagged
    assert "association, not cause" in res.finding and "12 districts" in res.finding
    for banned in ("causes", "caused", "led to", "resulted in", "because of"):
        assert banned not in res.finding.lower()


def test_lag_view_uses_previous_year_activity(demo_db):
    lag = assoc.analyse(demo_db, assoc.Options(view="lag", year=2023, outcome="value"), Filters(2016, 2025))
    prev = assoc.analyse(demo_db, assoc.Options(view="same_year", year=2022, outcome="value"), Filters(2016, 2025))
    assert lag.points["x"].tolist() == pytest.approx(prev.points["x"].tolist())
    assert "activity in 2022/23" in lag.period


def test_gap_outcome_and_no_data_years(demo_db):
    res = assoc.analyse(demo_db, assoc.Options(outcome="gap", year=2023), Filters(2016, 2025))
    assert res.y_label.startswith("Gap to no SEN") and res.n == 12
    none = assoc.analyse(demo_db, assoc.Options(), Filters(2019, 2020))  # no KS2 in either year
    assert none.n == 0 and none.pearson is None and "Too few districts" in none.finding
