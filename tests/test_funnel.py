"""Funnel limits: the normal approximation by hand, and close to exact binomial limits."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from stls import funnel


def test_limits_by_hand():
    # p0 = 0.25, n = 100: se = sqrt(0.25 × 0.75 / 100) = 0.0433013
    lim = funnel.limits(0.25, [100])
    se = math.sqrt(0.25 * 0.75 / 100)
    assert lim["upper_95"][0] == pytest.approx(0.25 + 1.959964 * se)
    assert lim["lower_998"][0] == pytest.approx(0.25 - 3.090232 * se)


@pytest.mark.parametrize("n", [200, 500, 2000])
def test_close_to_exact_binomial_for_district_sized_cohorts(n):
    lim = funnel.limits(0.25, [n])
    for name, q in (("lower_95", 0.025), ("upper_95", 0.975), ("lower_998", 0.001), ("upper_998", 0.999)):
        exact = stats.binom.ppf(q, n, 0.25) / n
        assert lim[name][0] == pytest.approx(exact, abs=1.5 / n + 0.004)


def test_positions_and_names_outside():
    points = pd.DataFrame({
        "geography_code": ["A", "B", "C", "D"], "name": ["Alpha", "Beta", "Gamma", "Delta"],
        "cohort": [400, 400, 400, 400], "value": [25.0, 32.0, 15.0, 29.5]})
    f = funnel.funnel(points, 25.0)
    se = 100 * math.sqrt(0.25 * 0.75 / 400)  # 2.165 points
    assert f.points.set_index("name")["upper_998"]["Alpha"] == pytest.approx(25 + 3.090232 * se)
    assert dict(zip(f.points["name"], f.points["position"])) == {
        "Alpha": "within limits", "Beta": "above 99.8% limit", "Gamma": "below 99.8% limit",
        "Delta": "above 95% limit"}
    assert f.outside() == ["Beta", "Gamma"] and f.outside("95%") == ["Beta", "Gamma", "Delta"]
    assert np.all(np.diff(f.curve["upper_95"]) <= 1e-12), "the funnel narrows as cohorts grow"


def test_district_funnel_from_the_demo(demo_db, demo_sql):
    f = funnel.district_funnel(demo_db, "ks2_rwm_expected", "sen_support", 2023)
    kent = demo_sql("SELECT value FROM attainment WHERE geography_code = 'E10000016' AND academic_year = 2023 "
                    "AND measure = 'ks2_rwm_expected' AND sen_group = 'sen_support'")[0][0]
    assert f.kent == kent and len(f.points) == 12
    row = f.points.iloc[0]
    p0 = kent / 100
    assert row["upper_95"] == pytest.approx(100 * (p0 + 1.959964 * math.sqrt(p0 * (1 - p0) / row["cohort"])))
