"""A final published figure before a provisional one (stls.store.queries.final_published_sql), worked
by hand: the same rule in every read of the published figures and in the demo's county."""
from __future__ import annotations

import pandas as pd
import pytest

from stls.filters import Filters
from stls.store import db as dbmod
from stls.store import published, queries
from stls.store.demo import population

KENT, ENGLAND = "E10000016", "E92000001"
KS2 = "NEW_KS2_RWM_Sen_W/Osta"   # KS2 reading, writing and maths, expected standard, SEN support
# LAIT's long format: LAIT labels a year by its end ("2024" is 2023/24); "(prov)" marks a provisional figure.
LAIT = pd.DataFrame([
    (KS2, "KS2 RWM expected standard %", "SEN support", "2024 (prov)", "886", "19"),   # Kent 2023/24: provisional 19 ...
    (KS2, "KS2 RWM expected standard %", "SEN support", "2024", "886", "20"),          # ... then final 20: 20 is the figure
    (KS2, "KS2 RWM expected standard %", "SEN support", "2024", "970", "24"),          # England 2023/24: final 24 ...
    (KS2, "KS2 RWM expected standard %", "SEN support", "2024 (prov)", "970", "23"),   # ... before its provisional 23
    (KS2, "KS2 RWM expected standard %", "SEN support", "2025 (prov)", "886", "21.5"),  # Kent 2024/25: provisional alone
    ("SEN_TotStat", "% pupils with EHC plan/statement", "EHC plan/statement", "2025 (prov)", "886", "5.1"),   # not a measure:
    ("SEN_TotStat", "% pupils with EHC plan/statement", "EHC plan/statement", "2025", "886", "5.2"),          # by LAIT code
], columns=["lait_measure_code", "indicator", "sen_group", "lait_year_label", "old_la_code", "value"])
# worked by hand from the rows above: (geography, academic year) → (value, provisional)
EXPECTED = {(KENT, 2023): (20.0, False), (ENGLAND, 2023): (24.0, False), (KENT, 2024): (21.5, True)}


@pytest.fixture(scope="module")
def handle(tmp_path_factory) -> dbmod.Database:
    """A new database whose published KS2 SEN support and EHC plan share figures are only the rows above."""
    path = dbmod.ensure_database(tmp_path_factory.mktemp("final") / "final.duckdb")
    with dbmod.writable_copy(path) as con:
        con.execute("DELETE FROM published WHERE lait_code IN (SELECT unnest(?))", [sorted(set(LAIT["lait_measure_code"]))])
        con.register("_rows", published.frame_from_lait(LAIT))
        con.execute("INSERT INTO published SELECT *, 0 FROM _rows")
    return dbmod.Database(path)


def test_the_attainment_lines_show_the_final_figure_or_else_the_provisional_one(handle):
    rows = queries.attainment(handle, "ks2_rwm_expected", ["sen_support"], Filters(2022, 2025))
    got = {(r.geography_code, pd.Timestamp(r.period).year): r.value for r in rows.itertuples()}
    assert got == {k: v for k, (v, _) in EXPECTED.items()}
    assert rows["published"].all() and rows["cohort"].isna().all()   # no stored rows: the published figures alone


def test_the_published_benchmarks_hold_one_figure_a_year_and_say_which_are_provisional(handle):
    rows = queries.published_values(handle, "ks2_rwm_expected", "sen_support")
    got = {(r.geography_code, r.academic_year): (r.value, bool(r.provisional)) for r in rows.itertuples()}
    assert got == EXPECTED and len(rows) == len(EXPECTED)


def test_the_attainment_import_is_checked_against_the_final_figure(handle, tmp_path):
    county = queries.county_published(handle)
    mine = county[(county["measure"] == "ks2_rwm_expected") & (county["sen_group"] == "sen_support")]
    assert {(r.geography_code, r.academic_year): r.value for r in mine.itertuples()} == {k: v for k, (v, _) in EXPECTED.items()}
    assert "Kent, KS2 reading, writing and maths: % at expected standard, SEN support, 2023/24: 20" in set(mine["shown"])
    from stls.store.ingest import import_file
    head = "academic_year,geography,measure,sen_group,cohort,value\n"
    provisional = head + "2023/24,Kent,ks2_rwm_expected,sen_support,3000,19.0\n"   # the provisional figure: superseded
    report = import_file("provisional.csv", "attainment", handle.path, data=provisional.encode(), dry_run=True)
    assert report.status == "refused" and "the published DfE figure" in "\n".join(report.lines())
    final = head + "2023/24,Kent,ks2_rwm_expected,sen_support,3000,20.0\n"
    assert import_file("final.csv", "attainment", handle.path, data=final.encode(), dry_run=True).status == "checked"


def test_the_demo_county_takes_the_final_figure_by_the_same_rule():
    county = population.county_figures(published.frame_from_lait(LAIT))
    assert county == {**{(geo, "ks2_rwm_expected", "sen_support", year): value for (geo, year), (value, _) in EXPECTED.items()},
                      (KENT, "SEN_TotStat", "ehc_plan", 2024): 5.2}
