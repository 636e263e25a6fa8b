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
    if hidden[table > 0].all():
        # Nothing but zeros is shown. The attacker's worst-case knowledge (every hidden count is
        # 1 to 4, and it knows which) can still pin cells of a table whose counts are all small,
        # such as [[1, 1], [1, 1]] with its totals; nothing shown reveals them, and no more can
        # be hidden.
        return
    assert _pinned(table, hidden, row_totals, col_totals) == []


def test_single_small_cell_in_a_two_way_table_gets_a_rectangle():
    table = _with_totals(np.array([[3, 10, 12], [8, 9, 20]], dtype=float), True, True)
    hidden = disclosure.suppress_counts(table, True, True, t=5)
    assert hidden.sum() == 4 and hidden[0, 0] and hidden[0, 1] and hidden[1, 0] and hidden[1, 1]


def test_a_table_with_a_total_row_and_rates_on_its_counts():
    """A 3, B 40, C 50 referrals, Kent 93; a rate on each district's referrals. A's 3 is hidden;
    Kent − B − C would give it, so the cheapest sibling (B) goes too, and so do their rates."""
    gate = disclosure.Gate(t=5)
    for d, n, pupils in (("A", 3, 60), ("B", 40, 100), ("C", 50, 120)):
        gate.count((d, "referrals"), [d], n)
        gate.derived((d, "rate"), ([d], n), ([("pupils", d)], pupils))
    gate.count(("Kent", "referrals"), ["A", "B", "C"], 93)
    assert gate.hidden() == {("A", "referrals"), ("B", "referrals"), ("A", "rate"), ("B", "rate")}
    assert disclosure.cells([3, 40, float("nan")], [True, False, False]) == ["[c]", "40", "[x]"]


def test_rate_hidden_when_cohort_small():
    gate = disclosure.Gate(t=5)
    gate.derived("small", ([("cohort", 1)], 4))
    gate.derived("large", ([("cohort", 2)], 40))
    assert gate.hidden() == {"small"}


def test_threshold_is_configurable(monkeypatch):
    monkeypatch.setenv("STLS_DISCLOSURE_THRESHOLD", "10")
    gate = disclosure.Gate()
    gate.count("seven", ["a"], 7)
    gate.count("ten", ["b"], 10)
    assert gate.t == 10 and gate.hidden() == {"seven"}
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
