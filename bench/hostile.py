"""Benchmark: hostile workbooks are refused (or read) cheaply, on the command line and on the page.

    .venv/bin/python bench/hostile.py

Target (issue 13): each refused in under 5 s with under 300 MB of extra memory, through the
command line (a child process: its peak resident memory less a bare start-up's) and through the
Data page's path (``import_file`` in this process, as the upload runs inside the server: the
growth of this process's peak resident memory).

Files: a 2 MB-class zip bomb (a sheet inflating to 300 MB), a 1.5 KB sheet declaring
A1:XFD1048576, an encrypted entry, a formula with no saved result (all from the test corpus),
and a sheet that really holds 16,384 columns in one row.
"""
from __future__ import annotations

import io
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "data"))

from make_corpus import ACT, xlsx_bytes  # noqa: E402

from stls.store import db as dbmod  # noqa: E402
from stls.store.ingest import import_file  # noqa: E402

BUDGET_S, BUDGET_MB = 5.0, 300.0
BAD = ROOT / "tests" / "data" / "bad"


def declared_everything() -> bytes:
    book = xlsx_bytes({"Activity": [ACT.strip().split(","), ["2024-10-14", "Swale", None, "school_visit", None, None, None, 1]]})
    src, out = zipfile.ZipFile(io.BytesIO(book)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if "worksheets/" in info.filename:
                import re
                body = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', body)
            dst.writestr(info.filename, body)
    return out.getvalue()


def wide_row() -> bytes:
    return xlsx_bytes({"Activity": [ACT.strip().split(","), ["x"] * 16384]})


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    files = {"zip bomb (inflates to 300 MB)": (BAD / "xlsx_zip_bomb.xlsx").read_bytes(),
             "sheet declaring A1:XFD1048576": declared_everything(),
             "encrypted entry": (BAD / "xlsx_encrypted_entry.xlsx").read_bytes(),
             "formula with no saved result": (BAD / "xlsx_formula_no_result.xlsx").read_bytes(),
             "one row of 16,384 cells": wide_row()}
    met = 0
    with tempfile.TemporaryDirectory() as tmp:
        db = dbmod.ensure_database(Path(tmp) / "hostile.duckdb")
        bare = subprocess.run([sys.executable, "-c", "import resource, stls.store.ingest; "
                               "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"],
                              cwd=ROOT, capture_output=True, text=True)
        base_mb = int(bare.stdout.strip()) / 1024
        for label, data in files.items():
            path = Path(tmp) / "hostile.xlsx"
            path.write_bytes(data)
            started = time.perf_counter()
            child = subprocess.run([sys.executable, "-c", "import resource, sys; from stls.cli import main; code = main(sys.argv[1:]); "
                                    "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); "
                                    "sys.exit(code)", "import", "activity", str(path), "--db", str(db), "--dry-run"],
                                   cwd=ROOT, capture_output=True, text=True)
            cli_s = time.perf_counter() - started
            peak = next((int(line.split()[1]) for line in child.stderr.splitlines() if line.startswith("PEAK")), 0)
            cli_mb = peak / 1024 - base_mb
            before = rss_mb()
            started = time.perf_counter()
            report = import_file(path, "activity", db, dry_run=True, data=data)
            page_s, page_mb = time.perf_counter() - started, rss_mb() - before
            ok = cli_s < BUDGET_S and page_s < BUDGET_S and cli_mb < BUDGET_MB and page_mb < BUDGET_MB
            met += ok
            first = (child.stdout or child.stderr).splitlines()[0][:110]
            print(f"  {label:34s} CLI {cli_s:5.2f} s {cli_mb:6.0f} MB · page {page_s:5.2f} s {page_mb:6.0f} MB  "
                  f"{'met' if ok else 'MISSED'}\n      {report.status}: {first}")
    print(f"hostile workbooks: {met} of {len(files)} within {BUDGET_S:.0f} s and {BUDGET_MB:.0f} MB extra, CLI and page")
    return 0 if met == len(files) else 1


if __name__ == "__main__":
    sys.exit(main())
