"""The Data page's upload: only with the import key, within the size limit, checked before loading.

The key is configured as its SHA-256 hash (``STLS_IMPORT_KEY_SHA256`` or the secret
``import_key_sha256``); the key itself is never stored. ``python -m stls key`` prints a hash.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import pandas as pd
import streamlit as st

from stls import db as dbmod
from stls.ingest import KINDS, import_file

DEFAULT_UPLOAD_MB = 20


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
    """Key → file → dry-run report → confirm. Every step explains itself."""
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
    if not key_matches(entered, expected):
        st.error("That import key is not right.", icon=":material/key_off:")
        return
    kinds = ["detect"] + list(KINDS)
    kind = st.selectbox("Kind of file", kinds, format_func=lambda k: "Detect from the header" if k == "detect"
                        else f"{k}: {KINDS[k].description}", key="imp_kind")
    upload = st.file_uploader("CSV or XLSX file", type=["csv", "xlsx"], key="imp_file")
    if upload is None:
        return
    limit = upload_limit_mb()
    if upload.size > limit * 2**20:
        st.error(f"{upload.name} is {upload.size / 2**20:,.1f} MB; the limit here is {limit:,.0f} MB. "
                 "Split the file by month, or load it on the server with `python -m stls import`.")
        return
    replace = st.checkbox("Replace rows already loaded for the same period (--replace)", key="imp_replace")
    data, path = upload.getvalue(), dbmod.default_path()
    chosen = None if kind == "detect" else kind
    report = import_file(Path(upload.name), chosen, path, replace=replace, dry_run=True, data=data)
    show_report(report)
    if report.status == "checked" and st.button("Load this file", type="primary", key="imp_go"):
        final = import_file(Path(upload.name), report.kind, path, replace=replace, data=data)
        (st.success if final.ok else st.error)(final.message)
        if final.ok:
            st.caption("The dashboard now shows the new data (every page reads the new version of the database).")


def show_report(report) -> None:
    (st.success if report.status == "checked" else st.error)(report.message)
    if report.kind:
        st.markdown(f"**Kind:** {report.kind} · **rows:** {report.rows:,} · **period:** {report.period or '[x]'}"
                    + (f" · **districts:** {', '.join(report.districts)}" if report.districts else ""))
    for note in report.notes:
        st.caption(note)
    if report.problems:
        st.dataframe(_problems_table(report), hide_index=True, width="stretch", key="imp_problems")
        if report.total_problems > len(report.problems):
            st.caption(f"The first {len(report.problems)} of {report.total_problems:,} problems are shown.")
