"""Schema, reference lists and the atomic file swap."""
import duckdb
import pandas as pd
import pytest

from stls import reference as ref
from stls.store import db as dbmod


def test_new_path_gets_schema_and_reference_lists_but_no_data(tmp_path):
    path = tmp_path / "sub" / "new.duckdb"
    handle = dbmod.Database(path)
    assert path.exists()
    names = dict(handle.query("SELECT code, name FROM districts").itertuples(index=False))
    assert len(names) == 12 and names["E07000112"] == "Folkestone and Hythe"
    areas = dict(handle.query("SELECT code, area FROM districts").itertuples(index=False))
    assert areas["E07000107"] == "North" and areas["E07000116"] == "West"
    aliases = dict(handle.query("SELECT alias, geography_code FROM district_aliases").itertuples(index=False))
    assert aliases["shepway"] == "E07000112" and aliases["t and m"] == "E07000115"
    services = handle.query("SELECT code FROM services")["code"].tolist()
    assert len(services) == 14 and {"SENSORY", "PD"} <= set(services)
    mapping = dict(handle.query("SELECT code, need_area FROM primary_needs").itertuples(index=False))
    assert mapping["ASD"] == "CI" and mapping["SPLD"] == "CL" and mapping["HI"] == "SP"
    assert mapping["SEMH"] == "SEMH" and pd.isna(mapping["OTH"]) and pd.isna(mapping["NSA"])
    types = handle.query("SELECT code, available_from FROM activity_types ORDER BY code")
    assert set(types["code"]) == set(ref.ACTIVITY_TYPE_CODES)
    assert str(types.set_index("code").loc["drop_in", "available_from"]) == "2022-09-01"
    assert set(handle.query("SELECT code FROM phases")["code"]) == set(ref.PHASES)
    for table in ("activity", "attainment", "sen_pupils", "settings", "budget", "import_log"):
        assert handle.scalar(f"SELECT count(*) FROM {table}") == 0


def test_enum_columns_refuse_unknown_codes(tmp_path):
    path = dbmod.ensure_database(tmp_path / "x.duckdb")
    con = duckdb.connect(str(path))
    with pytest.raises(duckdb.ConversionException):
        con.execute("INSERT INTO activity VALUES ('2024-01-05', 'E06000035', 'PD', 'referral', NULL, NULL, NULL, 1, 1, NULL)")
    con.close()


def test_failed_write_leaves_previous_file_untouched(tmp_path):
    path = dbmod.ensure_database(tmp_path / "x.duckdb")
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        with dbmod.writable_copy(path) as con:
            con.execute("INSERT INTO budget VALUES (2024, 'PD', 1.0)")
            raise RuntimeError("boom")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["x.duckdb"]


def test_swap_changes_version_and_old_reader_keeps_old_data(tmp_path):
    path = dbmod.ensure_database(tmp_path / "x.duckdb")
    old = dbmod.Database(path)
    with dbmod.writable_copy(path) as con:
        con.execute("INSERT INTO budget VALUES (2024, 'PD', 1.0)")
    new = dbmod.Database(path)
    assert new.version != old.version
    assert old.scalar("SELECT count(*) FROM budget") == 0
    assert new.scalar("SELECT count(*) FROM budget") == 1


def test_academic_year_helpers():
    import datetime as dt
    assert ref.academic_year_label(2023) == "2023/24" and ref.academic_year_label(2099) == "2099/00"
    assert ref.parse_academic_year("2023/24") == ref.parse_academic_year("2023-2024") == 2023
    with pytest.raises(ValueError):
        ref.parse_academic_year("2023/25")
    assert ref.academic_year_start(dt.date(2024, 8, 31)) == 2023
    assert ref.academic_year_start(dt.date(2024, 9, 1)) == 2024
    assert [ref.term_of(dt.date(2024, m, 1)) for m in (9, 12, 1, 3, 4, 8)] == \
        ["Autumn", "Autumn", "Spring", "Spring", "Summer", "Summer"]
    assert ref.last_complete_month(dt.date(2026, 11, 28)) == dt.date(2026, 10, 1)
    assert ref.last_complete_month(dt.date(2026, 1, 3)) == dt.date(2025, 12, 1)
    lookup = ref.district_lookup()
    assert lookup[ref.normalise_name("Tonbridge & Malling ")] == "E07000115"
    assert lookup[ref.normalise_name("F&H")] == "E07000112"
    assert "medway" not in lookup
