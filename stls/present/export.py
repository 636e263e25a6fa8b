"""CSV exports exactly as shown: after disclosure, with the symbol key, safe to open in Excel."""
from __future__ import annotations

import csv
import io
import re

import pandas as pd

from stls.store import disclosure

_NUMBER = re.compile(r"^[+-]?[\d,]*\.?\d+%?$")


def neutralise(cell) -> str:
    """A cell that a spreadsheet would run as a formula (= + - @, tab, CR) gets a leading quote.

    Plain numbers such as '-3.5' are left alone; they cannot carry a formula.
    """
    text = "" if cell is None or (isinstance(cell, float) and pd.isna(cell)) else str(cell)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER.match(text):
        return "'" + text
    return text


def to_csv(table: pd.DataFrame, title: str, caption: str = "", symbols: set[str] | None = None, release: str = "") -> bytes:
    """UTF-8 (with BOM, for Excel) CSV: a title line, the table, then the key to any symbols.

    Written cell by cell with the csv module (minimal quoting, as pandas would): every page makes
    the CSV of each table it shows on every run, so this is kept to a fraction of a millisecond."""
    out = io.StringIO()
    lines = [neutralise(title)] + [neutralise(line) for line in (caption, release) if line]   # release: 'Figures as at release 14, ...'
    out.write("\n".join(f'"{line}"' for line in lines) + "\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([neutralise(c) for c in table.columns])
    columns = [[neutralise(v) for v in table[c].tolist()] for c in table.columns]
    writer.writerows(zip(*columns))
    used = symbols if symbols is not None else disclosure.symbols_in(table)
    if used:
        out.write("\nSymbol,Meaning\n")
        for symbol, meaning in disclosure.symbol_key(used):
            out.write(f'{symbol},"{meaning}"\n')
    out.write(f'\n"{disclosure.ADDITIVITY_NOTE} Method: {disclosure.METHOD_DOC}."\n')
    return out.getvalue().encode("utf-8-sig")


def html_table(table: pd.DataFrame, title: str) -> str:
    """The table as text in HTML, whole: a caption naming it, a header cell per column
    (``scope="col"``), every row. The data grid on screen is drawn on a canvas that a screen reader
    reads only as far as the rows in view and that prints as a picture; this is what both read."""
    import html as h
    cell = lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else h.escape(str(v))
    head = "".join(f'<th scope="col">{cell(c)}</th>' for c in table.columns)
    rows = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
                   for row in table.itertuples(index=False, name=None))
    return f"<table><caption>{h.escape(title)}</caption><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
