"""Sessions are threads: eight at once through the shared handle, while the file is swapped."""
import shutil
import threading

from stls.filters import Filters
from stls.kpi import metrics
from stls.store import db as dbmod


def test_eight_threads_query_one_handle(demo_db, demo_sql):
    from cellkey import value
    expected = value(*demo_sql("SELECT sum(count), sum(record_key) FROM activity WHERE activity_type = 'referral' "
                               "AND activity_date BETWEEN '2023-09-01' AND '2024-08-31'")[0])
    errors, results = [], []
    start = threading.Barrier(8)

    def work(i):
        try:
            start.wait()
            for _ in range(15):
                f = Filters(2023, 2023, (), None, None)
                value = metrics.kpi_series(demo_db, "referrals", f)["value"].iloc[0]
                results.append(value)
                demo_db.query("SELECT district_code, count(*) FROM activity GROUP BY 1")
        except Exception as exc:  # noqa: BLE001 - any error fails the test below
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 120 and set(results) == {expected}


def test_readers_keep_working_while_the_file_is_swapped(demo_path, tmp_path):
    path = tmp_path / "live.duckdb"
    shutil.copyfile(demo_path, path)
    handle = dbmod.Database(path)
    before = handle.scalar("SELECT count(*) FROM budget")
    errors, stop = [], threading.Event()

    def read():
        while not stop.is_set():
            try:
                assert handle.scalar("SELECT count(*) FROM budget") == before
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))
                return

    readers = [threading.Thread(target=read) for _ in range(4)]
    for r in readers:
        r.start()
    with dbmod.writable_copy(path) as con:
        con.execute("DELETE FROM budget WHERE financial_year = 2016")
    stop.set()
    for r in readers:
        r.join()
    assert errors == []
    assert dbmod.Database(path).scalar("SELECT count(*) FROM budget") == before - 14


def test_work_asked_for_by_many_sessions_at_once_is_done_once():
    """After an import every open page asks for the new version's figures together: one thread
    computes each result, the others wait for it; an error reaches every caller, none hangs."""
    import time

    from stls import memo

    class Db:   # a file and version of this test's own: no result is kept for it yet
        path, version = f"/nowhere/{time.monotonic_ns()}", "v1"

    calls = []

    def slow(db, x):
        calls.append(x)
        time.sleep(0.2)
        if x == "bad":
            raise ValueError("no")
        return x * 2

    start = threading.Barrier(8)
    got, errors = [], []

    def work(x):
        start.wait()
        try:
            got.append(memo.call(slow, Db(), x))
        except ValueError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=work, args=("ab",)) for _ in range(6)]
    threads += [threading.Thread(target=work, args=("bad",)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert got == ["abab"] * 6 and calls.count("ab") == 1
    assert errors == ["no", "no"] and 1 <= calls.count("bad") <= 2   # a failure is not kept: the waiter tries itself
