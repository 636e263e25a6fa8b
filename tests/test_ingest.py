"""Loading files: the bad-file corpus is refused with clear messages and changes nothing;
good files in real-world shapes load with exact totals; repeats, overlaps and --replace."""
import datetime as dt
import shutil
import tomllib
from pathlib import Path

import duckdb
import pytest
from conftest import ROOT

from stls.store import db as dbmod
from stls.store.ingest import KINDS, import_file

DATA = ROOT / "tests" / "data"
EXPECTED = tomllib.loads((DATA / "bad" / "expected.toml").read_text())
TABLES = ("activity", "attainment", "sen_pupils", "settings", "budget", "activity_monthly", "setting_contacts")


def fingerprint(path: Path) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*), sum(hash(COLUMNS(*))) FROM {t}").fetchall()[0] for t in TABLES}
    finally:
        con.close()


@pytest.fixture(scope="module")
def live(demo_path, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ingest") / "live.duckdb"
    shutil.copyfile(demo_path, path)
    return path


@pytest.fixture()
def empty(tmp_path) -> Path:
    return dbmod.ensure_database(tmp_path / "empty.duckdb")


@pytest.fixture()
def own(demo_path, tmp_path) -> Path:
    """A copy of the demo for this test alone: for tests that change the data or read the import
    log, which must not depend on what other tests did to ``live`` before them."""
    path = tmp_path / "own.duckdb"
    shutil.copyfile(demo_path, path)
    return path


def test_corpus_has_at_least_thirty_bad_files():
    assert len(EXPECTED) >= 30 and all((DATA / "bad" / name).exists() for name in EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file_is_refused_and_changes_nothing(live, name):
    kind, fragment = EXPECTED[name]
    before = fingerprint(live)
    report = import_file(DATA / "bad" / name, kind, live, today=dt.date(2026, 11, 28))
    text = "\n".join(report.lines())
    assert report.status == "refused", text
    assert fragment in text, text
    assert name in text
    assert fingerprint(live) == before


def test_problem_rows_are_spreadsheet_rows(live):
    report = import_file(DATA / "bad" / "totals_row.csv", "activity", live)
    assert (report.problems[0].row, report.problems[0].column, report.problems[0].value) == (3, "date", "Total")
    assert "looks like a totals row" in report.problems[0].expected   # header = row 1, data = row 2
    report = import_file(DATA / "bad" / "xlsx_bad_date.xlsx", "activity", live)
    assert report.problems[0].row == 2 and report.problems[0].column == "date"


def test_a_totals_row_is_one_problem_among_the_others(live, tmp_path):
    """A totals row is reported with the file's other problems (it was refused on its own, and
    every other problem stayed hidden until it was removed), and nothing is loaded."""
    path = tmp_path / "totals_and_more.csv"
    path.write_text("date,district,service,activity_type,need_area,phase,setting_urn,count\n"
                    "2024-10-14,Swale,,referral,SEMH,primary,,1\n"        # row 2: good
                    "2025-13-40,Swale,,referral,SEMH,primary,,1\n"        # row 3: no such date
                    "2024-10-14,Atlantis,,referral,SEMH,primary,,1\n"     # row 4: no such district
                    "Total,,,,,,,3\n")                                    # row 5: a totals row
    before = fingerprint(live)
    report = import_file(path, "activity", live)
    assert report.status == "refused"
    assert [(p.row, p.column) for p in report.problems] == [(3, "date"), (4, "district"), (5, "date")]
    assert report.problems[2].value == "Total" and "looks like a totals row" in report.problems[2].expected
    assert report.total_problems == 3
    assert fingerprint(live) == before


def test_many_problems_list_the_first_fifty_and_the_total(live, tmp_path):
    path = tmp_path / "many.csv"
    path.write_text("date,district,activity_type\n" + "2024-10-14,Nowhere,referral\n" * 180)
    report = import_file(path, "activity", live)
    assert len(report.problems) == 50 and report.total_problems == 180
    assert "130 more problems (180 in all; the first 50 are shown)" in "\n".join(report.lines())


def test_very_large_file_is_refused(live, tmp_path, monkeypatch):
    monkeypatch.setenv("STLS_MAX_IMPORT_MB", "2")
    path = tmp_path / "big.csv"
    path.write_text("date,district,activity_type\n" + "2024-10-14,Swale,referral\n" * 120_000)
    before = fingerprint(live)
    report = import_file(path, "activity", live)
    assert "over the 2 MB limit" in report.message and fingerprint(live) == before


def test_failed_attempts_are_logged(own):
    """A refused file is logged with its name and why (this test makes its own refusal: it read
    the log of ``live`` and passed only after the corpus test had refused the file there)."""
    before = _sql(own, "SELECT count(*) FROM import_log")[0][0]
    report = import_file(DATA / "bad" / "unknown_district.csv", "activity", own, today=dt.date(2026, 11, 28))
    assert report.status == "refused"
    rows = _sql(own, f"SELECT status, file_name, message FROM import_log ORDER BY import_id OFFSET {before}")
    assert len(rows) == 1, rows
    status, name, message = rows[0]
    assert (status, name) == ("refused", "unknown_district.csv")
    assert "problem" in message, message


def _sql(path, query):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def test_good_activity_with_bom_aliases_and_blanks(empty):
    report = import_file(DATA / "good" / "activity_bom_aliases.csv", "activity", empty, today=dt.date(2026, 11, 28))
    assert report.status == "loaded", report.lines()
    rows = _sql(empty, "SELECT activity_date, district_code, service_code, activity_type, need_area, phase, count "
                       "FROM activity ORDER BY activity_date, district_code")
    assert rows == [
        (dt.date(2025, 11, 1), "E07000116", "PD", "advice", None, None, 3),
        (dt.date(2025, 11, 3), "E07000112", "SENSORY", "school_visit", "SP", "primary", 2),
        (dt.date(2025, 11, 4), "E07000115", "E07000115", "referral", "CI", "early_years", 1),
        (dt.date(2025, 11, 5), "E07000112", "E07000112", "lift_meeting", None, None, 1),
    ]
    assert _sql(empty, "SELECT sum(activities) FROM activity_monthly")[0][0] == 7


def test_good_windows_1252_semicolons_and_title_row(empty):
    report = import_file(DATA / "good" / "activity_cp1252_semicolon.csv", "activity", empty, today=dt.date(2026, 11, 28))
    assert report.status == "loaded", report.lines()
    assert any("Skipped 1 row(s) above the header" in n for n in report.notes)
    assert _sql(empty, "SELECT need_area, count FROM activity ORDER BY activity_date") == [("SEMH", 4), (None, 2)]


def test_good_xlsx_first_sheet_real_dates(empty):
    report = import_file(DATA / "good" / "activity_two_sheets.xlsx", "activity", empty, today=dt.date(2026, 11, 28))
    assert report.status == "loaded", report.lines()
    assert any("1 other sheet(s) ignored: 'Notes'" in n for n in report.notes)
    assert _sql(empty, "SELECT activity_date, activity_type, count FROM activity ORDER BY activity_date") == [
        (dt.date(2025, 11, 12), "drop_in", 5), (dt.date(2025, 11, 13), "intensive_support", 1)]


def test_good_attainment_and_budget(empty):
    assert import_file(DATA / "good" / "attainment_2026.csv", "attainment", empty).status == "loaded"
    assert _sql(empty, "SELECT geography_code, sen_group, cohort, value FROM attainment ORDER BY geography_code") == [
        ("E07000113", "sen_support", 230, None), ("E10000016", "sen_support", 2400, 27.5),
        ("E92000001", "ehc_plan", 30000, 9.5)]
    assert import_file(DATA / "good" / "budget_2027.csv", "budget", empty).status == "loaded"
    assert _sql(empty, "SELECT service_code, allocation_gbp FROM budget ORDER BY service_code::VARCHAR") == [
        ("E07000113", 512000.0), ("PD", 468000.0), ("SENSORY", 780000.0)]


def test_repeat_overlap_and_replace(empty, tmp_path):
    first = tmp_path / "nov.csv"
    first.write_text("date,district,activity_type,count\n2025-11-03,Swale,referral,2\n2025-11-04,Thanet,referral,1\n")
    one = import_file(first, "activity", empty)
    assert one.status == "loaded" and one.import_id == 1
    again = import_file(first, "activity", empty)
    assert again.status == "refused" and "already loaded on" in again.message and "as import 1 (nov.csv)" in again.message
    revised = tmp_path / "nov_revised.csv"
    revised.write_text("date,district,activity_type,count\n2025-11-03,Swale,referral,5\n")
    refused = import_file(revised, "activity", empty)
    assert refused.status == "refused" and "already loaded by import 1 (nov.csv" in refused.message
    assert "--replace" in refused.message
    dry = import_file(revised, "activity", empty, replace=True, dry_run=True)
    assert dry.status == "checked" and _sql(empty, "SELECT sum(count) FROM activity")[0][0] == 3
    swapped = import_file(revised, "activity", empty, replace=True)
    assert swapped.status == "loaded" and swapped.replaced_rows == 1      # only Swale's own team
    assert _sql(empty, "SELECT district_code, count FROM activity ORDER BY 1") == [("E07000113", 5), ("E07000114", 1)]
    assert _sql(empty, "SELECT sum(activities) FROM activity_monthly")[0][0] == 6
    log = _sql(empty, "SELECT import_id, status FROM import_log ORDER BY 1")
    assert log == [(1, "loaded"), (2, "refused"), (3, "refused"), (4, "loaded")]   # dry runs are not logged


def test_good_settings_xlsx_and_census(empty):
    report = import_file(DATA / "good" / "settings_new.xlsx", "settings", empty)
    assert report.status == "loaded", report.lines()
    assert _sql(empty, "SELECT urn, district_code, phase, open FROM settings ORDER BY urn") == [
        ("990001", "E07000105", "primary", True), ("EY990002", "E07000106", "early_years", False)]
    report = import_file(DATA / "good" / "sen_pupils_2026.csv", "sen_pupils", empty)
    assert report.status == "loaded", report.lines()
    assert _sql(empty, "SELECT sen_group, primary_need, phase, pupils FROM sen_pupils ORDER BY pupils") == [
        ("ehc_plan", "ASD", "secondary", 233), ("sen_support", "SEMH", "primary", 412), ("no_sen", None, "primary", 14000)]


@pytest.mark.parametrize("name,kind", [
    ("activity_bom_aliases.csv", "activity"), ("activity_two_sheets.xlsx", "activity"),
    ("attainment_2026.csv", "attainment"), ("sen_pupils_2026.csv", "sen_pupils"),
    ("settings_new.xlsx", "settings"), ("budget_2027.csv", "budget")])
def test_every_kind_loads_through_the_cli(tmp_path, capsys, name, kind):
    from stls.cli import main
    db = tmp_path / "cli.duckdb"
    assert main(["import", kind, str(DATA / "good" / name), "--db", str(db), "--dry-run"]) == 0
    assert "checked (dry run)" in capsys.readouterr().out
    assert main(["import", kind, str(DATA / "good" / name), "--db", str(db)]) == 0
    assert "loaded" in capsys.readouterr().out
    assert main(["import", kind, str(DATA / "good" / name), "--db", str(db)]) == 1
    assert "already loaded on" in capsys.readouterr().err
    assert main(["imports", "--db", str(db)]) == 0
    assert name in capsys.readouterr().out


def test_kind_is_detected_from_the_header(empty):
    report = import_file(DATA / "good" / "budget_2027.csv", None, empty, dry_run=True)
    assert report.kind == "budget" and report.status == "checked"


def test_every_template_passes_its_own_check(live):
    """A downloaded template's example row has no problems: its URN is in the settings list (a
    fixed URN was not), and the activity example is for the month after the latest held, so it
    is ready to load. (The other examples' years are already held: they say to use --replace.)"""
    from stls.present.views import data as data_view
    from stls.store import db as dbmod
    handle = dbmod.Database(live)
    for kind in KINDS:
        body = data_view.template_csv(handle, kind)
        report = import_file(f"stls-{kind}-template.csv", kind, live, dry_run=True, data=body)
        assert report.problems == [] and report.total_problems == 0, (kind, report.lines())
        assert "refused: the" not in report.message, (kind, report.message)
    report = import_file("stls-activity-template.csv", "activity", live, dry_run=True,
                         data=data_view.template_csv(handle, "activity"))
    assert report.status == "checked", report.lines()
    handle.close()


def test_a_budget_year_already_held_is_refused_with_a_message_not_an_error(own, tmp_path):
    """Loading a financial year the budget already holds said nothing useful: it raised a
    database error (the budget has no import_id). Now: refused with the rows held; --replace loads."""
    path = tmp_path / "budget.csv"
    path.write_text("financial_year,service,allocation_gbp\n2024-25,Swale,\"£512,000\"\n")
    before = fingerprint(own)
    report = import_file(path, "budget", own)
    assert report.status == "refused" and "already loaded" in report.message and "--replace" in report.message
    assert fingerprint(own) == before
    report = import_file(path, "budget", own, replace=True)
    assert report.status == "loaded", report.lines()
