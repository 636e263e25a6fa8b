"""Opening the database while it is swapped, and a damaged database file.

1. Any number of processes and threads open ``Database(path)`` while another process swaps in
   new versions, without an error, each open reading the version it reports; links left by a
   killed opener do not pile up.
2. A truncated or corrupt file is refused with ``DatabaseError``: ``str(exc)`` (command line, log)
   names the file, ``exc.public`` (browser) and ``exc.reason`` (health check) do not;
   ``db.health`` says what is wrong; the command line exits 2 without a traceback.
"""
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import duckdb
import pytest
from conftest import ROOT

from stls.store import db as dbmod

# --- 1. Opening while the file is swapped -------------------------------------------------------

READER = r"""
import json, sys, threading, time
from stls.store.db import Database
path, start, stop, threads = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
results = [[] for _ in range(threads)]
errors = []
def run(seen):
    while time.time() < start:
        time.sleep(0.01)
    while time.time() < stop:
        try:
            db = Database(path)
            try:
                seen.append((db.version, db.meta().get("generation", "0")))
            finally:
                db.close()
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
workers = [threading.Thread(target=run, args=(seen,)) for seen in results]
for w in workers: w.start()
for w in workers: w.join()
print(json.dumps({"seen": results, "errors": errors}))
"""

SWAPPER = r"""
import json, sys, time
from stls.store import db as dbmod
path, start, stop, every = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
versions = {dbmod.file_version(path): "0"}
n = 0
while time.time() < start:
    time.sleep(0.01)
while time.time() < stop:
    n += 1
    with dbmod.writable_copy(path) as con:   # the module's own writer: a copy, checkpointed, renamed over the file
        con.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", [str(n)])
    versions[dbmod.file_version(path)] = str(n)
    time.sleep(every)
print(json.dumps(versions))
"""


@pytest.fixture()
def fresh_db(tmp_path):
    """A small real database: the project's schema, reference lists and published figures."""
    return dbmod.ensure_database(tmp_path / "race.duckdb")


def _links(path):
    return sorted(p.name for p in path.parent.iterdir() if p.name.endswith(".ro"))


def test_processes_and_threads_open_while_versions_are_swapped_in(fresh_db):
    """4 processes of 2 threads open the file in a loop for 8 s while a fifth swaps in a new
    version every 0.2 s. The old shared link ``.<name>.<version>.ro`` failed here: one opener
    removed the link another was about to open ("database does not exist")."""
    start = time.time() + 3.0   # after every process has imported pandas and DuckDB
    stop = start + 8.0
    swapper = subprocess.Popen([sys.executable, "-c", SWAPPER, str(fresh_db), str(start), str(stop), "0.2"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    readers = [subprocess.Popen([sys.executable, "-c", READER, str(fresh_db), str(start), str(stop), "2"],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    out, err = swapper.communicate(timeout=60)
    assert swapper.returncode == 0, err
    versions = json.loads(out)
    seen, errors = [], []
    for proc in readers:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        result = json.loads(out)
        seen += result["seen"]
        errors += result["errors"]
    opens = sum(len(s) for s in seen)
    print(f"{opens} opens, {len(errors)} errors, {len(versions) - 1} swaps")
    assert not errors, f"{len(errors)} of {opens + len(errors)} opens failed: {sorted(set(errors))[:5]}"
    assert len(versions) > 10 and opens > 100
    for thread in seen:
        # each open reads the version it reports (the caches are keyed by it) ...
        assert all(versions.get(version) == generation for version, generation in thread), thread
        # ... and never an older one than the open before it (no instance of an old version reused)
        generations = [int(g) for _, g in thread]
        assert generations == sorted(generations)
    assert len({v for thread in seen for v, _ in thread}) > 5   # the readers did see the swaps
    assert _links(fresh_db) == []


def test_threads_of_one_process_open_the_same_version_at_once(fresh_db):
    """No swap at all: eight threads opening the same version at once. With the shared link the
    first to finish removed it under the others."""
    errors, opened = [], []
    go = threading.Barrier(8)

    def run():
        go.wait()
        for _ in range(15):
            try:
                db = dbmod.Database(fresh_db)
                opened.append(db.version)
                db.close()
            except Exception as exc:  # noqa: BLE001 - counted
                errors.append(f"{type(exc).__name__}: {exc}")

    workers = [threading.Thread(target=run) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, f"{len(errors)} of {len(errors) + len(opened)} opens failed: {errors[:3]}"
    assert len(set(opened)) == 1 and len(opened) == 120
    assert _links(fresh_db) == []


def test_duckdb_still_returns_the_old_instance_for_the_same_path(tmp_path):
    """Why ``_open_version`` opens through a link: in this DuckDB (checked on 2.0.1), while a
    connection to a file is open, connecting to the same path again - after the file was
    replaced - returns the old database. If this starts failing, DuckDB no longer caches
    instances by path and the link may no longer be needed (the tests above still hold)."""
    path, other = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    for p, value in ((path, 1), (other, 2)):
        con = duckdb.connect(str(p))
        con.execute(f"CREATE TABLE t AS SELECT {value} AS v")
        con.close()
    old = duckdb.connect(str(path), read_only=True)
    os.replace(other, path)
    again = duckdb.connect(str(path), read_only=True)
    try:
        assert again.execute("SELECT v FROM t").fetchall() == [(1,)], duckdb.__version__
    finally:
        again.close()
        old.close()


def test_a_swap_while_a_handle_is_open_gives_the_next_open_the_new_version(fresh_db):
    old = dbmod.Database(fresh_db)
    with dbmod.writable_copy(fresh_db) as con:
        con.execute("INSERT OR REPLACE INTO meta VALUES ('generation', '1')")
    new = dbmod.Database(fresh_db)
    assert new.version != old.version and new.version == dbmod.file_version(fresh_db)
    assert "generation" not in old.meta() and new.meta()["generation"] == "1"


def _leave_a_link(path):
    """A process that made its link and was killed before removing it (it exits at once)."""
    code = ("import os, sys; from pathlib import Path; from stls.store import db; "
            "a = db._alias(Path(sys.argv[1])); os.link(sys.argv[1], a); print(a.name); os._exit(9)")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 9, proc.stderr
    return proc.stdout.strip()


def test_links_left_by_killed_openers_are_swept(fresh_db):
    left = [_leave_a_link(fresh_db) for _ in range(2)]
    assert _links(fresh_db) == sorted(left)
    live = dbmod._alias(fresh_db)      # an opener of this process, mid-open: never removed
    os.link(fresh_db, live)
    old_style = fresh_db.with_name(f".{fresh_db.name}.{dbmod.file_version(fresh_db)}.ro")   # the earlier shared name
    os.link(fresh_db, old_style)
    assert dbmod.sweep_aliases(fresh_db) == 2
    assert _links(fresh_db) == sorted([live.name, old_style.name])
    # once older than any open can take, whoever made them
    assert dbmod.sweep_aliases(fresh_db, now=time.time() + dbmod.ALIAS_STALE_S + 5) == 2
    assert _links(fresh_db) == []


def test_a_new_process_sweeps_on_its_first_open(fresh_db):
    _leave_a_link(fresh_db)
    assert len(_links(fresh_db)) == 1
    code = "import sys; from stls.store.db import Database; Database(sys.argv[1]).close()"
    subprocess.run([sys.executable, "-c", code, str(fresh_db)], cwd=ROOT, check=True, timeout=60)
    assert _links(fresh_db) == []


# --- 2. A damaged file --------------------------------------------------------------------------

CUTS = {"start": 4096, "quarter": 0.25, "half": 0.5, "ninety": 0.9}


@pytest.fixture(scope="module")
def real_db(tmp_path_factory):
    """A small real database with data in every table (the synthetic demo, two years of it)."""
    import datetime as dt

    from stls.store.demo import build_demo
    path = tmp_path_factory.mktemp("whole") / "stls.duckdb"
    build_demo(path, seed=2019, until=dt.date(2018, 8, 1), scale=0.1)
    return path


def _damaged_copy(real_db, tmp_path, cut):
    path = tmp_path / "secret-folder" / "damaged.duckdb"
    path.parent.mkdir()
    shutil.copyfile(real_db, path)
    size = path.stat().st_size
    os.truncate(path, CUTS[cut] if isinstance(CUTS[cut], int) else int(size * CUTS[cut]))
    return path


def _corrupt_copy(real_db, tmp_path, table):
    """A copy with 64 bytes changed in a block of ``table``'s data (past the block's checksum)."""
    path = tmp_path / "secret-folder" / "corrupt.duckdb"
    path.parent.mkdir()
    shutil.copyfile(real_db, path)
    con = duckdb.connect(str(path), read_only=True)
    block, size = con.execute(f"SELECT max(block_id), any_value(block_size) FROM pragma_storage_info('{table}'), "
                              "pragma_database_size() WHERE block_id >= 0").fetchall()[0]
    con.close()
    with open(path, "r+b") as fh:
        fh.seek(dbmod.HEADER_BYTES + block * size + 100)
        fh.write(b"\xff" * 64)
    return path


def _no_path(text, path):
    return str(path) not in text and path.name not in text and path.parent.name not in text


@pytest.mark.parametrize("cut", CUTS)
def test_a_truncated_file_is_refused_without_its_path_in_the_public_message(real_db, tmp_path, cut, caplog):
    path = _damaged_copy(real_db, tmp_path, cut)
    with caplog.at_level("ERROR", logger="stls.store.db"):
        with pytest.raises(dbmod.DatabaseError) as err:
            db = dbmod.Database(path)
            for table in dbmod.REQUIRED_TABLES:   # (opening refuses it already: this would be the pages' reads)
                db.query(f"SELECT max(hash(COLUMNS(*))) FROM {table}")
    exc = err.value
    assert "damaged" in exc.reason and "truncated" in exc.reason
    assert "restore the last good copy" in exc.public and "python -m stls check" in exc.public
    assert _no_path(exc.public, path) and _no_path(exc.reason, path)
    assert str(path) in str(exc) and "Traceback" not in str(exc) and len(str(exc).splitlines()) == 1
    assert any(str(path) in r.getMessage() for r in caplog.records)   # the server's log has the path
    assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__)   # no DuckDB error chained
    problem = dbmod.health(path)
    assert problem == exc.reason and _no_path(problem, path)
    with pytest.raises(dbmod.DatabaseError):
        dbmod.check_database(path)                                   # so imports refuse it too


def test_a_corrupt_block_is_refused_when_a_query_reads_it(real_db, tmp_path):
    """Damage the opening survives (a block's bytes changed, size intact): the query that reads
    the block raises DatabaseError; a query's own mistakes stay DuckDB's errors."""
    path = _corrupt_copy(real_db, tmp_path, "activity")
    db = dbmod.Database(path)
    with pytest.raises(dbmod.DatabaseError) as err:
        db.query("SELECT max(hash(COLUMNS(*))) FROM activity")
    assert "checksums" in err.value.reason and _no_path(err.value.public, path)
    assert str(path) in str(err.value) and ".ro" not in str(err.value)   # the file's name, not the link's
    with pytest.raises(duckdb.CatalogException):
        db.query("SELECT * FROM no_such_table")
    assert "checksums" in dbmod.health(path)


def test_a_sound_file_whose_free_blocks_were_cut_off_its_end_opens(real_db, tmp_path):
    """DuckDB shortens the file when blocks at its end fall free, but still counts them in its
    total: the size check counts the blocks in use, or a file after an import would be refused."""
    path = tmp_path / "shrunk.duckdb"
    shutil.copyfile(real_db, path)
    for table in ("published_ranks", "published"):
        with dbmod.writable_copy(path) as con:
            con.execute(f"DELETE FROM {table}")
    con = duckdb.connect(str(path), read_only=True)
    block_size, total, used = con.execute("SELECT block_size, total_blocks, used_blocks FROM pragma_database_size()").fetchall()[0]
    con.close()
    size = path.stat().st_size
    assert dbmod.HEADER_BYTES + used * block_size <= size < dbmod.HEADER_BYTES + total * block_size
    dbmod.Database(path).close()
    assert dbmod.health(path) is None


def test_health_of_a_sound_file_and_its_cost(real_db, tmp_path):
    path = tmp_path / "sound.duckdb"
    shutil.copyfile(real_db, path)
    started = time.perf_counter()
    assert dbmod.health(path, now=100.0) is None
    first = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(100):
        assert dbmod.health(path, now=101.0) is None
    again = (time.perf_counter() - started) / 100
    print(f"health: {first * 1000:.1f} ms reading the file in full, then {again * 1e6:.0f} µs a call")
    assert again < 0.005
    os.truncate(path, path.stat().st_size // 2)   # a new version (size and time): looked at again at once
    assert "truncated" in dbmod.health(path, now=101.5)
    path.unlink()
    assert dbmod.health(path, now=102.0) == "the database file is missing"


@pytest.mark.parametrize("cut", [*CUTS, "corrupt"])
def test_the_command_line_says_so_in_one_line(real_db, tmp_path, cut):
    """Truncated: refused on opening. Corrupt (the monthly table every scorecard reads): refused
    by the query that reads the block."""
    path = _corrupt_copy(real_db, tmp_path, "activity_monthly") if cut == "corrupt" else _damaged_copy(real_db, tmp_path, cut)
    for command in (["kpis"], ["imports"] if cut != "corrupt" else ["pack", "--out", str(tmp_path / "p.html")], ["check"]):
        proc = subprocess.run([sys.executable, "-m", "stls", *command, "--db", str(path)], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, (command, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert proc.stderr.startswith(f"error: {path}: the database file is damaged")
        assert "restore the last good copy" in proc.stderr


def test_check_says_a_sound_file_is_sound(real_db, capsys):
    from stls.cli import main
    assert main(["check", "--db", str(real_db)]) == 0
    assert "sound" in capsys.readouterr().out
