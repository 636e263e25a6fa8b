"""The published DfE figures ship in data/published and the schema build loads them unchanged."""
from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest
from published_file import county_file

from stls.store import db as dbmod

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
    from stls.store.ingest import import_file
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
    from stls.store.ingest import import_file
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
    from stls.present.views import benchmarks
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
    from conftest import ROOT as APP_ROOT
    from streamlit.testing.v1 import AppTest
    def open_page(params):
        at = AppTest.from_file(str(APP_ROOT / "app.py"), default_timeout=120)
        at.query_params.update(params)
        at.switch_page("app_pages/activity_and_outcomes.py")
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
    from conftest import ROOT as APP_ROOT
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(APP_ROOT / "app.py"), default_timeout=120)
    at.switch_page("app_pages/data.py")
    at.run()
    assert not at.exception
    table = next(df.value for df in at.dataframe if df.value.columns[0] == "Source").set_index("Source")
    lait = table.loc["DfE statistics via the Local Authority Interactive Tool (LAIT)"]
    assert "Open Government Licence v3.0, Department for Education" in lait["Licence"]
    assert "2015/16 to 2024/25" in lait["What it covers"] and "shipped extract" in lait["Extract or latest data"]
    assert table.loc["KCC STLS activity tracker", "Extract or latest data"] == "synthetic (demonstration data)"
    assert any("Synthetic districts, real county." in w.value for w in at.warning)
    census = table.loc["DfE school census (January)", "Extract or latest data"]
    assert census == "synthetic districts adding up to Kent's published figures"


def test_a_database_made_before_the_published_figures_gains_them_on_opening(tmp_path):
    """A council's existing file keeps its rows and gains the three tables, filled."""
    path = dbmod.ensure_database(tmp_path / "old.duckdb")
    with dbmod.writable_copy(path) as con:
        con.execute("DROP TABLE published_ranks")
        con.execute("DROP TABLE published")
        con.execute("DROP TABLE geographies")
        con.execute("INSERT INTO budget VALUES (2024, 'E07000113', 1000)")
    db = dbmod.Database(path)
    assert db.scalar("SELECT count(*) FROM published") > 2000
    assert db.scalar("SELECT count(*) FROM geographies") == 13
    assert db.scalar("SELECT count(*) FROM published_ranks") == 9
    assert db.scalar("SELECT allocation_gbp FROM budget") == 1000
    db.close()
    # a file made with the figures but before Kent's ranks gains only the ranks
    with dbmod.writable_copy(path) as con:
        con.execute("DROP TABLE published_ranks")
    db = dbmod.Database(path)
    assert db.scalar("SELECT count(*) FROM published_ranks") == 9 and db.scalar("SELECT count(*) FROM geographies") == 13
    db.close()


def test_every_kent_and_england_value_the_dashboard_shows_is_the_published_one(demo_db):
    """Every published measure, SEN group and year: the rows every outcome view reads, the
    district profile's Kent and England lines, and the scorecard's Kent and England columns."""
    from stls.filters import Filters
    from stls.kpi import catalogue, compare
    from stls.kpi import line as scorecard
    from stls.present.views import district
    from stls.store import queries
    expected = county_file()
    code = {"Kent": "E10000016", "England": "E92000001"}
    shown = 0
    for (area, measure, group, year), value in expected.items():
        if year < 2016:
            continue   # before the dashboard's first year
        rows = queries.attainment(demo_db, measure, [group], Filters(year, year))
        got = rows.loc[rows["geography_code"] == code[area], ["value", "published"]]
        assert len(got) == 1 and got["value"].iloc[0] == pytest.approx(value, abs=1e-9) and got["published"].iloc[0]
        shown += 1
    assert shown == 2 * (4 * 7 + 4 * 9 + 3 * 7 + 3 * 7)   # KS2, KS4, EYFS, phonics (2024/25 provisional)
    for measure, group in sorted({(m, g) for _, m, g, _ in expected}):
        table = district.outcomes(demo_db, Filters(2016, 2024), "E07000113", measure, group).table.set_index("Academic year")
        for area in ("Kent", "England"):
            for year in range(2016, 2025):
                value = expected.get((area, measure, group, year))
                cell = table.at[f"{year}/{(year + 1) % 100:02d}", area]
                assert cell == ("[x]" if value is None else f"{value:.1f}"), (area, measure, group, year)
    for kpi_id in ("ks2_rwm_sen_support", "ks4_a8_sen_support", "eyfs_gld_sen_support", "phonics_sen_support"):
        kpi = catalogue.get(kpi_id)
        measure, group = kpi.compute.measure, kpi.compute.sen_group
        for year in (2016, 2018, 2022, 2024):
            f = Filters(2016, year)
            line = scorecard.line(demo_db, kpi, f.with_(districts=("E07000113",)))
            assert line.fields["kent"] == kpi.fmt(expected[("Kent", measure, group, year)]), (kpi_id, year)
            assert line.fields["england"] == kpi.fmt(expected[("England", measure, group, year)]), (kpi_id, year)
            assert compare.headline(demo_db, kpi_id, f).value == pytest.approx(expected[("Kent", measure, group, year)])
    gap = compare.headline(demo_db, "ks2_rwm_gap", Filters(2016, 2024))
    assert gap.value == pytest.approx(expected[("Kent", "ks2_rwm_expected", "no_sen", 2024)]
                                      - expected[("Kent", "ks2_rwm_expected", "sen_support", 2024)])


def test_every_outcome_chart_names_its_real_source(demo_db):
    from stls.analysis import association
    from stls.filters import Filters
    from stls.present.views import district
    line = "Kent and England: DfE statistics via LAIT, 2015/16 to 2024/25 (OGL v3.0); districts: synthetic demonstration data"
    chart = district.outcomes(demo_db, Filters(2016, 2024), "E07000113", "ks2_rwm_expected", "sen_support")
    assert line in str(chart.figure)
    assert line in str(district.funnel_view(demo_db, None, "ks2_rwm_expected", "sen_support", 2024).figure)
    res = association.analyse(demo_db, association.Options(), Filters(2016, 2025))
    assert res.source.endswith(line)
    grade5 = district.outcomes(demo_db, Filters(2016, 2024), "E07000113", "ks4_em_grade5", "sen_support")
    assert "Kent and England: synthetic (not in the shipped DfE extract)" in str(grade5.figure)


def test_kent_ranks_among_english_authorities_as_the_file_says(demo_db):
    """KS2 RWM, SEN support, 2024/25: the file gives Kent 29.0, rank 65 of 151 (13 sharing it),
    quartiles 25, 29 and 34; 29 is on the median, so in the second-highest quarter."""
    from stls.analysis import benchmarks as bm
    from stls.present.views import benchmarks
    with open(FOLDER / "lait_kent_rank_among_las_latest.csv", encoding="utf-8", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["indicator"] == "KS2 RWM SEN support")
    c = bm.comparison(demo_db, "ks2_rwm_expected", "sen_support")
    assert c.among_las == bm.LaRank(int(row["year"]) - 1, int(row["rank_desc"]), int(row["n_tied"]), int(row["n_LAs"]),
                                    float(row["q1"]), float(row["median"]), float(row["q3"]))
    caption = benchmarks.neighbours_chart(demo_db, "ks2_rwm_expected", "sen_support").caption
    assert ("Among England's 151 local authorities with a figure in 2024/25, Kent ranks 65th (sharing its figure "
            "with 12 others), in the second-highest quarter (quartiles 25.0%, 29.0% and 34.0%; 1 = highest).") in caption
    # phonics is not in the rank file: no claim
    assert bm.comparison(demo_db, "phonics_y1", "sen_support").among_las is None


def test_an_outcome_file_that_contradicts_the_published_county_figure_is_refused_by_cell(tmp_path):
    """Kent's and England's figures are the published ones wherever those are held, so a row that
    disagrees beyond the published rounding would silently not be shown: it is refused."""
    from stls.store.ingest import import_file
    db = dbmod.ensure_database(tmp_path / "att.duckdb")
    head = "academic_year,geography,measure,sen_group,cohort,value\n"
    bad = head + ("2023/24,Swale,ks2_rwm_expected,sen_support,210,21.4\n"
                  "2023/24,Kent,ks2_rwm_expected,sen_support,3000,23.0\n"      # published 26
                  "2024/25,England,ks4_attainment8,sen_support,,33.8\n")       # published 33.8: agrees
    report = import_file("results.csv", "attainment", db, data=bad.encode())
    lines = "\n".join(report.lines())
    assert report.status == "refused" and report.total_problems == 1, lines
    assert ("row 3, column 'value': '23.0' — expected the published DfE figure, Kent, KS2 reading, writing and maths: "
            "% at expected standard, SEN support, 2023/24: 26, within its rounding") in lines
    ok = head + ("2023/24,Kent,ks2_rwm_expected,sen_support,3000,26.4\n"       # within the whole-number rounding
                 "2024/25,Kent,ks4_attainment8,sen_support,3000,33.64\n"       # within 0.05
                 "2025/26,Kent,ks2_rwm_expected,sen_support,3000,30.1\n")      # not published: the file's own
    assert import_file("ok.csv", "attainment", db, data=ok.encode()).status == "loaded"
    near = head + "2024/25,Kent,ks4_attainment8,sen_support,3000,33.7\n"
    assert import_file("near.csv", "attainment", db, data=near.encode(), replace=True).status == "refused"


def test_a_target_against_england_uses_englands_published_figure(demo_db):
    """KS2 RWM, SEN support: Green at or above England's published figure for the year, Amber
    within 3 points below, else Red; England's figure read from the file, each district's value
    from the stored rows."""
    from stls.filters import Filters
    from stls.kpi import catalogue, compare
    kpi = catalogue.get("ks2_rwm_sen_support")
    assert kpi.target_against == "england" and kpi.target_text() == "at or above England"
    assert kpi.target_text("floor") == "England − 3.0 pts"
    expected = county_file()
    checked = 0
    for year in (2016, 2018, 2022, 2024):
        england = expected[("England", "ks2_rwm_expected", "sen_support", year)]
        for code in ("E07000105", "E07000113", "E07000110", "E07000114"):
            value = demo_db.scalar("SELECT value FROM attainment WHERE geography_code = $g AND academic_year = $y AND "
                                   "measure = 'ks2_rwm_expected' AND sen_group = 'sen_support'", {"g": code, "y": year})
            want = "Green" if value >= england else "Amber" if value >= england - 3 else "Red"
            h = compare.headline(demo_db, kpi.id, Filters(2016, year, (code,)))
            assert h.rag == want and f"against England's {england:.1f}%" in h.rag_basis, (year, code, value, england)
            checked += want != "Green"
    assert checked   # not every district Green: the test can tell the rules apart
