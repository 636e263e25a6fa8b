"""Funnel limits: exact binomial (Spiegelhalter's interpolation) against SciPy; a mean score's
limits from the pupils' standard deviation, in points."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from stls import catalogue, funnel


def spiegelhalter(alpha: float, n: int, p0: float) -> float:
    """Appendix A.1.1 of Spiegelhalter (2005), with SciPy's binomial: r = the alpha-quantile,
    ρ = (F(r) − α)/(F(r) − F(r − 1)), limit (r − ρ)/n."""
    r = stats.binom.ppf(alpha, n, p0)
    f_r, f_prev = stats.binom.cdf(r, n, p0), stats.binom.cdf(r - 1, n, p0)
    return (r - (f_r - alpha) / (f_r - f_prev)) / n


@pytest.mark.parametrize("n", [5, 31, 200, 500, 2000])
@pytest.mark.parametrize("p0", [0.04, 0.25, 0.6])
def test_exact_binomial_limits_match_scipy(n, p0):
    lim = funnel.limits(100 * p0, [n])
    for name, alpha in funnel.TAILS.items():
        assert lim[name][0] == pytest.approx(100 * min(max(spiegelhalter(alpha, n, p0), 0), 1), abs=1e-9), name


def test_binomial_cdf_matches_scipy():
    for n, p in ((10, 0.3), (250, 0.22), (1000, 0.07)):
        for r in (0, 1, n // 5, n // 2, n - 1, n):
            assert funnel.binomial_cdf(r, n, p) == pytest.approx(stats.binom.cdf(r, n, p), rel=1e-10, abs=1e-300)


def test_a_mean_scores_limits_come_from_the_pupils_spread_in_points():
    sd = catalogue.measure("ks4_attainment8").pupil_sd
    assert sd == 18.0
    lim = funnel.limits(33.0, [100, 400], sd)
    assert lim["upper_95"] == pytest.approx([33 + 1.959964 * 18 / 10, 33 + 1.959964 * 18 / 20])
    assert lim["lower_998"] == pytest.approx([33 - 3.090232 * 18 / 10, 33 - 3.090232 * 18 / 20])


def test_positions_and_names_outside():
    points = pd.DataFrame({
        "geography_code": ["A", "B", "C", "D"], "name": ["Alpha", "Beta", "Gamma", "Delta"],
        "cohort": [400, 400, 400, 400], "value": [25.0, 32.0, 15.0, 29.5]})
    f = funnel.funnel(points, 25.0)
    assert f.points.set_index("name")["upper_998"]["Alpha"] == pytest.approx(100 * spiegelhalter(0.999, 400, 0.25))
    assert dict(zip(f.points["name"], f.points["position"])) == {
        "Alpha": "within limits", "Beta": "above 99.8% limit", "Gamma": "below 99.8% limit",
        "Delta": "above 95% limit"}
    assert f.outside() == ["Beta", "Gamma"] and f.outside("95%") == ["Beta", "Gamma", "Delta"]
    widths = f.curve["upper_998"] - f.curve["lower_998"]
    assert widths.iloc[-1] < widths.iloc[0], "the funnel narrows as cohorts grow"


def test_district_funnel_from_the_demo(demo_db, demo_sql):
    f = funnel.district_funnel(demo_db, "ks2_rwm_expected", "sen_support", 2023)
    kent = demo_sql("SELECT value FROM attainment WHERE geography_code = 'E10000016' AND academic_year = 2023 "
                    "AND measure = 'ks2_rwm_expected' AND sen_group = 'sen_support'")[0][0]
    assert f.kent == kent and len(f.points) == 12 and f.unit == "percent"
    for _, row in f.points.iterrows():
        assert row["upper_95"] == pytest.approx(100 * spiegelhalter(0.975, int(row["cohort"]), kent / 100))
    assert "exact binomial" in f.method


@pytest.mark.parametrize("year", [2016, 2022, 2024])
def test_attainment8_funnel_is_in_points_and_its_sentence_is_true(demo_db, demo_sql, year):
    """Before: the mean went through the proportion formula and was labelled %. Now: limits from
    σ = 18 points, and the title's 'every district lies within …' holds for the limits drawn."""
    from stls.views import district
    chart = district.funnel_view(demo_db, None, "ks4_attainment8", "sen_support", year)
    rows = demo_sql("SELECT geography_code::VARCHAR, cohort, value FROM attainment WHERE academic_year = ? AND "
                    "measure = 'ks4_attainment8' AND sen_group = 'sen_support'", [year])
    kent = next(v for g, _, v in rows if g == "E10000016")
    outside = []
    for g, n, v in rows:
        if g.startswith("E07"):
            half = 3.090232 * 18 / math.sqrt(n)
            if not kent - half <= v <= kent + half:
                outside.append(g)
    table = chart.table
    assert all(v.endswith(" points") for v in table["Value"]) and not any("%" in v for v in table["99.8% limits"])
    assert ("Every district lies within" in chart.title) == (not outside)
    assert "σ = 18 points" in chart.caption
    kent_label = [a["text"] for a in chart.figure["layout"]["annotations"] if a["text"].startswith("Kent ")]
    assert kent_label == [f"Kent {kent:.1f} points"]
    trace = [t for t in chart.figure["data"] if t.get("name") == "Districts"][0]
    assert "%{y:.1f} points" in trace["hovertemplate"]
    # the drawn 99.8% curve is the same formula as the positions: kent ± 3.09 × 18 / sqrt(n)
    upper = next(t for t in chart.figure["data"] if t.get("name") == "99.8% limits")
    expected = [kent + 3.090232 * 18 / math.sqrt(n) for n in upper["x"]]
    assert upper["y"] == pytest.approx(expected)


@pytest.mark.parametrize("year", [2017, 2023, 2024])
def test_percentage_funnel_title_is_true_for_the_exact_limits(demo_db, demo_sql, year):
    from stls.views import district
    chart = district.funnel_view(demo_db, None, "ks2_rwm_expected", "sen_support", year)
    rows = demo_sql("SELECT geography_code::VARCHAR, cohort, value FROM attainment WHERE academic_year = ? AND "
                    "measure = 'ks2_rwm_expected' AND sen_group = 'sen_support'", [year])
    kent = next(v for g, _, v in rows if g == "E10000016") / 100
    names = dict(demo_sql("SELECT code::VARCHAR, name FROM districts"))
    outside = sorted(names[g] for g, n, v in rows if g.startswith("E07") and not
                     100 * spiegelhalter(0.001, n, kent) <= v <= 100 * spiegelhalter(0.999, n, kent))
    if outside:
        assert all(name in chart.title for name in outside) and "outside Kent's 99.8% limits" in chart.title
    else:
        assert chart.title.startswith("Every district lies within")


@pytest.mark.parametrize("code", ["E07000113", "E07000105", "E07000107"])
def test_profile_funnel_title_leads_with_the_profiled_district(demo_db, code):
    """On a district's profile the funnel's finding is that district's (it named only the
    districts outside the limits, which read as the profiled district's finding)."""
    from stls import reference as ref
    from stls.views import district
    chart = district.funnel_view(demo_db, code, "ks2_rwm_expected", "sen_support", 2023)
    name = ref.DISTRICT_NAMES[code]
    assert chart.title.startswith(name), chart.title
    position = chart.table.set_index("District").loc[name, "Position"]
    expected = {"within limits": "within Kent's 95% limits", "above 95% limit": "above Kent's 95% limits",
                "below 95% limit": "below Kent's 95% limits", "above 99.8% limit": "above Kent's 99.8% limits",
                "below 99.8% limit": "below Kent's 99.8% limits", "[c]": "too few pupils"}[position]
    assert expected in chart.title.split(";")[0], (position, chart.title)
    others = chart.table[chart.table["Position"].isin(["above 99.8% limit", "below 99.8% limit"])
                         & (chart.table["District"] != name)]["District"]
    assert all(o in chart.title for o in others)
