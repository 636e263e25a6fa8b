"""Loading files that try to go wrong: two imports racing, numbers written the local way,
implausible periods, hostile workbooks, crashes turned into messages, text echoed as text."""
from __future__ import annotations

import threading

import duckdb
import pytest

from stls import db as dbmod
from stls.ingest import import_file

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
    for attempt in range(20):
        db = tmp_path / f"race{attempt}.duckdb"
        dbmod.ensure_database(db)
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
