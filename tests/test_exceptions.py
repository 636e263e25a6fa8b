"""The exception list and 'since the last release' (issue 32): each rule firing and not firing on
hand-worked series, direction by the KPI's polarity, the page and ``exceptions --format json``
showing the same list, and every sentence stating figures the protected tables hold."""
import datetime as dt
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stls import reference as ref
from stls.analysis import exceptions, funnel, narrative
from stls.filters import Filters, default_filters
from stls.kpi import catalogue, compare, spc
from stls.kpi.catalogue import Polarity
from stls.store import queries
from stls.store import releases as rel
from stls.store.releases import Releases

ROOT = Path(__file__).resolve().parent.parent
MONTHS = [dt.date(2024 + (9 + k - 1) // 12, (9 + k - 1) % 12 + 1, 1) for k in range(20)]
F = Filters(2024, 2025)
SWALE = "E07000113"


def _chart(values, polarity, target=None) -> spc.SpcResult:
    return spc.xmr(MONTHS[:len(values)], values, (), polarity, target)


STEADY = [50, 52, 49, 51, 50, 48, 52, 50, 49, 51, 50, 52, 48, 50, 51, 49]


@pytest.mark.parametrize("polarity, last, fires, concerning", [
    (Polarity.higher, 90, True, False),    # far above the limits: a higher-is-better KPI improves
    (Polarity.lower, 90, True, True),      # the same point on a lower-is-better KPI is concerning
    (Polarity.higher, 10, True, True),
    (Polarity.higher, 51, False, None),    # inside the limits: common cause, nothing to say
])
def test_a_special_cause_in_the_latest_point_by_the_kpis_polarity(polarity, last, fires, concerning):
    kpi = catalogue.get("school_visits").model_copy(update={"polarity": polarity})
    s = _chart(STEADY + [last], polarity)
    found = exceptions._special_cause(kpi, SWALE, s, F)
    assert bool(found) == fires
    if fires:
        assert found[0].concerning == concerning and found[0].rule == "special_cause"
        assert found[0].reason.startswith(spc.VARIATION_TEXT[s.variation]) and "beyond a process limit" in found[0].reason
        assert found[0].link == f"scorecard?from=2024%2F25&to=2025%2F26&district={SWALE}&kpi=school_visits"


def test_assurance_fails_only_when_the_target_lies_outside_the_limits_on_the_wrong_side():
    kpi = catalogue.get("settings_reached")
    failing = _chart(STEADY, Polarity.higher, target=80)     # limits about 44 to 56: 80 is out of reach
    passing = _chart(STEADY, Polarity.higher, target=30)
    inside = _chart(STEADY, Polarity.higher, target=50)
    assert failing.assurance == "consistently_failing" and exceptions._assurance(kpi, SWALE, failing, F)
    assert passing.assurance == "consistently_passing" and not exceptions._assurance(kpi, SWALE, passing, F)
    assert inside.assurance == "hit_and_miss" and not exceptions._assurance(kpi, SWALE, inside, F)


def _headline(kpi_id, value, rag, suppressed=False, not_returned=()):
    kpi = catalogue.get(kpi_id)
    return compare.Headline(kpi, 2025, "2025/26", value, None, None, rag=rag, suppressed=suppressed,
                            not_returned=tuple(not_returned))


def test_red_fires_for_a_red_figure_and_never_quotes_a_hidden_one():
    kpi = catalogue.get("settings_reached")
    red = exceptions._red(kpi, SWALE, _headline("settings_reached", 41.0, "Red"), F)
    assert len(red) == 1 and red[0].reason.startswith("41.0% in 2025/26: below the floor standard")
    assert not exceptions._red(kpi, SWALE, _headline("settings_reached", 70.0, "Amber"), F)
    assert not exceptions._red(kpi, SWALE, _headline("settings_reached", 3.0, "Red", suppressed=True), F)


def test_a_month_some_district_did_not_return_is_not_judged():
    s = _chart(STEADY + [10], Polarity.higher)
    last = f"{s.columns['period'][-1]:%b %Y}"
    assert exceptions._judged_month(s, _headline("referrals", 1.0, None))
    assert not exceptions._judged_month(s, _headline("referrals", 1.0, None, not_returned=(f"Dover, {last}",)))


def test_a_late_tracker_is_a_data_quality_exception(demo_db):
    last = queries.data_extent(demo_db)["last_month"]                 # October 2026
    on_time = dt.date(last.year + (last.month == 12), last.month % 12 + 1, 20)   # in the month after: on time
    late = dt.date(last.year + 1, 3, 5)
    assert exceptions._tracker_late(demo_db, F, today=on_time) == []
    found = exceptions._tracker_late(demo_db, F, today=late)
    assert len(found) == 1 and f"runs to {last:%B %Y}" in found[0].reason and found[0].rule == "data_quality"


@pytest.fixture(scope="module")
def two_releases(demo_path, tmp_path_factory):
    """The demo as release 1, then November 2026 loaded for three districts only as release 2."""
    folder = tmp_path_factory.mktemp("exceptions")
    db = folder / "stls.duckdb"
    shutil.copyfile(demo_path, db)
    Releases(db).start_over("demo build", "the synthetic demo")
    month = folder / "november.csv"
    month.write_text("date,district,service,activity_type,need_area,phase,setting_urn,count\n" + "".join(
        f"2026-11-0{day},{name},,referral,CI,primary,,{3 + k}\n" for k, name in enumerate(["Swale", "Thanet", "Dover"])
        for day in (1, 2, 3)))
    report, release = rel.load(month, "activity", db, by="cron", note="November, three districts")
    assert report.status == "loaded" and release.number == 2
    return db


def test_months_not_returned_are_named_once_per_district(two_releases):
    found = [a for a in exceptions.alerts(Releases(two_releases).open()) if a.rule == "data_quality" and a.kpi == ""]
    named = {a.area for a in found}
    assert named == set(ref.DISTRICT_CODES) - {"E07000113", "E07000114", "E07000108"}   # all but Swale, Thanet, Dover
    assert all(a.reason.endswith("no tracker return for Nov 2026") for a in found)


def test_worse_than_kent_agrees_with_the_funnel_and_the_trend(demo_db):
    """Recomputed from the funnel plot and each district's own trend: fired exactly where a
    district is outside the 95% limits on the worse side and its trend is worsening."""
    f = default_filters(queries.data_extent(demo_db))
    fired = {(a.kpi, a.area) for a in exceptions.alerts(demo_db) if a.rule == "worse_than_kent"}
    expected, judged = set(), 0
    for kpi in catalogue.catalogue().values():
        if not kpi.compute.results:
            continue
        heads = compare.headlines_by_geography(demo_db, kpi.id, f)
        found = funnel.district_funnel(demo_db, kpi.compute.measure, kpi.compute.sen_group, heads[ref.KENT_CODE].year)
        side = "below" if kpi.polarity is Polarity.higher else "above"
        for row in found.points.itertuples():
            judged += 1
            if str(row.position).startswith(side) and heads[row.geography_code].direction == "Worsening":
                expected.add((kpi.id, row.geography_code))
    assert judged >= 60 and fired == expected


def test_the_page_and_the_command_line_show_the_same_list(two_releases, monkeypatch):
    from streamlit.testing.v1 import AppTest
    done = subprocess.run([sys.executable, "-m", "stls", "exceptions", "--format", "json", "--db", str(two_releases)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert listed["release"] == 2 and listed["exceptions"]
    monkeypatch.setenv("STLS_DB", str(two_releases))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.switch_page("app_pages/exceptions.py")
    at.run()
    assert not at.exception
    lines = [line.replace("\\", "") for m in at.markdown if m.value.startswith("- **") and "[Open the view](" in m.value
             for line in m.value.splitlines()]
    expected = [f"- **{e['Indicator']}** · {e['Rule']} ({e['Concern']}): {e['Reason']} [Open the view]({e['Link']})"
                for e in listed["exceptions"]]
    assert sorted(lines) == sorted(e.replace("\\", "") for e in expected)
    assert at.header[2].value == f"Exceptions: {len(listed['exceptions'])}"


NUMBER = re.compile(r"£?\d[\d,]*(?:\.\d+)?%?(?: pts)?")


def test_each_sentence_states_the_figures_it_rests_on(two_releases):
    r = Releases(two_releases)
    before, after = r.open(1), r.open(2)
    lines = narrative.since(before, after, 1)
    assert lines
    f_now, f_was = default_filters(queries.data_extent(after)), default_filters(queries.data_extent(before))
    for line in lines:
        now = compare.headlines_by_geography(after, line.kpi, f_now)[line.area]
        was = compare.headlines_by_geography(before, line.kpi, f_was)[line.area]
        clauses = dict(line.clauses)
        if now.suppressed:
            assert clauses["suppression"] == narrative.WITHHELD and now.display not in line.text.split(":", 1)[1][:5]
        else:
            assert clauses["value"] == f"{now.display} in {now.label}"
        if "change" in clauses:
            assert clauses["change"] == f"release 1 had {was.display} for {was.label}" or was.suppressed
        if "benchmark" in clauses:
            kent = compare.headlines_by_geography(after, line.kpi, f_now)[ref.KENT_CODE]
            assert clauses["benchmark"] == f"Kent {kent.display}"
        for rule, _words in line.clauses:
            assert rule in dict(narrative.RULES)
        assert not re.search(r"\b(improv|worsen|better|worse)", clauses.get("value", "") + clauses.get("change", ""))


def test_a_scope_keeps_its_own_lines():
    from stls.store.subscriptions import Subscription
    sub = Subscription("a@kent.gov.uk", (SWALE,), ("referrals",), False, "", 0.0)
    assert sub.covers("referrals", SWALE) and sub.covers("", SWALE)
    assert not sub.covers("school_visits", SWALE) and not sub.covers("referrals", ref.KENT_CODE)


def test_the_opening_slide_says_what_changed_since_the_last_release(two_releases):
    from stls.present import meeting
    from stls.present.views import exceptions as view
    r = Releases(two_releases)
    after = r.open(2)
    f = default_filters(queries.data_extent(after))
    since = view.since_lines(after, f, r.open(1), 1)
    assert since and all(", Kent: " in line for line in since)       # Kent's own figures on Kent's pack
    opening = meeting.agenda(after, f, (), since)[0]
    assert opening.bullets[:meeting.SINCE_ON_OPENING] == list(since[:meeting.SINCE_ON_OPENING])
    if len(since) > meeting.SINCE_ON_OPENING:
        assert opening.bullets[meeting.SINCE_ON_OPENING].startswith(f"and {len(since) - meeting.SINCE_ON_OPENING} more")
    assert meeting.agenda(after, f)[0].bullets == opening.bullets[len(opening.bullets) - len(meeting.agenda(after, f)[0].bullets):]
