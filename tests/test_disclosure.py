"""Disclosure control's small promises (the method itself: test_cell_key.py; views combined:
test_combined_views.py): which counts are about children, the threshold, [c] against [x] and 0,
and CSVs that say so."""
import numpy as np
import pandas as pd
import pytest

from stls import reference as ref
from stls.kpi import catalogue
from stls.present import export
from stls.store import disclosure


def test_what_is_about_children_is_declared_once():
    assert ref.CHILD_LEVEL_TYPES == {"referral", "school_visit", "advice", "drop_in", "intensive_support"}
    assert ref.NOT_BY_NEED == {"lift_meeting"}
    assert catalogue.get("school_visits").compute.child_level_components() == ("n",)
    assert catalogue.get("lift_meetings").compute.child_level_components() == ()
    assert catalogue.get("contact_rate").compute.child_level_components() == ("n", "pupils")


def test_threshold_is_configurable(monkeypatch):
    n, key = np.array([7.0, 12.0, 0.0, np.nan]), np.array([0, 0, 0, 0])
    adjusted = disclosure.perturb(n, key)
    monkeypatch.setenv("STLS_DISCLOSURE_THRESHOLD", "10")
    values, hidden = disclosure.protect(n, key)
    assert hidden.tolist() == [adjusted[0] < 10, adjusted[1] < 10, True, False]   # an empty cell is [c] too
    assert np.isnan(values[2]) and np.isnan(values[3])
    monkeypatch.setenv("STLS_DISCLOSURE_THRESHOLD", "nonsense")
    assert disclosure.threshold() == 5


def test_protect_columns_drops_keys_and_flags_the_hidden():
    frame = pd.DataFrame({"n": [1, 40, 0], "n_key": [3, 10, 0], "gbp": [5.0, 6.0, 7.0], "need_key": ["all"] * 3})
    out = disclosure.protect_columns(frame, ["n"])
    assert list(out.columns) == ["n", "gbp", "need_key", "n_hidden"]
    assert out["n_hidden"].tolist() == [True, False, True] and np.isnan(out.at[0, "n"]) and np.isnan(out.at[2, "n"])
    assert abs(out.at[1, "n"] - 40) <= disclosure.largest_adjustment()


@pytest.mark.parametrize("cell,out", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+cmd", "'+cmd"), ("@SUM(A1)", "'@SUM(A1)"),
    ("-2+3", "'-2+3"), ("-3.5", "-3.5"), ("+1.2%", "+1.2%"), ("Swale", "Swale"), ("[c]", "[c]"),
])
def test_csv_neutralises_formulas(cell, out):
    assert export.neutralise(cell) == out


def test_csv_has_title_table_and_symbol_key():
    table = pd.DataFrame({"Area": ["=evil()", "Kent"], "Referrals": ["[c]", "1,234"]})
    text = export.to_csv(table, "Referrals by area", "Kent · 2024/25").decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == '"Referrals by area"' and lines[1] == '"Kent · 2024/25"'
    assert "'=evil()" in text and "[c],\"confidential" in text
    assert lines[-1] == f'"{disclosure.ADDITIVITY_NOTE} Method: {disclosure.METHOD_DOC}."'


def test_the_month_table_says_z_for_lift_meetings_under_an_area_of_need(demo_db):
    import datetime as dt

    from stls.filters import Filters
    from stls.present.views import district
    f = Filters(2024, 2025, (), "SEMH", "post_16")
    table = district.profile_activity(demo_db, f, "E07000111", "referral", dt.date(2026, 7, 1)).month_table.set_index("Activity")
    assert (table.loc["LIFT meetings"] == "[z]").all()
    assert table.loc["Training sessions", "Change on a year before"] != "[z]"   # recorded by need: exact
    chart = district.profile_activity(demo_db, f, "E07000111", "lift_meeting").spc
    assert "not recorded by area of need or phase" in chart.title


def test_the_control_chart_has_every_term_time_month_and_says_which_are_c(demo_db, demo_sql):
    """Every term-time month in range is a row: [x] only where the district made no return (Dover,
    March 2024, in the demo), [c] where the protected count is under 5 or there was none."""
    from stls.filters import Filters
    from stls.present.views import district
    dover = district.profile_activity(demo_db, Filters(2023, 2023), "E07000108", "referral").spc
    assert len(dover.table) == 11 and "No tracker return from Dover in Mar 2024" in dover.caption
    narrow = district.profile_activity(demo_db, Filters(2024, 2025, (), "SEMH", "post_16"), "E07000111", "referral").spc
    shown = narrow.table["Referrals"]
    assert len(shown) == 22 and f"{(shown == '[c]').sum()} of 22 months are [c]" in narrow.caption
    assert "No tracker return" not in narrow.caption


def test_a_share_is_a_protected_count_over_its_protected_total(demo_db, demo_sql):
    """Sevenoaks post-16 referrals by area: each share is the protected count over the protected
    count of every area together (recomputed with tests/cellkey.py), so it does not grow to 100%
    because the other areas are [c]."""
    from cellkey import protect

    from stls.analysis import needs
    from stls.filters import Filters
    frame = needs.trend(demo_db, Filters(2024, 2025, ("E07000111",), None, "post_16"))
    for year in (2024, 2025):
        rows = demo_sql("""SELECT need_area::VARCHAR, sum(count), sum(record_key) FROM activity
                           WHERE district_code = 'E07000111' AND phase = 'post_16' AND activity_type = 'referral'
                           AND need_area IS NOT NULL AND activity_date BETWEEN ? AND ? GROUP BY 1""",
                        [f"{year}-09-01", f"{year + 1}-08-31"])
        total, total_hidden = protect(sum(n for _, n, _ in rows), sum(k for *_, k in rows))
        mine = frame[frame["academic_year"] == year].set_index("need_area")
        for area, n, key in rows:
            value, hidden = protect(n, key)
            assert bool(mine.at[area, "share_hidden"]) == (hidden or total_hidden)
            if not (hidden or total_hidden):
                assert mine.at[area, "share"] == pytest.approx(100 * value / total)
        assert (mine["share"].dropna() < 100).all()


def test_the_trend_title_says_rose_or_fell_as_the_share_moved(demo_db):
    import re

    from stls.filters import Filters
    from stls.present.views import areas_of_need as needs_view
    for f in (Filters(2016, 2025), Filters(2024, 2025, ("E07000111",), None, "post_16"), Filters(2019, 2023, ("E07000113",))):
        title = needs_view.trend_chart(demo_db, f).title
        verb, a, b = re.search(r" (rose|fell|stayed) from (\d+)% to (\d+)%", title).groups()
        assert verb == ("rose" if int(b) > int(a) else "fell" if int(b) < int(a) else "stayed") or a == b, title
