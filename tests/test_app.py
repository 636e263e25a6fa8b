"""The app in Streamlit's AppTest: every filter changed, card values against direct SQL."""
import datetime as dt

import pytest
from cellkey import protect
from conftest import ROOT
from streamlit.testing.v1 import AppTest

from stls import reference as ref

TIMEOUT = 90



def _filters_caption(at) -> str:
    """The page's caption of its filters (the frame's release line comes first, above the title)."""
    assert at.caption[0].value.startswith(":material/verified: Figures as at release 1, published ")
    return at.caption[1].value

def _run(params: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update(params or {})
    return at.run()


def _cards(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _year_sql(sql, types, year, district=None, need=None, phase=None):
    where, params = ["activity_type IN (SELECT unnest(?))", "activity_date BETWEEN ? AND ?"], \
        [list(types), dt.date(year, 9, 1), dt.date(year + 1, 8, 31)]
    for col, value in (("district_code", district), ("need_area", need), ("phase", phase)):
        if value:
            where.append(f"{col} = ?")
            params.append(value)
    return sql(f"SELECT coalesce(sum(count), 0), coalesce(sum(record_key), 0) FROM activity WHERE {' AND '.join(where)}",
               params)[0]


def _reached_sql(sql, year, district=None, need=None, phase=None):
    cond, params = ["s.open"], []
    if district:
        cond.append("s.district_code = ?")
        params.append(district)
    if phase:
        cond.append("s.phase = ?")
        params.append(phase)
    act = "a.activity_date BETWEEN ? AND ?" + (" AND a.need_area = ?" if need else "")
    act_params = [dt.date(year, 9, 1), dt.date(year + 1, 8, 31)] + ([need] if need else [])
    reached = sql(f"SELECT count(DISTINCT s.urn) FROM settings s JOIN activity a ON a.setting_urn = s.urn "
                  f"WHERE {' AND '.join(cond)} AND {act}", params + act_params)[0][0]
    total = sql(f"SELECT count(*) FROM settings s WHERE {' AND '.join(cond)}", params)[0][0]
    return 100 * reached / total


def _ks2_sql(sql, year, geography):
    """The latest result up to ``year`` (the demo's results end in 2024/25, the shipped extract's last)."""
    return sql("SELECT value FROM attainment WHERE measure = 'ks2_rwm_expected' AND sen_group = 'sen_support' "
               "AND academic_year <= ? AND geography_code = ? ORDER BY academic_year DESC LIMIT 1", [year, geography])[0][0]


def _expected_cards(sql, year, district=None, need=None, phase=None) -> dict[str, str]:
    def count(types):   # a count about children protected by the cell key method (tests/cellkey.py)
        n, key = _year_sql(sql, types, year, district, need, phase)
        if not set(types) & ref.CHILD_LEVEL_TYPES:
            return f"{n:,}"
        value, hidden = protect(n, key)
        return "[c]" if hidden else f"{value:,.0f}"
    return {
        "Referrals": count(["referral"]),
        "LIFT meetings held": count(["lift_meeting"]) if not (need or phase) else "[z]",
        "School visits": count(["school_visit"]),
        "Settings reached": f"{_reached_sql(sql, year, district, need, phase):.1f}%",
        "KS2 RWM": f"{_ks2_sql(sql, year, district or ref.KENT_CODE):.1f}%",
    }


def test_default_view_matches_direct_sql(app_env, demo_sql):
    at = _run()
    assert not at.exception
    assert "Synthetic districts, real county." in at.warning[0].value
    cards = _cards(at)
    expected = _expected_cards(demo_sql, 2026)   # the year holding the latest month loaded (September 2026)
    assert cards == expected
    assert at.query_params["from"] == "2016/17" and at.query_params["to"] == "2026/27"


@pytest.mark.parametrize("district", ref.DISTRICT_CODES)
def test_each_district(app_env, demo_sql, district):
    at = _run({"district": district, "from": "2019/20", "to": "2024/25"})
    assert not at.exception
    cards, expected = _cards(at), _expected_cards(demo_sql, 2024, district)
    assert {k: v for k, v in cards.items()} == {k: expected[k] for k in cards}
    assert _filters_caption(at).startswith(ref.DISTRICT_NAMES[district])


@pytest.mark.parametrize("need", list(ref.NEED_AREAS))
def test_each_area_of_need(app_env, demo_sql, need):
    at = _run({"need": need, "to": "2023/24"})
    assert not at.exception
    cards, expected = _cards(at), _expected_cards(demo_sql, 2023, need=need)
    for label in ("Referrals", "School visits", "Settings reached"):
        assert cards[label] == expected[label], label


@pytest.mark.parametrize("phase", list(ref.PHASES))
def test_each_phase(app_env, demo_sql, phase):
    at = _run({"phase": phase, "district": "E07000113", "to": "2022/23"})
    assert not at.exception
    cards, expected = _cards(at), _expected_cards(demo_sql, 2022, "E07000113", phase=phase)
    for label in ("Referrals", "School visits", "Settings reached"):
        assert cards[label] == expected[label], label


def test_year_without_ks2_shows_latest_available(app_env, demo_sql):
    at = _run({"from": "2016/17", "to": "2020/21"})
    assert not at.exception
    assert _cards(at)["KS2 RWM"] == f"{_ks2_sql(demo_sql, 2018, ref.KENT_CODE):.1f}%"
    assert any("2018/19" in m.value for m in at.markdown)


def test_widgets_change_the_view_and_the_url(app_env, demo_sql):
    at = _run()
    at.sidebar.multiselect(key="flt_districts").set_value(["E07000114"]).run()
    at.sidebar.selectbox(key="flt_need").set_value("CI").run()
    at.sidebar.selectbox(key="flt_phase").set_value("primary").run()
    at.sidebar.select_slider(key="flt_years").set_value((2018, 2023)).run()
    assert not at.exception
    assert at.query_params == {"from": "2018/19", "to": "2023/24", "district": "E07000114", "need": "CI",
                               "phase": "primary", "types": "referral,school_visit,advice,lift_meeting",
                               "compare": "referral_rate", "release": "1"}
    expected = _expected_cards(demo_sql, 2023, "E07000114", "CI", "primary")
    assert _cards(at)["Referrals"] == expected["Referrals"]
    # the URL written by that run reproduces the same view in a new session
    again = _run(dict(at.query_params))
    assert _cards(again) == _cards(at)


def test_a_rerun_sent_before_the_address_bar_caught_up_keeps_the_widgets(app_env, demo_sql):
    """Two quick key presses on the year slider: the browser sends the second rerun with the
    address the first run has not yet written. The figures must follow the widget, not that
    stale address (they jumped back to it, and the slider, URL and figures disagreed)."""
    at = _run()
    stale = dict(at.query_params)               # to=2025/26, as the address bar still shows it
    at.sidebar.select_slider(key="flt_years").set_value((2016, 2024)).run()
    at.query_params.clear()
    at.query_params.update(stale)
    at.sidebar.select_slider(key="flt_years").set_value((2016, 2023)).run()
    assert not at.exception
    assert at.sidebar.select_slider(key="flt_years").value == (2016, 2023)
    assert at.query_params["to"] == "2023/24"
    assert _filters_caption(at).startswith("Kent · 2016/17 to 2023/24")
    assert _cards(at)["Referrals"] == _expected_cards(demo_sql, 2023)["Referrals"]


def test_hostile_url_gives_messages_not_errors(app_env):
    at = _run({"district": "Medway", "from": "1066/67", "need": "<b>x</b>", "types": "bogus,referral",
               "compare": "drop table"})
    assert not at.exception
    messages = " ".join(i.value for i in at.info)
    assert "Medway" in messages and "1066/67" in messages and "need" in messages
    assert at.multiselect(key="pg_overview_types").value == ["referral"]
    assert at.selectbox(key="pg_overview_compare").value == "referral_rate"


def test_partial_year_compares_same_months(app_env, demo_sql):
    at = _run({"to": "2026/27"})
    assert not at.exception
    n = demo_sql("SELECT sum(count) FROM activity WHERE activity_type = 'referral' AND activity_date >= '2026-09-01'")[0][0]
    assert _cards(at)["Referrals"] == f"{n:,}"
    assert any("2026/27 (Sep–Oct)" in m.value for m in at.markdown)


def test_a_month_just_loaded_is_in_the_default_view(app_env, monkeypatch, tmp_path):
    """The data owner loads November 2026: the default view (no URL) ends in the year holding it
    and the monthly chart shows it (the default ended at the last complete year, August 2026)."""
    import shutil

    from stls.store.ingest import import_file
    db = tmp_path / "stls.duckdb"
    shutil.copyfile(app_env, db)
    november = tmp_path / "tracker_nov_2026.csv"
    november.write_text("date,district,service,activity_type,need_area,phase,setting_urn,count\n"
                        "2026-11-10,Swale,,school_visit,SEMH,primary,,40\n")
    assert import_file(november, "activity", db, today=dt.date(2026, 12, 2)).status == "loaded"
    monkeypatch.setenv("STLS_DB", str(db))
    at = _run()
    assert not at.exception
    assert at.query_params["to"] == "2026/27"
    assert _filters_caption(at).startswith("Kent · 2016/17 to 2026/27")
    monthly = next(df.value for df in at.dataframe if "Month" in df.value.columns)
    assert monthly["Month"].iloc[-1] == "Nov 2026", monthly.tail(3)


def test_cards_give_their_trend_in_words_not_an_unlabelled_sparkline(app_env, demo_sql):
    """Each card's recent years in words, on the same months as its value (the Vega sparkline
    had no text alternative: axe-core svg-img-alt, serious)."""
    at = _run()
    assert not at.exception
    text = next(m.value for m in at.markdown if "of each year, 2021/22 to 2026/27:" in m.value)
    expected = [protect(*demo_sql("SELECT sum(count), sum(record_key) FROM activity WHERE activity_type = 'referral' "
                                  "AND activity_date BETWEEN ? AND ?", [dt.date(y, 9, 1), dt.date(y, 10, 31)])[0])[0]
                for y in range(2021, 2027)]
    assert text == ":small[Sep–Oct of each year, 2021/22 to 2026/27: " + ", ".join(f"{n:,.0f}" for n in expected) + "]"
    assert all(not m.proto.chart_data for m in at.metric)
