"""The scorecard line is built once: the page, the command line and the meeting pack agree."""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT

from stls.filters import Filters
from stls.kpi import line as scorecard
from stls.present import meeting
from stls.present.views import scorecard as scorecard_view

SYMBOLS = ("[c]", "[x]", "[z]")
CASES = [Filters(2023, 2025), Filters(2024, 2026, ("E07000108",)),            # 2026/27 is a part year
         Filters(2023, 2025, need="CI", phase="early_years"), Filters(2018, 2019, ("E07000113",), phase="post_16")]


def _page_rows(db, f) -> pd.DataFrame:
    tables = scorecard_view.theme_tables(db, f).values()
    frame = pd.concat(tables, ignore_index=True).set_index("Indicator")
    return frame.fillna({"Filters not applied": ""}) if "Filters not applied" in frame else frame


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.caption())
def test_page_and_command_line_show_the_same_symbol_in_every_cell(demo_db, f):
    cli = scorecard.scorecard(demo_db, f).set_index("label")
    page = _page_rows(demo_db, f)
    assert sorted(page.index) == sorted(cli.index)   # the page groups by theme
    for label, row in cli.iterrows():
        shown = page.loc[label]
        assert (shown["Value"], shown["Target"], shown["Change"], shown["Period"]) == \
            (row["value"], row["target"], row["change"], row["period"]), label
        for page_col, cli_col in (("RAG", "rag"), ("Assurance", "assurance"), ("Variation", "variation")):
            if row[cli_col] in SYMBOLS or shown[page_col] in SYMBOLS:
                assert shown[page_col] == row[cli_col], (label, page_col)


def test_a_target_with_too_few_points_has_no_assurance_yet(demo_db):
    """Assurance needs a target ([z] without one) and enough points ([x] when too few)."""
    f = Filters(2024, 2025, ("E07000105",))
    cli = scorecard.scorecard(demo_db, f).set_index("id")
    page = _page_rows(demo_db, f)
    lines = {ln.kpi.id: ln for ln in scorecard.lines(demo_db, f)}
    for kpi_id, ln in lines.items():
        if not ln.kpi.has_rag:
            assert cli.loc[kpi_id, "assurance"] == "[z]" == page.loc[ln.kpi.label, "Assurance"]
        elif ln.spc.assurance is None:
            assert cli.loc[kpi_id, "assurance"] == "[x]" == page.loc[ln.kpi.label, "Assurance"]


def test_the_pack_uses_the_same_line(demo_db):
    f = CASES[2]
    halves = [meeting._headlines(demo_db, f, half) for half in (0, 1)]
    cli = scorecard.scorecard(demo_db, f).set_index("label")
    rows = [r for slide in halves for _, r in slide.table.iterrows()]
    assert sorted(r["Indicator"] for r in rows) == sorted(cli.index)   # every KPI on one of the two screens
    for r in rows:
        assert (r["Value"], r["Target"], r["Change"]) == tuple(cli.loc[r["Indicator"], ["value", "target", "change"]])
        assert r.get("Filters not applied", "") == cli.loc[r["Indicator"], "filters_not_applied"]


def test_a_filter_a_kpi_cannot_honour_is_said_on_the_page_in_the_csv_and_the_cli(demo_db, demo_path):
    """Communication and interaction · Early years: KS4 Attainment 8 is for all pupils on SEN
    support, and its line says so (the theme table is what the CSV exports)."""
    page = _page_rows(demo_db, CASES[2])
    ks4 = next(lbl for lbl in page.index if "Attainment 8" in lbl)
    note = page.loc[ks4, "Filters not applied"]
    assert "results are not published by area of need" in note and "not cut by phase" in note
    assert page.loc["Referrals", "Filters not applied"] == ""           # activity honours both
    assert "Filters not applied" not in _page_rows(demo_db, CASES[0]).columns   # nothing to say
    out = subprocess.run([sys.executable, "-m", "stls", "kpis", "--db", str(demo_path), "--year", "2025/26",
                          "--format", "json"], cwd=ROOT, capture_output=True, text=True, check=True)
    rows = {r["id"]: r for r in json.loads(out.stdout)["kpis"]}
    assert rows["ks4_a8_sen_support"]["filters_not_applied"] == ""     # the command line has no such filters


def test_z_where_a_figure_cannot_exist_x_where_it_is_not_available(demo_db):
    """Intensive Specialist Support began in September 2022: before it the figure cannot exist
    ([z]), its first year has no previous year to compare with ([z]); a year with no KS2
    assessments exists but is not available ([x])."""
    from stls.kpi import catalogue
    from stls.store import queries
    extent = queries.data_extent(demo_db)
    iss = catalogue.get("intensive_support")
    before = scorecard.line(demo_db, iss, Filters(2016, 2021)).fields
    assert before["value"] == "[z]" and before["period"] == "not applicable before September 2022"
    assert all(before[k] == "[z]" for k in ("previous_period", "previous", "change", "direction", "variation"))
    first = scorecard.line(demo_db, iss, Filters(2016, 2022)).fields
    assert first["value"] not in SYMBOLS and first["previous"] == "[z]" and first["change"] == "[z]"
    ks2 = scorecard.line(demo_db, catalogue.get("ks2_rwm_sen_support"), Filters(2019, 2020)).fields
    assert ks2["value"] == "[x]"
    # months before the activity began are [z] on the Overview's monthly table; months after are numbers
    from stls.present.views import overview
    table = overview.page(demo_db, Filters(2021, 2022), ("referral", "intensive_support")).monthly.table.set_index("Month")
    assert table.loc["Aug 2022", "Intensive Specialist Support"] == "[z]"
    assert table.loc["Sep 2022", "Intensive Specialist Support"] not in SYMBOLS
    assert table.loc["Aug 2022", "Referrals"] not in SYMBOLS
