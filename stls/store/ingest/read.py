"""Read a CSV or XLSX file into a DuckDB table of text cells, and find its header row.

The table ``raw`` has ``line`` (the row number as a spreadsheet shows it, header = its own row)
and one VARCHAR column per contract column found in the header, named after it.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from stls.store.ingest.schema import KINDS, header_key

if TYPE_CHECKING:   # zipfile and openpyxl are imported where a workbook is read
    import zipfile

    from openpyxl.workbook.workbook import Workbook
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

MAX_TITLE_ROWS = 10
DEFAULT_MAX_MB = 200
MAX_LINE = 1_000_000   # bytes in one row: a longer one is refused with its row number


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


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"   # an old .xls, or any password-protected Office file


def _refuse_binary(data: bytes, name: str) -> None:
    """A NUL byte anywhere (not only in the first 64 KiB) would end up inside a cell."""
    if data[:8] == OLE:
        raise FileProblem(f"{name}: a password-protected workbook or an old .xls file; save it in Excel as an "
                          "unprotected .xlsx (or CSV) and load that")
    at = data.find(b"\x00")
    if at >= 0:
        raise FileProblem(f"{name}: not a CSV or XLSX file: it holds binary data (a NUL byte at byte {at:,}); "
                          "save it from Excel as CSV UTF-8 or XLSX")


def _utf16(data: bytes, name: str) -> bytes:
    """A UTF-16 text file (Excel's 'Unicode text') as UTF-8 bytes; others as they are."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            raise FileProblem(f"{name}: starts as UTF-16 text but is not valid UTF-16") from None
    return data


def _keep_blank_records(text: str, delim: str) -> str:
    """Blank lines as rows of empty cells, so row numbers stay as a spreadsheet counts them (the
    CSV reader skips blank lines); a blank line inside a quoted cell is left alone."""
    if "\n\n" not in text and "\n\r\n" not in text:
        return text
    lines = text.split("\n")
    inside = False
    for i, line in enumerate(lines[:-1] if text.endswith("\n") else lines):
        if not inside and not line.strip("\r"):
            lines[i] = delim + ("\r" if line.endswith("\r") else "")
        if line.count('"') % 2:
            inside = not inside
    return "\n".join(lines)


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


XLSX_MAX_COLUMNS = 200            # no file kind has more than a dozen; a sheet declaring 16,384 is not read so
XLSX_MAX_ROWS = 2_000_000
XLSX_MAX_EXPANSION = 100           # a member that inflates more than this (and past 20 MB) is a zip bomb
XLSX_MAX_SHEET = 64 * 2**20        # one sheet's XML (about 400,000 tracker rows; a larger one reads for minutes)
# The shared strings (xl/sharedStrings.xml) hold each distinct text of the cells once; openpyxl
# reads all of them into memory before the first row. A tracker's texts are codes, names and
# dates, a few MB even with a free-text column; the table cannot usefully outgrow the sheets
# that refer to it, so it gets the sheet's limit.
XLSX_MAX_SHARED_STRINGS = XLSX_MAX_SHEET
# Any other part: styles (about 6 MB at Excel's own limit of 64,000 cell formats), theme,
# relationships, the formula chain (about 15 bytes a formula: 6 MB for one on each of 400,000
# rows), a picture. A tracker export's are a few KB.
XLSX_MAX_PART = 16 * 2**20
# The whole workbook: a sheet and its shared strings at their limits leave room for as much again.
XLSX_MAX_INFLATED = 4 * XLSX_MAX_SHEET
# openpyxl's cost is per XML tag (about 5 microseconds and 100 bytes a tag in the shared strings,
# more in styles), so the tags are counted (each '<', read 1 MB at a time) before it reads them:
XLSX_FREE_STRING_TAGS = 200_000     # any workbook's shared strings: about a second and 20 MB
XLSX_STRING_TAGS_PER_BYTE = 1 / 4   # more, in proportion to the sheets: a text used by a cell takes
                                    # 4 tags (<si><t>..</t></si>), the cell at least 28 bytes of sheet
XLSX_MAX_STRING_TAGS = 4_000_000    # and never more than a million texts (two on each of 400,000 rows)
XLSX_MAX_PART_TAGS = 100_000        # the parts openpyxl parses whole (styles, relationships, workbook)
_PARSED_WHOLE = re.compile(r"(\[Content_Types\]\.xml|xl/workbook\.xml|xl/styles\.xml|docProps/(core|custom)\.xml"
                           r"|xl/chartsheets/[^/]+\.xml|.*\.rels)", re.IGNORECASE)
_SAVE_AS = "save it as CSV, which loads in seconds, or split it by month"


def _is_sheet(filename: str) -> bool:
    return filename.startswith("xl/worksheets/") and filename.endswith(".xml") and "/_rels/" not in filename


def _package_roles(archive: zipfile.ZipFile) -> tuple[str, str]:
    """The shared strings and workbook parts as openpyxl finds them, named in [Content_Types].xml
    (a workbook may name any part so, not only xl/sharedStrings.xml)."""
    strings, book = "xl/sharedStrings.xml", "xl/workbook.xml"
    try:
        from openpyxl.packaging.manifest import Manifest
        from openpyxl.reader.excel import _find_workbook_part
        from openpyxl.xml.constants import SHARED_STRINGS
        from openpyxl.xml.functions import fromstring
        manifest = Manifest.from_tree(fromstring(archive.read("[Content_Types].xml")))
        found = manifest.find(SHARED_STRINGS)
        strings = found.PartName.lstrip("/") if found is not None else strings
        book = _find_workbook_part(manifest).PartName.lstrip("/")
    except Exception:  # noqa: BLE001 - a manifest openpyxl cannot read is refused by openpyxl itself
        pass
    return strings, book


def _scan(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limit: int | None = None) -> int:
    """The tags in a part (its '<' characters: elements, end tags and comments), inflated 1 MB at a
    time and no further than ``limit``; a DTD (<!DOCTYPE>, never in a workbook Excel saved) is
    refused: its entities can expand a few KB into gigabytes of cells."""
    import zipfile
    import zlib
    tags, tail = 0, b""
    try:
        with archive.open(info) as part:
            while chunk := part.read(2**20):
                tags += chunk.count(b"<")
                if b"<!DOCTYPE" in tail + chunk[:16] or b"<!DOCTYPE" in chunk:
                    raise FileProblem(f"{name}: not read: '{info.filename}' declares a DTD (<!DOCTYPE>), which Excel "
                                      "never writes and whose entities can expand into gigabytes; open it in Excel and "
                                      f"save it again, or {_SAVE_AS}")
                if limit is not None and tags > limit:
                    break
                tail = chunk[-8:]
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError):
        raise FileProblem(f"{name}: not a readable XLSX workbook (the part '{info.filename}' is damaged)") from None
    return tags


def _check_zip(data: bytes, name: str) -> zipfile.ZipFile:
    """The workbook's zip directory, refused cheaply (before anything is inflated) when it is
    not a workbook, is encrypted, or would inflate past the limits; then its parts, read 1 MB at
    a time, refused when openpyxl would spend more than a legitimate workbook needs on them."""
    archive = _open_workbook_zip(data, name)
    infos = archive.infolist()
    for i in infos:
        _check_expansion(i, name)
    for i in infos:
        _check_part_size(i, name)
    total = sum(i.file_size for i in infos)
    if total > XLSX_MAX_INFLATED:
        raise FileProblem(f"{name}: not read: it would inflate to {total / 2**20:,.0f} MB, over the "
                          f"{XLSX_MAX_INFLATED / 2**20:,.0f} MB limit; split it by month or save it as CSV")
    _check_parts(archive, name)
    return archive


def _open_workbook_zip(data: bytes, name: str) -> zipfile.ZipFile:
    """The file as a zip archive, refused unless it is a readable, unencrypted one holding a workbook."""
    import zipfile
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise FileProblem(f"{name}: not a readable XLSX workbook (the zip structure is damaged)") from None
    infos = archive.infolist()
    if "xl/workbook.xml" not in {i.filename for i in infos}:
        raise FileProblem(f"{name}: a zip file, but not an Excel workbook (it has no xl/workbook.xml)")
    if any(i.flag_bits & 0x1 for i in infos):
        raise FileProblem(f"{name}: the workbook is encrypted; save an unprotected copy and load that")
    return archive


def _check_expansion(i: zipfile.ZipInfo, name: str) -> None:
    """Refuse a member that would inflate past 20 MB and more than ``XLSX_MAX_EXPANSION`` times its size."""
    if i.file_size > 20 * 2**20 and i.file_size > XLSX_MAX_EXPANSION * max(i.compress_size, 1):
        raise FileProblem(f"{name}: not read: '{i.filename}' would inflate from {i.compress_size / 2**20:,.1f} MB "
                          f"to {i.file_size / 2**20:,.0f} MB, more than {XLSX_MAX_EXPANSION} times (a zip bomb, or "
                          "a sheet of empty formatted cells); save it again from Excel, or as CSV")


def _check_part_size(i: zipfile.ZipInfo, name: str) -> None:
    """Refuse a part that would inflate past its limit: a sheet's, the shared strings', or any other part's."""
    if _is_sheet(i.filename) and i.file_size > XLSX_MAX_SHEET:
        raise FileProblem(f"{name}: not read: the sheet '{i.filename}' inflates to {i.file_size / 2**20:,.0f} MB, over "
                          f"the {XLSX_MAX_SHEET / 2**20:,.0f} MB a workbook may hold here (it would take minutes to "
                          "read); save it as CSV, which loads in seconds, or split it by month")
    if i.filename.lower() == "xl/sharedstrings.xml" and i.file_size > XLSX_MAX_SHARED_STRINGS:
        raise FileProblem(f"{name}: not read: its shared strings ('{i.filename}', the text of its cells) would "
                          f"inflate to {i.file_size / 2**20:,.0f} MB, over the {XLSX_MAX_SHARED_STRINGS / 2**20:,.0f} MB "
                          f"a workbook may hold here (a tracker export's are a few MB); {_SAVE_AS}")
    if not _is_sheet(i.filename) and i.filename.lower() != "xl/sharedstrings.xml" and i.file_size > XLSX_MAX_PART:
        raise FileProblem(f"{name}: not read: the part '{i.filename}' would inflate to {i.file_size / 2**20:,.0f} MB, "
                          f"over the {XLSX_MAX_PART / 2**20:,.0f} MB allowed for anything but a sheet and its text "
                          f"(styles, pictures, the formula chain: a tracker export's are a few KB); {_SAVE_AS}")


def _check_parts(archive: zipfile.ZipFile, name: str) -> None:
    """Every part read once, 1 MB at a time, nothing kept (about 0.2 s for 64 MB): none may hold
    a DTD; the parts openpyxl parses whole are held to their tags, the shared strings to what
    the sheets can refer to."""
    infos = archive.infolist()
    names = {i.filename: i for i in infos}
    strings, book = _package_roles(archive)
    parsed = [i for i in infos if _PARSED_WHOLE.fullmatch(i.filename) or i.filename == book]
    tags = sum(_scan(archive, i, name) for i in parsed)
    if tags > XLSX_MAX_PART_TAGS:
        biggest = max(parsed, key=lambda i: i.file_size).filename
        raise FileProblem(f"{name}: not read: its styles and package parts hold {tags:,} XML tags (the largest part is "
                          f"'{biggest}'), over the {XLSX_MAX_PART_TAGS:,} a workbook may use here (a tracker export's "
                          f"hold a few hundred); {_SAVE_AS}")
    sst = names.get(strings)
    if sst is not None and sst not in parsed:   # (named anything, it is within a sheet's size)
        sheets = sum(i.file_size for i in infos if _is_sheet(i.filename) and i is not sst)
        allowed = min(XLSX_MAX_STRING_TAGS, max(XLSX_FREE_STRING_TAGS, int(sheets * XLSX_STRING_TAGS_PER_BYTE)))
        if _scan(archive, sst, name, limit=allowed) > allowed:
            raise FileProblem(f"{name}: not read: its shared strings ('{strings}', the text of its cells) hold over "
                              f"{allowed:,} XML tags in {sst.file_size / 2**20:,.1f} MB, more texts than its sheets "
                              f"({sheets / 2**20:,.1f} MB) can use (a tracker export's are a few thousand); openpyxl "
                              f"would hold every one in memory; {_SAVE_AS}")
    for i in infos:
        if i is not sst and i not in parsed:
            _scan(archive, i, name)


def _sheet_choice(book: Workbook, notes: list[str], name: str) -> ReadOnlyWorksheet:
    """The active sheet if it is visible, else the first visible one; the note says which and
    names the others, hidden ones as hidden."""
    sheets = book.worksheets
    visible = [ws for ws in sheets if ws.sheet_state == "visible"]
    if not visible:
        raise FileProblem(f"{name}: every sheet in the workbook is hidden; unhide the one to load")
    active = book.active if book.active is not None and book.active.sheet_state == "visible" else visible[0]
    if len(sheets) > 1:
        others = [f"'{ws.title}'" + ("" if ws.sheet_state == "visible" else f" ({ws.sheet_state})")
                  for ws in sheets if ws is not active]
        why = "the active sheet" if active is book.active else "the first visible sheet"
        notes.append(f"Read sheet '{active.title}' ({why}); {len(others)} other sheet(s) ignored: {', '.join(others)}")
    return active


def _xlsx_cell(v: object, number_format: str | None) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (int, float)) and number_format and "%" in number_format:
        v = v * 100            # a cell shown as 21.4% holds 0.214: read it as the person sees it
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(round(v, 10))
    return str(v)


def _xlsx_rows(data: bytes, name: str, notes: list[str]) -> pd.DataFrame:
    from openpyxl import load_workbook
    archive = _check_zip(data, name)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable workbook is one message
        raise FileProblem(f"{name}: not a readable XLSX workbook ({exc.__class__.__name__})") from None
    ws = _sheet_choice(book, notes, name)
    ws.reset_dimensions()          # iterate the cells there are, not the range the sheet declares
    rows: list[list[str]] = []
    percent = False
    for row in ws.iter_rows():
        row = row[:XLSX_MAX_COLUMNS]
        cells = [_xlsx_cell(c.value, getattr(c, "number_format", None)) for c in row]
        while cells and cells[-1] == "":
            cells.pop()
        percent = percent or any("%" in (getattr(c, "number_format", None) or "") for c in row if c.value is not None)
        rows.append(cells)
        if len(rows) > XLSX_MAX_ROWS:
            raise FileProblem(f"{name}: more than {XLSX_MAX_ROWS:,} rows; split it by month or save it as CSV")
    _refuse_unsaved_formulas(archive, data, ws.title, rows, name)
    book.close()
    if percent:
        notes.append("Cells formatted as percentages read as shown (a cell showing 21.4% read as 21.4)")
    width = max((len(r) for r in rows), default=0)
    return pd.DataFrame([r + [""] * (width - len(r)) for r in rows], columns=[f"column{i}" for i in range(width)])


def _refuse_unsaved_formulas(archive: zipfile.ZipFile, data: bytes, title: str, rows: list[list[str]], name: str) -> None:
    """A formula whose result was never saved (written by a program, not Excel) reads as a blank,
    which would load as a default (a count of 1): refuse it, naming the cell."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter
    if not any(b"<f" in archive.read(i.filename) for i in archive.infolist()
               if i.filename.startswith("xl/worksheets/")):
        return
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    ws = book[title]
    ws.reset_dimensions()
    for r, row in enumerate(ws.iter_rows()):
        for c, cell in enumerate(row[:XLSX_MAX_COLUMNS]):
            if cell.data_type == "f" and r < len(rows) and (c >= len(rows[r]) or rows[r][c] == ""):
                book.close()
                raise FileProblem(f"{name}: row {r + 1}, column {get_column_letter(c + 1)}: the formula {str(cell.value)[:60]!r} "
                                  "has no saved result (the workbook was not saved by Excel after calculating); open "
                                  "it in Excel, save it, and load it again")
    book.close()


def _load_text(con: duckdb.DuckDBPyConnection, data: bytes, name: str, tmpdir: str) -> None:
    data = _utf16(data, name)
    _refuse_binary(data, name)
    path = Path(tmpdir) / "file.csv"
    try:
        text, as_is = data.decode("utf-8"), True
        if text.startswith("\ufeff"):
            text, as_is = text[1:], False
    except UnicodeDecodeError:
        (text, _), as_is = _decode(data, name), False
    if not text.strip():
        raise FileProblem(f"{name}: the file is empty")
    sample = text[:200_000]
    delim = _delimiter(sample[:20000])
    kept = _keep_blank_records(text, delim)
    if kept is text and as_is:
        path.write_bytes(data)                   # UTF-8 as it is: no re-encoding
    else:
        path.write_text(kept, encoding="utf-8")
    reader = csv.reader(io.StringIO(sample), delimiter=delim)
    try:
        width = max((len(row) for row in reader), default=1) + 2
    except csv.Error:
        raise FileProblem(f"{name}: row {reader.line_num} holds a cell longer than {csv.field_size_limit():,} "
                          "characters; no row of a tracker export is anywhere near that (a broken quote, or not a "
                          "CSV file)") from None
    columns = "{" + ", ".join(f"'column{i}': 'VARCHAR'" for i in range(width)) + "}"
    try:
        # A new table's rowid follows the file's order, so no window function is needed for line numbers.
        read_sql = f"""CREATE TABLE cells_in AS SELECT *
                        FROM read_csv(?, header = false, auto_detect = false, columns = {columns}, delim = ?,
                                      quote = '"', escape = '"', null_padding = true, strict_mode = false,
                                      max_line_size = {MAX_LINE}, parallel = PARALLEL)"""
        try:
            con.execute(read_sql.replace("PARALLEL", "true"), [str(path), delim])
        except duckdb.Error as exc:   # a line break inside a quoted cell needs the serial reader
            if "quoted new lines" not in str(exc):
                raise
            con.execute(read_sql.replace("PARALLEL", "false"), [str(path), delim])
        con.execute("CREATE VIEW cells AS SELECT rowid + 1 AS line, * FROM cells_in")
        con.execute("CREATE TABLE file_info AS SELECT ? AS delimiter", [delim])
    except duckdb.Error as exc:
        text_of = str(exc)
        line = re.search(r"CSV Error on Line: (\d+)", text_of)
        if "Maximum line size" in text_of or "max_line_size" in text_of:
            raise FileProblem(f"{name}: row {line.group(1) if line else '?'} is longer than {MAX_LINE:,} characters; "
                              "no row of a tracker export is anywhere near that (a broken quote, or not a CSV file)") from None
        detail = text_of.split("\n")[0][:300]
        raise FileProblem(f"{name}: could not be read as a table of cells ({detail})") from None


def _find_header(con: duckdb.DuckDBPyConnection, kind: str | None, name: str) -> tuple[str, int, list[str]]:
    """(kind, index of the header line, header cells) from the first rows."""
    top = con.execute(f"SELECT * EXCLUDE (line) FROM cells ORDER BY line LIMIT {MAX_TITLE_ROWS + 1}").fetchall()
    from stls.store.ingest.schema import detect_kind
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
            con.execute("CREATE TABLE file_info AS SELECT NULL::VARCHAR AS delimiter")   # cells hold numbers as numbers
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
    _set_aside_totals(con, list(columns))
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


TOTALS = "looks like a totals row; remove it (totals are worked out by the dashboard, and loading them would double count)"


def _set_aside_totals(con: duckdb.DuckDBPyConnection, columns: list[str]) -> None:
    """A 'Total' row near the bottom would double count. It goes to table ``raw_totals`` as a
    problem (row, column, value) reported with every other problem in the file, and out of
    ``raw`` so it is not also reported as a bad district or date. (It was refused on its own,
    which hid every other problem until it was removed.)"""
    words = "('total', 'totals', 'grand total', 'sum')"
    last = con.execute("SELECT max(line) FROM raw").fetchall()[0][0]   # totals sit at the bottom
    cells = " UNION ALL ".join(f"SELECT line, {i} AS pos, '{c}' AS col, \"{c}\" AS value FROM raw "
                               f"WHERE line > {last - 5} AND lower(trim(\"{c}\")) IN {words}" for i, c in enumerate(columns))
    con.execute(f"""CREATE OR REPLACE TEMP TABLE raw_totals AS
        SELECT line, arg_min(col, pos) AS col, arg_min(value, pos) AS value, '{TOTALS}' AS expected
        FROM ({cells}) GROUP BY line""")
    con.execute("DELETE FROM raw WHERE line IN (SELECT line FROM raw_totals)")
