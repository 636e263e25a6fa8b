"""Many users at once: real Streamlit sessions over the websocket, while a CLI import runs.

    .venv/bin/python bench/load.py [--users 1,5,10,20,40] [--seconds 60] [--replicas 1]

For each N, a fresh server (``python -m stls serve``, or ``--replicas`` of them behind nginx with
sticky sessions, see ``bench/replicas.py``) on a copy of the demo database, and N simulated
users, each a real Streamlit session over ``/_stcore/stream`` speaking Streamlit's own protocol
(BackMsg / ForwardMsg protobufs), as a browser tab does. Each user follows a script: open a page,
change one sidebar filter (another district, range of years, area of need or phase), read for
2–6 seconds, change another, and after three changes move to another page. Half way through,
``python -m stls import`` loads a budget file (a new data version).

Printed for each N: the median and 95th percentile of the time from a filter change sent to its
rerun's end (the ``script_finished`` message), errors (an exception element, a rerun that did
not finish successfully within 60 s, a dropped socket), server memory (peak resident, summed
over replicas), each as a ratio to N = 1 of the same run; whether every session that opened the
Data page after the import saw the new data (and none saw an error while it was swapped in).

The clients run in this process (asyncio), on the same 2 cores as the server: their protobuf
parsing takes some CPU from it, as a browser on the same machine would.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")

PAGES = ["", "scorecard", "district", "activity_and_outcomes", "impact", "areas_of_need", "data"]
FILTERS = ["flt_districts", "flt_years", "flt_need", "flt_phase"]
CHANGES_PER_PAGE = 3
TIMEOUT = 60.0
NEW_BUDGET = "2027-28"     # the imported file's year: the Data page shows it once the import is in


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)     # filter change → rerun end, seconds
    opens: list[float] = field(default_factory=list)          # page open → rerun end
    errors: list[str] = field(default_factory=list)
    data_after_import: list[bool] = field(default_factory=list)   # Data page opened after it: new data seen?


class Session:
    """One browser tab's worth of Streamlit protocol."""

    def __init__(self, url: str, route: str):
        self.url, self.route = url, route   # route: the sticky-session cookie a browser would hold
        self.widgets: dict[str, object] = {}    # user key → the widget's latest proto
        self.query = ""                          # the page's URL query, as the app last wrote it
        self.states: dict[str, object] = {}      # widget id → the value this tab has set
        self.ws = None

    async def connect(self) -> None:
        import websockets
        self.ws = await websockets.connect(self.url.replace("http", "ws") + "/_stcore/stream",
                                           subprotocols=["streamlit"], max_size=None, open_timeout=TIMEOUT,
                                           additional_headers={"Cookie": f"stls_replica={self.route}"})

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def rerun(self, page: str, widget=None) -> tuple[float, bytes, list[str]]:
        """Send one rerun (a page open, or one widget's new value) and read until it ends: (seconds,
        the bytes received, problems)."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = ""
        state.page_name = page
        if widget is None:        # a page opened afresh, as from a link: its widgets start from their defaults
            self.states = {}
        else:                     # as a browser does: every widget's current value, the changed one new
            self.states[widget.id] = widget
            state.widget_states.widgets.extend(self.states.values())
        started = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        received, problems = [], []
        deadline = started + TIMEOUT
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                return time.perf_counter() - started, b"".join(received), problems + ["rerun did not finish in 60 s"]
            raw = await asyncio.wait_for(self.ws.recv(), timeout=left)
            received.append(raw)
            fwd = ForwardMsg.FromString(raw)
            kind = fwd.WhichOneof("type")
            if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                el = fwd.delta.new_element
                which = el.WhichOneof("type")
                if which == "exception":
                    problems.append(f"exception: {el.exception.message[:200]}")
                elif which in ("selectbox", "multiselect", "slider"):
                    proto = getattr(el, which)
                    key = proto.id.rsplit("-", 1)[-1]
                    if key in FILTERS:
                        self.widgets[key] = proto
            elif kind == "page_info_changed":
                self.query = fwd.page_info_changed.query_string   # the app writes its filters to the URL
            elif kind == "script_finished":
                status = fwd.script_finished
                if status == ForwardMsg.FINISHED_SUCCESSFULLY:
                    return time.perf_counter() - started, b"".join(received), problems
                if status in (ForwardMsg.FINISHED_EARLY_FOR_RERUN, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY):
                    continue
                return time.perf_counter() - started, b"".join(received), problems + [f"script finished: {status}"]

    def change(self, rng: random.Random):
        """A new value for one sidebar filter, as the widget's options offer it (Streamlit sends
        option labels, so the value is a label)."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState
        choices = [k for k in FILTERS if k in self.widgets]
        key = rng.choice(choices)
        proto = self.widgets[key]
        state = WidgetState(id=proto.id)
        options = list(proto.options)
        if key == "flt_districts":
            state.string_array_value.data.extend(rng.sample(options, rng.choice([0, 1, 1, 1, 2])))
        elif key == "flt_years":
            a = rng.randrange(0, len(options) - 1)
            b = rng.randrange(a + 1, len(options))
            state.string_array_value.data.extend([options[a], options[b]])
        else:
            state.string_value = rng.choice(options)
        return state


async def user(url: str, stats: Stats, until: float, seed: int, imported: asyncio.Event) -> None:
    rng = random.Random(seed)
    session = Session(url, f"user-{seed}")
    try:
        await session.connect()
    except Exception as exc:  # noqa: BLE001 - a refused connection is an error to count, not to raise
        stats.errors.append(f"connect: {exc}")
        return
    try:
        await asyncio.sleep(rng.uniform(0, 3))              # people do not all arrive at once
        while time.monotonic() < until:
            page = rng.choice(PAGES)
            after = imported.is_set()
            took, body, problems = await session.rerun(page)
            stats.opens.append(took)
            stats.errors.extend(problems)
            if page == "data" and after:
                stats.data_after_import.append(NEW_BUDGET.encode() in body)
            for _ in range(CHANGES_PER_PAGE):
                if time.monotonic() >= until:
                    break
                await asyncio.sleep(rng.uniform(2, 6))       # reading
                took, _, problems = await session.rerun(page, session.change(rng))
                stats.latencies.append(took)
                stats.errors.extend(problems)
    except Exception as exc:  # noqa: BLE001 - a dropped socket or a timeout is an error of the run
        stats.errors.append(f"{type(exc).__name__}: {exc}"[:200])
    finally:
        await session.close()


async def _shows_new_data(url: str) -> bool:
    """Whether a new session on this server's Data page shows the imported budget year."""
    session = Session(url, "check")
    await session.connect()
    try:
        _, body, problems = await session.rerun("data")
    finally:
        await session.close()
    return not problems and NEW_BUDGET.encode() in body


def _budget_file(folder: Path, n: int) -> Path:
    """A budget file no earlier run has loaded (the same file twice is refused by design)."""
    path = folder / f"budget-{n}.csv"
    path.write_text(f"financial_year,service,allocation_gbp\n{NEW_BUDGET},Swale,{512000 + n}\n"
                    f"{NEW_BUDGET},Sensory,780000\n{NEW_BUDGET},Physical Disability,468000\n")
    return path


def _rss_kb(pid: int) -> tuple[int, int]:
    """(peak, current) resident memory of one process, kB."""
    status = Path(f"/proc/{pid}/status").read_text()
    get = lambda k: int(next(line for line in status.splitlines() if line.startswith(k)).split()[1])  # noqa: E731
    return get("VmHWM"), get("VmRSS")


async def run_once(n: int, seconds: float, db: Path, folder: Path, replicas: int) -> dict:
    from replicas import Cluster
    cluster = Cluster(db, replicas)
    cluster.start()
    try:
        await asyncio.sleep(8)                             # the server's own warm-up, as after a restart
        idle = sum(_rss_kb(p)[1] for p in cluster.pids()) / 1024
        stats, imported = Stats(), asyncio.Event()
        until = time.monotonic() + seconds
        tasks = [asyncio.create_task(user(cluster.url, stats, until, 1000 * n + i, imported)) for i in range(n)]
        await asyncio.sleep(seconds / 2)
        env = {**os.environ, "STLS_DB": str(db)}
        out = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "stls", "import", "budget",
                                                       str(_budget_file(folder, n)), "--db", str(db)],
                                      capture_output=True, text=True, cwd=ROOT, env=env)
        if out.returncode != 0:
            stats.errors.append("import: " + out.stderr.strip()[:300])
        imported.set()
        await asyncio.gather(*tasks)
        replicas_seen = [await _shows_new_data(url) for url in cluster.replica_urls()]   # each replica, directly
        peak = sum(_rss_kb(p)[0] for p in cluster.pids()) / 1024
        end = sum(_rss_kb(p)[1] for p in cluster.pids()) / 1024
    finally:
        cluster.stop()
    lat = sorted(stats.latencies)
    return {"n": n, "changes": len(lat), "median": statistics.median(lat) if lat else float("nan"),
            "p95": lat[int(0.95 * (len(lat) - 1))] if lat else float("nan"),
            "open_median": statistics.median(stats.opens) if stats.opens else float("nan"),
            "errors": stats.errors, "idle_mib": idle, "peak_mib": peak, "end_mib": end,
            "data_seen": stats.data_after_import, "replicas_seen": replicas_seen}


def _table(results: list[dict]) -> None:
    base = results[0]
    print("| users | filter changes | median | p95 | median ÷ N=1 | p95 ÷ N=1 | errors | peak memory | memory ÷ N=1 |"
          " Data page after the import showed it | replicas showing the import |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for r in results:
        seen = r["data_seen"]
        shown = f"{sum(seen)} of {len(seen)}" if seen else "not opened"
        print(f"| {r['n']} | {r['changes']} | {r['median'] * 1000:.0f} ms | {r['p95'] * 1000:.0f} ms | "
              f"{r['median'] / base['median']:.2f} | {r['p95'] / base['p95']:.2f} | {len(r['errors'])} | "
              f"{r['peak_mib']:.0f} MiB | {r['peak_mib'] / base['peak_mib']:.2f} | {shown} | "
              f"{sum(r['replicas_seen'])} of {len(r['replicas_seen'])} |")
    if len(results) > 1:
        last = results[-1]
        per = (last["end_mib"] - last["idle_mib"]) / max(last["n"], 1)
        print(f"\nmemory per extra session (N={last['n']}, resident at the end less idle, per session): {per:.1f} MiB")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", default="1,5,10,20,40", help="comma-separated numbers of users")
    parser.add_argument("--seconds", type=float, default=60, help="length of each run")
    parser.add_argument("--replicas", default="1", help="servers behind nginx (1: one server, no proxy); "
                        "several, comma-separated (1,2), are each run and compared")
    args = parser.parse_args()
    counts = [int(x) for x in args.users.split(",")]
    layouts = [int(x) for x in args.replicas.split(",")]
    from run import database
    source = database(1)
    print(f"STLS Insight under load: replicas {layouts}, {args.seconds:g} s a run, users {counts}", flush=True)
    by_layout: dict[int, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for replicas in layouts:
            results = by_layout[replicas] = []
            for n in counts:
                db = folder / f"stls-{replicas}-{n}.duckdb"
                shutil.copyfile(source, db)
                r = asyncio.run(run_once(n, args.seconds, db, folder, replicas))
                results.append(r)
                print(f"  {replicas} replica(s), N={n:>3}: {r['changes']:>4} filter changes, median "
                      f"{r['median'] * 1000:6.0f} ms, p95 {r['p95'] * 1000:6.0f} ms, errors {len(r['errors'])}, peak "
                      f"memory {r['peak_mib']:.0f} MiB; replicas showing the import: {sum(r['replicas_seen'])} of "
                      f"{len(r['replicas_seen'])}", flush=True)
                for e in r["errors"][:5]:
                    print(f"      error: {e}")
    ok = True
    for replicas, results in by_layout.items():
        print(f"\n{replicas} replica(s)" + (" behind nginx (sticky sessions)" if replicas > 1 else ", no proxy"))
        _table(results)
        target = next((r for r in results if r["n"] == 20), None)
        if target:
            met = (target["p95"] < 1.0 and not target["errors"] and all(target["data_seen"])
                   and all(target["replicas_seen"]))
            ok = ok and (met or replicas != layouts[-1])
            print(f"20-user target (p95 under 1 s, no errors, the new data seen everywhere): {'met' if met else 'MISSED'}")
    if len(by_layout) > 1:
        one, *rest = layouts
        for n in counts:
            a = next(r for r in by_layout[one] if r["n"] == n)
            for k in rest:
                b = next(r for r in by_layout[k] if r["n"] == n)
                print(f"gain of {k} replicas over {one} at N={n}: median {a['median'] / b['median']:.2f}×, "
                      f"p95 {a['p95'] / b['p95']:.2f}×, filter changes served {b['changes']} against {a['changes']}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
