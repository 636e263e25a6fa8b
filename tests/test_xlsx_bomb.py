"""Shared-strings bombs: an XLSX whose ``xl/sharedStrings.xml`` inflates far past anything a
tracker export needs (the penetration test's 11 MB workbook inflating 88 times to 950 MB cost
10 s and 1.4 GB in openpyxl), or stays small but lists millions of tiny strings (openpyxl's
read-only reader loads every shared string into a list before the first row is read).

Both are refused as the Data page checks an upload (``import_file(..., dry_run=True, data=...)``),
quickly and without inflating the table, while workbooks that really use shared strings (Excel
writes every text cell that way; openpyxl, which wrote the corpus, writes inline strings) read
as before. The refusal is measured in a child process (its peak resident memory, after a warm-up
import, less before), with a timeout so a reader that does inflate the bomb cannot hang the suite.
"""
from __future__ import annotations

import json
import random
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT

from stls.store import db as dbmod
from stls.store.ingest import import_file, read

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
HEADER = ["date", "district", "service", "activity_type", "need_area", "phase", "setting_urn", "count"]
ROW = ["2024-10-14", "Swale", "", "referral", "SEMH", "primary", "", 1]
SECONDS, GROWTH_MB = 2.0, 20.0   # README: a hostile workbook is refused in about a second, under 20 MB


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_workbook(path: Path, rows: list[list], filler=()) -> Path:
    """A minimal workbook as Excel writes one: each text cell refers to ``xl/sharedStrings.xml``,
    whose table is the rows' distinct texts followed by the byte chunks of ``filler`` (streamed
    into the zip, so a table of hundreds of MB is never held in memory)."""
    strings: dict[str, int] = {}
    cells = []
    for r, row in enumerate(rows, start=1):
        out = []
        for c, value in enumerate(row):
            ref = f"{chr(65 + c) if c < 26 else 'A' + chr(65 + c - 26)}{r}"
            if value == "" or value is None:
                continue
            if isinstance(value, (int, float)):
                out.append(f'<c r="{ref}"><v>{value}</v></c>')
            else:
                out.append(f'<c r="{ref}" t="s"><v>{strings.setdefault(value, len(strings))}</v></c>')
        cells.append(f'<row r="{r}">{"".join(out)}</row>')
    rels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    parts = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.worksheet+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/></Types>',
        "_rels/.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rels}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{rels}"><sheets>'
            '<sheet name="Activity" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rels}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{rels}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{MAIN}"><sheetData>{"".join(cells)}</sheetData></worksheet>',
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        for name, text in parts.items():
            book.writestr(name, text)
        with book.open("xl/sharedStrings.xml", "w", force_zip64=True) as sst:
            sst.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{MAIN}" '
                      f'count="{len(strings)}" uniqueCount="{len(strings)}">'.encode())
            sst.write("".join(f"<si><t>{_escape(s)}</t></si>" for s in strings).encode())
            for chunk in filler:
                sst.write(chunk)
            sst.write(b"</sst>")
    return path


def size_bomb(mb: int = 900):
    """About ``mb`` MB of shared strings deflating about 85 times (under the 100-times ratio that
    marks a zip bomb): 1 KB strings, each a random start and a run of one letter."""
    rnd = random.Random(2024)
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    block = "".join(f"<si><t>{''.join(rnd.choices(letters, k=4))}{'x' * 1000}</t></si>"
                    for _ in range(2**20 // 1017)).encode()
    return (block for _ in range(mb * 2**20 // len(block)))


def count_bomb(strings: int = 3_900_000):
    """Millions of empty strings: 19.5 MB of ``<si/>``, under every size limit (and under the
    20 MB below which the expansion ratio is not checked), but millions of entries for openpyxl."""
    return (b"<si/>" * 100_000 for _ in range(strings // 100_000))


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bomb")
    rows = [HEADER, ROW]
    return {"ok": write_workbook(folder / "ok.xlsx", rows),
            "size": write_workbook(folder / "tracker.xlsx", rows, size_bomb()),
            "count": write_workbook(folder / "strings.xlsx", rows, count_bomb()),
            "db": dbmod.ensure_database(folder / "bomb.duckdb")}


PROBE = """
import json, resource, sys, time
from pathlib import Path
from stls.store.ingest import import_file
ok, path, db = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
warm = import_file(ok, "activity", db, dry_run=True)       # imports openpyxl, opens DuckDB
data = path.read_bytes()
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
before, started = peak(), time.perf_counter()
report = import_file(path, "activity", db, dry_run=True, data=data)   # as the Data page checks an upload
print(json.dumps({"warm": warm.status, "status": report.status, "message": report.message,
                  "seconds": time.perf_counter() - started, "grown_mb": peak() - before}))
"""


def refuse_in_child(books, which: str) -> dict:
    try:
        child = subprocess.run([sys.executable, "-c", PROBE, str(books["ok"]), str(books[which]), str(books["db"])],
                               cwd=ROOT, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the {which} bomb was not refused within 60 s")
    assert child.returncode == 0, child.stderr[-2000:]
    return json.loads(child.stdout.strip().splitlines()[-1])


def test_size_bomb_is_the_penetration_test_case(books):
    info = zipfile.ZipFile(books["size"]).getinfo("xl/sharedStrings.xml")
    assert info.file_size > 850 * 2**20 and 60 < info.file_size / info.compress_size < read.XLSX_MAX_EXPANSION
    assert books["size"].stat().st_size < 15 * 2**20


def test_shared_strings_size_bomb_refused_quickly(books):
    result = refuse_in_child(books, "size")
    assert result["warm"] == "checked"
    assert result["status"] == "refused"
    assert "xl/sharedStrings.xml" in result["message"] and "CSV" in result["message"], result["message"]
    assert result["seconds"] < SECONDS, result
    assert result["grown_mb"] < GROWTH_MB, result


def test_shared_strings_size_bomb_message(books):
    """Refused from the zip directory (nothing inflated), naming the file, the part, how big it
    would inflate and what to do."""
    data = books["size"].read_bytes()
    started = time.perf_counter()
    with pytest.raises(read.FileProblem) as refused:
        read._check_zip(data, "tracker.xlsx")
    assert time.perf_counter() - started < 0.5
    message = str(refused.value)
    assert message.startswith("tracker.xlsx: ")
    assert "xl/sharedStrings.xml" in message and "MB" in message
    size_mb = f"{zipfile.ZipFile(books['size']).getinfo('xl/sharedStrings.xml').file_size / 2**20:,.0f} MB"
    assert size_mb in message, message
    assert "CSV" in message and "month" in message


def test_millions_of_tiny_shared_strings_refused_quickly(books):
    result = refuse_in_child(books, "count")
    assert result["status"] == "refused"
    assert "xl/sharedStrings.xml" in result["message"] and "CSV" in result["message"], result["message"]
    assert result["seconds"] < SECONDS, result
    assert result["grown_mb"] < GROWTH_MB, result


def test_millions_of_tiny_shared_strings_message(books):
    with pytest.raises(read.FileProblem) as refused:
        read._check_zip(books["count"].read_bytes(), "strings.xlsx")
    message = str(refused.value)
    assert message.startswith("strings.xlsx: ") and "xl/sharedStrings.xml" in message and "CSV" in message


def test_shared_strings_workbook_reads(books):
    report = import_file(books["ok"], "activity", books["db"], dry_run=True)
    assert report.status == "checked", report.message
    assert report.rows == 1


def test_many_distinct_shared_strings_read(tmp_path, books):
    """A real export with two free-text columns unique on every row (notes, a case reference):
    60,000 distinct strings, more than a tiny sheet may list, but in proportion to its sheet."""
    rows = [HEADER + ["notes", "reference"]]
    rows += [ROW[:-1] + [1, f"visit note {i}: follow up with the SENCo", f"CASE-{i:06d}"] for i in range(30_000)]
    path = write_workbook(tmp_path / "export.xlsx", rows)
    report = import_file(path, "activity", books["db"], dry_run=True)
    assert report.status == "checked", report.message
    assert report.rows == 30_000


def rezip(source: Path, target: Path, change) -> Path:
    """``source`` written again with ``change(name, body) -> (name, body)`` applied to each part."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(*change(info.filename, src.read(info.filename)))
    return target


def quick_refusal(path: Path) -> str:
    started = time.perf_counter()
    with pytest.raises(read.FileProblem) as refused:
        read._check_zip(path.read_bytes(), path.name)
    assert time.perf_counter() - started < SECONDS
    return str(refused.value)


def test_shared_strings_under_another_name_are_held_to_the_same_limits(books, tmp_path):
    """openpyxl finds the shared strings by [Content_Types].xml, so a bomb may be named as a sheet."""
    moved = "xl/worksheets/sheet2.xml"

    def change(name, body):
        if name == "xl/sharedStrings.xml":
            return moved, body
        return name, body.replace(b"/xl/sharedStrings.xml", b"/" + moved.encode()).replace(
            b'Target="sharedStrings.xml"', b'Target="worksheets/sheet2.xml"')
    path = rezip(books["count"], tmp_path / "renamed.xlsx", change)
    message = quick_refusal(path)
    assert f"shared strings ('{moved}'" in message, message


def test_a_dtd_is_refused(books, tmp_path):
    """Entities declared in a DTD expand inside openpyxl's parser: 68 KB of them cost it 7 s and
    270 MB before Python's XML parser stops them. Excel never writes a DTD."""
    entity = b'<!DOCTYPE sst [<!ENTITY a "' + b"<si/>" * 2000 + b'">]>'

    def change(name, body):
        if name == "xl/sharedStrings.xml":
            body = body.replace(b"?>\n<sst", b"?>\n" + entity + b"<sst").replace(b"</sst>", b"&a;" * 20000 + b"</sst>")
        return name, body
    message = quick_refusal(rezip(books["ok"], tmp_path / "dtd.xlsx", change))
    assert "'xl/sharedStrings.xml' declares a DTD" in message, message


def test_a_styles_part_of_millions_of_tags_is_refused(books, tmp_path):
    """openpyxl parses the styles whole: 1 MB of empty cell formats costs it 2.5 s and 100 MB."""
    path = rezip(books["ok"], tmp_path / "styles.xlsx", lambda name, body: (name, body))
    with zipfile.ZipFile(path, "a") as book:
        book.writestr("xl/styles.xml", f'<styleSheet xmlns="{MAIN}"><cellXfs count="300000">'
                      + "<xf/>" * 300_000 + "</cellXfs></styleSheet>")
    message = quick_refusal(path)
    assert "XML tags" in message and "xl/styles.xml" in message, message
