"""The DuckDB file: schema, reference lists, derived tables and safe replacement.

Readers open the file read-only and never see a half-written one: every change (demo build,
import) is made in a copy beside the file, checkpointed, then swapped in with ``os.replace``.
A reader that opened the old file keeps reading the old inode until it reopens; the file's
(inode, mtime, size) is the *data version* that keys every cache.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import re
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from stls import ROOT
from stls import reference as ref

DEFAULT_DB = ROOT / "data" / "stls.duckdb"


def default_path() -> Path:
    """The database the app and CLI use: ``STLS_DB`` if set, else ``data/stls.duckdb``."""
    return Path(os.environ.get("STLS_DB") or DEFAULT_DB)


def _enum(values: Iterable[str]) -> str:
    return "ENUM (" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


def schema_sql() -> list[str]:
    """DDL for the contract tables (DESIGN.md §2.2), the reference tables and derived tables."""
    geos = ref.DISTRICT_CODES + (ref.KENT_CODE, ref.ENGLAND_CODE)
    return [
        f"CREATE TYPE district_t AS {_enum(ref.DISTRICT_CODES)}",
        f"CREATE TYPE geography_t AS {_enum(geos)}",
        f"CREATE TYPE service_t AS {_enum(ref.SERVICE_CODES)}",
        f"CREATE TYPE activity_type_t AS {_enum(ref.ACTIVITY_TYPE_CODES)}",
        f"CREATE TYPE need_area_t AS {_enum(ref.NEED_AREAS)}",
        f"CREATE TYPE phase_t AS {_enum(ref.PHASES)}",
        f"CREATE TYPE measure_t AS {_enum(ref.MEASURE_CODES)}",
        f"CREATE TYPE sen_group_t AS {_enum(ref.SEN_GROUPS)}",
        f"CREATE TYPE primary_need_t AS {_enum(ref.PRIMARY_NEEDS)}",
        "CREATE TABLE districts (code district_t PRIMARY KEY, name VARCHAR NOT NULL, area VARCHAR NOT NULL)",
        "CREATE TABLE district_aliases (alias VARCHAR PRIMARY KEY, geography_code geography_t NOT NULL)",
        "CREATE TABLE services (code service_t PRIMARY KEY, name VARCHAR NOT NULL, district_code district_t)",
        "CREATE TABLE need_areas (code need_area_t PRIMARY KEY, name VARCHAR NOT NULL)",
        "CREATE TABLE primary_needs (code primary_need_t PRIMARY KEY, name VARCHAR NOT NULL, need_area need_area_t)",
        "CREATE TABLE activity_types (code activity_type_t PRIMARY KEY, label VARCHAR NOT NULL, available_from DATE)",
        "CREATE TABLE phases (code phase_t PRIMARY KEY, label VARCHAR NOT NULL)",
        "CREATE TABLE sen_groups (code sen_group_t PRIMARY KEY, label VARCHAR NOT NULL)",
        "CREATE TABLE measures (code measure_t PRIMARY KEY, label VARCHAR NOT NULL, unit VARCHAR NOT NULL)",
        "CREATE TABLE regimes (start_date DATE PRIMARY KEY, label VARCHAR NOT NULL)",
        "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
        # Published DfE figures (stls/store/published.py): the geographies they cover, and the values.
        """CREATE TABLE geographies (code VARCHAR PRIMARY KEY, old_la_code INTEGER NOT NULL UNIQUE,
            name VARCHAR NOT NULL, kind VARCHAR NOT NULL, neighbour_rank INTEGER)""",
        """CREATE TABLE published (lait_code VARCHAR NOT NULL, indicator VARCHAR NOT NULL, measure measure_t,
            sen_group sen_group_t, academic_year INTEGER NOT NULL, provisional BOOLEAN NOT NULL,
            calendar_year BOOLEAN NOT NULL, geography_code VARCHAR NOT NULL REFERENCES geographies (code),
            old_la_code INTEGER NOT NULL, value DOUBLE NOT NULL, import_id INTEGER NOT NULL)""",
        """CREATE TABLE published_ranks (key VARCHAR NOT NULL, sen_group sen_group_t NOT NULL,
            academic_year INTEGER NOT NULL, value DOUBLE NOT NULL, rank INTEGER NOT NULL, tied INTEGER NOT NULL,
            authorities INTEGER NOT NULL, q1 DOUBLE NOT NULL, median DOUBLE NOT NULL, q3 DOUBLE NOT NULL)""",
        """CREATE TABLE activity (activity_date DATE NOT NULL, district_code district_t NOT NULL,
            service_code service_t NOT NULL, activity_type activity_type_t NOT NULL,
            need_area need_area_t, phase phase_t, setting_urn VARCHAR,
            count INTEGER NOT NULL CHECK (count >= 1), import_id INTEGER NOT NULL, record_key SMALLINT)""",
        """CREATE TABLE attainment (academic_year INTEGER NOT NULL, geography_code geography_t NOT NULL,
            measure measure_t NOT NULL, sen_group sen_group_t NOT NULL, cohort INTEGER,
            value DOUBLE, import_id INTEGER NOT NULL, record_key SMALLINT)""",
        """CREATE TABLE sen_pupils (academic_year INTEGER NOT NULL, geography_code geography_t NOT NULL,
            sen_group sen_group_t NOT NULL, primary_need primary_need_t, phase phase_t NOT NULL,
            pupils INTEGER NOT NULL CHECK (pupils >= 0), import_id INTEGER NOT NULL, record_key SMALLINT)""",
        """CREATE TABLE settings (urn VARCHAR PRIMARY KEY, name VARCHAR NOT NULL,
            district_code district_t NOT NULL, phase phase_t NOT NULL, open BOOLEAN NOT NULL,
            pupils INTEGER, sen_support_pct DOUBLE, ehc_plan_pct DOUBLE, idaci_decile INTEGER)""",
        # Each setting's own results by SEN group (the local authority's pupil-level results), for
        # the setting-level evaluation of support (stls/analysis/evaluation.py).
        """CREATE TABLE setting_outcomes (academic_year INTEGER NOT NULL, urn VARCHAR NOT NULL,
            measure measure_t NOT NULL, sen_group sen_group_t NOT NULL, cohort INTEGER NOT NULL,
            value DOUBLE, import_id INTEGER NOT NULL)""",
        """CREATE TABLE budget (financial_year INTEGER NOT NULL, service_code service_t NOT NULL,
            allocation_gbp DOUBLE NOT NULL, PRIMARY KEY (financial_year, service_code))""",
        """CREATE TABLE import_log (import_id INTEGER PRIMARY KEY, kind VARCHAR NOT NULL,
            file_name VARCHAR, sha256 VARCHAR, period_from DATE, period_to DATE, rows BIGINT,
            status VARCHAR NOT NULL, message VARCHAR, imported_at TIMESTAMP NOT NULL, actor VARCHAR)""",
        # Derived tables, rebuilt by refresh_derived() after every change to activity.
        """CREATE TABLE activity_monthly (month DATE, academic_year INTEGER, district_code district_t,
            service_code service_t, activity_type activity_type_t, need_area need_area_t,
            phase phase_t, activities BIGINT, records BIGINT, ckey BIGINT)""",
        """CREATE TABLE setting_contacts (month DATE, academic_year INTEGER, urn VARCHAR,
            need_area need_area_t, activities BIGINT)""",
        """CREATE TABLE setting_support (month DATE, academic_year INTEGER, urn VARCHAR,
            activity_type activity_type_t, activities BIGINT)""",
    ]


def _reference_frames() -> dict[str, pd.DataFrame]:
    return {
        "districts": pd.DataFrame(ref.DISTRICTS, columns=["code", "name", "area"]),
        "district_aliases": pd.DataFrame(sorted(ref.DISTRICT_ALIASES.items()), columns=["alias", "geography_code"]),
        "services": pd.DataFrame(ref.SERVICES, columns=["code", "name", "district_code"]),
        "need_areas": pd.DataFrame(list(ref.NEED_AREAS.items()), columns=["code", "name"]),
        "primary_needs": pd.DataFrame(
            [(c, n, a) for c, (n, a) in ref.PRIMARY_NEEDS.items()], columns=["code", "name", "need_area"]),
        "activity_types": pd.DataFrame([(a.code, a.label, a.available_from) for a in ref.ACTIVITY_TYPES],
                                       columns=["code", "label", "available_from"]),
        "phases": pd.DataFrame(list(ref.PHASES.items()), columns=["code", "label"]),
        "sen_groups": pd.DataFrame(list(ref.SEN_GROUPS.items()), columns=["code", "label"]),
        "measures": pd.DataFrame(ref.MEASURES, columns=["code", "label", "unit"]),
        "regimes": pd.DataFrame(ref.REGIMES, columns=["start_date", "label"]),
    }


PUBLISHED_TABLES = ("geographies", "published", "published_ranks")   # added with the published figures (issue 14)
IMPACT_TABLES = ("setting_outcomes", "setting_support")   # added with the evaluation of support (issue 15)
SETTING_COLUMNS = {"pupils": "INTEGER", "sen_support_pct": "DOUBLE", "ehc_plan_pct": "DOUBLE", "idaci_decile": "INTEGER"}
LOG_COLUMNS = {"actor": "VARCHAR"}   # who imported, replaced or was refused (issue 16); NULL before
KEY_COLUMNS = {"record_key": "SMALLINT"}   # the cell key method's record keys (issue 26)


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table and fill the reference lists (no data rows) and the published figures."""
    for ddl in schema_sql():
        con.execute(ddl)
    for table, frame in _reference_frames().items():
        con.register("_ref_frame", frame)
        con.execute(f"INSERT INTO {table} SELECT * FROM _ref_frame")
        con.unregister("_ref_frame")
    con.execute("INSERT INTO meta VALUES ('record_key_salt', ?)", [secrets.token_hex(16)])
    _fill_published(con, PUBLISHED_TABLES)


# --- Record keys (the cell key method, stls/store/disclosure.py) ------------------------------------
# Each row of a child-level table stands for ``count`` records (activity: its count; the census:
# its pupils; attainment: its cohort). Record j (from 0) of a row has the key (a + j·b) mod 256,
# a and b two bytes of the MD5 of the database's secret salt, the row's contents and its
# occurrence among identical rows: so keys are fixed per record, the same when a period is loaded
# again with --replace, and unknowable without the salt. The row stores the sum of its records'
# keys modulo 256 (all that a cell's key needs): c·a + b·c(c − 1)/2.
KEYED = {"activity": ("count", ["activity_date", "district_code", "service_code", "activity_type", "need_area",
                                "phase", "setting_urn", "count"]),
         "sen_pupils": ("pupils", ["academic_year", "geography_code", "sen_group", "primary_need", "phase", "pupils"]),
         "attainment": ("cohort", ["academic_year", "geography_code", "measure", "sen_group", "cohort", "value"])}


def record_key_sql(table: str, source: str) -> str:
    """SELECT of ``source``'s rows (the table's columns but import_id and record_key) with each
    row's record key as ``record_key`` (see ``KEYED``)."""
    count, content = KEYED[table]
    text = " || '|' || ".join(f"coalesce({c}::VARCHAR, '')" for c in content)
    c = f"coalesce({count}, 0)::BIGINT"

    def byte(at: int) -> str:   # one byte of the record's hash, from character ``at``
        return f"('0x' || substr(_h, {at}, 2))::BIGINT"
    return f"""SELECT * EXCLUDE (_h), (({c} * {byte(1)} + {byte(3)} * ({c} * ({c} - 1) // 2)) % 256)::SMALLINT AS record_key
        FROM (SELECT *, md5((SELECT value FROM meta WHERE key = 'record_key_salt') || '|' || {text} || '|'
                            || row_number() OVER (PARTITION BY {', '.join(content)})) AS _h FROM {source})"""


def insert_keyed(con: duckdb.DuckDBPyConnection, table: str, cols: str, source: str, import_id: int | str) -> None:
    """INSERT ``source``'s ``cols`` into ``table`` with ``import_id`` and each row's record key."""
    con.execute(f"INSERT INTO {table} SELECT {cols}, {import_id}, record_key FROM ({record_key_sql(table, f'(SELECT {cols} FROM {source})')})")


def key_rows(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Give every row of ``table`` without a record key its key (a file made before keys)."""
    cols = ", ".join(KEYED[table][1])
    con.execute(f"""UPDATE {table} SET record_key = k.record_key FROM (
        {record_key_sql(table, f'(SELECT rowid AS _row, {cols} FROM {table} WHERE record_key IS NULL)')}) k
        WHERE {table}.rowid = k._row""")


def _fill_published(con: duckdb.DuckDBPyConnection, tables: Collection[str]) -> None:
    """The geographies, the DfE figures and Kent's ranks shipped in data/published, for the
    ``tables`` named (import_id 0: shipped with the project; ``python -m stls import published``
    replaces the figures with a newer extract)."""
    from stls.store import published
    for table, frame, extra in (("geographies", published.geography_frame(), ""), ("published", published.shipped(), ", 0"),
                                ("published_ranks", published.ranks(), "")):
        if table not in tables:
            continue
        con.register("_pub", frame)
        con.execute(f"INSERT INTO {table} SELECT *{extra} FROM _pub")
        con.unregister("_pub")


ADDED_COLUMNS = {"settings": SETTING_COLUMNS, "import_log": LOG_COLUMNS, "activity": KEY_COLUMNS,
                 "sen_pupils": KEY_COLUMNS, "attainment": KEY_COLUMNS, "activity_monthly": {"ckey": "BIGINT"}}


def _missing(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[tuple[str, str]]]:
    """The tables, and the (table, column) pairs, added since the start that this file lacks."""
    have = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    columns = set(con.execute("SELECT table_name, column_name FROM duckdb_columns()").fetchall())
    return ([t for t in PUBLISHED_TABLES + IMPACT_TABLES if t not in have],
            [(t, c) for t, added in ADDED_COLUMNS.items() for c in added if (t, c) not in columns])


def _upgrade(path: Path) -> None:
    """A database made by an earlier version gains the missing tables (the published figures,
    Kent's ranks, the setting-level tables), the settings' characteristics and the import log's
    actor, in one swap."""
    with writable_copy(path) as con:
        tables, columns = _missing(con)
        if not tables and not columns:
            return   # another process upgraded it first
        for ddl in schema_sql():
            if any(ddl.startswith(f"CREATE TABLE {t} ") for t in tables):
                con.execute(ddl)
        for table, name in columns:
            con.execute(f"ALTER TABLE {table} ADD COLUMN {name} {ADDED_COLUMNS[table][name]}")
        _fill_published(con, [t for t in tables if t in PUBLISHED_TABLES])
        if ("activity", "record_key") in columns:
            if not con.execute("SELECT count(*) FROM meta WHERE key = 'record_key_salt'").fetchall()[0][0]:
                con.execute("INSERT INTO meta VALUES ('record_key_salt', ?)", [secrets.token_hex(16)])
            for table in KEYED:
                key_rows(con, table)
        if "setting_support" in tables or ("activity_monthly", "ckey") in columns:
            refresh_derived(con)


def refresh_derived(con: duckdb.DuckDBPyConnection, first: dt.date | None = None, last: dt.date | None = None) -> None:
    """Rebuild the monthly, setting-contact and setting-support aggregates from ``activity``, for every month or
    only for the months from ``first`` to ``last`` (an import touches just its own months).

    Pages read these small tables; ``activity`` itself is only scanned here and by imports.
    """
    where = "WHERE activity_date BETWEEN $first AND $last" if first else ""
    params = {"first": first, "last": last} if first else None
    con.execute(f"DELETE FROM activity_monthly {where.replace('activity_date', 'month')}", params)
    con.execute(f"""
        INSERT INTO activity_monthly
        SELECT date_trunc('month', activity_date)::DATE AS month,
               CASE WHEN month(activity_date) >= 9 THEN year(activity_date)
                    ELSE year(activity_date) - 1 END AS academic_year,
               district_code, service_code, activity_type, need_area, phase,
               sum(count) AS activities, count(*) AS records, sum(record_key) AS ckey
        FROM activity {where} GROUP BY ALL ORDER BY month""", params)
    con.execute(f"DELETE FROM setting_contacts {where.replace('activity_date', 'month')}", params)
    con.execute(f"""
        INSERT INTO setting_contacts
        SELECT date_trunc('month', activity_date)::DATE AS month,
               CASE WHEN month(activity_date) >= 9 THEN year(activity_date)
                    ELSE year(activity_date) - 1 END AS academic_year,
               setting_urn, need_area, sum(count)
        FROM activity WHERE setting_urn IS NOT NULL {where.replace('WHERE', 'AND')} GROUP BY ALL ORDER BY month""", params)
    con.execute(f"DELETE FROM setting_support {where.replace('activity_date', 'month')}", params)
    con.execute(f"""
        INSERT INTO setting_support
        SELECT date_trunc('month', activity_date)::DATE AS month,
               CASE WHEN month(activity_date) >= 9 THEN year(activity_date)
                    ELSE year(activity_date) - 1 END AS academic_year,
               setting_urn, activity_type, sum(count)
        FROM activity WHERE setting_urn IS NOT NULL {where.replace('WHERE', 'AND')} GROUP BY ALL ORDER BY month""", params)


def file_version(path: Path | str) -> str:
    """The data version: changes whenever the file is replaced."""
    st = os.stat(path)
    return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def writable_copy(path: Path | str, *, fresh: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a connection to a private copy of the database, then swap it in atomically.

    ``fresh`` starts from an empty schema instead of the current file. If the block raises,
    or the process is killed, the copy is discarded and the file at ``path`` is untouched.
    """
    path = Path(path)
    with writer_lock(path):
        for stale in path.parent.glob(f".{path.name}.*.tmp*"):
            stale.unlink(missing_ok=True)  # left by a writer that was killed (we hold the lock)
        yield from _write_copy(path, fresh)


@contextlib.contextmanager
def writer_lock(path: Path | str) -> Iterator[None]:
    """Hold the one writer's lock of the file at ``path`` (imports, publishing a release)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # one writer at a time, or one would lose the other's rows
        yield


def _write_copy(path: Path, fresh: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        if path.exists() and not fresh:
            shutil.copyfile(path, tmp)
        con = duckdb.connect(str(tmp))
        try:
            if fresh or not path.exists():
                create_schema(con)
            yield con
            con.execute("CHECKPOINT")
        finally:
            con.close()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        for leftover in (tmp, Path(str(tmp) + ".wal")):
            leftover.unlink(missing_ok=True)


LOG = logging.getLogger("stls.store.db")

# --- Refusals: what is wrong (no path), what to do ----------------------------------------------
# A browser must never see the server's paths; the command line (its operator typed the path)
# and the server's log do. So every refusal carries both (see DatabaseError).
POINT_ADVICE = "An administrator should point STLS_DB (or --db) at the dashboard's database file."
RESTORE_ADVICE = ("An administrator should restore the last good copy of the database file, or rebuild it by "
                  "loading the source files again; 'python -m stls check' on the server says whether a file is sound.")
TRUNCATED = ("the database file is damaged: it is shorter than the data it lists (truncated, for example by a "
             "full disk or an interrupted copy)")
CORRUPT = "the database file is damaged: parts of it do not match their checksums (corrupted on disk or in a copy)"
NOT_DUCKDB = "the database file is not a DuckDB database file"
LOCKED = "the database file is locked by another program that has it open for writing"
UNREADABLE = "the database file cannot be read"
# DuckDB's message (2.0.1) -> what it means, what to do. Checked in order; the last is the default.
_DIAGNOSES = (
    ("Could not read enough bytes", TRUNCATED, RESTORE_ADVICE),
    ("Corrupt database file", CORRUPT, RESTORE_ADVICE),
    ("checksum", CORRUPT, RESTORE_ADVICE),
    ("not a valid DuckDB database", NOT_DUCKDB, POINT_ADVICE),
    ("Could not set lock", LOCKED, "An administrator should close the other program (the dashboard's own imports never lock it)."),
    ("", UNREADABLE, "An administrator should look at the server's log; if the file is damaged, restore its last "
         "good copy or rebuild it ('python -m stls check' on the server says whether a file is sound)."),
)
# Errors that come from the file rather than from the SQL (a query's own mistakes stay DuckDB's errors).
_FILE_ERRORS = (duckdb.IOException, duckdb.SerializationException, duckdb.FatalException)
_FILE_WORDS = ("Corrupt database file", "checksum", "Could not read enough bytes", "has been invalidated")
LOG_REPEAT_S = 60.0   # the same failure of the same file is logged once a minute, not once per query


class DatabaseError(ValueError):
    """The database file cannot be used: it is not the dashboard's database, or it cannot be read
    (missing, locked, truncated, corrupt). Two messages, for two audiences:

    - ``str(exc)``: names the file, with DuckDB's own words when there are some: for the command
      line (its operator gave the path) and the server's log;
    - ``exc.public``: what is wrong and what to do, *without* the file's path or name: the one to
      show in a browser. ``exc.reason`` is its first part alone (a few words, no path either):
      the health check's answer (``health``).
    """

    def __init__(self, message: str, reason: str = "the dashboard's database cannot be opened",
                 advice: str = "The server's log says why.") -> None:
        super().__init__(message)
        self.reason = reason
        self.public = f"{reason[:1].upper()}{reason[1:]}. {advice}"


def _operator_advice(path: Path) -> str:
    return (f"restore the last good copy of the file (copy it into {path.parent}, then rename it over {path.name}), "
            "or rebuild the database by loading its source files again with 'python -m stls import'; "
            "'python -m stls check --db FILE' says whether a file is sound")


def _is_file_error(exc: duckdb.Error) -> bool:
    return isinstance(exc, _FILE_ERRORS) or any(word in str(exc) for word in _FILE_WORDS)


_logged: dict[tuple[str, str], float] = {}


def _log_once(path: Path, reason: str, detail: str) -> None:
    """Log a file's failure, with its path, for the server's log (once a minute per failure)."""
    now = time.monotonic()
    if now - _logged.get((str(path), detail), -1e9) >= LOG_REPEAT_S:
        if len(_logged) > 256:
            _logged.clear()
        _logged[(str(path), detail)] = now
        LOG.error("database %s: %s (%s)", path, reason, detail)


def _unreadable(path: Path, exc: duckdb.Error) -> DatabaseError:
    """DuckDB's error reading ``path`` (or a link to it) as a DatabaseError, logged with the path."""
    detail = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
    # the link the file was opened through (_open_version) is named after the file: say the file
    detail = re.sub(re.escape(str(path.parent / f".{path.name}.")) + r"[^\s\"']*\.ro", str(path), detail)
    reason, advice = next((r, a) for word, r, a in _DIAGNOSES if word in str(exc))
    _log_once(path, reason, f"{type(exc).__name__}: {detail}")
    tail = f"; {_operator_advice(path)}" if advice is RESTORE_ADVICE else ""
    return DatabaseError(f"{path}: {reason} ({detail}){tail}", reason, advice)


REQUIRED_TABLES = ("activity", "attainment", "sen_pupils", "settings", "budget", "import_log", "meta")   # ours since the start


def _check_header(path: Path) -> None:
    """Refuse a folder, a missing or unreadable file, or one that is not a DuckDB database."""
    if path.is_dir():
        raise DatabaseError(f"{path}: a folder, not a database file",
                            "the database path names a folder, not a database file", POINT_ADVICE)
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except FileNotFoundError:
        raise DatabaseError(f"{path}: no such file", "the database file is missing", POINT_ADVICE) from None
    except OSError as exc:
        raise DatabaseError(f"{path}: cannot be read ({exc.strerror or exc})", "the database file cannot be read by the server",
                            "An administrator should check the file's permissions and the disk.") from None
    if len(head) < 12 or head[8:12] != b"DUCK":
        raise DatabaseError(f"{path}: not a DuckDB database file; point --db (or STLS_DB) at the dashboard's "
                            "database, or at a new path to start an empty one", NOT_DUCKDB, POINT_ADVICE)


def _not_ours(path: Path, missing: list[str]) -> DatabaseError:
    return DatabaseError(f"{path}: a DuckDB database, but not STLS Insight's (it has no {', '.join(missing)} "
                         "table); point --db at the dashboard's database",
                         "the database file is a DuckDB database, but not STLS Insight's", POINT_ADVICE)


def _open_checked(path: Path, upgraded: bool = False) -> tuple[str, duckdb.DuckDBPyConnection]:
    """Open the current version of ``path`` read-only (``_open_version``) once it is known to be a
    whole DuckDB file with our tables; a file made by an earlier version is upgraded first."""
    _check_header(path)
    version, con = _open_version(path)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        outdated = any(_missing(con))
    except duckdb.Error as exc:
        con.close()
        raise _unreadable(path, exc) from None
    except BaseException:
        con.close()
        raise
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        con.close()
        raise _not_ours(path, missing)
    if outdated and not upgraded:
        con.close()
        try:
            _upgrade(path)
        except OSError as exc:
            raise DatabaseError(f"{path}: made by an earlier version and cannot be upgraded here "
                                f"({exc.strerror or exc}); open it once where it can be written",
                                "the database file was made by an earlier version of the dashboard and cannot be "
                                "upgraded by the server", "An administrator should open it once with the command line "
                                "as someone who may write it (for example 'python -m stls imports').") from None
        return _open_checked(path, upgraded=True)
    return version, con


def check_database(path: Path) -> None:
    """Refuse, in one line, a file that is not a DuckDB database, is another application's, or
    cannot be read whole (truncated, corrupt); upgrade one made by an earlier version."""
    _open_checked(Path(path))[1].close()


def ensure_database(path: Path | str) -> Path:
    """Create an empty database (schema and reference lists, no data) if none exists; refuse a
    file that is not one of ours (``check_database``)."""
    path = Path(path)
    if not path.exists():
        try:
            with writable_copy(path, fresh=True):
                pass
        except OSError as exc:
            raise DatabaseError(f"{path}: cannot create the database here ({exc.strerror or exc})",
                                "the database file cannot be created",
                                "An administrator should make its folder writable by the server, or point STLS_DB "
                                "at another path.") from None
    else:
        check_database(path)
    return path


# --- Opening one version ------------------------------------------------------------------------
HEADER_BYTES = 3 * 4096   # DuckDB's file header and its two database headers, before the first block
ALIAS_STALE_S = 600.0     # a link lives for one open (milliseconds): one this old was left by a killed opener
SWEEP_EVERY_S = 60.0      # each process looks for links left by killed openers this often (and on its first open)
_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"
_swept: dict[str, float] = {}


def _alias(path: Path) -> Path:
    """A name for a hard link to ``path`` that no other opener uses: host, process, thread, random token."""
    return path.with_name(f".{path.name}.{_HOST}.{os.getpid()}.{threading.get_ident()}.{secrets.token_hex(6)}.ro")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:   # PermissionError: someone else's process, alive
        return True
    return True


def sweep_aliases(path: Path | str, now: float | None = None) -> int:
    """Remove the links to ``path`` that killed openers left behind; return how many.

    A link left behind keeps a whole old version of the file on disk, so they must not pile up.
    A link is stale when its opener was a process of this host that is no longer running, or
    when it is older than ``ALIAS_STALE_S`` (its inode's change time, set when the link was made:
    another host's opener, a reused process id, or the older shared name ``.<name>.<version>.ro``).
    A live opener's link is never removed: that was the race this naming ends.
    """
    path = Path(path)
    now = time.time() if now is None else now
    prefix = f".{path.name}."
    try:
        names = os.listdir(path.parent)
    except OSError:
        return 0
    removed = 0
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".ro")):
            continue
        parts = name[len(prefix):-len(".ro")].split(".")
        dead = (len(parts) == 4 and parts[0] == _HOST and parts[1].isdigit() and int(parts[1]) > 0
                and not _alive(int(parts[1])))
        alias = path.parent / name
        try:
            if dead or now - alias.lstat().st_ctime > ALIAS_STALE_S:
                alias.unlink()
                removed += 1
        except OSError:   # gone already (its opener finished), or not ours to remove
            continue
    return removed


def _maybe_sweep(path: Path) -> None:
    now = time.monotonic()
    if now - _swept.get(str(path), -1e9) >= SWEEP_EVERY_S:
        _swept[str(path)] = now
        sweep_aliases(path)


def _connect(path: Path, name: Path, size: int) -> duckdb.DuckDBPyConnection:
    """Open ``name`` (``path`` or a link to it) read-only, refusing a file too short for the blocks
    in use (a truncated file opens, then fails on whichever page reads a lost block).

    The blocks in use (total less free) all lie below the file's end; the total alone may not
    (DuckDB cuts free blocks off the end of the file but still counts them), so a file cut by no
    more than its free blocks passes here and is caught by the read that needs a lost block."""
    try:
        con = duckdb.connect(str(name), read_only=True)
    except duckdb.Error as exc:
        raise _unreadable(path, exc) from None
    try:
        block_size, blocks = con.execute("SELECT block_size, used_blocks FROM pragma_database_size() "
                                         "WHERE database_name = current_database()").fetchall()[0]
    except duckdb.Error as exc:
        con.close()
        raise _unreadable(path, exc) from None
    needed = HEADER_BYTES + blocks * block_size
    if size < needed:
        con.close()
        detail = f"the file has {size:,} bytes; its blocks need {needed:,}"
        _log_once(path, TRUNCATED, detail)
        raise DatabaseError(f"{path}: {TRUNCATED} ({detail}); {_operator_advice(path)}", TRUNCATED, RESTORE_ADVICE)
    return con


def _open_version(path: Path) -> tuple[str, duckdb.DuckDBPyConnection]:
    """Open the file's current version read-only, through a hard link that only this call uses.

    DuckDB caches database instances by path within a process (still so in 2.0.1:
    tests/test_db_races.py), so reopening ``path`` after a swap while the old version is open
    would silently return the old instance. A link of its own gives each open its own instance;
    its version is the linked inode's, so a swap between looking and opening cannot mix them
    up. The link is removed at once (the open file keeps the inode alive). No other opener
    removes it: a link shared by name, removed by whichever opener finished first, made the
    others fail ("database does not exist"). Links left by a killed opener are swept
    (``sweep_aliases``).
    """
    _maybe_sweep(path)
    for _ in range(5):
        alias = _alias(path)
        try:
            os.link(path, alias)
        except FileExistsError:   # the same random token twice: draw again
            continue
        except FileNotFoundError:
            raise DatabaseError(f"{path}: no such file", "the database file is missing", POINT_ADVICE) from None
        except OSError:  # no hard links here (e.g. read-only folder): open the path itself
            st = os.stat(path)
            return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}", _connect(path, path, st.st_size)
        try:
            st = os.stat(alias)
            return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}", _connect(path, alias, st.st_size)
        finally:
            alias.unlink(missing_ok=True)
    raise RuntimeError(f"{path}: could not make a link to open it through")


# --- Health -------------------------------------------------------------------------------------
HEALTH_RECHECK_S = 60.0   # a version found sound (or not) is read in full again after this long
_health: dict[str, tuple[str, float, str | None]] = {}


def verify(path: Path | str) -> dict[str, int]:
    """Read every table of the database at ``path`` in full, every column, on an instance of its
    own (so every block is read from the file and its checksum checked); return the tables' row
    counts, or raise ``DatabaseError`` saying what is wrong. Writes nothing: an older file is
    not upgraded."""
    path = Path(path)
    _check_header(path)
    _, con = _open_version(path)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = "
                                            "current_database() AND NOT temporary ORDER BY table_name").fetchall()]
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if missing:
            raise _not_ours(path, missing)
        return {t: con.execute(f'SELECT count(*), max(hash(COLUMNS(*))) FROM "{t}"').fetchall()[0][0] for t in tables}
    except duckdb.Error as exc:
        raise _unreadable(path, exc) from None
    finally:
        con.close()


def health(path: Path | str, now: float | None = None) -> str | None:
    """None when the database at ``path`` opens and every table reads in full (``verify``);
    otherwise what is wrong, in a few words without the path (``DatabaseError.reason``).

    Cheap enough for an HTTP health check every few seconds: the full read runs once per file
    version and ``HEALTH_RECHECK_S`` (a swap makes a new version, and so does any write to the
    file: truncating it, copying over it); every call also stats the file and reads its first
    bytes, so a file removed or made unreadable shows at once.
    """
    path = Path(path)
    now = time.monotonic() if now is None else now
    try:
        _check_header(path)
        version = file_version(path)
    except DatabaseError as exc:
        return exc.reason
    except OSError:
        return "the database file is missing or cannot be read"
    hit = _health.get(str(path))
    if hit and hit[0] == version and now - hit[1] < HEALTH_RECHECK_S:
        return hit[2]
    try:
        verify(path)
        problem = None
    except DatabaseError as exc:
        problem = exc.reason
    except Exception:  # noqa: BLE001 - a health check answers; the log has the traceback
        LOG.exception("database %s: the health check failed", path)
        problem = "the database check failed (the server's log says why)"
    _health[str(path)] = (version, now, problem)
    return problem


# A statement's bound parameters: by name ($name) or by position (?).
Params = Mapping[str, object] | Sequence[object] | None


class Reader:
    """``Database``'s two reads on an open connection: the loader's checks run through it on the
    copy it writes, under the writer lock, so they see the data as it is when it writes."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def query(self, sql: str, params: Params = None) -> pd.DataFrame:
        return _plain_strings(self._con.execute(sql, params).df())

    def scalar(self, sql: str, params: Params = None) -> Any:
        """The first row's first value (of whatever type the SQL gives), or None when there is no row."""
        frame = self.query(sql, params)
        return None if frame.empty else frame.iat[0, 0]


def _plain_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Categories (DuckDB ENUMs) as plain strings."""
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.CategoricalDtype):
            frame[col] = frame[col].astype("str")
    return frame


class Database(Reader):
    """A read-only handle on one version of the file; safe to share between threads.

    A DuckDB connection is not thread-safe, so each query runs on its own cursor.
    """

    def __init__(self, path: Path | str) -> None:
        path = Path(path)
        if not path.exists():
            ensure_database(path)   # a new path: an empty database
        self.path = path
        self.version, self._con = _open_checked(path)
        self._lock = threading.Lock()

    def query(self, sql: str, params: Params = None) -> pd.DataFrame:
        """Run one SELECT with bound parameters; categories come back as plain strings.

        A file that cannot be read (a lost or corrupt block) raises ``DatabaseError`` (show its
        ``public`` message in a browser; the log has the path); a mistake in the SQL stays
        DuckDB's own error."""
        try:
            with self._lock:
                cur = self._con.cursor()
            try:
                frame = cur.sql(sql, params=params).to_arrow_table().to_pandas()
            finally:
                cur.close()
        except duckdb.Error as exc:
            if not _is_file_error(exc):
                raise
            raise _unreadable(self.path, exc) from None
        return _plain_strings(frame)

    def meta(self) -> dict[str, str]:
        return dict(self.query("SELECT key, value FROM meta").itertuples(index=False))

    def close(self) -> None:
        self._con.close()
