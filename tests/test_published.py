"""The published DfE figures ship in data/published and the schema build loads them unchanged."""
from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from stls import db as dbmod

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "data" / "published"
GSS = {"970": "E92000001", "989": "E12000008", "886": "E10000016", "881": "E10000012", "845": "E10000011",
       "878": "E10000008", "303": "E09000004", "935": "E10000029", "926": "E10000020", "891": "E10000024",
       "938": "E10000032", "822": "E06000055", "933": "E06000066"}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    return dbmod.ensure_database(tmp_path_factory.mktemp("pub") / "fresh.duckdb")


def test_the_shipped_files_carry_their_sources_and_licence():
    readme = (FOLDER / "README.md").read_text(encoding="utf-8")
    assert "Contains public sector information licensed under the Open Government Licence v3.0, Department for Education" in readme
    for name in sorted(p.name for p in FOLDER.glob("*.csv")):
        assert f"`{name}`" in readme, name


def test_a_new_database_holds_every_published_value_unchanged(fresh):
    """Read here with the csv module: LAIT's '2019' is 2018/19 (academic_year 2018)."""
    with open(FOLDER / "lait_send_outcomes_kent_england_sn.csv", encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["value"].strip()]
    expected = {(r["lait_measure_code"], GSS[r["old_la_code"].split(".")[0]], int(r["lait_year_label"][:4]) - 1,
                 r["lait_year_label"].endswith("(prov)")): float(r["value"]) for r in rows}
    con = duckdb.connect(str(fresh), read_only=True)
    got = {(c, g, y, p): v for c, g, y, p, v in con.execute(
        "SELECT lait_code, geography_code, academic_year, provisional, value FROM published").fetchall()}
    con.close()
    assert got == expected and len(got) == len(rows)
    # spot checks against the file as printed: Kent KS2 RWM all pupils, 2015/16 = 59
    assert got[("KS2RWM_Expected_STD", "E10000016", 2015, False)] == 59


def test_the_geographies_and_the_neighbour_list_are_data(fresh):
    with open(FOLDER / "kent_statistical_neighbours.csv", encoding="utf-8", newline="") as fh:
        may = [r for r in csv.DictReader(fh) if r["sn_list"].startswith("May 2025")]
    con = duckdb.connect(str(fresh), read_only=True)
    rows = con.execute("SELECT old_la_code, name, neighbour_rank FROM geographies WHERE kind = 'statistical_neighbour' "
                       "ORDER BY neighbour_rank").fetchall()
    kinds = dict(con.execute("SELECT code, kind FROM geographies").fetchall())
    con.close()
    assert rows == [(int(float(r["old_la_code"])), r["la_name"], int(r["rank"])) for r in may] and len(rows) == 10
    assert kinds["E10000016"] == "county" and kinds["E92000001"] == "england" and kinds["E12000008"] == "region"


def test_a_data_owner_refreshes_the_published_figures_with_the_same_file_format(tmp_path):
    """The shipped file imported again as kind 'published' (with --replace: the shipped rows
    cover the same measures, years and areas) stores exactly the same values."""
    from stls.ingest import import_file
    db = dbmod.ensure_database(tmp_path / "refresh.duckdb")
    con = duckdb.connect(str(db), read_only=True)
    shipped = sorted(con.execute("SELECT * EXCLUDE (import_id) FROM published").fetchall(), key=repr)
    con.close()
    lait = FOLDER / "lait_send_outcomes_kent_england_sn.csv"
    refused = import_file(lait, "published", db)
    assert refused.status == "refused" and "import again with --replace" in refused.message
    report = import_file(lait, "published", db, replace=True)
    assert report.status == "loaded" and report.replaced_rows == len(shipped)
    assert any("351 rows have no published value" in n for n in report.notes), report.notes
    con = duckdb.connect(str(db), read_only=True)
    again = sorted(con.execute("SELECT * EXCLUDE (import_id) FROM published").fetchall(), key=repr)
    con.close()
    assert again == shipped


def test_a_published_file_with_unknown_codes_or_years_is_refused_by_cell(tmp_path):
    from stls.ingest import import_file
    db = dbmod.ensure_database(tmp_path / "bad.duckdb")
    head = "lait_measure_code,indicator,sen_group,lait_year_label,period,area,area_type,old_la_code,value,source\n"
    text = head + ("KS2RWM_Expected,x,All pupils,1900,,Medway,LA,887,64,LAIT\n"
                   "SEN_Stat_AVG_Prog8_Score,KS4 Progress 8 average,EHC plan/statement,2024,,Kent,Kent,886,-1.12,LAIT\n")
    report = import_file("lait.csv", "published", db, data=text.encode())
    lines = "\n".join(report.lines())
    assert report.status == "refused" and report.total_problems == 3, lines
    assert "row 2, column 'lait_measure_code': 'KS2RWM_Expected' — did you mean 'KS2RWM_Expected_STD'?" in lines
    assert "row 2, column 'lait_year_label': '1900' — expected a year from 2010/11" in lines
    assert "row 2, column 'old_la_code': '887'" in lines
    assert "row 3" not in lines    # a negative Progress 8 is a real value


def test_kent_against_its_neighbours_recomputed_from_the_file(demo_db):
    """KS2 RWM, SEN support: the neighbour average is the unweighted mean of the neighbours with a
    figure that year, Kent's rank is among Kent and them; recomputed here from the shipped CSV."""
    from stls.views import benchmarks
    with open(FOLDER / "lait_send_outcomes_kent_england_sn.csv", encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["lait_measure_code"] == "NEW_KS2_RWM_Sen_W/Osta" and r["value"].strip()
                and not r["lait_year_label"].endswith("(prov)")]
    by_year: dict = {}
    for r in rows:
        by_year.setdefault(int(r["lait_year_label"]) - 1, {})[r["area"]] = float(r["value"])
    chart = benchmarks.neighbours_chart(demo_db, "ks2_rwm_expected", "sen_support")
    table = chart.table.set_index("Academic year")
    neighbours = [n for n in table.columns if n not in ("Kent", "Neighbour average", "England", "South East",
                                                         "Neighbours with a figure")]
    assert len(neighbours) == 10 and neighbours[0] == "Essex"
    for year, areas in by_year.items():
        label = f"{year}/{(year + 1) % 100:02d}"
        sn = [areas[n] for n in neighbours if n in areas]
        assert table.at[label, "Kent"] == f"{areas['Kent']:.1f}%"
        assert table.at[label, "England"] == f"{areas['England']:.1f}%"
        assert table.at[label, "Neighbour average"] == f"{sum(sn) / len(sn):.1f}%"
    latest = max(by_year)
    kent = by_year[latest]["Kent"]
    rank = 1 + sum(v > kent for n, v in by_year[latest].items() if n in neighbours)
    assert f"{benchmarks.ordinal(rank)} of 11" in chart.title
    assert table.at["2019/20", "Kent"] == "[x]" and table.at["2020/21", "Kent"] == "[x]"   # no KS2 tests: gaps, not joins


def test_the_neighbours_view_is_on_the_outcomes_page_and_its_link_reproduces_it(app_env):
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT as APP_ROOT
    def open_page(params):
        at = AppTest.from_file(str(APP_ROOT / "app.py"), default_timeout=120)
        at.query_params.update(params)
        at.switch_page("pages/activity_and_outcomes.py")
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at
    at = open_page({"measure": "ks4_attainment8", "group": "ehc_plan"})
    headers = [h.value for h in at.header]
    assert "Kent and its statistical neighbours" in headers
    frames = [df.value for df in at.dataframe if "Neighbour average" in df.value.columns]
    assert frames and frames[0]["Kent"].iloc[-1].endswith(" points")
    again = open_page(dict(at.query_params))
    assert [df.value for df in again.dataframe if "Neighbour average" in df.value.columns][0].equals(frames[0])


def test_the_data_page_lists_its_sources_with_the_licence(app_env):
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT as APP_ROOT
    at = AppTest.from_file(str(APP_ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/data.py")
    at.run()
    assert not at.exception
    table = next(df.value for df in at.dataframe if df.value.columns[0] == "Source").set_index("Source")
    lait = table.loc["DfE statistics via the Local Authority Interactive Tool (LAIT)"]
    assert "Open Government Licence v3.0, Department for Education" in lait["Licence"]
    assert "2015/16 to 2024/25" in lait["What it covers"] and "shipped extract" in lait["Extract or latest data"]
    assert table.loc["KCC STLS activity tracker", "Extract or latest data"] == "synthetic (demonstration data)"
    assert any("statistical neighbours charts are real" in w.value for w in at.warning)


def test_a_database_made_before_the_published_figures_gains_them_on_opening(tmp_path):
    """A council's existing file keeps its rows and gains the two tables, filled."""
    path = dbmod.ensure_database(tmp_path / "old.duckdb")
    with dbmod.writable_copy(path) as con:
        con.execute("DROP TABLE published")
        con.execute("DROP TABLE geographies")
        con.execute("INSERT INTO budget VALUES (2024, 'E07000113', 1000)")
    db = dbmod.Database(path)
    assert db.scalar("SELECT count(*) FROM published") > 2000
    assert db.scalar("SELECT count(*) FROM geographies") == 13
    assert db.scalar("SELECT allocation_gbp FROM budget") == 1000
    db.close()
