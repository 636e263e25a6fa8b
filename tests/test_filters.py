"""Filters ↔ URL query parameters, and hostile parameters."""
import pytest

from stls.filters import Filters, from_query_params

FIRST, LAST = 2016, 2026


@pytest.mark.parametrize("f", [
    Filters(2016, 2026),
    Filters(2018, 2024, ("E07000105", "E07000113"), "SEMH", "primary"),
    Filters(2025, 2025, ("E07000112",), None, "post_16"),
])
def test_round_trip(f):
    parsed = from_query_params(f.to_query_params(), FIRST, LAST)
    assert parsed.filters == f and parsed.problems == []


def test_names_aliases_and_case_are_accepted():
    parsed = from_query_params({"district": "shepway,T&M, swale ", "need": "semh", "phase": "PRIMARY",
                                "from": "2018-19", "to": "2020/2021"}, FIRST, LAST)
    assert parsed.filters == Filters(2018, 2020, ("E07000112", "E07000113", "E07000115"), "SEMH", "primary")
    assert parsed.problems == []


@pytest.mark.parametrize("params,fragment", [
    ({"district": "Medway"}, "Ignored district 'Medway'"),
    ({"district": "<script>alert(1)</script>"}, "not one of Kent's 12 districts"),
    ({"from": "1999/00"}, "data covers 2016/17 to 2026/27"),
    ({"from": "2020/22"}, "the years must follow each other"),
    ({"to": "'; DROP TABLE activity; --"}, "is not an academic year"),
    ({"from": "2024/25", "to": "2018/19"}, "'from' is after 'to'"),
    ({"need": "XYZ"}, "expected one of CI, CL, SEMH, SP"),
    ({"phase": "nursery"}, "expected one of early_years"),
])
def test_hostile_values_are_dropped_with_a_message(params, fragment):
    parsed = from_query_params(params, FIRST, LAST)
    assert any(fragment in p for p in parsed.problems), parsed.problems
    assert parsed.filters.year_from >= FIRST and parsed.filters.year_to <= LAST
    assert set(parsed.filters.districts) <= set(Filters(0, 0).districts) | set(parsed.filters.districts)


def test_very_long_values_are_truncated_in_messages():
    parsed = from_query_params({"need": "A" * 10_000}, FIRST, LAST)
    assert len(parsed.problems[0]) < 200


def test_caption_and_sql_agree():
    """The caption names what the SQL the queries run filters on (queries._common)."""
    from stls.store import queries
    f = Filters(2018, 2019, ("E07000105",), "CI", "early_years")
    assert f.caption() == "Ashford · 2018/19 to 2019/20 · Communication and interaction · Early years"
    sql, params = queries._common(f, upto=2)
    assert params == {"year_from": 2018, "year_to": 2019, "need": "CI", "phase": "early_years", "upto": 2}
    assert sql.count("$") == len(params) and "need_area = $need" in sql and "phase = $phase" in sql
    sql, params = queries._common(f, need=False)
    assert "need" not in params and "need_area" not in sql


def test_filters_a_kpi_cannot_honour_are_named():
    from stls.kpi import kinds
    f = Filters(2023, 2024, need="CI", phase="early_years")
    assert kinds.Attainment.unhonoured(f) == ("all pupils: results are not published by area of need",
                                              "all phases: results are published for the key stage, not cut by phase")
    assert kinds.NeedAlignment.unhonoured(f) == ("all areas of need: the indicator compares the four areas",)
    assert kinds.ActivityCount.unhonoured(f) == ()
    assert kinds.Attainment.honoured(f) == Filters(2023, 2024)
    assert kinds.NeedAlignment.honoured(f) == Filters(2023, 2024, phase="early_years")
    assert kinds.ActivityRate.honoured(f) is f
