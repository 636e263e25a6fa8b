"""Activity versus outcome: correlations against scipy, and the analysis on the demo."""
import math

import numpy as np
import pandas as pd
import pytest
from cellkey import value  # the cell key method written again (tests/cellkey.py)
from scipy import stats

from stls.analysis import association as assoc
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


def test_change_view_judges_each_district_against_its_own_margin(demo_db, demo_sql):
    """The margin of a district's outcome change is recomputed here from the stored cohorts:
    1.96 × sqrt(p0(100 − p0)/n0 + p1(100 − p1)/n1) percentage points."""
    res = assoc.analyse(demo_db, assoc.Options(view="change", outcome="value", base_year=2016), Filters(2016, 2025))
    assert res.period == "2016/17 to 2024/25"
    points = res.points.set_index("name")
    for name, code in (("Swale", "E07000113"), ("Ashford", "E07000105"), ("Sevenoaks", "E07000111")):
        (p0, n0), (p1, n1) = [(p, value(n, k)) for p, n, k in demo_sql(   # cohorts protected
            "SELECT value, cohort, record_key FROM attainment WHERE geography_code = ? AND measure = 'ks2_rwm_expected' "
            "AND sen_group = 'sen_support' AND academic_year IN (2016, 2024) ORDER BY academic_year", [code])]
        margin = 1.959964 * math.sqrt(p0 * (100 - p0) / n0 + p1 * (100 - p1) / n1)
        assert points.loc[name, "outcome_margin"] == pytest.approx(margin)
        assert points.loc[name, "outcome_change"] == pytest.approx(p1 - p0)
    # the demo's disconnect districts: activity rose, outcomes flat, so no clear change either way
    for name in ("Swale", "Thanet", "Gravesham"):
        assert points.loc[name, "quadrant"] == "Activity up, no clear change in outcome", name
    for name in ("Ashford", "Canterbury", "Tunbridge Wells"):
        assert points.loc[name, "quadrant"] == "Activity up, outcome better", name
    # better or worse: Benjamini–Hochberg (SciPy's) over the 12 districts' two-sided p-values, at 5%
    change, margin = points["outcome_change"], points["outcome_margin"]
    p = 2 * stats.norm.sf(abs(change) / (margin / 1.959964))
    q = pd.Series(stats.false_discovery_control(np.asarray(p)), index=points.index)
    assert points["outcome_q"].to_numpy() == pytest.approx(q.to_numpy()) and res.compared == 12
    worse = points[(points["activity_change"] > 0) & (change < 0) & (q <= 0.05)].index.tolist()
    assert res.flagged == worse
    better = points[(change > 0) & (q <= 0.05)].index
    assert all("outcome better" in points.loc[n, "quadrant"] for n in better)
    assert all("no clear change" in points.loc[n, "quadrant"] for n in points.index if q[n] > 0.05)
    assert "association, not cause" in res.finding and "12 districts" in res.finding
    for banned in ("causes", "caused", "led to", "resulted in", "because of"):
        assert banned not in res.finding.lower()


def test_default_change_span_stays_inside_the_tiered_model(demo_db):
    """September 2022 changed what the tracker records: the default span starts there; a span the
    user chooses across it is allowed and says so."""
    default = assoc.analyse(demo_db, assoc.Options(view="change"), Filters(2016, 2025))
    assert default.change_period == "2022/23 to 2024/25" and default.span_note == ""
    chosen = assoc.analyse(demo_db, assoc.Options(view="change", base_year=2018), Filters(2016, 2025))
    assert chosen.change_period == "2018/19 to 2024/25"
    assert "crosses a break in 2022/23" in chosen.span_note and chosen.span_note in chosen.finding
    # in the lag view the activity side is a year earlier: 2023/24 outcomes pair with 2022/23 activity
    lag = assoc.analyse(demo_db, assoc.Options(view="lag"), Filters(2016, 2025))
    assert lag.change_period == "2023/24 to 2024/25" and lag.span_note == ""
    # KS4 2019/20 and 2020/21 were teacher-assessed: never a default end of a span
    ks4 = assoc.analyse(demo_db, assoc.Options(view="change", measure="ks4_em_grade5", year=2020), Filters(2016, 2025))
    assert ks4.change_period == "[x]"
    ks4 = assoc.analyse(demo_db, assoc.Options(view="change", measure="ks4_em_grade5", year=2020, base_year=2017),
                        Filters(2016, 2025))
    assert "2020/21 results were assessed differently" in ks4.span_note


def test_lag_view_quadrants_use_the_lagged_activity_change(demo_db):
    lag = assoc.analyse(demo_db, assoc.Options(view="lag", year=2024, base_year=2022, outcome="value"), Filters(2016, 2025))
    same = {y: assoc.analyse(demo_db, assoc.Options(view="same_year", year=y, outcome="value"), Filters(2016, 2025))
            for y in (2021, 2023)}
    expected = same[2023].points["x"].to_numpy() - same[2021].points["x"].to_numpy()
    assert lag.points["activity_change"].to_numpy() == pytest.approx(expected)


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


def test_detectable_correlation_matches_scipy():
    """The smallest |r| n districts could tell from zero: the t test's and the Fisher interval's
    thresholds, the larger of the two; about 0.58 for 12."""
    from stls import stats as own
    for n in (5, 8, 12, 20, 40):
        t = stats.t.ppf(0.975, n - 2)
        assert own.t_quantile(0.05, n - 2) == pytest.approx(t, rel=1e-10)
        expected = max(t / math.sqrt(n - 2 + t * t), math.tanh(1.959964 / math.sqrt(n - 3)))
        assert assoc.detectable(n) == pytest.approx(expected, rel=1e-9)
        # below that |r| SciPy never has both p < 0.05 and an interval excluding zero; above it, always
        x = np.arange(n, dtype=float)
        noise = np.tile([1.0, -1.0], n)[:n]
        for k in np.linspace(0, 40, 801):
            res = stats.pearsonr(x, x + k * noise)
            low = res.confidence_interval(0.95).low
            clear = res.pvalue < 0.05 and low > 0
            if abs(abs(res.statistic) - assoc.detectable(n)) > 1e-6:
                assert clear == (abs(res.statistic) > assoc.detectable(n)), (n, res.statistic)
    assert f"{assoc.detectable(12):.2f}" == "0.58"


CLAIMS = ("went with better outcomes", "went with worse outcomes")


def _supported(x, y) -> int:
    """Direction the data support, decided here with SciPy: Pearson's 95% interval excludes zero,
    p < 0.05, and Spearman's ρ has the same sign."""
    if len(x) < 4:
        return 0
    p = stats.pearsonr(x, y)
    ci = p.confidence_interval(0.95)
    if ci.low <= 0 <= ci.high or p.pvalue >= 0.05:
        return 0
    rho = stats.spearmanr(x, y).statistic
    return int(np.sign(p.statistic)) if rho * p.statistic > 0 else 0


def test_every_finding_says_only_what_its_interval_supports(demo_db):
    """Every view × measure × outcome, in chosen years (SEN support: 2018/19 before the tiered model,
    2022/23 its first year, 2024/25 the latest with results; EHC plan: 2019/20 with no KS2 tests and
    2023/24): a direction is claimed exactly when SciPy's interval supports it; disagreement in sign
    is reported; no-claim texts say so. (A sweep of every year took a minute and found nothing more.)"""
    claims = quiet = 0
    for view in assoc.VIEWS:
        for measure in ("ks2_rwm_expected", "ks4_attainment8", "ks4_em_grade5", "eyfs_gld", "phonics_y1"):
            for outcome in assoc.OUTCOMES:
                for group in ("sen_support", "ehc_plan"):
                    for year in ((2018, 2022, 2024) if group == "sen_support" else (2019, 2023)):
                        o = assoc.Options(view=view, measure=measure, outcome=outcome, sen_group=group, year=year)
                        res = assoc.analyse(demo_db, o, Filters(2016, 2025))
                        pts = res.points.dropna(subset=["x", "y"])
                        x, y = pts["x"].to_numpy(float), pts["y"].to_numpy(float)
                        if res.pearson is None:
                            assert not any(c in res.finding for c in CLAIMS) and "Too few" in res.headline
                            continue
                        sign = _supported(x, y)
                        better = (sign > 0) == (outcome != "gap")
                        claimed = [c for c in CLAIMS if c in res.headline]
                        if sign:
                            claims += 1
                            assert claimed == [CLAIMS[0] if better else CLAIMS[1]], (o, res.headline)
                            lo, hi = stats.pearsonr(x, y).confidence_interval(0.95)
                            assert f"{lo:.2f} to {hi:.2f}" in res.headline
                        else:
                            quiet += 1
                            assert claimed == [] and "no clear association" in res.headline, (o, res.headline)
                            assert not any(c in res.finding for c in CLAIMS)
                        disagree = stats.spearmanr(x, y).statistic * stats.pearsonr(x, y).statistic < 0
                        assert ("disagree in sign" in res.finding) == disagree, o
                        assert f"about {assoc.detectable(len(x)):.2f} or more" in res.finding
    assert claims > 0 and quiet > 0   # the cases reach both kinds of text


@pytest.mark.parametrize("year_to", [2018, 2022, 2023, 2024, 2025])
def test_the_meeting_slide_claims_only_what_its_interval_supports(demo_db, year_to):
    from stls.present import meeting
    f = Filters(2016, year_to)
    slide = meeting.slide(demo_db, f, (), meeting.PAGE_SLIDES["activity_and_outcomes"])
    res = assoc.analyse(demo_db, assoc.Options(), f)
    pts = res.points.dropna(subset=["x", "y"])
    sign = _supported(pts["x"].to_numpy(float), pts["y"].to_numpy(float))
    said = " ".join([slide.title, *slide.bullets, slide.notes])
    assert any(c in said for c in CLAIMS) == bool(sign), said
    if not sign:
        assert "no clear association" in slide.title


def test_slope_interval_and_p_match_scipy(demo_db):
    from stls.present.views import activity_and_outcomes as outcomes
    for view in assoc.VIEWS:
        res = assoc.analyse(demo_db, assoc.Options(view=view, outcome="value"), Filters(2016, 2025))
        pts = res.points.dropna(subset=["x", "y"])
        fit = stats.linregress(pts["x"], pts["y"])
        t = stats.t.ppf(0.975, len(pts) - 2)
        assert res.slope_interval == pytest.approx((fit.slope - t * fit.stderr, fit.slope + t * fit.stderr))
        row = outcomes.coefficients(res).set_index("Measure").loc["Fitted slope"]
        assert row["95% interval"] == f"{fit.slope - t * fit.stderr:.3f} to {fit.slope + t * fit.stderr:.3f}"
        assert row["p-value"] == f"{fit.pvalue:.3f}"


def test_spending_against_outcomes_from_sql(demo_db, demo_sql):
    """Does the money buy outcomes: each district team's budget per pupil on SEN support against
    KS2 RWM (SEN support) minus England, same year, recomputed from the raw tables; the words
    follow the interval, and say spending, not activity."""
    import numpy as np
    from scipy import stats as sps

    from stls.analysis import association
    from stls.filters import Filters
    res = association.analyse(demo_db, association.Options(x="spend"), Filters(2016, 2025))
    year = 2024
    rows = demo_sql("""
        SELECT b.service_code::VARCHAR, b.allocation_gbp, p.pupils, p.k, a.value - e.value AS y
        FROM budget b
        JOIN (SELECT geography_code, sum(pupils) AS pupils, sum(record_key) AS k FROM sen_pupils WHERE academic_year = ?
              AND sen_group = 'sen_support' GROUP BY ALL) p ON p.geography_code::VARCHAR = b.service_code::VARCHAR
        JOIN attainment a ON a.geography_code::VARCHAR = b.service_code::VARCHAR AND a.academic_year = ?
             AND a.measure = 'ks2_rwm_expected' AND a.sen_group = 'sen_support'
        JOIN attainment e ON e.geography_code::VARCHAR = 'E92000001' AND e.academic_year = ?
             AND e.measure = 'ks2_rwm_expected' AND e.sen_group = 'sen_support'
        WHERE b.financial_year = ? ORDER BY 1""", [year, year, year, year])
    rows = [(code, gbp / value(n, k), y) for code, gbp, n, k, y in rows]   # pupils protected
    assert len(rows) == 12 and res.n == 12 and res.period == "2024/25"
    got = res.points.set_index("geography_code")
    for code, x, y in rows:
        assert got.loc[code, "x"] == pytest.approx(x) and got.loc[code, "y"] == pytest.approx(y)
    r = sps.pearsonr([x for _, x, _ in rows], [y for *_, y in rows]).statistic
    assert res.pearson.r == pytest.approx(r)
    z, se = np.arctanh(r), 1 / np.sqrt(12 - 3)
    low, high = np.tanh(z - 1.959964 * se), np.tanh(z + 1.959964 * se)
    assert (res.pearson.low, res.pearson.high) == pytest.approx((low, high), abs=1e-4)
    assert "spending" in res.headline and "activity" not in res.headline
    assert ("no clear association" in res.headline) == (low < 0 < high)
    assert res.x_label == "Team budget per pupil (SEN support, £)" and res.source.startswith("KCC budget")


def test_benjamini_hochberg_by_hand_and_against_scipy():
    """p = 0.01, 0.04, 0.03, 0.005, 0.2 (m = 5): sorted 0.005, 0.01, 0.03, 0.04, 0.2 times 5/i gives
    0.025, 0.025, 0.05, 0.05, 0.2, already non-decreasing; so the adjusted values, in the original
    order, are 0.025, 0.05, 0.05, 0.025, 0.2: at 5%, the first four are discoveries (the largest k
    with p(k) ≤ 0.01·k is 4). A NaN (a district not compared) is left out of m."""
    assert assoc.bh_adjusted([0.01, 0.04, 0.03, 0.005, 0.2]) == pytest.approx([0.025, 0.05, 0.05, 0.025, 0.2])
    got = assoc.bh_adjusted([0.01, np.nan, 0.04, 0.03, 0.005, 0.2])
    assert np.isnan(got[1]) and np.delete(got, 1) == pytest.approx([0.025, 0.05, 0.05, 0.025, 0.2])
    assert assoc.bh_adjusted([0.02, 0.03]) == pytest.approx([0.03, 0.03])   # 0.02·2/1 = 0.04 > 0.03: stepped down
    rng = np.random.default_rng(5)
    for m in (1, 3, 12, 40):
        p = rng.uniform(size=m) ** 3
        assert assoc.bh_adjusted(p) == pytest.approx(stats.false_discovery_control(p), rel=1e-12)


def test_outcome_verdicts_by_hand():
    """A change of 3 points with a 95% margin of 1.96 (standard error 1): z = 3, p = erfc(3/√2) =
    0.0027; alone it is a discovery. A change of −2.5 (p = 0.0124) beside it: adjusted 0.0124."""
    verdict, p, q = assoc.outcome_verdicts([3.0, -2.5, 0.5, np.nan], [1.959964] * 4)
    assert p[:3] == pytest.approx([math.erfc(3 / math.sqrt(2)), math.erfc(2.5 / math.sqrt(2)),
                                   math.erfc(0.5 / math.sqrt(2))])
    assert q[:3] == pytest.approx([3 * p[0], 3 / 2 * p[1], p[2]])
    assert verdict[:3].tolist() == [1, -1, 0] and np.isnan(verdict[3]) and np.isnan(p[3])
    gap, _, _ = assoc.outcome_verdicts([3.0, -2.5, 0.5], [1.959964] * 3, lower_is_better=True)
    assert gap.tolist() == [-1, 1, 0]   # a wider gap is worse


def test_false_flags_across_the_districts_stay_near_five_per_cent(demo_sql):
    """2,000 null draws of the demo's design (KS2 RWM, SEN support, 2022/23 to 2024/25: the 12
    districts' own cohorts, each district's true rate unchanged at its 2022/23 result): judged one
    at a time against the 95% margin, at least one false 'worse' turns up about a quarter of the
    time and a false flag either way nearly half; with the Benjamini–Hochberg adjustment, at least
    one false flag of either kind about 5% of the time."""
    rows = demo_sql("SELECT geography_code::VARCHAR, academic_year, cohort, value FROM attainment WHERE "
                    "measure = 'ks2_rwm_expected' AND sen_group = 'sen_support' AND academic_year IN (2022, 2024) "
                    "AND geography_code::VARCHAR LIKE 'E07%' ORDER BY 1, 2")
    by = {}
    for g, y, n, v in rows:
        by.setdefault(g, {})[y] = (n, v)
    n0 = np.array([by[g][2022][0] for g in sorted(by)])
    n1 = np.array([by[g][2024][0] for g in sorted(by)])
    p = np.array([by[g][2022][1] for g in sorted(by)]) / 100
    assert len(p) == 12
    rng = np.random.default_rng(20240901)
    draws = 2000
    any_flag = any_worse = raw_flag = raw_worse = 0
    for _ in range(draws):
        v0, v1 = 100 * rng.binomial(n0, p) / n0, 100 * rng.binomial(n1, p) / n1
        margin = 1.959964 * np.sqrt(v0 * (100 - v0) / n0 + v1 * (100 - v1) / n1)   # catalogue's se, as the page
        verdict, _, _ = assoc.outcome_verdicts(v1 - v0, margin)
        any_flag += bool((verdict != 0).any())
        any_worse += bool((verdict < 0).any())
        raw_flag += bool((np.abs(v1 - v0) > margin).any())
        raw_worse += bool((v1 - v0 < -margin).any())
    se = math.sqrt(0.05 * 0.95 / draws)
    assert 0.20 < raw_worse / draws < 0.32 and 0.38 < raw_flag / draws < 0.54   # the problem, reproduced
    assert any_flag / draws <= 0.05 + 3 * se
    assert any_worse / draws <= 0.025 + 3 * math.sqrt(0.025 * 0.975 / draws)


def _scipy_power(rho: float, n: int) -> float:
    """P(|r| > threshold) from the exact density of r, with SciPy's hypergeometric function and quadrature."""
    from scipy import integrate, special
    def density(r):
        return ((n - 2) * special.gamma(n - 1) * (1 - rho ** 2) ** ((n - 1) / 2) * (1 - r ** 2) ** ((n - 4) / 2)
                / (math.sqrt(2 * math.pi) * special.gamma(n - 0.5) * (1 - rho * r) ** (n - 1.5))
                * special.hyp2f1(0.5, 0.5, n - 0.5, (1 + rho * r) / 2))
    c = assoc.detectable(n)
    return integrate.quad(density, c, 1)[0] + integrate.quad(density, -1, -c)[0]


def test_power_the_true_correlation_found_four_times_in_five():
    """For 12 districts the significance threshold is |r| ≥ 0.58; the true correlation found clear
    80% of the time is 0.71 (the exact distribution of r, here with SciPy's functions; Fisher's z
    approximation gives 0.73); a simulation of bivariate normal samples agrees."""
    from scipy import optimize
    for n in (8, 12, 20):
        assert assoc.power(0.0, n) == pytest.approx(0.05, abs=1e-6)
        for rho in (0.3, 0.6, 0.8):
            assert assoc.power(rho, n) == pytest.approx(_scipy_power(rho, n), abs=1e-7)
        expected = optimize.brentq(lambda r, n=n: _scipy_power(r, n) - 0.8, assoc.detectable(n), 0.99, xtol=1e-10)
        assert assoc.detectable_80(n) == pytest.approx(expected, abs=1e-6)
    assert f"{assoc.detectable_80(12):.2f}" == "0.71"
    assert math.tanh((1.959964 + stats.norm.ppf(0.8)) / 3) == pytest.approx(0.732, abs=1e-3)   # Fisher's z, for the record
    rng = np.random.default_rng(11)
    rho, draws = assoc.detectable_80(12), 20000
    x = rng.normal(size=(draws, 12))
    y = rho * x + math.sqrt(1 - rho ** 2) * rng.normal(size=(draws, 12))
    xc, yc = x - x.mean(1, keepdims=True), y - y.mean(1, keepdims=True)
    r = (xc * yc).sum(1) / np.sqrt((xc ** 2).sum(1) * (yc ** 2).sum(1))
    assert (np.abs(r) > assoc.detectable(12)).mean() == pytest.approx(0.8, abs=0.012)


def test_change_views_name_regression_to_the_mean_with_its_correlation(demo_db, demo_sql):
    """The change in outcome against its starting level (from SQL, with SciPy), in the change view's
    finding and the result's note; the same-year view's finding does not carry it."""
    res = assoc.analyse(demo_db, assoc.Options(view="change", outcome="value", base_year=2016), Filters(2016, 2025))
    rows = demo_sql("SELECT geography_code::VARCHAR, academic_year, value FROM attainment WHERE measure = 'ks2_rwm_expected' "
                    "AND sen_group = 'sen_support' AND academic_year IN (2016, 2024) AND geography_code::VARCHAR LIKE 'E07%'")
    v = {(g, y): x for g, y, x in rows}
    codes = sorted({g for g, _, _ in rows})
    start = [v[(g, 2016)] for g in codes]
    change = [v[(g, 2024)] - v[(g, 2016)] for g in codes]
    r = stats.pearsonr(start, change)
    ci = r.confidence_interval(0.95)
    assert res.baseline.r == pytest.approx(r.statistic) and (res.baseline.low, res.baseline.high) == pytest.approx(
        (ci.low, ci.high), abs=1e-6)
    act = res.points.set_index("geography_code").loc[codes, "activity_change"]
    assert res.activity_baseline.r == pytest.approx(stats.pearsonr(start, act).statistic)
    said = f"correlates r = {r.statistic:.2f} (95% interval {ci.low:.2f} to {ci.high:.2f}) with the 2016/17 level"
    assert said in res.regression_note and "regression to the mean" in res.finding and said in res.finding
    same = assoc.analyse(demo_db, assoc.Options(view="same_year", outcome="value"), Filters(2016, 2025))
    assert "regression to the mean" not in same.finding and "regression to the mean" in same.regression_note


def test_the_finding_gives_the_threshold_and_the_power_in_words(demo_db):
    res = assoc.analyse(demo_db, assoc.Options(), Filters(2016, 2025))
    assert res.n == 12
    assert ("only a correlation of about 0.58 or more (either sign) could be told apart from none at the 5% level, "
            "and a true correlation would need to be about 0.71 for 12 districts to show it 4 times in 5 (80% power)"
            ) in res.finding
    assert "compared in 12 districts" in res.comparisons_note and "Benjamini–Hochberg" in res.comparisons_note
    assert "about 46% of the time" in res.comparisons_note   # 1 − 0.95¹² = 0.46


@pytest.mark.parametrize("view, outcome", [("same_year", "vs_england"), ("lag", "value"), ("same_year", "gap"),
                                           ("change", "vs_england")])
def test_the_commissioners_answer_names_the_districts_the_figures_single_out(demo_db, view, outcome):
    """'Which districts get the most activity per pupil but no better outcomes?' was answered only by
    reading the scatter. The sentence names the third of the districts with the most activity (the
    largest rise, in the change view) with their figures, and of those exactly the ones whose outcome
    is no better than the median district's (in the change view: not better beyond chance)."""
    import re

    o = assoc.Options(view=view, outcome=outcome)
    res = assoc.analyse(demo_db, o, Filters(2016, 2025))
    pts = res.points[res.points["outcome_verdict"].notna()] if view == "change" else res.points.dropna(subset=["x", "y"])
    ranked = pts.sort_values("x", ascending=False).head(round(len(pts) / 3))
    if view == "change":
        ranked = ranked[ranked["x"] > 0]
        still = ranked[ranked["outcome_verdict"] <= 0]
    else:
        middle = pts["y"].median()
        still = ranked[ranked["y"] >= middle] if outcome == "gap" else ranked[ranked["y"] <= middle]
        assert f"median of {middle:+.1f} across {len(pts)} districts" in res.standout or still.empty
    assert len(ranked) >= 2
    for name, x in zip(ranked["name"], ranked["x"]):
        assert f"{name} ({'+' if view == 'change' else ''}{x:.0f})" in res.standout, (name, res.standout)
    named = res.standout.split("Of these, ")[1] if "Of these, " in res.standout else ""
    singled = {n for n in assoc.ref.DISTRICT_NAMES.values() if re.search(rf"\b{n}\b", named.split("(")[0])}
    assert singled == set(still["name"]), res.standout
    for y in still["y"]:
        assert (f"{y:+.1f}" if outcome != "value" else f"{y:.1f}") in res.standout
    assert "rose" in res.standout if view == "change" else "the most" in res.standout


def test_the_spending_view_names_spending_and_its_unit_in_every_table(demo_db):
    """The spending view's change table was headed 'Change in activity' with no unit, and the
    coefficients' CSV did not say spending was compared."""
    from stls.present.views import activity_and_outcomes as outcomes
    res = assoc.analyse(demo_db, assoc.Options(x="spend"), Filters(2016, 2025))
    table = outcomes.quadrants(res)
    assert "Change in spending (£ per pupil, SEN support)" in table.columns
    assert not any("activity" in c.lower() for c in table.columns)
    assert set(table["Quadrant"]) - {"[x]", "[c]"} <= {f"Spending {d}, {o}" for d in ("up", "down")
                                                       for o in ("outcome better", "outcome worse", "no clear change in outcome")}
    assert outcomes.coefficients_title(res).startswith("Correlation coefficients: Team budget per pupil")
    activity = assoc.analyse(demo_db, assoc.Options(), Filters(2016, 2025))
    assert "Change in activity (STLS contacts per 100 pupils (SEN support))" in outcomes.quadrants(activity).columns
