"""Every page in AppTest over a matrix of filters; key figures against independent calculations."""
import datetime as dt

import pytest
from cellkey import protect, value
from conftest import ROOT
from scipy import stats
from streamlit.testing.v1 import AppTest

from stls import reference as ref
from stls.store import disclosure

PAGES = ["app_pages/overview.py", "app_pages/scorecard.py", "app_pages/district.py",
         "app_pages/activity_and_outcomes.py", "app_pages/impact.py", "app_pages/areas_of_need.py", "app_pages/accessibility.py"]
CONTACTS = ["referral", "school_visit", "advice", "drop_in", "intensive_support"]


def _open(page: str, params: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update(params or {})
    if page != PAGES[0]:
        at.switch_page(page)  # before the first run: as if the link opened this page directly
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _frame(at, first_column: str, having: str | None = None):
    for df in at.dataframe:
        frame = df.value
        if len(frame.columns) and frame.columns[0] == first_column and (having is None or having in frame.columns):
            return frame
    raise AssertionError(f"no table starting with {first_column}")


def _year_bounds(y):
    return dt.date(y, 9, 1), dt.date(y + 1, 8, 31)


def _rate(sql, district, year, types, need=None):
    cond, params = "", [district, list(types), *_year_bounds(year)]
    if need:
        cond, params = " AND need_area = ?", params + [need]
    n = value(*sql(f"SELECT coalesce(sum(count), 0), coalesce(sum(record_key), 0) FROM activity WHERE district_code = ? "
                   f"AND activity_type IN (SELECT unnest(?)) AND activity_date BETWEEN ? AND ?{cond}", params)[0])
    pcond, pparams = "", [district, year]
    if need:
        pcond, pparams = " AND primary_need IN (SELECT code FROM primary_needs WHERE need_area = ?)", pparams + [need]
    pupils = value(*sql("SELECT sum(pupils), sum(record_key) FROM sen_pupils WHERE geography_code = ? AND academic_year = ? "
                        f"AND sen_group = 'sen_support'{pcond}", pparams)[0])
    return 100 * n / pupils


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_with_defaults(app_env, page):
    at = _open(page)
    assert at.title[0].value
    assert "Synthetic districts, real county." in at.warning[0].value
    notes = [m.value for m in at.markdown if disclosure.ADDITIVITY_NOTE in m.value]
    if "meeting" not in page:   # the meeting's slides and pack carry it themselves
        assert notes and f"]({disclosure.METHOD_PAGE})" in notes[-1], page


@pytest.mark.parametrize("district", ref.DISTRICT_CODES)
def test_district_profile_for_every_district(app_env, demo_sql, district):
    at = _open("app_pages/district.py", {"district": district, "to": "2024/25"})
    assert at.title[0].value == f"District profile: {ref.DISTRICT_NAMES[district]}"
    cards = {m.label: m.value for m in at.metric}
    assert cards["Referrals per 100 SEN"] == f"{_rate(demo_sql, district, 2024, ['referral']):.1f}"
    assert cards["Contacts per 100 SEN"] == f"{_rate(demo_sql, district, 2024, CONTACTS):.1f}"
    unreached = demo_sql(
        "SELECT count(*) FROM settings s WHERE s.open AND s.district_code = ? AND NOT EXISTS "
        "(SELECT 1 FROM activity a WHERE a.setting_urn = s.urn AND a.activity_date BETWEEN ? AND ?)",
        [district, *_year_bounds(2024)])[0][0]
    assert any(f"**{unreached} open settings**" in m.value for m in at.markdown)
    assert len(_frame(at, "URN")) == unreached


@pytest.mark.parametrize("need", list(ref.NEED_AREAS))
def test_scorecard_by_area_of_need(app_env, demo_sql, need):
    at = _open("app_pages/scorecard.py", {"need": need, "to": "2023/24"})
    access = _frame(at, "Indicator").set_index("Indicator")
    n = value(*demo_sql("SELECT sum(count), sum(record_key) FROM activity WHERE activity_type = 'referral' AND need_area = ? "
                        "AND activity_date BETWEEN ? AND ?", [need, *_year_bounds(2023)])[0])
    assert access.loc["Referrals", "Value"] == f"{n:,.0f}"
    matrix = _frame(at, "Area", "Referrals per 100 SEN")
    assert len(matrix) == 13 and matrix["Area"].iloc[-1] == "Kent"


@pytest.mark.parametrize("need", list(ref.NEED_AREAS))
def test_areas_of_need_index(app_env, demo_sql, need):
    at = _open("app_pages/areas_of_need.py", {"need": need, "to": "2024/25"})
    assert any("area-of-need filter is not applied" in i.value for i in at.info)
    refs = {a: value(n, k) for a, n, k in demo_sql(
        "SELECT need_area, sum(count), sum(record_key) FROM activity WHERE activity_type = 'referral' AND "
        "need_area IS NOT NULL AND activity_date BETWEEN ? AND ? GROUP BY 1", list(_year_bounds(2024)))}
    pupils = {a: value(n, k) for a, n, k in demo_sql(
        "SELECT pn.need_area, sum(s.pupils), sum(s.record_key) FROM sen_pupils s JOIN primary_needs pn ON "
        "s.primary_need = pn.code WHERE s.academic_year = 2024 AND s.sen_group IN "
        "('ehc_plan', 'sen_support') AND pn.need_area IS NOT NULL GROUP BY 1")}
    r, p = sum(refs.values()), sum(pupils.values())
    expected = 50 * sum(abs(refs[a] / r - pupils[a] / p) for a in ref.NEED_AREAS)
    index = _frame(at, "Area", "Dissimilarity index (0–100)").set_index("Area")
    assert index.loc["Kent", "Dissimilarity index (0–100)"] == f"{expected:.1f}"


@pytest.mark.parametrize("view, base", [("same_year", None), ("lag", None), ("change", None), ("change", 2016)])
def test_activity_and_outcomes_coefficients(app_env, demo_sql, view, base):
    """The change view's span starts at the tiered model (2022/23) unless the user chooses an
    earlier year, and then the page warns that the span crosses the break."""
    params = {"view": view, "outcome": "value", "year": "2023"} | ({"base": str(base)} if base else {})
    at = _open("app_pages/activity_and_outcomes.py", params)
    y1, y0 = 2023, base or 2022
    assert any("crosses a break in 2022/23" in w.value for w in at.warning) == (base is not None)
    xs, ys = [], []
    for d in ref.DISTRICT_CODES:
        value = lambda y: demo_sql("SELECT value FROM attainment WHERE geography_code = ? AND academic_year = ? AND "
                                   "measure = 'ks2_rwm_expected' AND sen_group = 'sen_support'", [d, y])[0][0]
        if view == "same_year":
            xs.append(_rate(demo_sql, d, y1, CONTACTS)), ys.append(value(y1))
        elif view == "lag":
            xs.append(_rate(demo_sql, d, y1 - 1, CONTACTS)), ys.append(value(y1))
        else:
            xs.append(_rate(demo_sql, d, y1, CONTACTS) - _rate(demo_sql, d, y0, CONTACTS))
            ys.append(value(y1) - value(y0))
    coef = _frame(at, "Measure").set_index("Measure")
    assert coef.loc["Pearson r", "Estimate"] == f"{stats.pearsonr(xs, ys).statistic:.2f}"
    assert coef.loc["Spearman ρ", "Estimate"] == f"{stats.spearmanr(xs, ys).statistic:.2f}"
    assert coef.loc["Pearson r", "Districts (n)"] == "12"
    assert any("association, not cause" in i.value for i in at.info)


@pytest.mark.parametrize("page", PAGES[:5])
def test_years_without_ks2_give_messages_not_errors(app_env, page):
    at = _open(page, {"from": "2019/20", "to": "2020/21", "district": "E07000114"})
    assert at.title[0].value


def test_empty_activity_selection_on_overview(app_env):
    at = _open(PAGES[0], {"types": ""})
    at.multiselect(key="pg_overview_types").set_value([]).run()
    assert not at.exception
    assert any("Choose at least one activity type" in i.value for i in at.info)


def test_one_click_opens_a_profile_that_can_still_change_district(app_env):
    """A district's button under the scorecard's matrix opens its profile in the same session
    (the table's link took two clicks and opened a new tab); the picker there offers all 12."""
    at = _open("app_pages/scorecard.py", {"to": "2024/25"})
    at.button(key="open_E07000113").click().run()
    assert not at.exception
    assert at.title[0].value == "District profile: Swale"
    picker = at.selectbox(key="pg_district_profile")
    assert picker.value == "E07000113" and picker.options == [ref.DISTRICT_NAMES[c] for c in ref.DISTRICT_CODES]
    assert at.query_params["to"] == "2024/25" and at.query_params["profile"] == "E07000113"
    at.switch_page("app_pages/district.py")   # AppTest runs the first page again unless told (a browser stays)
    picker.set_value("E07000105").run()
    assert at.title[0].value == "District profile: Ashford"
    titles = [c.value for c in at.markdown] + [e.label for e in at.expander]
    assert not any("Swale" in t for t in titles if "lies" in t)


def test_a_narrow_view_says_which_months_and_districts_are_protected(app_env):
    """Sevenoaks, post-16, SEMH: most months are [c], and two districts' rates are; the charts say
    so in words rather than leave gaps unexplained."""
    at = _open(PAGES[0], {"district": "E07000111", "phase": "post_16", "need": "SEMH", "from": "2024/25",
                          "to": "2025/26"})
    captions = [c.value for c in at.caption]
    assert any(c.startswith("[c]: ") and "months of referrals" in c for c in captions), captions
    monthly = _frame(at, "Month")
    assert (monthly["Referrals"] == "[c]").sum() >= 10 and (monthly["LIFT meetings"] == "[z]").all()


def test_month_view_against_sql(app_env, demo_sql):
    """County → district → area of need → month: one month's activity of every type in the
    district for the area of need, against the same month a year before, from direct SQL."""
    at = _open("app_pages/district.py", {"profile": "E07000113", "need": "SEMH", "to": "2024/25",
                                     "month": "2025-03-01"})
    table = _frame(at, "Activity", "Mar 2025")
    def count(month, kind):   # a type about children protected by the cell key method (tests/cellkey.py)
        n, key = demo_sql("SELECT coalesce(sum(count), 0), coalesce(sum(record_key), 0) FROM activity "
                          "WHERE district_code = 'E07000113' AND need_area = 'SEMH' AND activity_type = ? "
                          "AND date_trunc('month', activity_date) = ?", [kind, month])[0]
        return protect(n, key) if kind in ref.CHILD_LEVEL_TYPES else (float(n), False)
    for kind, label in ref.ACTIVITY_LABELS.items():
        row = table.set_index("Activity").loc[label]
        if kind in ref.NOT_BY_NEED:   # LIFT meetings are not recorded by area of need: [z], never 0
            assert tuple(row) == ("[z]", "[z]", "[z]"), kind
            continue
        (now, h_now), (before, h_before) = count(dt.date(2025, 3, 1), kind), count(dt.date(2024, 3, 1), kind)
        for cell, expected, hidden in ((row["Mar 2025"], now, h_now), (row["Mar 2024"], before, h_before)):
            assert cell == ("[c]" if hidden else f"{expected:,.0f}"), (kind, cell)
        if not (h_now or h_before):
            assert row["Change on a year before"] == f"{now - before:+,.0f}"
    assert at.selectbox(key="pg_district_month").value == "2025-03-01"


def test_data_page_without_key_explains(app_env, monkeypatch):
    monkeypatch.delenv("STLS_IMPORT_KEY_SHA256", raising=False)
    at = _open("app_pages/data.py")
    assert any("Uploading is switched off" in i.value for i in at.info)
    held = _frame(at, "Data")
    assert held.shape[0] == 6
    assert held.set_index("Data").loc["Settings' own results", "Latest held"] == "2024/25"   # the demo's last year
    assert len(_frame(at, "File", "Column")) == 44   # seven kinds: 8 + 6 + 6 + 9 + 6 (setting results) + 6 (published) + 3


def test_data_page_key(app_env, monkeypatch):
    import hashlib
    monkeypatch.setenv("STLS_IMPORT_KEY_SHA256", hashlib.sha256(b"a long import key").hexdigest())
    at = _open("app_pages/data.py")
    at.text_input(key="imp_key").input("a wrong import key").run()
    assert any("not right" in e.value for e in at.error)
    at.text_input(key="imp_key").input("a long import key").run()
    assert not at.error and at.selectbox(key="imp_kind").value == "detect"


def test_one_import_key_rule_on_the_page_and_the_command_line(app_env, monkeypatch):
    """A key under 12 characters is refused by `python -m stls key` and on the Data page, even
    when the server was given its hash some other way (the page accepted any key that matched)."""
    import hashlib
    import subprocess
    import sys
    monkeypatch.setenv("STLS_IMPORT_KEY_SHA256", hashlib.sha256(b"short").hexdigest())
    at = _open("app_pages/data.py")
    at.text_input(key="imp_key").input("short").run()
    assert any("at least 12 characters (this one has 5)" in e.value for e in at.error)
    assert not any(s.key == "imp_kind" for s in at.selectbox)
    cli = subprocess.run([sys.executable, "-m", "stls", "key"], input="short\n", capture_output=True, text=True,
                         cwd=ROOT)
    assert cli.returncode != 0 and "at least 12 characters (this one has 5)" in cli.stderr
    cli = subprocess.run([sys.executable, "-m", "stls", "key"], input="a long import key\n", capture_output=True,
                         text=True, cwd=ROOT)
    assert cli.stdout.strip() == hashlib.sha256(b"a long import key").hexdigest()


def test_completeness_flags_the_missing_and_low_months(app_env):
    """Dover made no return for March 2024: [x] here, as on every page that shows the month."""
    at = _open("app_pages/data.py")
    table = _frame(at, "District")
    dover = table.set_index("District").loc["Dover"]
    assert dover["Mar 24"] == "[x]"
    assert table.set_index("District").loc["Gravesham", "Jan 25"].endswith("(low)")


@pytest.mark.parametrize("page", PAGES[:5] + ["app_pages/meeting.py", "app_pages/data.py"])
def test_every_sidebar_filter_change_after_the_first_run(app_env, page):
    """Narrowing the years, then an area of need, then a phase, one after another on one session:
    page options that the new filters no longer offer (an outcome year outside the range) start
    again from their default instead of failing."""
    at = _open(page)
    at.sidebar.select_slider(key="flt_years").set_range(2017, 2023).run()
    assert not at.exception, [e.value for e in at.exception]
    at.sidebar.selectbox(key="flt_need").set_value("SEMH").run()
    assert not at.exception, [e.value for e in at.exception]
    at.sidebar.selectbox(key="flt_phase").set_value("secondary").run()
    assert not at.exception, [e.value for e in at.exception]
    if page == "app_pages/activity_and_outcomes.py":
        year = at.selectbox(key="pg_activity_and_outcomes_year")
        assert year.value == "2023" and year.options[-1] == "2023/24"


def test_a_month_not_returned_is_named_on_every_page_that_counts_it(app_env):
    """Dover made no return for March 2024 (the demo's one gap): Dover's Overview shows the month
    as [x] and says its cards' 2023/24 is incomplete; the scorecard names it beside each tracker KPI."""
    at = _open("app_pages/overview.py", {"district": "E07000108", "from": "2023/24", "to": "2023/24"})
    said = [m.value for m in at.markdown]
    assert any("2023/24 is incomplete: no tracker return from Dover, Mar 2024" in s for s in said)
    months = _frame(at, "Month").set_index("Month")
    assert (months.loc["Mar 2024"].drop("Not returned") == "[x]").all() and months.loc["Mar 2024", "Not returned"] == "Dover"
    assert months.loc["Feb 2024", "Not returned"] == ""
    at = _open("app_pages/scorecard.py", {"district": "E07000108", "from": "2023/24", "to": "2023/24"})
    access = _frame(at, "Indicator", "Not returned").set_index("Indicator")
    assert access.loc["Referrals", "Not returned"] == "Dover, Mar 2024"
    at = _open("app_pages/scorecard.py", {"district": "E07000105", "from": "2023/24", "to": "2023/24"})
    assert not any("Not returned" in df.value.columns for df in at.dataframe)   # Ashford returned every month


def test_spending_against_outcomes_on_the_page(app_env):
    """The commissioner's question has a view: ?x=spend (or the picker) compares each team's
    budget per pupil with the outcome; the activity picker goes, the words say spending."""
    at = _open("app_pages/activity_and_outcomes.py", {"x": "spend", "to": "2024/25"})
    assert at.info[0].value.startswith("In 2024/25, more spending went with better outcomes"), at.info[0].value
    assert not any(m.key == "pg_activity_and_outcomes_types" for m in at.multiselect)
    assert at.selectbox(key="pg_activity_and_outcomes_x").value == "spend"
    assert any(h.value.startswith("Spending and outcome change") for h in at.header)
    at.selectbox(key="pg_activity_and_outcomes_x").set_value("activity").run()
    assert "activity" in at.info[0].value and at.multiselect(key="pg_activity_and_outcomes_types")


def test_the_scorecard_shows_kent_and_england_beside_each_value(app_env, demo_sql):
    """A district's scorecard has Kent's figure and England's beside its own (it had neither);
    England's from the published row, Kent's the county scorecard's own value."""
    kent_only = _open("app_pages/scorecard.py", {"to": "2024/25"})
    at = _open("app_pages/scorecard.py", {"to": "2024/25", "district": "E07000113"})
    theirs = {r["Indicator"]: r for df in at.dataframe if "England" in df.value.columns for _, r in df.value.iterrows()}
    kent = {r["Indicator"]: r["Value"] for df in kent_only.dataframe if "Indicator" in df.value.columns
            for _, r in df.value.iterrows()}
    assert len(theirs) == 15
    for label, row in theirs.items():
        assert row["Kent"] == kent[label], label
    england = demo_sql("SELECT value FROM attainment WHERE geography_code = 'E92000001' AND academic_year = 2024 "
                       "AND measure = 'ks2_rwm_expected' AND sen_group = 'sen_support'")[0][0]
    assert theirs["KS2 expected standard (RWM), SEN support"]["England"] == f"{england:.1f}%"
    assert theirs["Referrals"]["England"] == "[z]"
    assert not any("Kent" in df.value.columns for df in kent_only.dataframe if "Indicator" in df.value.columns)


ALL_TYPES = list(__import__("stls.reference", fromlist=["x"]).ACTIVITY_TYPE_CODES)


@pytest.mark.parametrize("page, params", [
    ("app_pages/meeting.py", {"mode": "meeting", "slide": "²"}),             # str.isdigit() says yes; int() says no
    ("app_pages/meeting.py", {"mode": "meeting", "slide": "9" * 5000}),       # past int()'s 4,300-digit limit
    ("app_pages/overview.py", {"types": ",".join(ALL_TYPES)}),               # seven types; the chart takes six
    ("app_pages/overview.py", {"types": ",".join(ALL_TYPES * 2)}),           # the same seven, repeated
    ("app_pages/activity_and_outcomes.py", {"types": ",".join(ALL_TYPES * 2)}),
])
def test_crafted_links_open_the_page(app_env, page, params):
    """Penetration test: these four links crashed a page with a traceback."""
    at = _open(page, params)
    assert not at.exception, [e.message for e in at.exception]
    if "types" in params and page == "app_pages/overview.py":
        chosen = [w for w in at.multiselect if w.label == "Activity types"][0].value
        assert chosen == ALL_TYPES[:6]
    if "slide" in params:
        assert at.query_params["slide"] in ("1", ["1"])


def test_the_meeting_pack_download_never_goes_stale(app_env):
    """Issue 29: after "Prepare the pack", switching the format or adding a spotlight left the old
    pack offered for download. Now it is offered only for the choices it was built for."""
    at = _open("app_pages/meeting.py", {"mode": "meeting"})
    at.radio(key="mt_fmt").set_value("html").run()
    at.button(key="mt_build").click().run()
    assert not at.exception
    downloads = lambda at: list(at.get("download_button"))
    assert any("Download the pack (HTML" in b.proto.label for b in downloads(at))
    at.radio(key="mt_fmt").set_value("pptx").run()              # another format: the HTML pack is not offered
    assert not any("Download the pack" in b.proto.label for b in downloads(at))
    assert any("was for HTML, not PowerPoint" in w.value for w in at.warning)
    at.radio(key="mt_fmt").set_value("html").run()              # back to what it was built for: offered again
    assert any("Download the pack (HTML" in b.proto.label for b in downloads(at))
    spot = [m for m in at.multiselect if m.label.startswith("District spotlights")][0]
    spot.set_value(["E07000113"]).run()                         # a spotlight added: not the pack prepared
    assert not any("Download the pack" in b.proto.label for b in downloads(at))
    assert any("other district spotlights (none)" in w.value for w in at.warning)


def test_the_impact_page_shows_progress_while_the_server_prepares_its_evaluation(demo_path, tmp_path, monkeypatch):
    """The first visit after a new data version waited 26.6 s on a spinner. Served, the evaluation
    starts in the background as soon as any page opens the new version: the Impact page says how
    long it has been preparing and fills in by itself when it is ready."""
    import shutil
    import time

    from stls.ui import data
    fresh = tmp_path / "fresh.duckdb"   # a data version this process has never evaluated
    shutil.copy(demo_path, fresh)
    monkeypatch.setenv("STLS_DB", str(fresh))
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(data, "PREPARE_IN_BACKGROUND", True)
    at = _open("app_pages/overview.py")             # any page starts it
    at = _open("app_pages/impact.py")
    shown = [p.proto.text for p in at.get("progress")]
    assert len(shown) == 1 and shown[0].startswith("Preparing the evaluation of support for this version of the data")
    assert not any("95% interval" in i.value for i in at.info)
    deadline = time.monotonic() + 240
    while at.get("progress") and time.monotonic() < deadline:
        time.sleep(2)
        at.run()
    assert not at.get("progress")
    assert any("95% interval" in i.value for i in at.info)


def test_the_heat_map_marks_august_as_no_term_not_as_a_missing_return(demo_db):
    """August (no term) was shaded near-white like a month with no return: it is unshaded and [z]."""
    from stls.present.views import data as data_view
    chart = data_view.completeness(demo_db)
    trace = chart.figure["data"][0]
    for column, label in enumerate(trace["x"]):
        cells = [row[column] for row in trace["z"]]
        words = [row[column] for row in trace["text"]]
        if label.startswith("Aug"):
            assert all(v is None for v in cells) and set(words) <= {"[z]", "[x]", "[c]"} and "[z]" in words, label
        else:
            assert "[z]" not in words, label
    assert "August, with no term, is marked [z]" in chart.alt


def test_the_accessibility_statement_has_every_part_the_regulations_require(app_env, monkeypatch):
    """PSBAR 2018's model statement: compliance status, non-accessible content with the reason
    (non-compliance, disproportionate burden, out of scope), feedback and contact, enforcement,
    technical information, and when and how it was prepared."""
    monkeypatch.setenv("STLS_ACCESSIBILITY_CONTACT", "send.team@example.org")
    at = _open("app_pages/accessibility.py")
    text = "\n".join(m.value for m in at.markdown)
    for heading in ("## Compliance status", "## Non-accessible content", "### Non-compliance with the accessibility regulations",
                    "### Disproportionate burden", "### Content that is not within the scope", "## Feedback and contact information",
                    "## Enforcement procedure", "## Technical information about this website's accessibility",
                    "## Preparation of this statement"):
        assert heading in text, heading
    assert "**partially compliant**" in text and "Equality Advisory and Support Service" in text
    assert "send\\.team\\@example\\.org" in text   # the deployment's contact, shown as typed
    assert "WCAG 2.1.1" in text and "prepared on" in text and "last reviewed on" in text


def test_every_district_on_the_scatter_has_a_button_that_opens_its_profile(app_env):
    """Swale's and Thanet's points overlap, and a click under Swale's label opened Thanet: a button
    per district under the chart always opens the one it names."""
    at = _open("app_pages/activity_and_outcomes.py")
    buttons = {b.label: b for b in at.button if b.key and b.key.startswith("ao_open_")}
    assert set(buttons) == set(ref.DISTRICT_NAMES.values())
    buttons["Swale"].click().run()
    assert not at.exception
    assert at.title[0].value == "District profile: Swale" and at.query_params["profile"] == "E07000113"
