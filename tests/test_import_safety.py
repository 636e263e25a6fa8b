"""Imports are atomic and durable: SIGKILL at any moment leaves the previous data intact and
the database opening; a reader keeps working during an import and then sees the new data."""
import shutil
import signal
import subprocess
import sys
import threading
import time

import duckdb
import pytest
from conftest import ROOT
from test_ingest import fingerprint

from stls.store import db as dbmod
from stls.store.ingest import import_file

ROWS = 300_000


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "big.csv"
    line = "2019-10-{:02d},Swale,,referral,SEMH,primary,,1\n"
    with open(path, "w") as fh:
        fh.write("date,district,service,activity_type,need_area,phase,setting_urn,count\n")
        for i in range(ROWS):
            fh.write(line.format(1 + i % 28))
    return path


@pytest.mark.parametrize("delay", [0.15, 0.5, 1.0, 1.6, 2.4])
def test_sigkill_during_import_leaves_previous_data(demo_path, big_csv, tmp_path, delay):
    db = tmp_path / "live.duckdb"
    shutil.copyfile(demo_path, db)
    before = fingerprint(db)
    proc = subprocess.Popen([sys.executable, "-m", "stls", "import", "activity", str(big_csv), "--db", str(db),
                             "--replace"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    after = fingerprint(db)   # opens: the file is whole
    loaded = after["activity"][0] != before["activity"][0]
    if loaded:  # killed after the swap: the new data is there in full
        assert after["activity"][0] == before["activity"][0] - _october_swale(demo_path) + ROWS
    else:
        assert after == before
    # the next import still works, and clears what the killed one left behind
    report = import_file(big_csv, "activity", db, replace=True)
    assert report.status in ("loaded", "refused")
    assert not [p for p in db.parent.iterdir() if p.name.endswith((".tmp", ".tmp.wal"))]


def _october_swale(path):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM activity WHERE service_code = 'E07000113' AND "
                           "activity_date BETWEEN '2019-10-01' AND '2019-10-31'").fetchall()[0][0]
    finally:
        con.close()


def test_reader_keeps_querying_during_an_import(demo_path, big_csv, tmp_path):
    db = tmp_path / "live.duckdb"
    shutil.copyfile(demo_path, db)
    old_total = fingerprint(db)["activity"][0]
    seen, errors, stop = set(), [], threading.Event()

    def reader():
        while not stop.is_set():
            try:
                handle = dbmod.Database(db)   # what the app does when the data version changes
                seen.add(handle.scalar("SELECT count(*) FROM activity"))
                handle.close()
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))
                return

    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(0.3)
    report = import_file(big_csv, "activity", db, replace=True)
    time.sleep(0.3)
    stop.set()
    thread.join()
    assert report.status == "loaded", report.lines()
    new_total = old_total - report.replaced_rows + ROWS
    assert errors == []
    assert seen == {old_total, new_total}     # old data, then new data, nothing in between
