"""XmR limits and special-cause rules on small hand-worked series."""
import datetime as dt

import pytest

from stls.kpi.catalogue import Polarity
from stls.kpi.spc import xmr


def _months(n, start=dt.date(2020, 1, 1)):
    out, m = [], start
    for _ in range(n):
        out.append(m)
        m = dt.date(m.year + (m.month == 12), m.month % 12 + 1, 1)
    return out


def test_limits_by_hand():
    values = [10, 12, 11, 13, 12, 14, 11, 13]
    # mean = 96 / 8 = 12; moving ranges 2,1,2,1,2,3,2 → mean 13/7
    res = xmr(_months(8), values)
    mr = 13 / 7
    row = res.frame.iloc[0]
    assert row["mean"] == pytest.approx(12)
    assert row["ucl"] == pytest.approx(12 + 2.66 * mr)
    assert row["lcl"] == pytest.approx(12 - 2.66 * mr)
    assert row["upper_2s"] == pytest.approx(12 + 2 / 3 * 2.66 * mr)
    assert not res.frame["special"].any()
    assert res.variation == "common_cause"


def test_point_beyond_limit():
    values = [10, 11, 10, 11, 10, 11, 10, 11, 10, 30]
    res = xmr(_months(10), values, polarity=Polarity.higher)
    # mean 12.4, mR̄ = (8×1 + 20)/9 = 28/9, UCL = 12.4 + 2.66 × 3.111 = 20.68 < 30
    assert res.frame["special"].tolist()[-1] and "beyond limit" in res.frame["rules"].iloc[-1]
    assert res.variation == "improving"
    assert xmr(_months(10), values, polarity=Polarity.lower).variation == "concerning"
    assert xmr(_months(10), values, polarity=Polarity.demand).variation == "high"


def test_run_of_seven_on_one_side():
    values = [5, 15, 5, 15, 5, 11, 11, 11, 11, 11, 11, 11]  # mean 10.5; last seven above
    res = xmr(_months(12), values)
    flags = res.frame["special"].tolist()
    assert flags[-7:] == [True] * 7 and "run of 7" in res.frame["rules"].iloc[-1]
    short = xmr(_months(11), values[:5] + [11] * 6)  # only six above: no run
    assert not any("run of 7" in r for r in short.frame["rules"])


def test_trend_of_six():
    values = [10, 9, 10, 9, 10, 9, 10, 11, 12, 13, 14, 15]  # 9,10,...,15 rises from index 5
    res = xmr(_months(12), values)
    trend = ["trend of 6" in r for r in res.frame["rules"]]
    assert trend == [False] * 5 + [True] * 7
    five = xmr(_months(8), [10, 9, 10, 11, 12, 13, 14, 9])  # 9→14 is six points: a trend
    assert ["trend of 6" in r for r in five.frame["rules"]] == [False, True, True, True, True, True, True, False]


def test_two_of_three_near_limit():
    values = [10, 10.4] * 5 + [11.5, 10.2, 11.5]
    # mean 10.4; mR̄ = (9 × 0.4 + 1.1 + 1.3 + 1.3) / 12 = 0.6083; 2-sigma line 11.479, UCL 12.018
    res = xmr(_months(13), values)
    row = res.frame.iloc[0]
    assert row["upper_2s"] == pytest.approx(11.4788, abs=1e-3) and row["ucl"] == pytest.approx(12.0182, abs=1e-3)
    rules = ["2 of 3 near limit" in r for r in res.frame["rules"]]
    assert rules == [False] * 10 + [True, False, True]
    assert not any("beyond limit" in r for r in res.frame["rules"])


def test_limits_recalculated_from_a_break():
    months = _months(20, dt.date(2021, 9, 1))
    values = [10, 11] * 6 + [20, 21] * 4
    res = xmr(months, values, breaks=[dt.date(2022, 9, 1)])
    before, after = res.frame[res.frame["segment"] == 0], res.frame[res.frame["segment"] == 1]
    assert len(before) == 12 and len(after) == 8
    assert before["mean"].iloc[0] == pytest.approx(10.5) and after["mean"].iloc[0] == pytest.approx(20.5)
    assert after["ucl"].iloc[0] == pytest.approx(20.5 + 2.66 * 1.0)  # the 11→20 jump is not a moving range
    assert not res.frame["special"].any()


@pytest.mark.parametrize("target,polarity,expected", [
    (12, Polarity.higher, "hit_and_miss"),
    (5, Polarity.higher, "consistently_passing"),
    (20, Polarity.higher, "consistently_failing"),
    (5, Polarity.lower, "consistently_failing"),
    (20, Polarity.lower, "consistently_passing"),
    (12, Polarity.demand, None),
])
def test_assurance(target, polarity, expected):
    res = xmr(_months(8), [10, 12, 11, 13, 12, 14, 11, 13], polarity=polarity, target=target)
    assert res.assurance == expected


def test_too_few_points():
    assert xmr(_months(5), [1, 2, 3, 4, 5]).variation == "too_few_points"


def test_a_rising_trend_below_the_mean_is_not_called_concerning():
    """Six rising points, all below the mean, the latest flagged only by the trend: its direction
    is the trend's (rising), so a higher-is-better KPI is improving, not concerning."""
    values = [16, 15, 16, 15, 16, 15, 16, 15, 8, 9, 10, 11, 12, 13]   # mean 187/14 = 13.36
    res = xmr(_months(14), values, polarity=Polarity.higher)
    last = res.frame.iloc[-1]
    assert last["value"] < last["mean"] and last["rules"] == "trend of 6"
    assert res.variation == "improving" and "rising or falling in a row" in res.reason
    # add a seventh point below the mean: the run of 7 (below) and the trend (rising) disagree
    mixed = xmr(_months(15), values[:8] + [6, 7, 8, 9, 10, 11, 12], polarity=Polarity.higher)   # mean 12.47
    assert "run of 7" in mixed.frame["rules"].iloc[-1] and "trend of 6" in mixed.frame["rules"].iloc[-1]
    assert mixed.variation == "mixed" and "below the mean" in mixed.reason


def _academic_months(years, first=2018):
    """Term-time months (Sep–Jul) of ``years`` academic years from ``first``."""
    return [dt.date(y + (m < 9), m, 1) for y in range(first, first + years) for m in (9, 10, 11, 12, 1, 2, 3, 4, 5, 6, 7)]


def test_seasonal_factors_by_hand():
    from stls.kpi import spc
    months = _academic_months(2)
    pattern = [2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0.5]            # autumn high, July low
    year1 = [10 * p for p in pattern]
    year2 = [20 * p for p in pattern]                          # twice the level, same shape
    factors = spc.seasonal_factors(months, year1 + year2)
    mean = sum(pattern) / 11
    assert factors == pytest.approx({m.month: p / mean for m, p in zip(months[:11], pattern)})
    adjusted, used = spc.seasonally_adjusted(months, year1 + year2)
    assert used == factors and adjusted == pytest.approx([10 * mean] * 11 + [20 * mean] * 11)
    assert spc.seasonal_factors(months[:11], year1) is None   # one complete year is too few


def test_seasonal_adjustment_narrows_the_limits_and_finds_a_real_drop():
    """A strongly seasonal series with a 25% drop in one month: on raw months the limits are
    wide and the drop passes as common cause; on adjusted months it is beyond the lower limit."""
    from stls.kpi import spc
    rng = __import__("numpy").random.default_rng(3)
    pattern = [1.3, 1.5, 1.4, 0.8, 1.0, 1.0, 1.1, 0.8, 1.0, 1.0, 0.7]
    months = _academic_months(4)
    values = [1000 * p * (1 + rng.normal(0, 0.02)) for _ in range(4) for p in pattern]
    values[-3] *= 0.75                                          # May of the last year
    raw = xmr(months, values, polarity=Polarity.demand)
    adjusted, factors = spc.seasonally_adjusted(months, values)
    adj = xmr(months, adjusted, polarity=Polarity.demand)
    width = lambda r: float((r.frame["ucl"] - r.frame["lcl"]).iloc[-1] / r.frame["mean"].iloc[-1])
    assert width(raw) > 1.0 and width(adj) < 0.3
    assert not raw.frame["special"].iloc[-3] and "beyond limit" in adj.frame["rules"].iloc[-3]


def test_the_scorecards_monthly_chart_is_seasonally_adjusted_from_the_raw_rows(demo_db, demo_sql):
    """Kent's referrals: seasonal factors recomputed here from the raw activity rows (complete
    academic years, term-time months, median share of the year's mean month, scaled to mean 1);
    each charted point is the raw month over its factor; limits restart in Sep 2022 and Sep 2025."""
    import numpy as np
    from cellkey import value  # each month's count protected, as every view shows it

    from stls.filters import Filters
    from stls.kpi import catalogue
    from stls.kpi import line as scorecard
    rows = [(m, value(n, k)) for m, n, k in demo_sql(
        "SELECT date_trunc('month', activity_date)::DATE AS m, sum(count), sum(record_key) FROM activity "
        "WHERE activity_type = 'referral' GROUP BY 1 ORDER BY 1")]
    by_year: dict = {}
    for m, n in rows:
        if m.month != 8:
            by_year.setdefault(m.year if m.month >= 9 else m.year - 1, {})[m.month] = n
    shares: dict = {}
    for months in by_year.values():
        if len(months) == 11:
            mean = sum(months.values()) / 11
            for k, n in months.items():
                shares.setdefault(k, []).append(n / mean)
    factors = {k: float(np.median(v)) for k, v in shares.items()}
    scale = sum(factors.values()) / 11
    res = scorecard.spc_for(demo_db, catalogue.get("referrals"), Filters(2016, 2026))
    frame = res.frame
    assert res.adjusted
    raw = dict(rows)
    for _, r in frame.iterrows():
        assert r["raw"] == raw[r["period"]]
        assert r["value"] == pytest.approx(raw[r["period"]] / (factors[r["period"].month] / scale))
    starts = frame.groupby("segment")["period"].min().tolist()
    assert starts[1:] == [dt.date(2022, 9, 1), dt.date(2025, 9, 1)]
    # before: limits on raw months spanned about ±55% of the mean; now a few per cent
    last = frame[frame["segment"] == frame["segment"].max()].iloc[-1]
    assert (last["ucl"] - last["lcl"]) / last["mean"] < 0.3


def test_yearly_outcome_charts_leave_out_years_assessed_differently_and_restart_at_a_new_assessment(demo_db):
    from stls.filters import Filters
    from stls.kpi import catalogue
    from stls.kpi import line as scorecard
    ks4 = scorecard.spc_for(demo_db, catalogue.get("ks4_a8_sen_support"), Filters(2016, 2025)).frame
    assert not {p.year for p in ks4["period"]} & {2019, 2020}      # teacher-assessed grades
    eyfs = scorecard.spc_for(demo_db, catalogue.get("eyfs_gld_sen_support"), Filters(2016, 2025)).frame
    starts = eyfs.groupby("segment")["period"].min().tolist()
    assert dt.date(2021, 9, 1) in starts                             # the reformed EYFS profile


def test_lag1_autocorrelation_by_hand_and_against_pandas():
    """[0, 0, 1, 1, 0, 0, 1, 1]: pairs (x_t, x_t+1) have Σab = 2, means 3/7 and 4/7, so
    Sxy = 2 − 12/7 = 2/7 and Sxx = Syy = 12/7: r1 = 1/6. Alternating points: −1."""
    import numpy as np
    import pandas as pd

    from stls.kpi import spc
    assert spc.lag1_autocorrelation([0, 0, 1, 1, 0, 0, 1, 1]) == pytest.approx(1 / 6)
    assert spc.lag1_autocorrelation([0, 1] * 5) == pytest.approx(-1)
    assert spc.lag1_autocorrelation([3, 3, 3, 3]) is None and spc.lag1_autocorrelation([1, 2]) is None
    rng = np.random.default_rng(7)
    for n in (8, 13, 33, 66):
        x = np.cumsum(rng.normal(size=n)) * 0.3 + rng.normal(size=n)
        assert spc.lag1_autocorrelation(x) == pytest.approx(pd.Series(x).autocorr(lag=1), rel=1e-12)


def _ar1(n, r, seed):
    import numpy as np
    rng = np.random.default_rng(seed)
    e = rng.normal(size=n + 50)
    x = np.zeros(n + 50)
    for t in range(1, n + 50):
        x[t] = r * x[t - 1] + e[t]
    return 100 + 5 * x[50:]


def test_autocorrelation_is_measured_on_the_latest_regime_and_noted_when_high():
    """The latest segment's points only (the ones its limits use): a strongly related regime after
    a break gets the note, whatever came before; an independent one does not; too few points, none."""
    import numpy as np
    import pandas as pd

    from stls.kpi import spc
    months = _months(60, dt.date(2019, 9, 1))
    before, related, independent = _ar1(24, 0.0, 1), _ar1(36, 0.85, 2), _ar1(36, 0.0, 3)
    high = xmr(months, np.r_[before, related], breaks=[months[24]])
    assert high.autocorrelation == pytest.approx(pd.Series(related).autocorr())
    assert high.autocorrelation > spc.HIGH_AUTOCORRELATION and high.autocorrelated
    assert high.autocorrelation_note == (
        f"Consecutive months are strongly related (lag-1 autocorrelation {high.autocorrelation:.2f}, where above 0.5 "
        "is strong): the limits are too narrow and signals should be read with care.")
    low = xmr(months, np.r_[_ar1(24, 0.9, 4), independent], breaks=[months[24]])   # the related part is the past
    assert low.autocorrelation == pytest.approx(pd.Series(independent).autocorr())
    assert low.autocorrelation < spc.HIGH_AUTOCORRELATION and low.autocorrelation_note == ""
    short = xmr(months[:30], np.r_[related[:25], related[25:30]], breaks=[months[25]])   # 5 points since the break
    assert short.autocorrelation is None and short.autocorrelation_note == ""


@pytest.mark.parametrize("kpi_id", ["referrals", "school_visits", "lift_meetings", "training_sessions"])
def test_scorecard_chart_notes_its_autocorrelation_when_high(demo_db, kpi_id):
    """The scorecard's monthly charts to 2024/25 (regime September 2022 to July 2025): the lag-1
    autocorrelation of the adjusted points since the break, from pandas, and the note iff above 0.5."""
    from stls.filters import Filters
    from stls.kpi import catalogue
    from stls.kpi import line as scorecard
    from stls.present.views import scorecard as view
    f = Filters(2016, 2024)
    res = scorecard.spc_for(demo_db, catalogue.get(kpi_id), f)
    frame = res.frame
    latest = frame[frame["segment"] == frame["segment"].iloc[-1]]
    assert latest["period"].min() == dt.date(2022, 9, 1) and len(latest) == 33
    assert res.autocorrelation == pytest.approx(latest["value"].autocorr())
    caption = view.spc_view(demo_db, f, kpi_id).caption
    said = f"lag-1 autocorrelation {res.autocorrelation:.2f}"
    assert (said in caption) == (res.autocorrelation > 0.5), caption
    assert ("signals should be read with care" in caption) == (res.autocorrelation > 0.5)


def test_district_chart_notes_its_autocorrelation_when_high(demo_db):
    """The district profile's chart carries the same note from the same rule: r1 recomputed with
    pandas from the adjusted months its table shows since September 2022 (the regime's points)."""
    import pandas as pd

    from stls import reference as ref
    from stls.filters import Filters
    from stls.present.views import district
    seen = set()
    for code in ref.DISTRICT_CODES:
        for activity in ("school_visit", "advice"):
            chart = district.profile_activity(demo_db, Filters(2016, 2024), code, activity).spc
            t = chart.table
            since = (pd.to_datetime(t["Month"], format="%b %Y") >= "2022-09-01") & (t["Mean"] != "")
            r1 = pd.Series([float(c.replace(",", "")) for c in t.loc[since, "Seasonally adjusted"]]).autocorr()
            high = "signals should be read with care" in chart.caption
            seen.add(high)
            if abs(r1 - 0.5) > 0.01:   # the table rounds to 0.1: only at the threshold could the rounding decide
                assert high == (r1 > 0.5), (code, activity, r1, chart.caption)
            if high:
                said = float(chart.caption.split("lag-1 autocorrelation ")[1].split(",")[0])
                assert said == pytest.approx(r1, abs=0.011)
    assert seen == {True, False}
