"""Funnel limits: exact binomial (Spiegelhalter's interpolation) against SciPy; a mean score's
limits from the pupils' standard deviation, in points."""
import math

import numpy as np
import pandas as pd
import pytest
from cellkey import value  # the cell key method written again (tests/cellkey.py): cohorts are protected
from scipy import stats

from stls.analysis import funnel
from stls.kpi import catalogue


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


def _rows(demo_sql, measure: str, year: int) -> list[tuple[str, float, float]]:
    """(geography code, protected cohort, value) for SEN support, from the raw table."""
    return [(g, value(n, k) if g.startswith("E07") else n, v) for g, n, k, v in demo_sql(
        "SELECT geography_code::VARCHAR, cohort, record_key, value FROM attainment WHERE academic_year = ? AND "
        "measure = ? AND sen_group = 'sen_support'", [year, measure])]


@pytest.mark.parametrize("year", [2017, 2023])
def test_district_funnel_from_the_demo(demo_db, demo_sql, year):
    """2017/18: the districts vary like sampling, so the exact binomial limits are drawn; 2023/24:
    over-dispersed, so the limits drawn are widened, and the exact ones kept as the sampling-only positions."""
    f = funnel.district_funnel(demo_db, "ks2_rwm_expected", "sen_support", year)
    rows = _rows(demo_sql, "ks2_rwm_expected", year)
    kent = next(v for g, _, v in rows if g == "E10000016")
    assert f.kent == kent and len(f.points) == 12 and f.unit == "percent"
    districts = [(g, n, v) for g, n, v in rows if g.startswith("E07")]
    s = [100 * math.sqrt(kent / 100 * (1 - kent / 100) / n) for _, n, _ in districts]
    phi, p, tau2 = _overdispersion_by_scipy([v for *_, v in districts], s, kent)
    assert f.dispersion.phi == pytest.approx(phi) and f.dispersion.p == pytest.approx(p)
    assert f.widened == (p < 0.05) == (year == 2023)
    points = f.points.set_index("geography_code")
    for (g, n, v), se in zip(districts, s):
        exact = {a: 100 * spiegelhalter(a, int(n), kent / 100) for a in (0.001, 0.025, 0.975, 0.999)}
        assert (points.loc[g, "position_sampling"] == "within limits") == (exact[0.025] <= v <= exact[0.975])
        assert points.loc[g, "upper_95"] == pytest.approx(kent + 1.959964 * math.sqrt(se ** 2 + tau2) if f.widened
                                                          else exact[0.975])
    assert "exact binomial" in f.method


@pytest.mark.parametrize("year", [2016, 2022, 2024])
def test_attainment8_funnel_is_in_points_and_its_sentence_is_true(demo_db, demo_sql, year):
    """Before: the mean went through the proportion formula and was labelled %. Now: limits from
    σ = 18 points, and the title's 'every district lies within …' holds for the limits drawn."""
    from stls.present.views import district
    chart = district.funnel_view(demo_db, None, "ks4_attainment8", "sen_support", year)
    rows = _rows(demo_sql, "ks4_attainment8", year)
    kent = next(v for g, _, v in rows if g == "E10000016")
    districts = [(g, n, v) for g, n, v in rows if g.startswith("E07")]
    phi, p, tau2 = _overdispersion_by_scipy([v for *_, v in districts], [18 / math.sqrt(n) for _, n, _ in districts], kent)
    tau2 = tau2 if p < 0.05 else 0.0   # widened only when over-dispersed
    outside = []
    for g, n, v in districts:
        half = 3.090232 * math.sqrt(18 ** 2 / n + tau2)
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
    # the drawn 99.8% curve is the same formula as the positions: kent ± 3.09 × sqrt(18² / n + τ²)
    upper = next(t for t in chart.figure["data"] if t.get("name") == "99.8% limits")
    expected = [kent + 3.090232 * math.sqrt(18 ** 2 / n + tau2) for n in upper["x"]]
    assert ("widened for the spread between districts" in chart.title) == (p < 0.05)
    assert upper["y"] == pytest.approx(expected)


def _overdispersion_by_scipy(y, s, target):
    """Spiegelhalter's test written again: z-scores winsorised at pandas' 10% and 90% quantiles,
    φ̂ their mean square, p from SciPy's χ²(n − 1), τ² the DerSimonian–Laird form."""
    z = pd.Series((np.asarray(y) - target) / np.asarray(s))
    zw = z.clip(z.quantile(0.1), z.quantile(0.9))
    n, phi = len(z), float((zw ** 2).mean())
    w = 1 / np.asarray(s) ** 2
    tau2 = max(0.0, (n * phi - (n - 1)) / (w.sum() - (w ** 2).sum() / w.sum()))
    return phi, stats.chi2.sf(n * phi, n - 1), tau2


@pytest.mark.parametrize("year", [2017, 2023, 2024])
def test_percentage_funnel_title_is_true_for_the_limits_drawn(demo_db, demo_sql, year):
    """Exact binomial limits when the districts vary no more than sampling; otherwise limits widened
    by the random effect (Kent ± 3.09·sqrt(s² + τ²)), recomputed here from the stored rows."""
    from stls.present.views import district
    chart = district.funnel_view(demo_db, None, "ks2_rwm_expected", "sen_support", year)
    rows = _rows(demo_sql, "ks2_rwm_expected", year)
    kent = next(v for g, _, v in rows if g == "E10000016") / 100
    names = dict(demo_sql("SELECT code::VARCHAR, name FROM districts"))
    rows = [(g, n, v) for g, n, v in rows if g.startswith("E07")]
    s = [100 * math.sqrt(kent * (1 - kent) / n) for _, n, _ in rows]
    phi, p, tau2 = _overdispersion_by_scipy([v for *_, v in rows], s, 100 * kent)
    exact = sorted(names[g] for g, n, v in rows
                   if not 100 * spiegelhalter(0.001, n, kent) <= v <= 100 * spiegelhalter(0.999, n, kent))
    widened = sorted(names[g] for (g, n, v), se in zip(rows, s)
                     if abs(v - 100 * kent) > 3.090232 * math.sqrt(se ** 2 + tau2))
    outside = widened if p < 0.05 else exact
    if outside:
        assert all(name in chart.title for name in outside) and "outside Kent's 99.8% limits" in chart.title
    else:
        assert chart.title.startswith("Every district lies within")
    assert ("widened for the spread between districts" in chart.title) == (p < 0.05)
    assert f"φ̂ = {phi:.2f}" in chart.caption
    if p < 0.05:
        assert f"τ = {math.sqrt(tau2):.1f} percentage points" in chart.caption
        assert f"outside the 99.8% limits: {len(exact) or 'no'} district" in chart.caption.lower()
        assert f"{len(widened) or 'no'} district{'s' if len(widened) != 1 else ''}" \
            f"{' (' + ', '.join(widened) + ')' if widened else ''} after widening" in chart.caption
    else:
        assert "limits allow for sampling alone" in chart.caption


def test_overdispersion_by_hand():
    """Five districts, σ = 10 points, cohorts 100, 25, 100, 400, 100 (s = 1, 2, 1, 0.5, 1) around
    a target of 50, scores chosen so z = −3, −1, 0, 2, 6. Winsorised at the 10th percentile
    (−3 + 0.4 × 2 = −2.2) and the 90th (2 + 0.6 × 4 = 4.4): −2.2, −1, 0, 2, 4.4, squares summing
    to 29.2, φ̂ = 5.84. p = P(χ²₄ ≥ 29.2) = e^(−14.6)(1 + 14.6). w = 1, 0.25, 1, 4, 1: Σw = 7.25,
    Σw² = 19.0625, Σw − Σw²/Σw = 134/29; τ² = (29.2 − 4) × 29/134 = 730.8/134."""
    cohorts = np.array([100, 25, 100, 400, 100])
    se = funnel.standard_errors(50.0, cohorts, 10.0)
    assert se == pytest.approx([1, 2, 1, 0.5, 1])
    values = [47, 48, 50, 51, 56]
    assert funnel.winsorised((np.array(values) - 50) / se) == pytest.approx([-2.2, -1, 0, 2, 4.4])
    d = funnel.overdispersion(values, se, 50.0)
    assert d.n == 5 and d.phi == pytest.approx(5.84)
    assert d.p == pytest.approx(math.exp(-14.6) * 15.6) and d.over
    assert d.tau2 == pytest.approx(730.8 / 134)
    # widened limits: 50 ± z·sqrt(s² + τ²)
    lim = funnel.widened_limits(50.0, cohorts, d.tau2, 10.0)
    assert lim["upper_998"] == pytest.approx(50 + 3.090232 * np.sqrt(se ** 2 + 730.8 / 134))
    assert lim["lower_95"] == pytest.approx(50 - 1.959964 * np.sqrt(se ** 2 + 730.8 / 134))
    # a percentage's standard error under the target: 25% and 300 pupils, 100·sqrt(0.1875/300) = 2.5 points
    assert funnel.standard_errors(25.0, [300]) == pytest.approx([2.5])
    # no more spread than chance: τ² = 0 and the test does not reject
    calm = funnel.overdispersion([49.5, 50.5, 50, 49, 51], [1, 1, 1, 1, 1], 50.0)
    assert calm.tau2 == 0 and not calm.over and calm.phi == pytest.approx(np.mean(np.clip(
        [-0.5, 0.5, 0, -1, 1], -0.8, 0.8) ** 2))
    assert funnel.overdispersion([1, 2, 3], [1, 1, 1], 2.0) is None   # too few districts


@pytest.mark.parametrize("df", [1, 2, 3, 4, 7, 11, 12, 30])
def test_chi2_survival_matches_scipy(df):
    for x in (0.01, 0.5, df * 0.7, df, df * 1.5, df * 3 + 10, 80.0):
        assert funnel.chi2_sf(x, df) == pytest.approx(stats.chi2.sf(x, df), rel=1e-10, abs=1e-300)


def test_funnel_widens_only_when_over_dispersed():
    """Twelve districts of 400 around 25%: spread like sampling, the exact limits stand; spread
    four times wider, the limits widen and the sampling-only positions are kept beside them."""
    cohort = np.full(12, 400)
    z = np.array([-1.6, -1.1, -0.8, -0.5, -0.2, 0.0, 0.1, 0.3, 0.6, 0.9, 1.2, 1.7])
    s = funnel.standard_errors(25.0, cohort)
    frame = lambda v: pd.DataFrame({"geography_code": list("ABCDEFGHIJKL"), "name": list("ABCDEFGHIJKL"),
                                    "cohort": cohort, "value": v})
    calm = funnel.funnel(frame(25 + z * s), 25.0)
    assert not calm.widened and calm.points["position"].tolist() == calm.points["position_sampling"].tolist()
    assert calm.points["upper_998"].iloc[0] == pytest.approx(100 * spiegelhalter(0.999, 400, 0.25))
    wild = funnel.funnel(frame(25 + 4 * z * s), 25.0)
    phi, p, tau2 = _overdispersion_by_scipy(25 + 4 * z * s, s, 25.0)
    assert wild.widened and wild.dispersion.phi == pytest.approx(phi) and wild.dispersion.p == pytest.approx(p)
    assert wild.dispersion.tau2 == pytest.approx(tau2)
    assert wild.points["upper_998"].to_numpy() == pytest.approx(25 + 3.090232 * np.sqrt(s ** 2 + tau2))
    assert wild.curve["upper_95"].to_numpy() == pytest.approx(
        25 + 1.959964 * np.sqrt(funnel.standard_errors(25.0, wild.curve["cohort"]) ** 2 + tau2))
    exact = [n for n, v in zip("ABCDEFGHIJKL", 25 + 4 * z * s)
             if not 100 * spiegelhalter(0.001, 400, 0.25) <= v <= 100 * spiegelhalter(0.999, 400, 0.25)]
    assert wild.outside(sampling_only=True) == exact == ["A", "B", "C", "J", "K", "L"] and wild.outside() == []
    assert "6 districts (A, B, C, J, K, L) on sampling alone, no districts after widening" in wild.note


@pytest.mark.parametrize("code", ["E07000113", "E07000105", "E07000107"])
def test_profile_funnel_title_leads_with_the_profiled_district(demo_db, code):
    """On a district's profile the funnel's finding is that district's (it named only the
    districts outside the limits, which read as the profiled district's finding)."""
    from stls import reference as ref
    from stls.present.views import district
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
