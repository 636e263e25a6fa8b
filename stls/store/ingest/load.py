"""Import one file: read, validate, check for a repeat or an overlap, then load it all or nothing.

Loading writes a copy of the database and swaps it in (``stls.store.db.writable_copy``): a failure or
a killed process leaves the previous file as it was, and the dashboard keeps reading the old
version until the swap. Every attempt that reaches the database is logged in ``import_log``,
refused ones too; a dry run writes nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from stls import reference as ref
from stls.store import db as dbmod
from stls.store import queries
from stls.store.ingest import read, validate

if TYPE_CHECKING:
    import pyarrow as pa

# What a load covers, per kind: the rows an overlapping earlier load holds (for --replace).
SCOPE = {
    "activity": ("activity_date BETWEEN $from AND $to AND service_code::VARCHAR IN (SELECT unnest($services))",
                 "activity"),
    "attainment": ("academic_year BETWEEN $y0 AND $y1 AND measure::VARCHAR IN (SELECT unnest($measures))", "attainment"),
    "sen_pupils": ("academic_year BETWEEN $y0 AND $y1", "sen_pupils"),
    "setting_outcomes": ("academic_year BETWEEN $y0 AND $y1 AND measure::VARCHAR IN (SELECT unnest($measures))",
                         "setting_outcomes"),
    "settings": ("urn IN (SELECT unnest($urns))", "settings"),
    "budget": ("financial_year BETWEEN $y0 AND $y1 AND service_code::VARCHAR IN (SELECT unnest($services))", "budget"),
    # a refresh of published figures covers its measures, years and areas
    "published": ("academic_year BETWEEN $y0 AND $y1 AND lait_code IN (SELECT unnest($codes)) "
                  "AND geography_code IN (SELECT unnest($geos))", "published"),
}


@dataclass
class Report:
    file: str
    kind: str | None = None
    rows: int = 0
    period: str = ""
    districts: list[str] = field(default_factory=list)
    problems: list[validate.Problem] = field(default_factory=list)
    total_problems: int = 0
    notes: list[str] = field(default_factory=list)
    status: str = "refused"            # refused | checked | loaded
    message: str = ""
    import_id: int | None = None
    replaced_rows: int = 0
    actor: str | None = None           # who asked (import_log.actor): a signed-in person, or the command line

    @property
    def ok(self) -> bool:
        return self.status in ("checked", "loaded")

    def lines(self) -> list[str]:
        out = [f"{self.file}: {self.message}"]
        if self.kind:
            out.append(f"  kind {self.kind} · {self.rows:,} rows · period {self.period or '[x]'}"
                       + (f" · districts: {', '.join(self.districts)}" if self.districts else ""))
        out += [f"  note: {n}" for n in self.notes]
        out += [f"  {p.text(self.file)}" for p in self.problems]
        if self.total_problems > len(self.problems):
            out.append(f"  … and {self.total_problems - len(self.problems):,} more problems "
                       f"({self.total_problems:,} in all; the first {len(self.problems)} are shown)")
        return out


def _period(con: duckdb.DuckDBPyConnection, kind: str) -> tuple[dict[str, object], str, dt.date | None, dt.date | None]:
    """Bound parameters describing what the file covers, a label, and its first/last date."""
    if kind == "activity":
        lo, hi, services = con.execute("SELECT min(activity_date), max(activity_date), list(DISTINCT service_code) "
                                       "FROM clean").fetchall()[0]
        first, last = lo.replace(day=1), (pd.Timestamp(hi) + pd.offsets.MonthEnd(0)).date()
        return ({"from": first, "to": last, "services": sorted(services)},
                f"{first:%b %Y} to {last:%b %Y}", first, last)
    if kind == "settings":
        urns = [r[0] for r in con.execute("SELECT urn FROM clean").fetchall()]
        return {"urns": urns}, f"{len(urns):,} settings", None, None
    year_col = "financial_year" if kind == "budget" else "academic_year"
    y0, y1 = con.execute(f"SELECT min({year_col}), max({year_col}) FROM clean").fetchall()[0]
    label = ref.financial_year_label if kind == "budget" else ref.academic_year_label
    params: dict[str, object] = {"y0": y0, "y1": y1}
    if kind in ("attainment", "setting_outcomes"):
        params["measures"] = sorted(r[0] for r in con.execute("SELECT DISTINCT measure FROM clean").fetchall())
    if kind == "budget":
        params["services"] = sorted(r[0] for r in con.execute("SELECT DISTINCT service_code FROM clean").fetchall())
    if kind == "published":
        params["codes"] = sorted(r[0] for r in con.execute("SELECT DISTINCT lait_code FROM clean").fetchall())
        params["geos"] = sorted(r[0] for r in con.execute("SELECT DISTINCT geography_code FROM clean").fetchall())
    span = label(y0) if y0 == y1 else f"{label(y0)} to {label(y1)}"
    start = dt.date(y0, 9 if kind != "budget" else 4, 1)
    return params, span, start, dt.date(y1 + 1, 8 if kind != "budget" else 3, 31 if kind != "budget" else 31)


def _existing(handle: dbmod.Reader, kind: str, params: dict[str, object]) -> tuple[int, str]:
    where, table = SCOPE[kind]
    n, ids = queries.rows_in_scope(handle, table, where, params)
    first = ""
    if ids:
        log = queries.imports_by_id(handle, ids)
        first = "; ".join(f"import {r.import_id} ({r.file_name}, {pd.Timestamp(r.imported_at):%d %b %Y})"
                          for r in log.itertuples())
    return n, first


def _duplicate(handle: dbmod.Reader, sha: str) -> str | None:
    hit = queries.loaded_import_with_sha(handle, sha)
    if hit.empty:
        return None
    r = hit.iloc[0]
    return (f"this file (SHA-256 {sha[:12]}…) was already loaded on {pd.Timestamp(r['imported_at']):%d %b %Y %H:%M} "
            f"as import {int(r['import_id'])} ({r['file_name']}); nothing was loaded again")


def _log(path: Path, report: Report, sha: str, first: dt.date | None, last: dt.date | None) -> int:
    """Record the attempt (its own small swap when nothing else is written)."""
    with dbmod.writable_copy(path) as con:
        return _log_row(con, report, sha, first, last)


def _log_row(con: duckdb.DuckDBPyConnection, report: Report, sha: str, first: dt.date | None, last: dt.date | None) -> int:
    import_id = con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM import_log").fetchall()[0][0]
    con.execute("INSERT INTO import_log (import_id, kind, file_name, sha256, period_from, period_to, rows, status, "
                "message, imported_at, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [import_id, report.kind or "unknown", report.file, sha, first, last, report.rows,
                 report.status, report.message[:2000], dt.datetime.now().replace(microsecond=0), report.actor])
    return int(import_id)


def _write(con: duckdb.DuckDBPyConnection, kind: str, covers: _Covers, replace: bool, import_id: int,
           frame: pa.Table) -> int:
    where, table = SCOPE[kind]
    removed = 0
    if replace:
        removed = int(con.execute(f"SELECT count(*) FROM {table} WHERE {where}", covers.params).fetchall()[0][0])
        con.execute(f"DELETE FROM {table} WHERE {where}", covers.params)
    con.register("_incoming", frame)
    cols = ", ".join(c for c in validate.OUT[kind])
    if table in dbmod.KEYED:   # child-level rows get their record keys (stls/store/disclosure.py)
        dbmod.insert_keyed(con, table, cols, "_incoming", int(import_id))
    else:
        extra = ", $id" if kind in ("published", "setting_outcomes") else ""
        con.execute(f"INSERT INTO {table} SELECT {cols}{extra} FROM _incoming", {"id": import_id} if extra else None)
    con.unregister("_incoming")
    if kind == "activity":   # its months: from the first month's start to the last one's end (``_period``)
        dbmod.refresh_derived(con, covers.first, covers.last)
    return removed


def import_file(file: Path | str, kind: str | None, db_path: Path | str, *, replace: bool = False,
                dry_run: bool = False, data: bytes | None = None, today: dt.date | None = None,
                earlier: bool = False, actor: str | None = None, log_refusal: bool = False) -> Report:
    """Check a file and (unless ``dry_run``) load it whole into the database at ``db_path``;
    ``actor`` (who asked) goes into the import log with the outcome. A dry run writes nothing,
    unless ``log_refusal`` and the file is refused (an upload on the Data page: its check is the
    attempt, so a refused file is logged with who tried).

    ``earlier`` allows activity more than 12 months before the earliest already held (older
    history moves every default view, so it is loaded on purpose, never by a typing error)."""
    file, db_path = Path(file), dbmod.ensure_database(db_path)
    report = Report(file.name, actor=actor)
    data = file.read_bytes() if data is None else data
    sha = hashlib.sha256(data).hexdigest()
    con = duckdb.connect()
    try:
        covers = _check(con, report, data, kind, db_path, sha, replace=replace, today=today, earlier=earlier)
        if dry_run:  # nothing is written, not even the log (but see log_refusal)
            _end_dry_run(report, db_path, sha, covers, log_refusal)
        else:
            _load(con, report, db_path, sha, covers, replace)
    finally:
        con.close()
    return report


@dataclass
class _Covers:
    """What a checked file covers: the bound parameters of its scope (``SCOPE``), and its first
    and last date (the import log's period)."""
    params: dict[str, object] = field(default_factory=dict)
    first: dt.date | None = None
    last: dt.date | None = None


def _check(con: duckdb.DuckDBPyConnection, report: Report, data: bytes, kind: str | None, db_path: Path, sha: str, *, replace: bool,
           today: dt.date | None, earlier: bool) -> _Covers:
    """Read and validate the file into ``report`` (its kind, rows, notes, problems and message;
    status 'ready' when it may load); what it covers, once it has no problems."""
    handle = dbmod.Database(db_path)
    covers = _Covers()
    try:
        raw = read.read(con, data, report.file, kind)
        report.kind, report.rows, report.notes = raw.kind, raw.rows, raw.notes
        _validate(con, handle, raw, report, today, earlier)
        if not report.total_problems:
            covers = _describe(con, handle, raw, report, sha, replace)
    except read.FileProblem as exc:
        report.message = f"refused: {str(exc).split(': ', 1)[-1]}"
    finally:
        handle.close()
    return covers


def _validate(con: duckdb.DuckDBPyConnection, handle: dbmod.Database, raw: read.RawFile, report: Report, today: dt.date | None,
              earlier: bool) -> None:
    """Every cell and rule checked against the database's lists (``validate``): the problems go
    into ``report``, and with any the message says it is refused."""
    urns = queries.setting_urns(handle)
    first_held = None if earlier else queries.data_extent(handle).get("first_month")
    county = queries.county_published(handle) if raw.kind == "attainment" else None
    note = validate.prepare(con, raw.kind, urns, report.file, first_held, county)
    if note:
        report.notes.append(note)
    report.problems, report.total_problems = validate.problems(con, raw.kind, today)
    if report.total_problems:
        report.message = f"refused: {report.total_problems:,} problem(s) found; nothing was loaded"


def _describe(con: duckdb.DuckDBPyConnection, handle: dbmod.Database, raw: read.RawFile, report: Report, sha: str, replace: bool) -> _Covers:
    """A file without problems as the rows to load (view ``clean``): its period and districts
    into ``report``, with whether it may load (``_decide``); what it covers."""
    con.execute(f"CREATE VIEW clean AS {validate.clean_sql(raw.kind)}")
    if raw.kind == "published":
        kept = con.execute("SELECT count(*) FROM clean").fetchall()[0][0]
        if kept < raw.rows:
            report.notes.append(f"{raw.rows - kept:,} rows have no published value (suppressed or not "
                                f"collected: blank, x or c) and are not loaded; {kept:,} are")
    params, report.period, first, last = _period(con, raw.kind)
    if raw.kind in ("activity", "settings"):
        col = "district_code"
        report.districts = [ref.DISTRICT_NAMES[c] for c in sorted(
            r[0] for r in con.execute(f"SELECT DISTINCT {col} FROM clean").fetchall())]
    report.message = _decide(handle, raw.kind, params, sha, replace, report)
    return _Covers(params, first, last)


def _end_dry_run(report: Report, db_path: Path, sha: str, covers: _Covers, log_refusal: bool) -> None:
    """A dry run's outcome: 'checked' or 'refused', nothing written (a refusal is logged when
    ``log_refusal``)."""
    report.status = "checked" if report.status == "ready" else "refused"
    if report.status == "checked":
        report.message = "checked (dry run): " + report.message
    elif log_refusal:
        try:
            report.import_id = _log(db_path, report, sha, covers.first, covers.last)
        except (OSError, duckdb.Error):
            report.notes.append("The refusal could not be logged: the database cannot be written")


def _load(con: duckdb.DuckDBPyConnection, report: Report, db_path: Path, sha: str, covers: _Covers, replace: bool) -> None:
    """Load the checked file, or log its refusal; a database that cannot be written refuses it."""
    try:
        _commit(con, report, db_path, covers, sha, replace)
    except (OSError, duckdb.Error) as exc:   # a full disk, a read-only folder: nothing was loaded
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0][:200]
        report.status, report.import_id = "refused", None
        report.message = f"refused: the database could not be written ({reason}); nothing was loaded"
        try:
            report.import_id = _log(db_path, report, sha, covers.first, covers.last)
        except (OSError, duckdb.Error):
            report.notes.append("The refusal could not be logged either: the database cannot be written")


def _commit(con: duckdb.DuckDBPyConnection, report: Report, db_path: Path, covers: _Covers, sha: str, replace: bool) -> None:
    """Write the checked file (checks again under the writer lock), or log its refusal."""
    if report.status == "ready":
        frame = con.sql("SELECT * EXCLUDE (line) FROM clean").to_arrow_table()
        with dbmod.writable_copy(db_path) as target:
            # the repeat and overlap checks again, under the writer lock, against the data as it
            # is now: another import of the same file may have landed since the first look
            assert report.kind is not None   # set when the file was read
            report.status = "refused"
            report.message = _decide(dbmod.Reader(target), report.kind, covers.params, sha, replace, report)
            if report.status == "ready":
                report.status = "loaded"
                report.import_id = target.execute("SELECT coalesce(max(import_id), 0) + 1 FROM import_log").fetchall()[0][0]
                report.replaced_rows = _write(target, report.kind, covers, replace, report.import_id, frame)
                report.message = (f"loaded {report.rows:,} rows as import {report.import_id}"
                                  + (f", replacing {report.replaced_rows:,} earlier rows" if report.replaced_rows else ""))
            report.import_id = _log_row(target, report, sha, covers.first, covers.last)
    else:
        report.status = "refused"
        report.import_id = _log(db_path, report, sha, covers.first, covers.last)


def _decide(handle: dbmod.Reader, kind: str, params: dict[str, object], sha: str, replace: bool, report: Report) -> str:
    """'ready…' when the file may load; otherwise why not (a repeat, or an overlap without --replace)."""
    repeat = _duplicate(handle, sha)
    if repeat:
        return "refused: " + repeat
    n, earlier = _existing(handle, kind, params)
    if n and not replace:
        what = "settings already listed" if kind == "settings" else f"rows for {report.period} already loaded"
        return (f"refused: {n:,} {what}" + (f" by {earlier}" if earlier else "")
                + "; to swap them for this file's rows, import again with --replace")
    report.status = "ready"
    return f"ready to load {report.rows:,} rows" + (f", replacing {n:,} rows" if n else "")
