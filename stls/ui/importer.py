"""The Data page's upload: by a signed-in data owner (sign-in configured, stls/access.py) or else
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

from stls import access as rules
from stls import db as dbmod
from stls.ingest import KINDS, import_file
from stls.ui import access
from stls.ui.widgets import plain

DEFAULT_UPLOAD_MB = 20
LOG = logging.getLogger("stls.import_key")
# Wrong import keys: each costs a growing wait (1, 2, 4, 8 s); the fifth in a session locks that
# session out for LOCKOUT_S; SERVER_LIMIT wrong keys across all sessions within LOCKOUT_S lock
# uploading for everyone until the window has passed. Every refusal goes to the server log.
DELAYS = (1.0, 2.0, 4.0, 8.0)
SESSION_LIMIT, SERVER_LIMIT, LOCKOUT_S = 5, 30, 15 * 60
_server_failures: list[float] = []
_server_lock = threading.Lock()


def _server_locked(now: float) -> bool:
    with _server_lock:
        _server_failures[:] = [t for t in _server_failures if now - t < LOCKOUT_S]
        return len(_server_failures) >= SERVER_LIMIT


def check_key(entered: str, expected_hash: str, session: MutableMapping, now: float | None = None,
              sleep=time.sleep) -> str | None:
    """None if the key is right; else why the upload is refused (a wrong key, or a lockout).
    ``session`` is the visitor's session state (its failures are counted there)."""
    now = time.monotonic() if now is None else now
    locked_until = session.get("imp_locked_until", 0.0)
    if now < locked_until:
        return f"Too many wrong import keys: uploading is locked for this session for {int(locked_until - now) // 60 + 1} more minute(s)."
    if _server_locked(now):
        return "Too many wrong import keys on this server: uploading is locked for everyone for up to 15 minutes."
    short = rules.import_key_problem(entered)
    if short:   # the rule `python -m stls key` keeps, whatever hash the server was given
        return (f"That import key is not accepted: {short}. If it is the key the server was set up with, ask its "
                "administrator for a longer one (`python -m stls key` makes its hash).")
    if key_matches(entered, expected_hash):
        session["imp_failures"] = 0
        return None
    failures = session.get("imp_failures", 0) + 1
    session["imp_failures"] = failures
    with _server_lock:
        _server_failures.append(now)
    LOG.warning("wrong import key (%d in this session, %d on the server in the last 15 minutes)",
                failures, len(_server_failures))
    if failures >= SESSION_LIMIT:
        session["imp_locked_until"] = now + LOCKOUT_S
        return "That import key is not right. Too many wrong keys: uploading is locked for this session for 15 minutes."
    sleep(DELAYS[min(failures, len(DELAYS)) - 1])
    return "That import key is not right."


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


def upload_limit_mb() -> float:
    try:
        return float(os.environ.get("STLS_UPLOAD_MAX_MB", DEFAULT_UPLOAD_MB))
    except ValueError:
        return DEFAULT_UPLOAD_MB


def _problems_table(report) -> pd.DataFrame:
    return pd.DataFrame([{"Row": p.row, "Column": p.column, "Value": p.value, "What is wrong": p.expected}
                         for p in report.problems]).astype(str)


def uploader() -> None:
    """Who may load (a data owner signed in; or, with no sign-in configured, the holder of the
    import key) → file → dry-run report → confirm. Every step explains itself."""
    who = access.visitor()
    if not who.open:
        if not who.may_import:
            st.info(f"Loading files needs the data owner role; you are signed in as {who.email} "
                    f"({who.role.label if who.role else 'no role'}). Ask the dashboard's administrator if you "
                    "should have it.", icon=":material/lock:")
            return
        _upload(who.actor)
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
    refused = check_key(entered, expected, st.session_state)
    if refused:
        st.error(refused, icon=":material/key_off:")
        return
    _upload(who.actor)


def _upload(actor: str) -> None:
    """File → dry-run report → confirm; the import log records ``actor`` with the outcome."""
    kinds = ["detect"] + list(KINDS)
    kind = st.selectbox("Kind of file", kinds, format_func=lambda k: "Detect from the header" if k == "detect"
                        else f"{k}: {KINDS[k].description}", key="imp_kind")
    upload = st.file_uploader("CSV or XLSX file", type=["csv", "xlsx", "txt"], key="imp_file")
    if upload is None:
        return
    limit = upload_limit_mb()
    if upload.size > limit * 2**20:
        st.error(f"{plain(upload.name)} is {upload.size / 2**20:,.1f} MB; the limit here is {limit:,.0f} MB. "
                 "Split the file by month, or load it on the server with `python -m stls import`.")
        return
    replace = st.checkbox("Replace rows already loaded for the same period (--replace)", key="imp_replace")
    data, path = upload.getvalue(), dbmod.default_path()
    chosen = None if kind == "detect" else kind
    attempt = (upload.file_id, chosen, replace)   # every rerun checks again; a refusal is logged once
    logged = st.session_state.setdefault("imp_refusals_logged", set())
    report = import_file(Path(upload.name), chosen, path, replace=replace, dry_run=True, data=data, actor=actor,
                         log_refusal=attempt not in logged)
    logged.add(attempt)
    show_report(report)
    if report.status == "checked" and st.button("Load this file", type="primary", key="imp_go"):
        final = import_file(Path(upload.name), report.kind, path, replace=replace, data=data, actor=actor)
        (st.success if final.ok else st.error)(plain(final.message))
        if final.ok:
            st.caption("The dashboard now shows the new data (every page reads the new version of the database).")


def show_report(report) -> None:
    (st.success if report.status == "checked" else st.error)(plain(report.message))   # file, sheet and cell text
    if report.kind:
        st.markdown(f"**Kind:** {report.kind} · **rows:** {report.rows:,} · **period:** {report.period or '[x]'}"
                    + (f" · **districts:** {', '.join(report.districts)}" if report.districts else ""))
    for note in report.notes:
        st.caption(plain(note))
    if report.problems:
        st.dataframe(_problems_table(report), hide_index=True, width="stretch", key="imp_problems")
        if report.total_problems > len(report.problems):
            st.caption(f"The first {len(report.problems)} of {report.total_problems:,} problems are shown.")
