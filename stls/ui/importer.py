"""The Data page's upload: by a signed-in data owner (sign-in configured, stls/access/rules.py) or else
with the import key; within the size limit, checked before loading, logged with who asked.

The key is configured as its SHA-256 hash (``STLS_IMPORT_KEY_SHA256`` or the secret
``import_key_sha256``); the key itself is never stored. ``python -m stls key`` prints a hash.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
import time
from collections.abc import MutableMapping
from pathlib import Path

import pandas as pd
import streamlit as st

from stls import memo
from stls.access import guard, rules
from stls.store import db as dbmod
from stls.store.ingest import KINDS, import_file
from stls.store.releases import Draft, ReleaseError, Releases, load
from stls.ui import signin as access
from stls.ui.widgets import plain

LOG = logging.getLogger("stls.import_key")
# Wrong import keys slow and lock the one who types them, never the holder of the right key:
# - in a session, each different wrong key costs a growing wait (1, 2, 4, 8 s) and the fifth locks
#   that session for LOCKOUT_S; a key already judged is not counted again (a rerun with the same
#   typo in the field is one attempt, not one per rerun);
# - from one address (``st.context.ip_address``), once SOURCE_LIMIT wrong keys have come within
#   LOCKOUT_S, every further attempt from there waits SOURCE_WAIT before it is checked (fresh
#   sessions do not escape it); a right key is still accepted after the wait.
# Every wrong key goes to the server log with its address and counts.
DELAYS = (1.0, 2.0, 4.0, 8.0)
SESSION_LIMIT, SOURCE_LIMIT, LOCKOUT_S, SOURCE_WAIT = 5, 10, 15 * 60, 8.0
_source_failures: dict[str, list[float]] = {}
_source_lock = threading.Lock()


def _recent_failures(source: str, now: float, add: bool = False) -> int:
    with _source_lock:
        times = [t for t in _source_failures.get(source, []) if now - t < LOCKOUT_S]
        if add:
            times.append(now)
        if times:
            _source_failures[source] = times
        else:
            _source_failures.pop(source, None)
        return len(times)


def check_key(entered: str, expected_hash: str, session: MutableMapping, now: float | None = None,
              sleep=time.sleep, source: str = "unknown") -> str | None:
    """None if the key is right; else why the upload is refused (a wrong key, or this session's
    lockout). ``session`` is the visitor's session state (its attempts are counted there);
    ``source`` the address the attempt came from."""
    now = time.monotonic() if now is None else now
    digest = hashlib.sha256(entered.encode("utf-8")).hexdigest()
    locked_until = session.get("imp_locked_until", 0.0)
    if now < locked_until:
        return f"Too many wrong import keys: uploading is locked for this session for {int(locked_until - now) // 60 + 1} more minute(s)."
    if session.get("imp_accepted") == digest:
        return None
    judged = session.setdefault("imp_judged", {})
    if digest in judged:          # the same key again (a rerun): the same answer, not another attempt
        return judged[digest]
    short = rules.import_key_problem(entered)
    if short:   # the rule `python -m stls key` keeps, whatever hash the server was given
        return (f"That import key is not accepted: {short}. If it is the key the server was set up with, ask its "
                "administrator for a longer one (`python -m stls key` makes its hash).")
    if _recent_failures(source, now) >= SOURCE_LIMIT:
        sleep(SOURCE_WAIT)        # many wrong keys from this address: every attempt from it waits
    if key_matches(entered, expected_hash):
        session["imp_failures"] = 0
        session["imp_accepted"] = digest
        return None
    failures = session.get("imp_failures", 0) + 1
    session["imp_failures"] = failures
    from_source = _recent_failures(source, now, add=True)
    LOG.warning("wrong import key from %s (%d in this session, %d from this address in the last 15 minutes)",
                source, failures, from_source)
    if failures >= SESSION_LIMIT:
        session["imp_locked_until"] = now + LOCKOUT_S
        return "That import key is not right. Too many wrong keys: uploading is locked for this session for 15 minutes."
    sleep(DELAYS[min(failures, len(DELAYS)) - 1])
    judged[digest] = "That import key is not right."
    return judged[digest]


def configured_hash() -> str | None:
    value = os.environ.get("STLS_IMPORT_KEY_SHA256")
    if not value:
        try:
            value = st.secrets.get("import_key_sha256")
        except Exception:  # noqa: BLE001 - no secrets file is the usual case
            value = None
    return value.strip().lower() if value else None


def key_matches(entered: str, expected_hash: str) -> bool:
    digest = hashlib.sha256(entered.encode("utf-8")).hexdigest()
    return hmac.compare_digest(digest, expected_hash)


def _problems_table(report) -> pd.DataFrame:
    return pd.DataFrame([{"Row": p.row, "Column": p.column, "Value": p.value, "What is wrong": p.expected}
                         for p in report.problems]).astype(str)


def uploader() -> None:
    """Who may load (a data owner signed in; or, with no sign-in configured, the holder of the
    import key) → file → dry-run report → confirm. Every step explains itself. Only a session
    that got this far may send a file to the server at all (``stls.access.guard``)."""
    session = guard.current_session_id()
    if session:
        guard.forbid_uploads(session)   # until this run finds the visitor may upload
    who = access.visitor()
    if not who.open:
        if not who.may_import:
            st.info(f"Loading files needs the data owner role; you are signed in as {who.email} "
                    f"({who.role.label if who.role else 'no role'}). Ask the dashboard's administrator if you "
                    "should have it.", icon=":material/lock:")
            return
        _upload(who.actor, session)
        return
    expected = configured_hash()
    if not expected:
        st.info("Uploading is switched off on this server. To switch it on, the server's administrator sets "
                "`STLS_IMPORT_KEY_SHA256` (or the Streamlit secret `import_key_sha256`) to the SHA-256 hash of "
                "an import key — `python -m stls key` prints one — and restarts the dashboard. The data owner "
                "can always load files on the server with `python -m stls import`.", icon=":material/lock:")
        return
    entered = st.text_input("Import key", type="password", key="imp_key")
    if not entered:
        return
    refused = check_key(entered, expected, st.session_state, source=st.context.ip_address or "unknown")
    if refused:
        st.error(refused, icon=":material/key_off:")
        return
    _upload(who.actor, session)


def _upload(actor: str, session: str | None) -> None:
    """File → dry-run report → confirm; the import log records ``actor`` with the outcome. The
    dry run is made once per file and choice, not on every rerun of the page."""
    if session:
        guard.allow_uploads(session)
    done = st.session_state.pop("imp_done", None)
    if done:
        st.success(plain(done))
        st.info("Loaded into the draft. Nobody else sees it until it is published: review what changes above, then "
                "publish or discard it.", icon=":material/edit_note:")
    draft_panel(actor)
    kinds = ["detect"] + list(KINDS)
    kind = st.selectbox("Kind of file", kinds, format_func=lambda k: "Detect from the header" if k == "detect"
                        else f"{k}: {KINDS[k].description}", key="imp_kind")
    upload = st.file_uploader("CSV or XLSX file", type=["csv", "xlsx", "txt"], key="imp_file")
    if upload is None:
        return
    limit = guard.upload_limit_mb()
    if upload.size > limit * 2**20:
        st.error(f"{plain(upload.name)} is {upload.size / 2**20:,.1f} MB; the limit here is {limit:,.0f} MB. "
                 "Split the file by month, or load it on the server with `python -m stls import`.")
        return
    replace = st.checkbox("Replace rows already loaded for the same period (--replace)", key="imp_replace")
    releases = Releases(dbmod.default_path())
    held = releases.draft()
    data, path = upload.getvalue(), (held.file if held else releases.data)   # checked against what it joins
    chosen = None if kind == "detect" else kind
    attempt = (upload.file_id, chosen, replace)   # loading checks the file again against the data as it is then
    kept = st.session_state.get("imp_report")
    if kept is not None and kept[0] == attempt:   # the same file, choices and data: the same report
        report = kept[1]
    else:
        report = import_file(Path(upload.name), chosen, path, replace=replace, dry_run=True, data=data, actor=actor,
                             log_refusal=True)   # once per attempt: a refusal is logged once
        st.session_state["imp_report"] = (attempt, report)
    show_report(report)
    if report.status == "checked" and st.button("Load into the draft", type="primary", key="imp_go"):
        try:
            final, into = load(Path(upload.name), report.kind, releases.data, by=actor, draft=True, replace=replace, data=data)
        except ReleaseError as exc:
            st.error(plain(str(exc)))
            return
        if final.ok and isinstance(into, Draft):   # shown after the rerun that draws the draft above
            st.session_state["imp_report"] = (attempt, final)   # this file is done: not checked again
            st.session_state["imp_done"] = final.message
            st.rerun()
        st.error(plain(final.message))


def draft_panel(actor: str) -> None:
    """The draft waiting for review (data owners and administrators only): what changes against the
    current release, then publish (with a note saying why) or discard."""
    from stls.present.views import data as view
    from stls.store.releases import long_date
    from stls.ui import data as ui_data
    releases = Releases(dbmod.default_path())
    done = st.session_state.pop("dr_done", None)
    if done:   # said after the rerun that shows every figure from the new release
        st.success(done, icon=":material/verified:")
    held = releases.draft()
    if held is None:
        st.caption("No draft is waiting. A file loaded below becomes a draft: only data owners and administrators "
                   "see it until it is published as the next release.")
        return
    st.subheader("Draft waiting to be published")
    st.markdown(f"Begun {long_date(held.created_at)} by {plain(held.by)} from release {held.base}; imports "
                f"{', '.join(str(i) for i in held.imports) or 'none loaded yet'}. Readers still see release {held.base}.")
    if ui_data.releases_now()[1] is not None and held.imports:
        _what_changes(memo.call(view.changes_between, ui_data.database(), str(held.file), dbmod.file_version(held.file)))
    _publish_or_discard(releases, actor)


def _what_changes(found) -> None:
    from stls.ui import widgets
    st.info(f"What changes when it is published: {found.summary()}", icon=":material/compare_arrows:")
    if found.new_months:
        st.markdown("**New months:** " + ", ".join(f"{m:%B %Y}" for m in found.new_months))
    if len(found.revisions):
        widgets.table(found.revisions, "Revised figures for months already published", "", "dr_revisions")
    if len(found.kpis):
        widgets.table(found.kpi_table, "KPI values and RAG ratings that change (the scorecard each area opens with)",
                      "", "dr_kpis")


def _publish_or_discard(releases: Releases, actor: str) -> None:
    note = st.text_input("Note for the release: what changed and why (revisions are explained here)", key="dr_note",
                         max_chars=300)
    left, right = st.columns(2)
    if left.button("Publish", type="primary", key="dr_publish", icon=":material/publish:"):
        try:
            release = releases.publish(actor, note.strip())
        except ReleaseError as exc:
            st.error(plain(str(exc)), icon=":material/block:")
            return
        st.session_state["dr_done"] = f"Published {release.label}. Every page now shows its figures."
        st.rerun()
    if right.button("Discard the draft", key="dr_discard", icon=":material/delete:"):
        try:
            releases.discard()
        except ReleaseError as exc:
            st.error(plain(str(exc)))
            return
        st.session_state["dr_done"] = "Discarded the draft; the published figures are unchanged."
        st.rerun()


def show_report(report) -> None:
    (st.success if report.status in ("checked", "loaded") else st.error)(plain(report.message))   # file, sheet and cell text
    if report.kind:
        st.markdown(f"**Kind:** {report.kind} · **rows:** {report.rows:,} · **period:** {report.period or '[x]'}"
                    + (f" · **districts:** {', '.join(report.districts)}" if report.districts else ""))
    for note in report.notes:
        st.caption(plain(note))
    if report.problems:
        st.dataframe(_problems_table(report), hide_index=True, width="stretch", key="imp_problems")
        if report.total_problems > len(report.problems):
            st.caption(f"The first {len(report.problems)} of {report.total_problems:,} problems are shown.")
