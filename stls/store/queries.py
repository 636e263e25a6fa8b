"""Every SQL statement the dashboard runs, with bound parameters.

KPI queries return *components* (additive counts such as referrals and pupils) per geography
and period, never ratios: ``stls.kpi.metrics`` sums components to the geography shown and only then
divides, so a ratio is always recomputed at the grain shown.

Counts about children come with their cell keys (``<count>_key``: the sum of their records' keys,
stls/store/disclosure.py), summed in the same GROUP BY; a frame with key columns is made of cells still
to be protected and never leaves the data layer as it is: ``stls.kpi.metrics`` sums cells to the
geography and period shown and protects them there, and the functions here that answer a view
directly (``protected=True`` or their docstring says so) protect before they return.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from stls import reference as ref
from stls.filters import Filters
from stls.memo import memoised
from stls.store import disclosure
from stls.store.db import Reader

# One result row by column name (``data_extent``, ``latest_held``...): each value of whatever
# type its SQL column has.
Row = dict[str, Any]

# Period start for each grain, from a ``month`` DATE column (rolling 12 months starts monthly).
PERIOD_SQL = {
    "month": "month",
    "rolling_12": "month",
    "term": """CASE WHEN month(month) >= 9 THEN make_date(year(month), 9, 1)
                    WHEN month(month) <= 3 THEN make_date(year(month), 1, 1)
                    ELSE make_date(year(month), 4, 1) END""",
    "academic_year": "make_date(academic_year, 9, 1)",
}
# The columns of activity_monthly that a result can be split by (see _split_sql).
SPLIT_COLUMNS = {"need": "need_area", "phase": "phase"}
# Month of the academic year, September = 0 ... August = 11.
ACADEMIC_MONTH_SQL = "((month(month) + 3) % 12)"


def _common(f: Filters, need: bool = True, phase: bool = True, upto: int = 11) -> tuple[str, dict[str, object]]:
    """The filters' conditions (``Filters.where``), cut to September–``upto`` for a year to date."""
    parts, params = f.where(need, phase)
    if upto < 11:  # year to date: only the months September to ``upto``
        parts.insert(1, f"{ACADEMIC_MONTH_SQL} <= $upto")
        params["upto"] = upto
    return " AND ".join(parts), params


# Key of the rows over every area of need (need_key) or every phase (phase_key) in a split result.
ALL = "all"


def _split_sql(base: list[str], split: dict[str, str]) -> tuple[str, str, str, str]:
    """SQL for a result split by area of need and/or phase instead of filtered by them.

    ``split`` maps a key ('need', 'phase') to its column. Returns the key columns for the SELECT
    (``need_key``: an area's code, or ``'all'`` on the rows over every area; the same for
    ``phase_key``), the names of those keys, the GROUPING SETS (``base`` with each subset of the
    split columns: one statement gives every combination) and the HAVING condition (a record
    with no area of need counts towards 'all' only, as a filter on an area would leave it out).
    """
    keys = "".join(f", CASE WHEN grouping({col}) = 1 THEN '{ALL}' ELSE {col}::VARCHAR END AS {name}_key"
                   for name, col in split.items())
    names = "".join(f", {name}_key" for name in split)
    subsets = [c for r in range(len(split) + 1) for c in itertools.combinations(split.values(), r)]
    sets = ", ".join("(" + ", ".join(base + list(subset)) + ")" for subset in subsets)
    having = " AND ".join(f"(grouping({col}) = 1 OR {col} IS NOT NULL)" for col in split.values()) or "true"
    return keys, names, f"GROUPING SETS ({sets})", having


def activity_counts(db: Reader, types: Iterable[str], grain: str, f: Filters, upto: int = 11, by_service: bool = False,
                    split: tuple[str, ...] = (), protected: bool = False) -> pd.DataFrame:
    """Activities of ``types`` per district and period (and academic year, for denominators);
    with ``split`` ('need', 'phase'), for every combination of those instead of the filters'.

    Grouping is done on the ENUM columns and text made only from the small result: casting
    every row to VARCHAR first costs twice the time.
    """
    where, params = _common(f, need="need" not in split, phase="phase" not in split, upto=upto)
    params["types"] = list(types)
    base = ["district_code", "period", "academic_year"] + (["service_code"] if by_service else [])
    keys, names, sets, having = _split_sql(base, {k: SPLIT_COLUMNS[k] for k in split})
    service = ", service_code" if by_service else ""
    service_out = ", service_code::VARCHAR AS service_code" if by_service else ""
    frame = db.query(f"""
        SELECT district_code::VARCHAR AS geography_code, period, academic_year{service_out}{names}, n, n_key FROM (
            SELECT district_code, {PERIOD_SQL[grain]} AS period, academic_year{service}{keys},
                   sum(activities)::BIGINT AS n, sum(ckey)::BIGINT AS n_key
            FROM activity_monthly
            WHERE list_contains($types::activity_type_t[], activity_type) AND {where}
            GROUP BY {sets} HAVING {having})""", params)
    return _protected(frame, ["n"] if ref.child_level(types) else []) if protected else frame


def _protected(frame: pd.DataFrame, cols: Iterable[str]) -> pd.DataFrame:
    """A result whose rows are the cells a view shows, protected (``disclosure.protect_columns``)."""
    return disclosure.protect_columns(frame, cols)


def _sen_pupils_sql(group: str, f: Filters, by_need_area: bool = False, prefix: str = "",
                    split: tuple[str, ...] = ()) -> tuple[str, dict[str, object]]:
    """SELECT of pupils in a SEN group per geography and academic year (need and phase filters
    applied, or with ``split`` for every combination of them); parameters are named with
    ``prefix`` so the statement can sit inside another."""
    groups = ["ehc_plan", "sen_support"] if group == "all_sen" else [group]
    params: dict[str, object] = {f"{prefix}groups": groups, f"{prefix}year_from": f.year_from, f"{prefix}year_to": f.year_to}
    where = [f"s.sen_group::VARCHAR IN (SELECT unnest(${prefix}groups))",
             f"s.academic_year BETWEEN ${prefix}year_from AND ${prefix}year_to"]
    if f.need and "need" not in split:
        where.append(f"pn.need_area = ${prefix}need")
        params[f"{prefix}need"] = f.need
    if f.phase and "phase" not in split:
        where.append(f"s.phase = ${prefix}phase")
        params[f"{prefix}phase"] = f.phase
    base = ["s.geography_code", "s.academic_year"] + (["pn.need_area"] if by_need_area else [])
    keys, names, sets, having = _split_sql(base, {k: {"need": "pn.need_area", "phase": "s.phase"}[k] for k in split})
    area = ", need_area::VARCHAR AS need_area" if by_need_area else ""
    return f"""
        SELECT geography_code::VARCHAR AS geography_code, academic_year{area}{names}, pupils, pupils_key FROM (
            SELECT s.geography_code, s.academic_year{', pn.need_area' if by_need_area else ''}{keys},
                   sum(s.pupils)::BIGINT AS pupils, sum(s.record_key)::BIGINT AS pupils_key
            FROM sen_pupils s LEFT JOIN primary_needs pn ON s.primary_need = pn.code
            WHERE {' AND '.join(where)} GROUP BY {sets} HAVING {having})""", params


def sen_pupils(db: Reader, group: str, f: Filters, by_need_area: bool = False, split: tuple[str, ...] = (),
               protected: bool = False) -> pd.DataFrame:
    """Pupils in a SEN group per district and academic year (need and phase filters applied, or
    with ``split`` for every combination of them), with their cell keys or ``protected``."""
    sql, params = _sen_pupils_sql(group, f, by_need_area, split=split)
    frame = db.query(sql, params)
    return _protected(frame, ["pupils"]) if protected else frame


def activity_block(db: Reader, type_sets: dict[str, tuple[str, ...]], per_100: tuple[str, ...], grain: str, f: Filters,
                   upto: int = 11) -> pd.DataFrame:
    """The parts of every activity KPI at once, for every area of need × phase: one statement.

    The filters' need and phase are not applied: every row has ``need_key`` and ``phase_key``
    (a code, or 'all'), so a change of either filter reads other rows of the same result. For
    KPI id ``k`` of ``type_sets`` (KPI id → its activity types): ``n_k``, its activities for
    every district in every period, zero where a district had none, and ``p_k``, whether the
    period has any record of those types at all (a period without one is a gap, not a zero). For
    each SEN group in ``per_100``: ``pupils_{group}``, its pupils from the latest census at or before
    the period's academic year (none before the first census). Rows: districts × every period with
    a record of any of the types, and Kent (the districts' sum; no pupils only if no district has
    any), per combination, sorted by need_key, phase_key, geography_code, period (Kent's code sorts
    after its districts').
    """
    where, params = _common(f, need=False, phase=False, upto=upto)
    params["all_types"] = sorted({t for types in type_sets.values() for t in types})
    sums: list[str] = []
    flags: list[str] = []
    cols: list[str] = []
    kent: list[str] = []
    for k, types in type_sets.items():   # KPI ids are lower-case identifiers (catalogue.Kpi.id)
        params[f"t_{k}"] = list(types)
        match = f"list_contains($t_{k}::activity_type_t[], activity_type)"
        sums.append(f"sum(activities) FILTER (WHERE {match})::BIGINT AS n_{k}, count(*) FILTER (WHERE {match}) AS r_{k}, "
                    f"sum(ckey) FILTER (WHERE {match})::BIGINT AS n_{k}_key")
        flags.append(f"sum(r_{k}) > 0 AS p_{k}")
        cols.append(f"g.p_{k}, coalesce(c.n_{k}, 0)::BIGINT AS n_{k}, coalesce(c.n_{k}_key, 0)::BIGINT AS n_{k}_key")
        kent.append(f"bool_or(p_{k}) AS p_{k}, sum(n_{k})::BIGINT AS n_{k}, sum(n_{k}_key)::BIGINT AS n_{k}_key")
    keys, _, sets, having = _split_sql(["district_code", "period", "academic_year"], SPLIT_COLUMNS)
    ctes: list[str] = []
    joins: list[str] = []
    for j, group in enumerate(per_100):
        sql, pupil_params = _sen_pupils_sql(group, f.with_(year_from=ref.FIRST_ACADEMIC_YEAR), prefix=f"q{j}_",
                                            split=("need", "phase"))
        params.update(pupil_params)
        ctes.append(f", pupils{j} AS ({sql})")
        joins.append(f"ASOF LEFT JOIN pupils{j} q{j} ON q{j}.geography_code = g.geography_code "
                     f"AND q{j}.need_key = g.need_key AND q{j}.phase_key = g.phase_key "
                     f"AND g.academic_year >= q{j}.academic_year")
        cols.append(f"q{j}.pupils AS pupils_{group}, q{j}.pupils_key AS pupils_{group}_key")
        kent.append(f"sum(pupils_{group})::BIGINT AS pupils_{group}, sum(pupils_{group}_key)::BIGINT AS pupils_{group}_key")
    return db.query(f"""
        WITH counts AS (
            SELECT district_code::VARCHAR AS geography_code, * EXCLUDE (district_code) FROM (
                SELECT district_code, {PERIOD_SQL[grain]} AS period, academic_year{keys}, {', '.join(sums)}
                FROM activity_monthly
                WHERE list_contains($all_types::activity_type_t[], activity_type) AND {where}
                GROUP BY {sets} HAVING {having})),
        periods AS (SELECT need_key, phase_key, period, academic_year, {', '.join(flags)} FROM counts GROUP BY ALL),
        grid AS (SELECT d.code::VARCHAR AS geography_code, p.* FROM periods p CROSS JOIN districts d)
        {''.join(ctes)},
        by_district AS (
            SELECT g.need_key, g.phase_key, g.geography_code, g.period, {', '.join(cols)}
            FROM grid g LEFT JOIN counts c USING (need_key, phase_key, geography_code, period, academic_year)
            {' '.join(joins)})
        SELECT * FROM by_district
        UNION ALL
        SELECT need_key, phase_key, '{ref.KENT_CODE}' AS geography_code, period, {', '.join(kent)}
        FROM by_district GROUP BY need_key, phase_key, period
        ORDER BY need_key, phase_key, geography_code, period""", params)


def settings_reached(db: Reader, grain: str, f: Filters, upto: int = 11) -> pd.DataFrame:
    """Open settings with at least one contact, and open settings, per district and period, for
    every area of need (of the contact) × phase (of the setting): ``need_key``, ``phase_key``.

    Every district appears in every period with contacts anywhere (in that area of need), so a
    district that reached no setting shows 0, not a gap.
    """
    where, params = _common(f, need=False, phase=False, upto=upto)
    reach_keys, _, reach_sets, reach_having = _split_sql(
        ["s.district_code", "c.period"], {"need": "c.need_area", "phase": "s.phase"})
    open_keys, _, open_sets, _ = _split_sql(["district_code"], {"phase": "phase"})
    period_keys, _, period_sets, period_having = _split_sql(["period"], {"need": "need_area"})
    return db.query(f"""
        WITH contacts AS (SELECT {PERIOD_SQL[grain]} AS period, urn, need_area FROM setting_contacts WHERE {where}),
        open_settings AS (
            SELECT district_code{open_keys}, count(*) AS settings FROM settings WHERE open GROUP BY {open_sets}),
        reached AS (
            SELECT s.district_code, c.period{reach_keys}, count(DISTINCT c.urn) AS reached
            FROM contacts c JOIN settings s ON s.urn = c.urn AND s.open
            GROUP BY {reach_sets} HAVING {reach_having}),
        periods AS (SELECT period{period_keys} FROM contacts GROUP BY {period_sets} HAVING {period_having})
        SELECT p.need_key, o.phase_key, o.district_code::VARCHAR AS geography_code, p.period,
               coalesce(r.reached, 0)::BIGINT AS reached, o.settings::BIGINT AS settings
        FROM open_settings o CROSS JOIN periods p
        LEFT JOIN reached r ON r.district_code = o.district_code AND r.period = p.period
             AND r.need_key = p.need_key AND r.phase_key = o.phase_key""", params)


# --- published figures: a final one before a provisional one -------------------------------------

def final_published_sql(source: str = "published") -> str:
    """SELECT of the rows of ``source`` (the ``published`` table, or a frame with its columns) that
    are the figures to use. A published figure is one value of one measure (or, for a LAIT
    indicator that is not one of the dashboard's measures, of one LAIT code) for one SEN group,
    geography and academic year. LAIT may hold it twice, provisional and then revised: the final
    one is the figure, and a provisional one stands only until there is a final one. The rule is
    written here once: the attainment lines (``attainment``), the published benchmarks
    (``published_values``), the attainment import's check (``county_published``) and the demo's
    county (``final_published``) all read it."""
    return f"""SELECT * EXCLUDE (_pick) FROM (
        SELECT *, row_number() OVER (PARTITION BY geography_code, coalesce(measure::VARCHAR, lait_code), sen_group,
                                                  academic_year ORDER BY provisional) AS _pick
        FROM {source}) WHERE _pick = 1"""


PUBLISHED_FINAL = f"({final_published_sql()})"   # the published table's rows, a final figure before a provisional one


def final_published(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` (the ``published`` table's columns, as ``published.shipped()`` gives them) cut to
    the figures to use by the same rule (``final_published_sql``), for figures not yet in a
    database: the demo builds its county from them."""
    con = duckdb.connect()
    try:
        con.register("_published", rows)
        return con.execute(final_published_sql("_published")).df()
    finally:
        con.close()


def attainment(db: Reader, measure: str, groups: Iterable[str], f: Filters) -> pd.DataFrame:
    """Attainment rows (districts, Kent and England) with their cohort. For Kent and England the
    published DfE figure (the ``published`` table; a final one before a provisional one: ``PUBLISHED_FINAL``)
    is the value wherever it has one, so every view shows the same, real county and national
    lines; a stored row's cohort is kept, and a published figure with no stored row has none.
    ``published`` says which values came from it. Cohorts are counts of children: each stored
    row's is protected (``cohort_hidden``: [c], and its value with it)."""
    frame = db.query(f"""
        WITH pub AS (
            SELECT geography_code, academic_year, sen_group::VARCHAR AS sen_group, value FROM {PUBLISHED_FINAL}
            WHERE measure = $measure AND geography_code IN ('{ref.KENT_CODE}', '{ref.ENGLAND_CODE}') AND value IS NOT NULL),
        stored AS (
            SELECT geography_code::VARCHAR AS geography_code, academic_year, sen_group::VARCHAR AS sen_group, cohort,
                   record_key AS cohort_key, value
            FROM attainment WHERE measure = $measure AND value IS NOT NULL)
        SELECT coalesce(s.geography_code, p.geography_code) AS geography_code,
               make_date(coalesce(s.academic_year, p.academic_year), 9, 1) AS period,
               coalesce(s.sen_group, p.sen_group) AS sen_group, s.cohort, s.cohort_key, coalesce(p.value, s.value) AS value,
               p.value IS NOT NULL AS published
        FROM stored s FULL JOIN pub p ON p.geography_code = s.geography_code AND p.academic_year = s.academic_year
             AND p.sen_group = s.sen_group
        WHERE coalesce(s.sen_group, p.sen_group) IN (SELECT unnest($groups))
          AND coalesce(s.academic_year, p.academic_year) BETWEEN $year_from AND $year_to
        ORDER BY 1, 2, 3""",
        {"measure": measure, "groups": list(groups), "year_from": f.year_from, "year_to": f.year_to})
    out = _protected(frame, ["cohort"])
    out["value"] = out["value"].mask(out["cohort_hidden"] & ~out["published"])
    return out


def budget(db: Reader, f: Filters) -> pd.DataFrame:
    """Budget per service and financial year (mapped to the academic year starting that year)."""
    return db.query("""
        SELECT service_code::VARCHAR AS service_code, make_date(financial_year, 9, 1) AS period,
               allocation_gbp AS gbp
        FROM budget WHERE financial_year BETWEEN $year_from AND $year_to""",
        {"year_from": f.year_from, "year_to": f.year_to})


def referral_need_mix(db: Reader, types: Iterable[str], f: Filters, upto: int = 11, split: tuple[str, ...] = ()) -> pd.DataFrame:
    """Activities per district, academic year and need area (records with an area only); with
    ``split=('phase',)`` for every phase (``phase_key``) instead of the filters' phase."""
    where, params = _common(f, need=False, phase="phase" not in split, upto=upto)
    params["types"] = list(types)
    keys, names, sets, having = _split_sql(["district_code", "academic_year", "need_area"],
                                           {k: SPLIT_COLUMNS[k] for k in split})
    return db.query(f"""
        SELECT district_code::VARCHAR AS geography_code, academic_year, need_area::VARCHAR AS need_area{names}, n, n_key FROM (
            SELECT district_code, academic_year, need_area{keys}, sum(activities)::BIGINT AS n, sum(ckey)::BIGINT AS n_key
            FROM activity_monthly
            WHERE list_contains($types::activity_type_t[], activity_type) AND need_area IS NOT NULL AND {where}
            GROUP BY {sets} HAVING {having})""", params)


def monthly_activity_by_district(db: Reader, f: Filters) -> pd.DataFrame:
    """Activities per month, district and type (the filters' districts are ignored), each a cell
    as shown: protected where the type is about children (``activities_hidden``: [c])."""
    where, params = _common(f)
    frame = db.query(f"""
        SELECT month, district_code::VARCHAR AS district_code, activity_type::VARCHAR AS activity_type, activities, activities_key
        FROM (SELECT month, district_code, activity_type, sum(activities)::BIGINT AS activities, sum(ckey)::BIGINT AS activities_key
              FROM activity_monthly WHERE {where} GROUP BY ALL)
        ORDER BY month, district_code, activity_type""", params)
    return _protect_by_type(frame)


def _protect_by_type(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of several activity types (``activity_type``), each a cell: those of child-level types
    protected, the others exact (``activities_hidden`` False)."""
    child = frame["activity_type"].isin(ref.CHILD_LEVEL_TYPES).to_numpy()
    values, hidden = disclosure.protect(frame["activities"], frame["activities_key"])
    out = frame.drop(columns="activities_key")
    out["activities"] = np.where(child, values, frame["activities"].to_numpy(float))
    out["activities_hidden"] = child & hidden
    return out


def monthly_activity_by_type(db: Reader, f: Filters) -> pd.DataFrame:
    """Activities per month and type for the filtered area (for the time chart), protected as
    ``monthly_activity_by_district``."""
    where, params = _common(f)
    district = ""
    if f.districts:
        district = "AND list_contains($districts::district_t[], district_code)"
        params["districts"] = list(f.districts)
    return _protect_by_type(db.query(f"""
        SELECT month, activity_type::VARCHAR AS activity_type, activities, activities_key FROM (
            SELECT month, activity_type, sum(activities)::BIGINT AS activities, sum(ckey)::BIGINT AS activities_key
            FROM activity_monthly WHERE {where} {district} GROUP BY ALL)
        ORDER BY month, activity_type""", params))


def unreached_settings(db: Reader, year_from: int, year_to: int) -> pd.DataFrame:
    """Open settings (every district, every phase) with no STLS contact in an academic year, for
    each year from ``year_from`` to ``year_to``, with their last contact ever."""
    return db.query("""
        WITH contacted AS (SELECT DISTINCT urn, academic_year FROM setting_contacts),
        last AS (SELECT urn, max(month) AS last_contact FROM setting_contacts GROUP BY urn)
        SELECT y.academic_year::INTEGER AS academic_year, s.district_code::VARCHAR AS district_code, s.urn,
               s.name, s.phase::VARCHAR AS phase, l.last_contact
        FROM settings s CROSS JOIN range($year_from, $year_to + 1) y(academic_year)
        LEFT JOIN last l ON l.urn = s.urn
        WHERE s.open AND NOT EXISTS (
            SELECT 1 FROM contacted c WHERE c.urn = s.urn AND c.academic_year = y.academic_year)
        ORDER BY y.academic_year, s.district_code, s.phase, s.name""", {"year_from": year_from, "year_to": year_to})


def latest_measure_year(db: Reader, measure: str, up_to: int) -> int | None:
    year = db.scalar("SELECT max(academic_year) FROM attainment WHERE measure = $m AND academic_year <= $y "
                     "AND value IS NOT NULL", {"m": measure, "y": up_to})
    return None if year is None or pd.isna(year) else int(year)


@memoised
def data_extent(db: Reader) -> Row:
    """First and last academic year and month of activity, and the last outcome year."""
    row = db.query("""
        SELECT min(academic_year) AS first_year, max(academic_year) AS last_year,
               min(month) AS first_month, max(month) AS last_month,
               (SELECT max(academic_year) FROM attainment) AS last_outcome_year
        FROM activity_monthly""").iloc[0]
    if pd.isna(row["first_year"]):
        return {"first_year": ref.FIRST_ACADEMIC_YEAR, "last_year": ref.FIRST_ACADEMIC_YEAR,
                "first_month": None, "last_month": None, "last_outcome_year": None}
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}


def import_log(db: Reader, newest_first: bool = True) -> pd.DataFrame:
    """Every import attempt, refused ones included."""
    order = "DESC" if newest_first else ""
    return db.query("SELECT import_id, kind, file_name, status, rows, period_from, period_to, imported_at, actor, "
                    f"message FROM import_log ORDER BY import_id {order}")


def latest_held(db: Reader) -> Row:
    """The latest period held for each kind of data, and how many settings (open) are listed."""
    row = db.query("""SELECT (SELECT max(activity_date) FROM activity) AS activity,
                             (SELECT max(academic_year) FROM attainment) AS attainment,
                             (SELECT max(academic_year) FROM sen_pupils) AS sen_pupils,
                             (SELECT max(academic_year) FROM setting_outcomes) AS setting_outcomes,
                             (SELECT count(*) FROM settings) AS settings,
                             (SELECT count(*) FILTER (WHERE open) FROM settings) AS open_settings,
                             (SELECT max(financial_year) FROM budget) AS budget""")
    held: Row = row.iloc[0].to_dict()
    return held


def activity_by_district_month(db: Reader) -> pd.DataFrame:
    """All activity per district and month (the Data page's completeness check), protected: most
    of it is about children (``n_hidden``: [c])."""
    return _protected(db.query("""SELECT month, district_code::VARCHAR AS district, sum(activities)::BIGINT AS n,
                                         sum(ckey)::BIGINT AS n_key FROM activity_monthly GROUP BY ALL"""), ["n"])


def published_extent(db: Reader) -> Row:
    """The published figures held: years, count, and whether they are the shipped extract."""
    row = db.query("""SELECT min(academic_year) AS first, max(academic_year) AS last, count(*) AS rows,
                             bool_and(import_id = 0) AS shipped, max(import_id) AS last_import FROM published""").iloc[0]
    out = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
    out["imported"] = ""
    if out["rows"] and not out["shipped"]:
        log = imports_by_id(db, [int(out["last_import"])])
        out["imported"] = f"{pd.Timestamp(log['imported_at'].iloc[0]):%d %b %Y}" if len(log) else ""
    return out


def county_published(db: Reader) -> pd.DataFrame:
    """Kent's and England's published outcome figures (a final one before a provisional one:
    ``PUBLISHED_FINAL``), with the rounding they were published to (whole numbers: 0.5; one
    decimal place: 0.05) and how to show one in a message, for the attainment import's check."""
    return db.query(f"""
        SELECT geography_code, measure::VARCHAR AS measure, sen_group::VARCHAR AS sen_group, academic_year, value,
               CASE WHEN value = round(value) THEN 0.5 ELSE 0.05 END + 1e-9 AS rounding,
               g.name || ', ' || m.label || ', ' || s.label || ', ' || academic_year || '/'
               || lpad(((academic_year + 1) % 100)::VARCHAR, 2, '0') || ': '
               || CASE WHEN value = round(value) THEN round(value)::INTEGER::VARCHAR ELSE round(value, 1)::VARCHAR END AS shown
        FROM {PUBLISHED_FINAL} p
        JOIN geographies g ON g.code = p.geography_code JOIN measures m ON m.code = p.measure
        JOIN sen_groups s ON s.code = p.sen_group
        WHERE p.measure IS NOT NULL AND p.geography_code IN ('{ref.KENT_CODE}', '{ref.ENGLAND_CODE}')""")


@memoised
def published_span(db: Reader, measure: str) -> tuple[int, int] | None:
    """First and last academic year with a published Kent or England figure for ``measure``."""
    row = db.query(f"""SELECT min(academic_year) AS first, max(academic_year) AS last FROM published
                       WHERE measure = $m AND value IS NOT NULL
                         AND geography_code IN ('{ref.KENT_CODE}', '{ref.ENGLAND_CODE}')""", {"m": measure}).iloc[0]
    return None if pd.isna(row["first"]) else (int(row["first"]), int(row["last"]))


def published_rank(db: Reader, key: str, sen_group: str) -> Row | None:
    """Kent's rank among English local authorities for a measure (or LAIT code) and SEN group,
    with the authorities' quartiles (``published_ranks``), or None where the file has none."""
    rows = db.query("SELECT * FROM published_ranks WHERE key = $k AND sen_group = $g ORDER BY academic_year DESC LIMIT 1",
                    {"k": key, "g": sen_group})
    return None if rows.empty else {k: (v.item() if hasattr(v, "item") else v) for k, v in rows.iloc[0].items()}


def published_values(db: Reader, measure: str, sen_group: str) -> pd.DataFrame:
    """Published DfE values of one measure and SEN group for every geography held (England, the
    South East, Kent and its statistical neighbours) and year; a final figure before a provisional
    one for the same year (``PUBLISHED_FINAL``). Columns: geography_code, name, kind, neighbour_rank,
    academic_year, provisional, value."""
    return db.query(f"""
        SELECT geography_code, g.name, g.kind, g.neighbour_rank, academic_year, provisional, value
        FROM {PUBLISHED_FINAL} p JOIN geographies g ON g.code = p.geography_code
        WHERE p.measure = $measure AND p.sen_group = $group
        ORDER BY academic_year, coalesce(g.neighbour_rank, 0)""", {"measure": measure, "group": sen_group})


@memoised
def census_years(db: Reader) -> tuple[int, ...]:
    """The academic years whose January census is held, in order."""
    frame = db.query("SELECT DISTINCT academic_year FROM sen_pupils ORDER BY 1")
    return tuple(int(y) for y in frame["academic_year"])


def census_for(db: Reader, year: int) -> int | None:
    """The census a figure for academic year ``year`` uses (``catalogue.census_rule``): its own
    year's, else the latest earlier one held; None before the first. The activity block's ASOF
    join applies the same rule in SQL."""
    return census_of(census_years(db), year)


def census_of(held: tuple[int, ...], year: int) -> int | None:
    """The census rule on the years held: ``year``'s own, else the latest earlier; None before the first."""
    earlier = [y for y in held if y <= year]
    return earlier[-1] if earlier else None


@memoised
def not_returned(db: Reader) -> pd.DataFrame:
    """District-months with no tracker return: between the first and the last month the tracker
    holds, a month in which a district recorded no activity of any type (not even in August, when
    every district records some). The single definition: the figures show such a month as [x]
    and flag any total that includes it; the Data page's completeness check marks the same cells.
    Columns: district (code), month (date), sorted."""
    return db.query("""
        WITH span AS (SELECT min(month) AS first, max(month) AS last FROM activity_monthly),
        months AS (SELECT unnest(generate_series(first, last, INTERVAL 1 MONTH))::DATE AS month FROM span
                   WHERE first IS NOT NULL),
        held AS (SELECT DISTINCT district_code, month FROM activity_monthly)
        SELECT d.code::VARCHAR AS district, m.month
        FROM districts d CROSS JOIN months m
        ANTI JOIN held h ON h.district_code = d.code AND h.month = m.month
        ORDER BY m.month, d.code""")


# --- reads the loader makes of the database it loads into (stls/store/ingest/load.py) -------------

WITHOUT_IMPORT_ID = ("settings", "budget")   # replaced whole by a load, so no row says which import put it there


def example_setting(db: Reader) -> Row | None:
    """An open setting from the settings list (a primary in Swale if there is one), for the
    templates' example rows: a template's example must pass the check it is a template for."""
    rows = db.query("""SELECT urn, district_code::VARCHAR AS district_code, phase::VARCHAR AS phase FROM settings
        WHERE open ORDER BY district_code::VARCHAR <> 'E07000113', phase::VARCHAR <> 'primary', urn LIMIT 1""")
    return rows.iloc[0].to_dict() if len(rows) else None


def rows_in_scope(db: Reader, table: str, where: str, params: dict[str, object]) -> tuple[int, list[int]]:
    """How many rows of ``table`` a load would overlap (``where``: the load's scope, from
    ``ingest.load.SCOPE``), and the imports that put them there."""
    n = int(db.scalar(f"SELECT count(*) FROM {table} WHERE {where}", params) or 0)
    if not n or table in WITHOUT_IMPORT_ID:
        return n, []
    ids = db.query(f"SELECT DISTINCT import_id FROM {table} WHERE {where}", params)["import_id"].tolist()
    return n, [int(i) for i in ids]


def imports_by_id(db: Reader, ids: list[int]) -> pd.DataFrame:
    return db.query("SELECT import_id, file_name, imported_at FROM import_log WHERE import_id IN "
                    "(SELECT unnest($ids)) ORDER BY import_id", {"ids": ids})


def loaded_import_with_sha(db: Reader, sha: str) -> pd.DataFrame:
    """The first successful import of the file with this SHA-256 (empty if none)."""
    return db.query("SELECT import_id, file_name, imported_at FROM import_log WHERE sha256 = $s AND "
                    "status = 'loaded' ORDER BY import_id LIMIT 1", {"s": sha})


def setting_urns(db: Reader) -> list[str]:
    urns: list[str] = db.query("SELECT urn FROM settings")["urn"].tolist()
    return urns


FIRST_SUPPORT_SQL = """SELECT urn, min(academic_year) AS first_support FROM setting_support
    WHERE activity_type = 'intensive_support' GROUP BY urn"""


def setting_panel(db: Reader, measure: str, sen_group: str) -> pd.DataFrame:
    """Each setting's result for one measure and SEN group, every year it has one (a cohort of at
    least one pupil), with its district and its first year of Intensive Specialist Support (NULL:
    none in the tracker)."""
    return db.query(f"""
        WITH first AS ({FIRST_SUPPORT_SQL})
        SELECT o.urn, s.district_code, o.academic_year AS year, o.value AS y, o.cohort, f.first_support
        FROM setting_outcomes o JOIN settings s USING (urn) LEFT JOIN first f USING (urn)
        WHERE o.measure = $measure AND o.sen_group = $group AND o.cohort > 0 AND o.value IS NOT NULL
        ORDER BY o.urn, year""", {"measure": measure, "group": sen_group})


def setting_dose(db: Reader) -> pd.DataFrame:
    """STLS contacts at each setting per academic year, and its pupils on SEN support (number on
    roll × % SEN support, from the settings list)."""
    return db.query("""
        SELECT c.urn, c.academic_year AS year, sum(c.activities)::DOUBLE AS contacts,
               any_value(s.pupils * s.sen_support_pct / 100) AS sen_support_pupils
        FROM setting_support c JOIN settings s USING (urn) GROUP BY ALL""")


def supported_settings(db: Reader) -> pd.DataFrame:
    """Settings the tracker records Intensive Specialist Support at: first year, years with it."""
    return db.query(f"""
        WITH first AS ({FIRST_SUPPORT_SQL}),
        years AS (SELECT urn, count(DISTINCT academic_year) AS years FROM setting_support
                  WHERE activity_type = 'intensive_support' GROUP BY urn)
        SELECT s.urn, s.name, s.district_code, s.phase, f.first_support, y.years
        FROM first f JOIN years y USING (urn) JOIN settings s USING (urn) ORDER BY f.first_support, s.district_code, s.name""")
