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
from stls.store.releases import Release, ReleaseError, Releases

_SHOWN = "_release_file"      # an earlier release's file this session reads (None: the current data file)
_ASKED = "_release_asked"     # ?release=N on the session's first run
_RELEASES = "_releases_now"   # (shown, current) for this run

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


def choose_release() -> str | None:
    """At the frame, before anything is read: which release this run shows. A link's
    ``?release=N`` (read on the session's first run, like every view state) holds the session to
    release N, marked as earlier when it is not the current one; without it, the current release.
    Returns what was wrong with the link's release, if anything (the current release is shown)."""
    path = dbmod.default_path()
    ensure_demo(path)
    if _ASKED not in st.session_state:
        st.session_state[_ASKED] = st.query_params.get("release")
    releases = Releases(path)
    try:
        current = releases.ensure_current()
    except (OSError, ReleaseError, dbmod.DatabaseError):
        current = None   # the page reports an unreadable file itself
    shown, problem = current, None
    asked = st.session_state[_ASKED]
    if asked is not None and (current is None or str(asked) != str(current.number)):
        try:
            shown = releases.get(int(asked)) if str(asked).isdigit() else None
            if shown is None:
                raise ReleaseError(f"'{asked}' is not a release number")
        except ReleaseError as exc:
            shown, problem = current, f"The link asked for release {asked}, but {exc}: the current release is shown."
            st.session_state[_ASKED] = None
    earlier = shown is not None and current is not None and shown.number != current.number
    st.session_state[_SHOWN] = str(shown.file) if earlier and shown else None
    st.session_state[_RELEASES] = (shown, current)
    return problem


def releases_now() -> tuple[Release | None, Release | None]:
    """(the release this run shows, the current release), as the frame chose them."""
    return st.session_state.get(_RELEASES, (None, None))


def release_text() -> str:
    """'Figures as at release 14, published 3 December 2026' for what this run shows (CSV lines, the pack)."""
    shown, _ = releases_now()
    return shown.figures_as_at if shown else ""


def previous_release() -> tuple[dbmod.Database | None, int | None]:
    """The release before the one shown (its handle and number), for 'since the last release'."""
    shown, _ = releases_now()
    if shown is None or shown.number <= 1:
        return None, None
    releases = Releases(dbmod.default_path())
    try:
        before = releases.get(shown.number - 1)
    except ReleaseError:
        return None, None
    return _open(str(before.file), dbmod.file_version(before.file)), before.number


def release_list() -> list[Release]:
    """Every release published, oldest first."""
    return Releases(dbmod.default_path()).all()


def compare_releases(before: Release, after: Release):
    """What changed from release ``before`` to ``after`` (kept by the two files' versions)."""
    from stls.present.views import data as view
    releases = Releases(dbmod.default_path())
    older = releases.open(before.number)
    newer_path = releases.open(after.number).path
    return memo.call(view.changes_between, _open(str(older.path), older.version), str(newer_path),
                     dbmod.file_version(newer_path))


def database() -> dbmod.Database:
    """The handle for the version of the database this run reads (the current file, or an earlier
    release's: ``choose_release``); a file that is not the dashboard's database stops the page
    with one line saying what it is instead."""
    earlier = st.session_state.get(_SHOWN)
    path = Path(earlier) if earlier else dbmod.default_path()
    ensure_demo(dbmod.default_path())
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
