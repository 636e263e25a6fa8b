"""XmR limits and special-cause rules on small hand-worked series."""
import datetime as dt

import pytest

from stls.catalogue import Polarity
from stls.spc import xmr


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
