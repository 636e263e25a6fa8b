"""Read a CSV or XLSX file into a DuckDB table of text cells, and find its header row.

The table ``raw`` has ``line`` (the row number as a spreadsheet shows it, header = its own row)
and one VARCHAR column per contract column found in the header, named after it.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from stls.ingest.schema import KINDS, header_key

MAX_TITLE_ROWS = 10
DEFAULT_MAX_MB = 200


class FileProblem(Exception):
    """The file cannot be read as a table of the kind expected; the message says why."""


@dataclass
class RawFile:
    kind: str
    rows: int
    header_row: int                       # spreadsheet row number of the header
    columns: dict[str, str]               # contract column → header text as written
    notes: list[str] = field(default_factory=list)


def max_bytes() -> int:
    try:
        return int(float(os.environ.get("STLS_MAX_IMPORT_MB", DEFAULT_MAX_MB)) * 1024 * 1024)
    except ValueError:
        return DEFAULT_MAX_MB * 1024 * 1024


def _refuse_binary(data: bytes, name: str) -> None:
    if b"\x00" in data[:65536]:
        raise FileProblem(f"{name}: this is not a CSV or XLSX file (it contains binary data)")


def _decode(data: bytes, name: str) -> tuple[str, str]:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise FileProblem(f"{name}: the text is neither UTF-8 nor Windows-1252")


def _delimiter(sample: str) -> str:
    """The delimiter that splits most of the first lines into the same number (2+) of cells."""
    lines = [ln for ln in sample.splitlines()[:60] if ln.strip()]
    best, best_score = ",", -1
    for d in (",", ";", "\t", "|"):
        counts = [len(row) for row in csv.reader(lines, delimiter=d)]
        mode = max(set(counts), key=counts.count) if counts else 0
        score = counts.count(mode) if mode >= 2 else 0
        if score > best_score:
            best, best_score = d, score
    return best


def _xlsx_rows(data: bytes, name: str, notes: list[str]) -> pd.DataFrame:
    from openpyxl import load_workbook
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable workbook is one message
        raise FileProblem(f"{name}: not a readable XLSX workbook ({exc.__class__.__name__})") from None
    sheets = book.sheetnames
    if len(sheets) > 1:
        notes.append(f"Read the first sheet, '{sheets[0]}'; {len(sheets) - 1} other sheet(s) ignored: "
                     + ", ".join(f"'{s}'" for s in sheets[1:]))

    def cell(v) -> str:
        if v is None:
            return ""
        if isinstance(v, dt.datetime):
            return v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    rows = [[cell(v) for v in row] for row in book[sheets[0]].iter_rows(values_only=True)]
    book.close()
    width = max((len(r) for r in rows), default=0)
    return pd.DataFrame([r + [""] * (width - len(r)) for r in rows], columns=[f"column{i}" for i in range(width)])


def _load_text(con: duckdb.DuckDBPyConnection, data: bytes, name: str, tmpdir: str) -> None:
    _refuse_binary(data, name)
    path = Path(tmpdir) / "file.csv"
    try:
        text = data.decode("utf-8")
        path.write_bytes(data[3:] if data[:3] == b"\xef\xbb\xbf" else data)   # bytes as they are
    except UnicodeDecodeError:
        text, _ = _decode(data, name)
        path.write_text(text, encoding="utf-8")
    if not text.strip():
        raise FileProblem(f"{name}: the file is empty")
    sample = text[:200_000]
    delim = _delimiter(sample[:20000])
    width = max((len(row) for row in csv.reader(io.StringIO(sample), delimiter=delim)), default=1) + 2
    columns = "{" + ", ".join(f"'column{i}': 'VARCHAR'" for i in range(width)) + "}"
    try:
        # A new table's rowid follows the file's order, so no window function is needed for line numbers.
        con.execute(f"""CREATE TABLE cells_in AS SELECT *
                        FROM read_csv(?, header = false, auto_detect = false, columns = {columns}, delim = ?,
                                      quote = '"', escape = '"', null_padding = true, strict_mode = false,
                                      max_line_size = 1000000)""", [str(path), delim])
        con.execute("CREATE VIEW cells AS SELECT rowid + 1 AS line, * FROM cells_in")
    except duckdb.Error as exc:
        detail = str(exc).split("\n")[0][:300]
        raise FileProblem(f"{name}: could not be read as a table of cells ({detail})") from None


def _find_header(con, kind: str | None, name: str) -> tuple[str, int, list[str]]:
    """(kind, index of the header line, header cells) from the first rows."""
    top = con.execute(f"SELECT * EXCLUDE (line) FROM cells ORDER BY line LIMIT {MAX_TITLE_ROWS + 1}").fetchall()
    from stls.ingest.schema import detect_kind
    for i, row in enumerate(top):
        cells = ["" if v is None else str(v) for v in row]
        found = detect_kind(cells)
        if found and (kind is None or found == kind):
            return found, i, cells
        if found and kind and found != kind:
            raise FileProblem(f"{name}: this looks like a {found} file, not {kind} "
                              f"(its header is on row {i + 1}: {', '.join(c for c in cells if c)[:200]})")
    expected = ", ".join(KINDS[kind].required) if kind else "the columns of one of: " + ", ".join(KINDS)
    raise FileProblem(f"{name}: no header row found in the first {MAX_TITLE_ROWS + 1} rows; expected {expected}")


def read(con: duckdb.DuckDBPyConnection, data: bytes, name: str, kind: str | None = None) -> RawFile:
    """Load ``data`` into table ``raw`` on ``con``; raise FileProblem for structural faults."""
    if len(data) > max_bytes():
        raise FileProblem(f"{name}: the file is {len(data) / 2**20:,.0f} MB, over the {max_bytes() / 2**20:,.0f} MB "
                          "limit; split it by month")
    if not data.strip():
        raise FileProblem(f"{name}: the file is empty")
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        if data[:4] == b"PK\x03\x04":
            frame = _xlsx_rows(data, name, notes)
            con.register("_xlsx", frame)
            con.execute("CREATE TABLE cells_in AS SELECT * FROM _xlsx")
            con.execute("CREATE VIEW cells AS SELECT rowid + 1 AS line, * FROM cells_in")
            con.unregister("_xlsx")
        else:
            _load_text(con, data, name, tmpdir)
    found, index, header = _find_header(con, kind, name)
    if index:
        notes.append(f"Skipped {index} row(s) above the header (titles or notes)")
    columns = _map_columns(header, found, name)
    cell_cols = [c for c in con.sql("SELECT * FROM cells LIMIT 0").columns if c != "line"]
    select = ", ".join(f'"{cell_cols[i]}" AS "{col}"' for col, i in columns.items())
    blank = " AND ".join(f"coalesce(trim(\"{c}\"), '') = ''" for c in cell_cols)  # empty rows are skipped
    con.execute(f"CREATE TABLE raw AS SELECT line, {select} FROM cells WHERE line > {index + 1} AND NOT ({blank})")
    rows = con.execute("SELECT count(*) FROM raw").fetchall()[0][0]
    if rows == 0:
        raise FileProblem(f"{name}: the header is on row {index + 1} but there are no data rows under it")
    _refuse_totals(con, name, list(columns))
    return RawFile(found, rows, index + 1, {c: header[i] for c, i in columns.items()}, notes)


def _map_columns(header: list[str], kind: str, name: str) -> dict[str, int]:
    wanted = {header_key(c.name): c.name for c in KINDS[kind].columns}
    found: dict[str, int] = {}
    for i, text in enumerate(header):
        col = wanted.get(header_key(text))
        if col is None:
            continue
        if col in found:
            raise FileProblem(f"{name}: the column '{col}' appears twice in the header "
                              f"(columns {found[col] + 1} and {i + 1}); keep one")
        found[col] = i
    missing = [c for c in KINDS[kind].required if c not in found]
    if missing:
        raise FileProblem(f"{name}: missing required column(s) {', '.join(missing)} for a {kind} file "
                          f"(header found: {', '.join(h for h in header if h)[:200]})")
    return found


def _refuse_totals(con, name: str, columns: list[str]) -> None:
    """A 'Total' row (usually the last) would double count: refuse it, naming the row."""
    checks = " OR ".join(f"lower(trim(\"{c}\")) IN ('total', 'totals', 'grand total', 'sum')" for c in columns)
    last = con.execute("SELECT max(line) FROM raw").fetchall()[0][0]   # totals sit at the bottom
    hit = con.execute(f"SELECT line FROM raw WHERE line > {last - 5} AND ({checks}) ORDER BY line LIMIT 1").fetchall()
    if hit:
        raise FileProblem(f"{name}: row {hit[0][0]} looks like a totals row; remove it (totals are worked out "
                          "by the dashboard, and loading them would double count)")
