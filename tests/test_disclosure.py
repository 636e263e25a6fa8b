"""Disclosure control: small numbers hidden, and no hidden small count can be pinned from what is shown."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from stls import disclosure, export
from tests.attacker import pinned_cells


def _with_totals(inner: np.ndarray, row_totals: bool, col_totals: bool) -> np.ndarray:
    table = inner
    if row_totals:
        table = np.hstack([table, table.sum(axis=1, keepdims=True)])
    if col_totals:
        table = np.vstack([table, table.sum(axis=0, keepdims=True)])
    return table


def _pinned(table: np.ndarray, hidden: np.ndarray, row_totals: bool, col_totals: bool, t: int = 5) -> list:
    """The hidden counts from 1 to t − 1 that the independent attacker (tests/attacker.py) pins,
    each inner cell an atom and each total the sum of its line."""
    rows, cols = table.shape
    inner_r, inner_c = rows - col_totals, cols - row_totals
    shown, small, other = {}, {}, {}
    for r in range(rows):
        for c in range(cols):
            rr = range(inner_r) if r >= inner_r else (r,)
            cc = range(inner_c) if c >= inner_c else (c,)
            entry = ([(i, j) for i in rr for j in cc], table[r, c])
            target = (small if 0 < table[r, c] < t else other) if hidden[r, c] else shown
            target[(r, c)] = entry
    return pinned_cells(shown, small, other, t)


small_counts = st.integers(min_value=0, max_value=40).map(lambda v: v if v > 12 else v % 7)


@settings(max_examples=300, deadline=None)
@given(st.integers(2, 6), st.integers(2, 6), st.booleans(), st.booleans(), st.data())
def test_no_suppressed_value_can_be_recovered(r, c, row_totals, col_totals, data):
    inner = np.array(data.draw(st.lists(st.lists(small_counts, min_size=c, max_size=c), min_size=r, max_size=r)),
                     dtype=float)
    table = _with_totals(inner, row_totals, col_totals)
    hidden = disclosure.suppress_counts(table, row_totals, col_totals, t=5)
    primary = (table > 0) & (table < 5)
    assert hidden[primary].all(), "every count from 1 to 4 is hidden"
    assert _pinned(table, hidden, row_totals, col_totals) == []


def test_single_small_cell_in_a_two_way_table_gets_a_rectangle():
    table = _with_totals(np.array([[3, 10, 12], [8, 9, 20]], dtype=float), True, True)
    hidden = disclosure.suppress_counts(table, True, True, t=5)
    assert hidden.sum() == 4 and hidden[0, 0] and hidden[0, 1] and hidden[1, 0] and hidden[1, 1]


def test_protect_table_symbols_rates_and_display():
    df = pd.DataFrame({"district": ["A", "B", "C", "Kent"], "referrals": [3, 40, 50, 93],
                       "pupils": [60, 100, 120, 280], "rate": [5.0, 40.0, 41.7, 33.2],
                       "ks2": [None, 30.0, 25.0, 27.0], "cohort": [30, 50, 60, 140]})
    p = disclosure.protect(df, counts=["referrals"], total_row=True,
                           rates={"rate": ("referrals", "pupils"), "ks2": (None, "cohort")})
    assert p.display["referrals"].tolist() == ["[c]", "[c]", "50", "93"]
    assert p.display["rate"].tolist()[:2] == ["[c]", "[c]"]
    assert p.display["ks2"].tolist() == ["[x]", "30.0", "25.0", "27.0"]
    assert np.isnan(p.numeric.loc[0, "referrals"]) and p.numeric.loc[2, "referrals"] == 50
    assert p.symbols == {"[c]", "[x]"}


def test_rate_hidden_when_cohort_small():
    df = pd.DataFrame({"value": [50.0, 60.0], "cohort": [4, 40]})
    p = disclosure.protect(df, rates={"value": (None, "cohort")})
    assert p.display["value"].tolist() == ["[c]", "60.0"]


def test_threshold_is_configurable(monkeypatch):
    monkeypatch.setenv("STLS_DISCLOSURE_THRESHOLD", "10")
    assert disclosure.protect_value(7) == "[c]" and disclosure.protect_value(10) is None
    monkeypatch.setenv("STLS_DISCLOSURE_THRESHOLD", "nonsense")
    assert disclosure.threshold() == 5


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
