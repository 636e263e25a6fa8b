"""The command line: scorecard for Kent and every district; clear refusals."""
import json
import subprocess
import sys

import pytest
from conftest import ROOT

from stls import reference as ref
from stls.cli import main
from stls.kpi import catalogue


def test_scorecard_for_kent_lists_every_kpi(demo_path, capsys):
    assert main(["kpis", "--db", str(demo_path)]) == 0
    out = capsys.readouterr().out
    assert "Kent · 2016/17 to 2025/26" in out
    for kpi_id in catalogue.catalogue():
        assert kpi_id in out


@pytest.mark.parametrize("district", ref.DISTRICT_CODES)
def test_scorecard_json_for_each_district(demo_path, capsys, district):
    assert main(["kpis", "--db", str(demo_path), "--district", district, "--year", "2024/25", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["filters"].startswith(ref.DISTRICT_NAMES[district])
    rows = {r["id"]: r for r in data["kpis"]}
    assert set(rows) == set(catalogue.catalogue())
    assert rows["ks2_rwm_sen_support"]["period"] == "2024/25"
    assert all(r["value"] not in ("", None) for r in rows.values())


def test_csv_format(demo_path, capsys):
    assert main(["kpis", "--db", str(demo_path), "--district", "Shepway", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].startswith('"Folkestone and Hythe')
    assert "id,label,theme,period,value" in out


@pytest.mark.parametrize("args,message", [
    (["--district", "Medway"], "unknown district 'Medway'"),
    (["--district", "Tunbridge Well"], "Did you mean 'Tunbridge Wells'?"),
    (["--year", "2031/32"], "no data for 2031/32"),
    (["--year", "2024/26"], "the years must follow each other"),
])
def test_refusals(demo_path, args, message):
    proc = subprocess.run([sys.executable, "-m", "stls", "kpis", "--db", str(demo_path), *args],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and message in proc.stderr and proc.stdout == ""


def test_empty_database_is_refused_clearly(tmp_path, capsys):
    assert main(["kpis", "--db", str(tmp_path / "empty.duckdb")]) == 2
    assert "holds no activity data yet" in capsys.readouterr().err


def test_demo_command(tmp_path, capsys):
    assert main(["demo", "--db", str(tmp_path / "d.duckdb"), "--scale", "0.1", "--until", "2018-08"]) == 0
    out = capsys.readouterr().out
    assert "Built the synthetic demo database" in out and "activity" in out
