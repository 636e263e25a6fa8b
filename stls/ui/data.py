"""One cached database handle per file version; package calls cached by data version.

The handle is a resource shared by every session (queries run on their own cursors). Results
are kept in ``stls.memo``, keyed by the file's version, so an import that swaps the file in makes
every page read the new data on its next run, and old entries age out. Pages get the same
object on every run, not a copy (``st.cache_data`` would pickle it on a miss and unpickle it on
every hit: about a fifth of a scorecard rerun), so nothing a page is given may be changed.
"""
from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from stls import memo
from stls.store import db as dbmod
from stls.store import queries

# Set by the server (``stls.ui.serve``): each new version of the data has its evaluation of support
# prepared in the background as soon as any page opens it, so the Impact page need not wait for it.
PREPARE_IN_BACKGROUND = False


@st.cache_resource(max_entries=2, show_spinner=False)
def _open(path: str, version: str) -> dbmod.Database:
    return dbmod.Database(path)


def ensure_demo(path: Path) -> None:
    """First run with no database: build the synthetic demo (a few seconds) in its place."""
    if path.exists():
        return
    from stls.store.demo import build_demo
    with st.spinner("First run: building the synthetic demo database…"):
        started = time.perf_counter()
        build_demo(path)
    st.toast(f"Built the synthetic demo database in {time.perf_counter() - started:.1f} s")


def database() -> dbmod.Database:
    """The handle for the current version of the database file; a file that is not the
    dashboard's database stops the page with one line saying what it is instead."""
    path = dbmod.default_path()
    ensure_demo(path)
    try:
        handle = _open(str(path), dbmod.file_version(path))
    except dbmod.DatabaseError as exc:
        from stls.ui.widgets import plain
        st.error(plain(f"The dashboard cannot open its database: {exc.public}"), icon=":material/database_off:")
        st.stop()
        raise   # not reached: st.stop ends the run
    if PREPARE_IN_BACKGROUND:
        from stls.analysis.evaluation import worker
        memo.start(worker.bundles, handle)
    return handle


def call(fn, *args, **kwargs):
    """``fn(db, *args, **kwargs)``, kept by data version and arguments (reprs are stable)."""
    return memo.call(fn, database(), *args, **kwargs)


def preparing(fn) -> float | None:
    """None when ``fn(db)`` is ready for the current data (or is computed in the page's own run,
    outside the server); else how many seconds ago its background preparation started."""
    db = database()
    if memo.ready(fn, db) or not PREPARE_IN_BACKGROUND:
        return None
    began = memo.start(fn, db)
    return None if began is None else time.monotonic() - began


def wait_until_ready(fn, what: str, usual: float) -> None:
    """If ``fn(db)`` is still being prepared in the background, show how long it has taken (against
    the ``usual`` seconds), check every second, rerun the page when it is ready, and end this run;
    otherwise return at once."""
    if preparing(fn) is None:
        return

    @st.fragment(run_every=1.0)
    def poll() -> None:
        waited = preparing(fn)
        if waited is None:
            st.rerun()
        st.progress(min(waited / usual, 0.95),
                    text=f"Preparing {what} for this version of the data: {waited:.0f} s so far (usually about "
                         f"{usual:.0f} s). The page fills in by itself when it is ready.")
    poll()
    st.stop()


def extent() -> dict:
    return call(queries.data_extent)


def _read_meta(db) -> dict:
    return db.meta()


def meta() -> dict:
    """The database's meta table (synthetic flag, seed, build time, data dates)."""
    return call(_read_meta)


def is_synthetic() -> bool:
    return meta().get("synthetic") == "true"
