"""Check and normalise every cell in SQL (vectorised), collecting problems row by row.

For each column type there is one SQL expression that turns the text into its contract value
(NULL when it cannot) and one condition that marks a cell as a problem, with what was
expected. Suggestions for near-miss names are worked out once per distinct bad value.
"""
from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from stls import reference as ref
from stls.store.ingest.schema import KINDS, Column, canonical_names, lookups

SHOWN = 50
LOOKUP_TYPES = ("district", "geography", "service", "activity_type", "need_area", "phase", "measure",
                "sen_group", "primary_need", "bool", "lait_code", "lait_sen_group", "la_code")
NORM = "trim(regexp_replace(replace(lower(trim({v})), '&', ' and '), '[\\s_]+', ' ', 'g'))"
NUMBER = "^[0-9]+(\\.0+)?$"
NOT_PUBLISHED = ("", "x", "[x]", "z", "[z]", "c", "[c]", "..", ":", "-", "n/a", "na")


@dataclass
class Problem:
    row: int
    column: str
    value: str
    expected: str

    def text(self, file: str) -> str:
        return f"{file}, row {self.row}, column '{self.column}': '{self.value}' — {self.expected}"


def _register_lookups(con: duckdb.DuckDBPyConnection) -> None:
    for col_type, table in lookups().items():
        frame = pd.DataFrame(sorted(table.items()), columns=["alias", "code"])
        con.register(f"_lk_{col_type}", frame)
        con.execute(f"CREATE OR REPLACE TEMP TABLE lk_{col_type} AS SELECT * FROM _lk_{col_type}")
        con.unregister(f"_lk_{col_type}")


def _year_expr(v: str, sep: str) -> str:
    """'2023/24' (or 2023-24, 2023/2024) → 2023, else NULL (the years must follow each other)."""
    m = f"regexp_extract(trim({v}), '^([0-9]{{4}})\\s*[/-]\\s*([0-9]{{2}}|[0-9]{{4}})$', ['a', 'b'])"
    return (f"(CASE WHEN {m}.a <> '' AND (try_cast({m}.b AS INTEGER) % 100) = ((try_cast({m}.a AS INTEGER) + 1) % 100) "
            f"THEN try_cast({m}.a AS INTEGER) END)")


# Numbers as people write them, one style per file (``number_style``): with a decimal point and
# commas only between thousands (21.4, 1,234.5), or, in a file that uses them, a decimal comma
# and full stops between thousands (21,4; 1.234,5). Anything else (8,5 in a decimal-point file,
# NaN, Infinity, 1e300) is refused, never guessed.
POINT_NUMBER = "^-?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)([.][0-9]+)?([eE][-+]?[0-9]{1,2})?$"   # 7.0E-2 as programs write it
COMMA_NUMBER = "^-?([0-9]{1,3}([.][0-9]{3})+|[0-9]+)(,[0-9]+)?$"
# evidence of a style: a separator followed by one or two digits can only be a decimal one
COMMA_EVIDENCE = "^-?[0-9.]*[0-9],[0-9]{1,2}$"
POINT_EVIDENCE = "^-?[0-9,]*[0-9][.][0-9]{1,2}$"
MAX_MONEY = 1e9   # a service's yearly budget over £1bn is a typing error
MAX_WHOLE = 10_000_000   # pupils or a cohort on one row (and well inside the database's 32-bit columns)
MAX_COUNT = 100_000      # alike activities on one row
FIRST_DATE = ref.REGIMES[0].start                 # activity: September 2016, the first service regime
FIRST_YEAR = 2010                                 # results, census and budgets: 2010/11 onwards


def _academic_year(day: dt.date) -> int:
    return ref.academic_year_start(day)


def _financial_year(day: dt.date) -> int:
    return day.year if day.month >= 4 else day.year - 1


def _decimal(text: str, decimal_comma: bool) -> str:
    """SQL: ``text`` as a DOUBLE under the file's number style, NULL if it is not written that way."""
    if decimal_comma:
        return (f"CASE WHEN regexp_full_match({text}, '{COMMA_NUMBER}') "
                f"THEN try_cast(replace(replace({text}, '.', ''), ',', '.') AS DOUBLE) END")
    return f"CASE WHEN regexp_full_match({text}, '{POINT_NUMBER}') THEN try_cast(replace({text}, ',', '') AS DOUBLE) END"


def number_style(con: duckdb.DuckDBPyConnection, kind: str, name: str = "file") -> tuple[bool, str]:
    """(decimal comma?, a note) from the file's number and money cells: a decimal comma when some
    cell can only be read that way (8,5; 1.234,56); refused when others can only be read with a
    decimal point (the file mixes the two)."""
    cols = [c.name for c in KINDS[kind].columns if c.type in ("number", "money")]
    delimiter = con.execute("SELECT delimiter FROM file_info").fetchall()[0][0]   # made by read.read
    if not cols or delimiter in (",", None):   # a decimal comma needs a file not split by commas
        return False, ""
    def first(pattern: str) -> tuple[Any, ...] | None:   # (line, column, text) of the first cell matching
        union = " UNION ALL ".join(f"SELECT line, '{c}' AS col, trim(regexp_replace(trim(\"{c}\"), '^£\\s*', '')) AS v "
                                   f"FROM raw" for c in cols)
        hit = con.execute(f"SELECT line, col, v FROM ({union}) WHERE regexp_full_match(v, '{pattern}') "
                          "ORDER BY line LIMIT 1").fetchall()
        return hit[0] if hit else None
    comma, point = first(COMMA_EVIDENCE), first(POINT_EVIDENCE)
    if comma and point:
        from stls.store.ingest.read import FileProblem
        raise FileProblem(f"{name}: numbers are written two ways: '{comma[2]}' (row {comma[0]}, column '{comma[1]}') has a "
                          f"decimal comma but '{point[2]}' (row {point[0]}, column '{point[1]}') a decimal point; "
                          "use one style throughout")
    if comma:
        return True, (f"Numbers read with a decimal comma and full stops between thousands, as the file writes them "
                      f"('{comma[2]}' on row {comma[0]} read as {comma[2].replace('.', '').replace(',', '.')})")
    return False, ""


def expressions(col: Column, decimal_comma: bool = False) -> tuple[str, str]:
    """(normalised value SQL, expected-text) for a column; the source cell is ``r."name"``."""
    v = _cell(col.name)
    t = col.type
    if t in LOOKUP_TYPES:
        return f"lk_{col.name}.code", ""
    if t == "date":  # cheap pattern tests first; a full parse only for the shape that matched
        d = f"trim({v})"
        return (f"CASE WHEN regexp_full_match({d}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') THEN try_cast({d} AS DATE) "
                f"WHEN regexp_full_match({d}, '[0-9]{{1,2}}/[0-9]{{1,2}}/[0-9]{{4}}') THEN try_strptime({d}, '%d/%m/%Y')::DATE "
                f"WHEN regexp_full_match({d}, '[0-9]{{4}}-[0-9]{{2}}') THEN try_cast({d} || '-01' AS DATE) "
                f"ELSE try_strptime({d}, '%Y-%m-%d %H:%M:%S')::DATE END",
                "a date such as 2023-09-14, 14/09/2023 or 2023-09")
    if t == "urn":
        return f"upper(trim({v}))", "a URN: 6 digits, or EY followed by 6 digits"
    if t in ("count", "whole"):
        default = "1" if t == "count" else "NULL"
        return (f"CASE WHEN coalesce(trim({v}), '') = '' THEN {default} WHEN regexp_full_match(trim({v}), '{NUMBER}') "
                f"THEN try_cast(try_cast(trim({v}) AS DOUBLE) AS BIGINT) END",
                "a whole number of 1 or more" if t == "count" else "a whole number (0 or more)")
    if t == "number":
        blanks = ", ".join(f"'{b}'" for b in NOT_PUBLISHED)
        return (f"CASE WHEN lower(coalesce(trim({v}), '')) IN ({blanks}) THEN NULL ELSE {_decimal(f'trim({v})', decimal_comma)} END",
                "a number such as " + ("21,4" if decimal_comma else "21.4") + ", or blank/x if not published")
    if t == "money":
        return (_decimal(f"trim(regexp_replace(trim({v}), '^£\\s*', ''))", decimal_comma),
                "an amount in pounds, such as " + ("512000 or £512.000,00" if decimal_comma else "512000 or £512,000.00"))
    if t == "academic_year":
        return _year_expr(v, "/"), "an academic year such as 2023/24"
    if t == "financial_year":
        return _year_expr(v, "-"), "a financial year such as 2023-24"
    if t == "lait_year":   # LAIT labels an academic year by its end: 2019 = 2018/19
        return (f"CASE WHEN regexp_full_match(trim({v}), '[0-9]{{4}}( \\(prov\\))?') "
                f"THEN try_cast(left(trim({v}), 4) AS INTEGER) - 1 END",
                "a LAIT year such as 2019 (for 2018/19) or 2025 (prov)")
    return f"trim({v})", "text"


def _problem_sql(col: Column, today: dt.date, decimal_comma: bool = False) -> str:
    """SELECT line, column, value, expected for the column's bad cells, from table ``checked``."""
    v, norm = f'c."{col.name}"', f'c."n_{col.name}"'
    blank = f"coalesce(trim({v}), '') = ''"
    cases: list[tuple[str, str]] = []
    if not col.blank_ok:
        cases.append((blank, "a value is required here"))
    cases += _type_cases(col, v, norm, blank, expressions(col, decimal_comma)[1], today)
    return " UNION ALL ".join(
        f"SELECT c.line, '{col.name}' AS col, coalesce({v}, '') AS value, '{exp.replace(chr(39), chr(39) * 2)}' AS expected "
        f"FROM checked c WHERE {cond}" for cond, exp in cases)


def _type_cases(col: Column, v: str, norm: str, blank: str, expected: str, today: dt.date) -> list[tuple[str, str]]:
    """(condition, expected) for the cells of ``col`` that its type refuses: ``v`` is the cell as
    written, ``norm`` its normalised value, ``blank`` the condition of an empty cell."""
    if col.type == "bool":
        return [(f"NOT {blank} AND {norm} IS NULL", "yes or no (or true/false, y/n, 1/0)")]
    if col.type in LOOKUP_TYPES:
        return [(f"NOT {blank} AND {norm} IS NULL", f"one of: {', '.join(canonical_names(col.type)[:14])}")]
    if col.type == "date":
        return _date_cases(norm, blank, expected, today)
    if col.type == "urn":
        return [(f"NOT {blank} AND NOT regexp_full_match({norm}, '([0-9]{{6}}|EY[0-9]{{6}})')", expected)]
    if col.type == "count":
        return [(f"NOT {blank} AND ({norm} IS NULL OR {norm} < 1)", expected),
                (f"{norm} > {MAX_COUNT}", f"a count up to {MAX_COUNT:,} alike activities on one row")]
    if col.type == "number":
        blanks = ", ".join(f"'{b}'" for b in NOT_PUBLISHED)
        cases = [(f"lower(coalesce(trim({v}), '')) NOT IN ({blanks}) AND {norm} IS NULL", expected)]
        if not col.signed:   # Progress 8 is negative below the national average
            cases.append((f"{norm} < 0", "a value that is not negative"))
        return cases
    if col.type in ("whole", "money", "academic_year", "financial_year", "lait_year"):
        return [(f"NOT {blank} AND {norm} IS NULL", expected)] + _range_cases(col.type, norm, today)
    if col.type == "text":
        return [(f"regexp_matches({v}, '^\\s*([=+@]|-[^0-9])')",
                 "plain text: a cell starting with = + - or @ (even after spaces or a tab) would run as a spreadsheet formula"),
                (f"regexp_matches({v}, '[\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F]')",
                 "plain text without control characters")]
    return []


def _date_cases(norm: str, blank: str, expected: str, today: dt.date) -> list[tuple[str, str]]:
    """A date that is not one, is in the future, or is before the service's first regime."""
    return [(f"NOT {blank} AND {norm} IS NULL", f"{expected} (a real date)"),
            (f"{norm} > DATE '{today.isoformat()}'", "a date that is not in the future"),
            (f"{norm} < DATE '{FIRST_DATE.isoformat()}'",
             f"a date from {FIRST_DATE:%B %Y} onwards (when the service's first regime began; an older date is "
             "usually a typing error, such as 2005 for 2025)")]


def _range_cases(col_type: str, norm: str, today: dt.date) -> list[tuple[str, str]]:
    """A year outside the years the data can cover; a whole number, or an amount, too large or negative."""
    cases: list[tuple[str, str]] = []
    if col_type in ("academic_year", "financial_year", "lait_year"):
        last = _financial_year(today) + 1 if col_type == "financial_year" else _academic_year(today)
        label = ref.financial_year_label if col_type == "financial_year" else ref.academic_year_label
        cases.append((f"{norm} NOT BETWEEN {FIRST_YEAR} AND {last}",
                      f"a year from {label(FIRST_YEAR)} to {label(last)} (the years this service's data can cover)"))
    if col_type == "whole":
        cases.append((f"{norm} > {MAX_WHOLE}", f"a whole number up to {MAX_WHOLE:,} (England's whole cohort is under a million)"))
    if col_type in ("whole", "money"):
        cases.append((f"{norm} < 0", "a value that is not negative"))
    if col_type == "money":
        cases.append((f"{norm} > {MAX_MONEY}", f"an amount up to £{MAX_MONEY:,.0f} (a service's yearly budget)"))
    return cases


def _cell(name: str) -> str:
    return f'r."{name}"'


def _joins(columns: Iterable[Column]) -> str:
    """LEFT JOINs of each lookup column's map (raw text → code, see ``_column_maps``)."""
    return " ".join(f'LEFT JOIN map_{c.name} AS lk_{c.name} ON lk_{c.name}.raw IS NOT DISTINCT FROM {_cell(c.name)}'
                    for c in columns if c.type in LOOKUP_TYPES)


def _column_maps(con: duckdb.DuckDBPyConnection, columns: Iterable[Column]) -> None:
    """For each lookup column, its distinct texts mapped to codes: case, spaces and '&' are
    normalised once per distinct value, not once per row."""
    for c in columns:
        if c.type in LOOKUP_TYPES:
            con.execute(f"""CREATE OR REPLACE TEMP TABLE map_{c.name} AS
                SELECT d.raw, lk.code FROM (SELECT DISTINCT "{c.name}" AS raw FROM raw) d
                LEFT JOIN lk_{c.type} lk ON lk.alias = {NORM.format(v='d.raw')}""")


DUPLICATE_KEYS = {
    "published": ("lait_measure_code", "sen_group", "lait_year_label", "old_la_code"),
    "settings": ("urn",), "budget": ("financial_year", "service"),
    "sen_pupils": ("academic_year", "geography", "sen_group", "primary_need", "phase"),
    "attainment": ("academic_year", "geography", "measure", "sen_group"),
    "setting_outcomes": ("academic_year", "urn", "measure", "sen_group"),
}
OUT = {  # contract column ← file column, for loading
    "activity": {"activity_date": "date", "district_code": "district", "service_code": "service",
                 "activity_type": "activity_type", "need_area": "need_area", "phase": "phase",
                 "setting_urn": "setting_urn", "count": "count"},
    "attainment": {"academic_year": "academic_year", "geography_code": "geography", "measure": "measure",
                   "sen_group": "sen_group", "cohort": "cohort", "value": "value"},
    "sen_pupils": {"academic_year": "academic_year", "geography_code": "geography", "sen_group": "sen_group",
                   "primary_need": "primary_need", "phase": "phase", "pupils": "pupils"},
    "settings": {"urn": "urn", "name": "name", "district_code": "district", "phase": "phase", "open": "open",
                 "pupils": "pupils", "sen_support_pct": "sen_support_pct", "ehc_plan_pct": "ehc_plan_pct",
                 "idaci_decile": "idaci_decile"},
    "setting_outcomes": {"academic_year": "academic_year", "urn": "urn", "measure": "measure",
                         "sen_group": "sen_group", "cohort": "cohort", "value": "value"},
    "budget": {"financial_year": "financial_year", "service_code": "service", "allocation_gbp": "allocation_gbp"},
    "published": {c: c for c in ("lait_code", "indicator", "measure", "sen_group", "academic_year", "provisional",
                                 "calendar_year", "geography_code", "old_la_code", "value")},
}


def _value(kind: str, name: str) -> str:
    """The normalised value of a file column in table ``checked``, with the kind's defaults."""
    col = next(c for c in KINDS[kind].columns if c.name == name)
    expr = f'c."n_{name}"'
    if kind == "activity" and name == "service":
        return f'coalesce({expr}, c."n_district")'          # blank = the district's own team
    if name == "setting_urn":
        return f"nullif({expr}, '')"
    if col.type == "bool":
        return f"({expr} = 'true')"
    return expr


def _rule(cond: str, col: str, exp: str) -> str:
    """SELECT of (line, col, value, expected) for the rows of ``checked`` where ``cond`` holds; ``exp`` is SQL text."""
    return f"SELECT c.line, '{col}', coalesce(c.\"{col}\", ''), '{exp}' FROM checked c WHERE {cond}"


def _cross_checks(kind: str) -> list[str]:
    """Rules that look at more than one cell, as SELECTs of (line, col, value, expected)."""
    checks = []
    if kind == "activity":
        checks.append(_rule(f"c.n_activity_type IN ('drop_in', 'intensive_support') AND {_value(kind, 'date')} < DATE '2022-09-01'",
                            "activity_type", "drop-in clinics and Intensive Specialist Support began in September 2022"))
        checks.append(_rule(f"{_value(kind, 'date')} < (SELECT floor FROM held)", "date",
                            "a date no more than 12 months before the earliest activity already held (' || "
                            "(SELECT strftime(earliest, '%B %Y') FROM held) || '): older history changes every default "
                            "view, so load it on purpose with python -m stls import --earlier"))
        checks.append(_rule(f"regexp_full_match({_value(kind, 'setting_urn')}, '([0-9]{{6}}|EY[0-9]{{6}})') AND "
                            f"{_value(kind, 'setting_urn')} NOT IN (SELECT urn FROM known_urns)", "setting_urn",
                            "a URN in the settings list (load the settings file first if this setting is new)"))
    if kind == "attainment":
        checks.append(_rule(f"{_value(kind, 'value')} > CASE WHEN c.n_measure = 'ks4_attainment8' THEN 90 ELSE 100 END",
                            "value", "a percentage from 0 to 100 (Attainment 8: 0 to 90)"))
        # Kent's and England's figures are the published ones wherever those are held
        # (queries.attainment): a row that disagrees beyond the published rounding would be ignored
        checks.append(f"""SELECT c.line, 'value', coalesce(c."value", ''),
            'the published DfE figure, ' || p.shown || ', within its rounding (the dashboard shows the published '
            || 'figure for Kent and England): correct the row, remove it, or refresh the published figures first '
            || 'with python -m stls import published'
            FROM checked c JOIN county_published p ON p.geography_code = c.n_geography AND p.measure = c.n_measure
              AND p.sen_group = c.n_sen_group AND p.academic_year = c.n_academic_year
            WHERE abs({_value(kind, 'value')} - p.value) > p.rounding""")
    if kind == "settings":
        for name in ("sen_support_pct", "ehc_plan_pct"):
            checks.append(_rule(f"{_value(kind, name)} > 100", name, "a percentage from 0 to 100"))
        checks.append(_rule(f"{_value(kind, 'sen_support_pct')} + {_value(kind, 'ehc_plan_pct')} > 100", "ehc_plan_pct",
                            "percentages on SEN support and with an EHC plan that add up to 100 or less"))
        checks.append(_rule(f"{_value(kind, 'idaci_decile')} NOT BETWEEN 1 AND 10", "idaci_decile",
                            "an IDACI decile from 1 (most deprived) to 10 (least deprived)"))
    if kind == "setting_outcomes":
        checks.append(_rule(f"{_value(kind, 'value')} > CASE WHEN c.n_measure = 'ks4_attainment8' THEN 90 ELSE 100 END",
                            "value", "a percentage from 0 to 100 (Attainment 8: 0 to 90)"))
        checks.append(_rule("c.n_sen_group NOT IN ('ehc_plan', 'sen_support', 'no_sen')", "sen_group",
                            "ehc_plan, sen_support or no_sen (totals are worked out by the dashboard)"))
        checks.append(_rule(f"{_value(kind, 'cohort')} = 0 AND {_value(kind, 'value')} IS NOT NULL", "value",
                            "a blank value: the cohort is 0, so there is no result"))
        checks.append(_rule(f"{_value(kind, 'urn')} NOT IN (SELECT urn FROM known_urns)", "urn",
                            "a URN in the settings list (load the settings file first if this setting is new)"))
    if kind == "sen_pupils":
        checks.append(_rule("c.n_sen_group IN ('all_sen', 'all_pupils')", "sen_group",
                            "ehc_plan, sen_support or no_sen (totals are worked out by the dashboard)"))
        checks.append(_rule("c.n_sen_group IN ('ehc_plan', 'sen_support') AND coalesce(trim(c.primary_need), '') = ''",
                            "primary_need", "a primary need for pupils with an EHC plan or on SEN support"))
    if kind in DUPLICATE_KEYS:
        key = ", ".join(f"{_value(kind, c)}" for c in DUPLICATE_KEYS[kind])
        checks.append(f"SELECT line, '{DUPLICATE_KEYS[kind][0]}', v, 'a row not already given on row ' || first "
                      f"FROM (SELECT c.line, coalesce(c.\"{DUPLICATE_KEYS[kind][0]}\", '') AS v, "
                      f"min(c.line) OVER (PARTITION BY {key}) AS first FROM checked c) WHERE line <> first")
    return checks


EARLIER_MONTHS = 12   # activity more than this before the earliest held needs --earlier


def prepare(con: duckdb.DuckDBPyConnection, kind: str, known_urns: list[str], name: str = "file",
            earliest_held: dt.date | None = None, county: pd.DataFrame | None = None) -> str:
    """Lookup tables, the settings list, the published Kent and England figures
    (``queries.county_published``), and NULL columns for optional columns the file lacks; the
    file's number style (``number_style``). Returns a note to show, or ''."""
    _register_lookups(con)
    con.register("_urns", pd.DataFrame({"urn": known_urns}, dtype=object))
    con.execute("CREATE OR REPLACE TEMP TABLE known_urns AS SELECT urn::VARCHAR AS urn FROM _urns")
    if county is None:
        county = pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
            ("geography_code", object), ("measure", object), ("sen_group", object), ("academic_year", "int64"),
            ("value", float), ("rounding", float), ("shown", object))})
    con.register("_county", county)
    con.execute("CREATE OR REPLACE TEMP TABLE county_published AS SELECT * FROM _county")
    floor = None
    if earliest_held is not None:   # the first month a load may reach back to without --earlier
        m = earliest_held.year * 12 + earliest_held.month - 1 - EARLIER_MONTHS
        floor = dt.date(m // 12, m % 12 + 1, 1)
    con.execute("CREATE OR REPLACE TEMP TABLE held AS SELECT ?::DATE AS floor, ?::DATE AS earliest", [floor, earliest_held])
    have = set(con.sql("SELECT * FROM raw LIMIT 0").columns)
    for col in KINDS[kind].columns:
        if col.name not in have:
            con.execute(f'ALTER TABLE raw ADD COLUMN "{col.name}" VARCHAR')
    cols = KINDS[kind].columns
    _column_maps(con, cols)
    comma, note = number_style(con, kind, name)
    con.execute(f"CREATE OR REPLACE TEMP TABLE number_style AS SELECT {comma} AS decimal_comma")
    norm = ", ".join(f'{_cell(c.name)} AS "{c.name}", {expressions(c, comma)[0]} AS "n_{c.name}"' for c in cols)
    con.execute(f"CREATE OR REPLACE TABLE checked AS SELECT r.line, {norm} FROM raw r {_joins(cols)}")
    return note


def problems(con: duckdb.DuckDBPyConnection, kind: str, today: dt.date | None = None) -> tuple[list[Problem], int]:
    """The first problems (by row) and how many there are in all."""
    today = today or dt.date.today()
    comma = bool(con.execute("SELECT decimal_comma FROM number_style").fetchall()[0][0])
    parts = [sql for col in KINDS[kind].columns for sql in [_problem_sql(col, today, comma)] if sql] + _cross_checks(kind)
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'raw_totals'").fetchall()[0][0]:
        parts.append("SELECT line, col, value, expected FROM raw_totals")   # set aside by read (a totals row)
    con.execute("CREATE OR REPLACE TEMP TABLE problems AS " + " UNION ALL ".join(parts))
    total = con.execute("SELECT count(*) FROM problems").fetchall()[0][0]
    whens = " ".join(f"WHEN '{c.name}' THEN {i}" for i, c in enumerate(KINDS[kind].columns))
    rows = con.execute(f"SELECT * FROM problems ORDER BY line, CASE col {whens} END LIMIT {SHOWN}").fetchall()
    col_types = {c.name: c.type for c in KINDS[kind].columns}
    return [Problem(r[0], r[1], r[2], _suggest(r[2], col_types.get(r[1]), r[3])) for r in rows], total


def _suggest(value: str, col_type: str | None, expected: str) -> str:
    if not expected.startswith("one of:"):   # a rule about a valid value, not a misspelling
        return f"expected {expected}"
    if col_type in ("district", "geography", "service") and ref.normalise_name(value) == "medway":
        return "Medway is a unitary authority, not part of Kent County Council's area; remove these rows"
    names = canonical_names(col_type) if col_type else []
    near = difflib.get_close_matches(value.strip(), names, n=1, cutoff=0.75) or \
        difflib.get_close_matches(value.strip().title(), names, n=1, cutoff=0.75)
    return f"did you mean '{near[0]}'? (expected {expected})" if near and value.strip() else f"expected {expected}"


def clean_sql(kind: str) -> str:
    """SELECT of the contract columns, normalised, from the validated ``raw`` table."""
    if kind == "published":
        return _published_sql()
    cols = ", ".join(f"{_value(kind, src)} AS {dst}" for dst, src in OUT[kind].items())
    return f"SELECT c.line, {cols} FROM checked c"


def _published_sql() -> str:
    """LAIT rows as the ``published`` table's columns (``published.frame_from_lait`` in SQL); a
    suppressed value (blank, x, c) is not a row."""
    from stls.store import published
    measures = " ".join(f"WHEN '{code}' THEN '{m}'" for code, m in published.MEASURE_OF.items())
    calendar = ", ".join(f"'{c}'" for c in sorted(published.CALENDAR_YEAR))
    labels = " ".join(f"WHEN '{code}' THEN '{label}'" for code, label in published.INDICATORS.items())
    return f"""SELECT c.line, c.n_lait_measure_code AS lait_code,
                      coalesce(nullif(trim(c.indicator), ''), CASE c.n_lait_measure_code {labels} END) AS indicator,
                      CASE c.n_lait_measure_code {measures} END AS measure, c.n_sen_group AS sen_group,
                      c.n_lait_year_label AS academic_year, contains(lower(c.lait_year_label), 'prov') AS provisional,
                      c.n_lait_measure_code IN ({calendar}) AS calendar_year, c.n_old_la_code AS geography_code,
                      try_cast(split_part(trim(c.old_la_code), '.', 1) AS INTEGER) AS old_la_code, c.n_value AS value
               FROM checked c WHERE c.n_value IS NOT NULL"""
