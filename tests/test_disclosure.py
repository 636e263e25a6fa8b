"""Disclosure control's small promises (the method itself: test_cell_key.py; views combined:
test_combined_views.py): which counts are about children, the threshold, [c] against [x] and 0,
and CSVs that say so."""
import numpy as np
import pandas as pd
import pytest

from stls import catalogue, disclosure, export
from stls import reference as ref


def test_what_is_about_children_is_declared_once():
    assert ref.CHILD_LEVEL_TYPES == {"referral", "school_visit", "advice", "drop_in", "intensive_support"}
    assert ref.NOT_BY_NEED == {"lift_meeting"}
    assert catalogue.get("school_visits").child_level_components == ("n",)
    assert catalogue.get("lift_meetings").child_level_components == ()
    assert catalogue.get("contact_rate").child_level_components == ("n", "pupils")


def test_threshold_is_configurable(monkeypatch):
    n, key = np.array([7.0, 12.0, 0.0, np.nan]), np.array([0, 0, 0, 0])
    adjusted = disclosure.perturb(n, key)
    monkeypatch.setenv("STLS_DISCLOSURE_THRESHOLD", "10")
    values, hidden = disclosure.protect(n, key)
    assert hidden.tolist() == [adjusted[0] < 10, adjusted[1] < 10, True, False]   # an empty cell is [c] too
    assert np.isnan(values[2]) and np.isnan(values[3])
    monkeypatch.setenv("STLS_DISCLOSURE_THRESHOLD", "nonsense")
    assert disclosure.threshold() == 5


def test_protect_columns_drops_keys_and_flags_the_hidden():
    frame = pd.DataFrame({"n": [1, 40, 0], "n_key": [3, 10, 0], "gbp": [5.0, 6.0, 7.0], "need_key": ["all"] * 3})
    out = disclosure.protect_columns(frame, ["n"])
    assert list(out.columns) == ["n", "gbp", "need_key", "n_hidden"]
    assert out["n_hidden"].tolist() == [True, False, True] and np.isnan(out.at[0, "n"]) and np.isnan(out.at[2, "n"])
    assert abs(out.at[1, "n"] - 40) <= disclosure.largest_adjustment()


@pytest.mark.parametrize("cell,out", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+cmd", "'+cmd"), ("@SUM(A1)", "'@SUM(A1)"),
    ("-2+3", "'-2+3"), ("-3.5", "-3.5"), ("+1.2%", "+1.2%"), ("Swale", "Swale"), ("[c]", "[c]"),
])
def test_csv_neutralises_formulas(cell, out):
    assert export.neutralise(cell) == out


def test_csv_has_title_table_and_symbol_key():
    table = pd.DataFrame({"Area": ["=evil()", "Kent"], "Referrals": ["[c]", "1,234"]})
    text = export.to_csv(table, "Referrals by area", "Kent · 2024/25").decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == '"Referrals by area"' and lines[1] == '"Kent · 2024/25"'
    assert "'=evil()" in text and "[c],\"confidential" in text
    assert lines[-1] == f'"{disclosure.ADDITIVITY_NOTE} Method: {disclosure.METHOD_DOC}."'
