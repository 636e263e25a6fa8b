"""Loading files that try to go wrong: two imports racing, numbers written the local way,
implausible periods, hostile workbooks, crashes turned into messages, text echoed as text."""
from __future__ import annotations

import shutil
import threading

import duckdb
import pytest

from stls.store import db as dbmod
from stls.store.ingest import import_file

ACT = "date,district,service,activity_type,need_area,phase,setting_urn,count\n"


def _rows(path, table="activity") -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(f"SELECT coalesce(sum(count), 0) FROM {table}").fetchall()[0][0]
    finally:
        con.close()


def test_two_imports_of_one_file_at_once_load_it_once(tmp_path):
    """Started together 20 times: one says loaded, the other refuses it as a repeat (checked under
    the writer lock, against the data as it is then), and the month holds the file's rows once."""
    data = (ACT + "".join(f"2024-10-{d:02d},Swale,,school_visit,,primary,,{d}\n" for d in range(1, 29))).encode()
    expected = sum(range(1, 29))
    empty = dbmod.ensure_database(tmp_path / "empty.duckdb")   # made once, copied for each attempt
    for attempt in range(20):
        db = tmp_path / f"race{attempt}.duckdb"
        shutil.copyfile(empty, db)
        start, reports = threading.Barrier(2), []

        def run():
            start.wait()
            reports.append(import_file("october.csv", "activity", db, data=data))
        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(r.status for r in reports)
        assert statuses == ["loaded", "refused"], (attempt, [r.message for r in reports])
        refused = next(r for r in reports if r.status == "refused")
        assert "already loaded" in refused.message
        assert _rows(db) == expected, attempt
        con = duckdb.connect(str(db), read_only=True)
        assert con.execute("SELECT list(status ORDER BY import_id) FROM import_log").fetchall()[0][0] == ["loaded", "refused"]
        con.close()


HOSTILE = ["[Your session has expired: sign in here](https://evil.example/login)", "![x](https://evil.example/pixel.png)",
           ":red[**URGENT**] call 0800", "<img src=x onerror=alert(1)>", "$\\frac{1}{2}$", "a\\\\[b]", "www.evil.example"]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_from_outside_is_shown_as_typed(text):
    """Every Markdown character is escaped: undoing CommonMark's backslash escapes gives the text
    back, and no bracket, parenthesis, colon, angle bracket or dollar is left unescaped."""
    import re

    from stls.ui.widgets import plain
    shown = plain(text)
    assert re.sub(r"\\(.)", r"\1", shown) == " ".join(text.split())
    bare = re.sub(r"\\.", "", shown)
    assert not set(bare) & set("[]()!:<>$`*_"), shown


def test_a_hostile_link_is_echoed_as_plain_text(app_env):
    from conftest import ROOT
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update({"from": HOSTILE[0], "district": HOSTILE[1]})
    at.run()
    assert not at.exception
    notices = [i.value for i in at.info]
    assert notices and all("](" not in n.replace("\\]\\(", "") for n in notices)
    assert any("\\[Your session has expired\\: sign in here\\]\\(https\\://evil\\.example/login\\)" in n for n in notices)


def test_wrong_import_keys_wait_longer_then_lock_the_session(monkeypatch):
    import hashlib

    from stls.ui import importer
    monkeypatch.setattr(importer, "_source_failures", {})
    good = hashlib.sha256(b"the right import key").hexdigest()
    session, waits = {}, []
    for i in range(4):
        assert importer.check_key(f"a wrong guess {i}", good, session, now=100.0 + i, sleep=waits.append) == "That import key is not right."
    assert waits == [1.0, 2.0, 4.0, 8.0]
    assert "locked for this session for 15 minutes" in importer.check_key("a wrong guess 5", good, session, now=110.0, sleep=waits.append)
    # locked: even the right key is refused in this session until the lockout ends, then accepted
    assert "locked for this session" in importer.check_key("the right import key", good, session, now=500.0)
    assert importer.check_key("the right import key", good, session, now=110.0 + 15 * 60 + 1) is None


def test_one_typo_left_in_the_field_is_one_attempt(monkeypatch):
    """Penetration test: one wrong key left in the field was counted again on every rerun (five times)."""
    import hashlib

    from stls.ui import importer
    monkeypatch.setattr(importer, "_source_failures", {})
    good = hashlib.sha256(b"the right import key").hexdigest()
    session, waits = {}, []
    for i in range(6):   # the page reruns six times with the same typo in the field
        assert importer.check_key("the right import kez", good, session, now=100.0 + i, sleep=waits.append) == \
            "That import key is not right."
    assert session["imp_failures"] == 1 and waits == [1.0] and importer._source_failures["unknown"] == [100.0]
    assert importer.check_key("the right import key", good, session, now=120.0) is None


def test_wrong_keys_from_fresh_sessions_never_lock_out_the_right_key(monkeypatch):
    """Penetration test: thirty wrong keys from fresh sessions locked uploading server-wide for 15
    minutes, the right key included. Now the address they came from is slowed; the right key is
    accepted, from another address at once and from the same one after the wait."""
    import hashlib

    from stls.ui import importer
    monkeypatch.setattr(importer, "_source_failures", {})
    good = hashlib.sha256(b"the right import key").hexdigest()
    for k in range(30):
        importer.check_key(f"a wrong guess {k:02d}", good, {}, now=2000.0 + k, sleep=lambda s: None, source="10.0.0.66")
    waits: list[float] = []
    assert importer.check_key("the right import key", good, {}, now=2100.0, sleep=waits.append, source="10.0.0.7") is None
    assert waits == []                                   # another address: no wait at all
    assert importer.check_key("the right import key", good, {}, now=2100.0, sleep=waits.append, source="10.0.0.66") is None
    assert waits == [importer.SOURCE_WAIT]               # the guessing address: slowed, not locked out
    refused = importer.check_key("another guess!!", good, {}, now=2101.0, sleep=waits.append, source="10.0.0.66")
    assert refused == "That import key is not right." and waits == [importer.SOURCE_WAIT] * 2 + [1.0]
    assert importer.check_key("yet another guess", good, {}, now=2000.0 + importer.LOCKOUT_S + 40,
                              sleep=waits.append, source="10.0.0.66") == "That import key is not right."
    assert waits[-1] == 1.0                              # the window has passed: no address wait


GOOD = __import__("pathlib").Path(__file__).parent / "data" / "good"
EXACT = [  # file, kind, SQL over the loaded table, the value its author meant, a note the report gives
    ("budget_decimal_comma.csv", "budget",
     "SELECT list(allocation_gbp ORDER BY service_code::VARCHAR) FROM budget WHERE financial_year = 2027",
     [512000.0, 1234567.5, 8.5], "decimal comma"),   # Dover, Swale, Thanet by code
    ("attainment_percent_format.xlsx", "attainment", "SELECT value FROM attainment", 21.4, "read as shown"),
    ("activity_hidden_first_sheet.xlsx", "activity", "SELECT sum(count) FROM activity", 3, "'Old' (hidden)"),
    ("settings_quoted_line_break.csv", "settings", "SELECT name FROM settings WHERE urn = '990101'",
     "Oak Tree\nPrimary School", None),
    ("activity_utf16_tabs.txt", "activity", "SELECT sum(count) FROM activity", 7, None),
    ("activity_blank_lines.csv", "activity", "SELECT list(count ORDER BY activity_date) FROM activity", [2, 3], None),
]


@pytest.mark.parametrize("name, kind, sql, meant, note", EXACT, ids=[e[0] for e in EXACT])
def test_a_file_loads_exactly_as_its_author_meant(tmp_path, name, kind, sql, meant, note):
    db = dbmod.ensure_database(tmp_path / "empty.duckdb")
    report = import_file(GOOD / name, kind, db)
    assert report.status == "loaded", report.lines()
    if note:
        assert any(note in n for n in report.notes), report.notes
    con = duckdb.connect(str(db), read_only=True)
    got = con.execute(sql).fetchall()[0][0]
    con.close()
    assert got == (pytest.approx(meant) if isinstance(meant, float) else meant)


def test_activity_long_before_the_data_held_needs_earlier(tmp_path):
    """With activity held from November 2025, a file dated October 2024 or later loads; one of
    September 2018 (a typing error, or history loaded on purpose) needs --earlier, and the default
    view does not move without it."""
    from stls.cli import main
    from stls.store import queries
    db = dbmod.ensure_database(tmp_path / "held.duckdb")
    assert import_file("nov.csv", "activity", db, data=(ACT + "2025-11-03,Swale,,advice,,,,1\n").encode()).status == "loaded"
    old = tmp_path / "old.csv"
    old.write_text(ACT + "2018-09-10,Swale,,advice,,,,1\n")
    report = import_file(old, "activity", db)
    assert report.status == "refused"
    assert "no more than 12 months before the earliest activity already held (November 2025)" in report.lines()[-1]
    assert "--earlier" in report.lines()[-1]
    assert queries.data_extent(dbmod.Database(db))["first_month"] == __import__("datetime").date(2025, 11, 1)
    near = (ACT + "2024-11-04,Swale,,advice,,,,1\n").encode()
    assert import_file("near.csv", "activity", db, data=near).status == "loaded"   # within 12 months
    assert main(["import", "activity", str(old), "--db", str(db), "--earlier"]) == 0
    assert queries.data_extent(dbmod.Database(db))["first_month"] == __import__("datetime").date(2018, 9, 1)


def test_a_full_disk_ends_in_a_refusal_not_a_traceback(tmp_path, monkeypatch, capsys):
    import errno

    from stls.cli import main
    db = dbmod.ensure_database(tmp_path / "full.duckdb")
    before = _rows(db)
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(dbmod.shutil, "copyfile", full)
    path = tmp_path / "oct.csv"
    path.write_text(ACT + "2024-10-14,Swale,,advice,,,,1\n")
    assert main(["import", "activity", str(path), "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert "refused: the database could not be written (No space left on device); nothing was loaded" in err
    assert "Traceback" not in err and _rows(db) == before


@pytest.mark.parametrize("content, message", [(b"hello, not a database", "not a DuckDB database file"), (None, "not STLS Insight's")])
def test_a_db_that_is_not_ours_is_refused_in_one_line(tmp_path, capsys, content, message):
    from stls.cli import main
    path = tmp_path / "other.duckdb"
    if content is None:
        con = duckdb.connect(str(path))
        con.execute("CREATE TABLE invoices (id INTEGER)")
        con.close()
    else:
        path.write_bytes(content)
    before = path.read_bytes()
    csv = tmp_path / "a.csv"
    csv.write_text(ACT + "2024-10-14,Swale,,advice,,,,1\n")
    for args in (["import", "activity", str(csv), "--db", str(path)], ["kpis", "--db", str(path)], ["imports", "--db", str(path)]):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert path.read_bytes() == before


def test_the_app_says_in_one_line_when_its_database_is_not_ours(tmp_path, monkeypatch):
    from conftest import ROOT
    from streamlit.testing.v1 import AppTest
    path = tmp_path / "wrong.duckdb"
    path.write_bytes(b"not a database at all")
    monkeypatch.setenv("STLS_DB", str(path))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    assert any("not a DuckDB database file" in e.value for e in at.error)
