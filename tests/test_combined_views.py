"""An attacker that combines views, and the check that a cell shows one value in every view.

Counts about children are protected in the data layer by ONS's cell key method
(stls/disclosure.py): a cell (a set of records) shows its count plus an adjustment of at most
``disclosure.largest_adjustment()`` either way, looked up in the shipped ptable by its cell key; a
protected count under the threshold shows as [c]; a cell with no records shows 0. The same records
are the same cell, so they show the same value wherever they are shown.

For demo databases built from seeds the method was not written against, this file reads the
Overview's monthly activity table and the Data page's monthly table by district, and the referrals,
school visits and Intensive Specialist Support headline cards, under every value of one filter and
'all' (area of need; phase; area of need within post-16 and within early years), for single
districts, two selections of districts holding them, all 12 districts chosen and Kent, and for each
of two academic years against the two taken together. Every figure shown is the sum of *atoms*: the
finest cells (district, month, activity type, area of need, phase), whose true counts are read
from ``activity_monthly`` with a connection of its own.

- The attacker knows the method and the ptable's bounds, not the record keys: a figure shown as
  s > 0 is a count from max(1, s − D) to s + D; a 0 is exactly 0 (no records); a [c] is a count
  from 1 to t − 1 + D; atoms are at least 0. (It is also told that these activity types always
  record an area of need and a phase, which the demo's data bear out: a stronger attacker than a
  real one.) For every figure whose true count is 1 to t − 1, it solves two linear programmes
  (SciPy's HiGHS) for that figure's least and greatest value; the figure is *pinned* if fewer than
  two whole numbers remain. None may be.
- A control: the same views without perturbation (true counts shown, and [c] for 1 to t − 1, the
  old per-view suppression without secondary suppression): the same attacker pins at least one
  count, so the test above can fail.
- Consistency: every set of records shows one value in every view that shows it; that value is
  the one ONS's method gives (recomputed here from ``activity_monthly`` and stls/ptable.csv read
  with pandas); and named routes to the same cell agree (a district's table against the table by
  district, a card against ``metrics.kpi_series``, all 12 districts against Kent, an area of need
  holding every record against all areas, one year against a range of two, the Overview's table).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from conftest import DEMO_UNTIL
from stls import compare, disclosure, metrics, queries
from stls import reference as ref
from stls.db import Database
from stls.demo import build_demo
from stls.filters import Filters
from stls.views import overview

SEEDS = (101, 202, 303)   # not conftest's DEMO_SEED: seeds the method was not written against
SCALE = 0.25              # a quarter of the demo's activity: more small counts, and quicker
YEARS = (2024, 2025)      # the two latest academic years complete before DEMO_UNTIL
SELECTIONS = (("E07000107", "E07000109"),                 # Dartford, Gravesham
              ("E07000105", "E07000108", "E07000112"))    # Ashford, Dover, Folkestone and Hythe
MEMBERS = tuple(d for s in SELECTIONS for d in s)
ALL_DISTRICTS = tuple(ref.DISTRICT_CODES)
KENT: tuple[str, ...] = ()
GEOGRAPHIES = (*((d,) for d in MEMBERS), *SELECTIONS, ALL_DISTRICTS, KENT)
AREAS, PHASES = tuple(ref.NEED_AREAS), tuple(ref.PHASES)
SMALL_PHASES = ("post_16", "early_years")
# (area of need, phase): every value of one filter and 'all', and every area within the small phases
COMBOS = ((None, None), *((a, None) for a in AREAS), *((None, p) for p in PHASES),
          *((a, p) for p in SMALL_PHASES for a in AREAS))
CARDS = {"referrals": "referral", "school_visits": "school_visit", "intensive_support": "intensive_support"}
YEAR_RANGES = ((YEARS[0], YEARS[0]), (YEARS[1], YEARS[1]), YEARS)
TYPES = tuple(sorted(ref.CHILD_LEVEL_TYPES))
MONTHS = tuple(dt.date(y + (k + 8) // 12, (k + 8) % 12 + 1, 1) for y in YEARS for k in range(12))
MONTH_INDEX = {m: i for i, m in enumerate(MONTHS)}
SHAPE = (len(ALL_DISTRICTS), len(MONTHS), len(TYPES), len(AREAS), len(PHASES))   # the atoms
EPS = 1e-6
MIN_TARGETS = 30   # small counts each seed's views must show, so the attacker cannot pass vacuously


# --- what the views show, as sums of atoms ---------------------------------------------------------

@dataclass
class Figure:
    """One count as a view shows it: the atoms it adds up, and its value (NaN when [c])."""
    view: str
    atoms: np.ndarray
    value: float
    hidden: bool

    @property
    def display(self) -> str:
        return "[c]" if self.hidden else f"{self.value:.0f}"


def _atoms(districts: tuple[str, ...], months, type_: str, need: str | None, phase: str | None) -> np.ndarray:
    """The atoms of a cell: these districts (none: Kent) and months, one type, the area of need and
    phase (None: every one)."""
    grid = np.ix_([ALL_DISTRICTS.index(d) for d in districts or ALL_DISTRICTS], list(months), [TYPES.index(type_)],
                  [AREAS.index(need)] if need else range(len(AREAS)), [PHASES.index(phase)] if phase else range(len(PHASES)))
    return np.ravel_multi_index(np.broadcast_arrays(*grid), SHAPE).ravel()


def _months_of(year: int) -> list[int]:
    return [MONTH_INDEX[m] for m in compare.year_months(year, 11)]


def _where(districts: tuple[str, ...], need, phase) -> str:
    geo = "Kent" if not districts else "all 12 districts" if districts == ALL_DISTRICTS else "+".join(
        ref.DISTRICT_NAMES[d] for d in districts)
    return f"{geo}, need={need or 'all'}, phase={phase or 'all'}"


def _monthly(rows: pd.DataFrame, districts, need, phase, years: tuple[int, int], view: str) -> list[Figure]:
    """A monthly table's figures: every month of ``years`` and child-level type, a month and type
    without a row being a cell with no records (it shows 0)."""
    shown = {(pd.Timestamp(m).date(), t): (v, h) for m, t, v, h in
             zip(rows["month"], rows["activity_type"], rows["activities"], rows["activities_hidden"]) if t in TYPES}
    out = []
    for m in (m for y in range(years[0], years[1] + 1) for m in _months_of(y)):
        for t in TYPES:
            value, hidden = shown.pop((MONTHS[m], t), (0.0, False))
            out.append(Figure(f"{view} ({_where(districts, need, phase)}) {MONTHS[m]:%b %Y} {t}",
                              _atoms(districts, [m], t, need, phase), float(value), bool(hidden)))
    assert not shown, f"{view} has rows outside its years: {sorted(shown)[:3]}"
    return out


def _cards(h: compare.Headline, kpi: str, districts, need, phase, years: tuple[int, int]) -> list[Figure]:
    """A headline card's figures: its value, and its previous value when that is in the years chosen."""
    out = []
    for year, value, hidden in ((h.year, h.value, h.suppressed), (h.previous_year, h.previous, h.previous_suppressed)):
        if year is None or not years[0] <= year <= years[1]:
            continue
        assert hidden or value is not None, f"card {kpi} {year} shows nothing for {_where(districts, need, phase)}"
        out.append(Figure(f"card {kpi} {ref.academic_year_label(year)} (years {years[0]}-{years[1]}, "
                          f"{_where(districts, need, phase)})", _atoms(districts, _months_of(year), CARDS[kpi], need, phase),
                          math.nan if hidden else float(value), bool(hidden)))
    return out


def gather(db) -> list[Figure]:
    """Every figure the views show, for every filter combination and geography chosen."""
    figures: list[Figure] = []
    for need, phase in COMBOS:
        for years in ((YEARS[1], YEARS[1]), YEARS):   # the tables: one year, and the two years together
            f = Filters(*years, need=need, phase=phase)
            for geo in GEOGRAPHIES:
                rows = queries.monthly_activity_by_type(db, f.with_(districts=geo))
                figures += _monthly(rows, geo, need, phase, years, "monthly_activity_by_type")
            rows = queries.monthly_activity_by_district(db, f)
            for d in ALL_DISTRICTS:
                figures += _monthly(rows[rows["district_code"] == d], (d,), need, phase, years, "monthly_activity_by_district")
        for kpi in CARDS:
            for years in YEAR_RANGES:
                for geo in GEOGRAPHIES:
                    h = compare.headline(db, kpi, Filters(*years, geo, need, phase))
                    figures += _cards(h, kpi, geo, need, phase, years)
    return figures


def truth(path) -> tuple[np.ndarray, np.ndarray]:
    """Each atom's true count and the sum of its records' keys, from ``activity_monthly``."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        frame = con.execute("""
            SELECT district_code::VARCHAR AS d, month, activity_type::VARCHAR AS t, need_area::VARCHAR AS a,
                   phase::VARCHAR AS p, sum(activities)::BIGINT AS n, sum(ckey)::BIGINT AS k
            FROM activity_monthly WHERE academic_year BETWEEN ? AND ? AND activity_type::VARCHAR IN (SELECT unnest(?))
            GROUP BY ALL""", [YEARS[0], YEARS[1], list(TYPES)]).df()
    finally:
        con.close()
    # the attacker's model (atoms by area of need × phase) rests on this; so do the true counts
    assert frame["a"].notna().all() and frame["p"].notna().all(), "a child-level activity without area of need or phase"
    index = np.ravel_multi_index((frame["d"].map(ALL_DISTRICTS.index), frame["month"].map(lambda m: MONTH_INDEX[pd.Timestamp(m).date()]),
                                  frame["t"].map(TYPES.index), frame["a"].map(AREAS.index), frame["p"].map(PHASES.index)), SHAPE)
    n, k = np.zeros(np.prod(SHAPE), dtype=np.int64), np.zeros(np.prod(SHAPE), dtype=np.int64)
    n[index], k[index] = frame["n"].to_numpy(), frame["k"].to_numpy()
    return n, k


@dataclass
class World:
    seed: int
    db: Database
    figures: list[Figure]
    n: np.ndarray   # each atom's true count
    key: np.ndarray  # each atom's sum of record keys

    def count(self, fig: Figure) -> int:
        return int(self.n[fig.atoms].sum())


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def world(request, tmp_path_factory) -> World:
    path = tmp_path_factory.mktemp(f"combined{request.param}") / "stls.duckdb"
    build_demo(path, seed=request.param, scale=SCALE, until=DEMO_UNTIL)
    db = Database(path)
    n, key = truth(path)
    return World(request.param, db, gather(db), n, key)


# --- the attacker ------------------------------------------------------------------------------------

def published_bounds(fig: Figure, t: int, d: int) -> tuple[float, float]:
    """What a figure tells someone who knows the method and the ptable's bounds: its count's range."""
    if fig.hidden:
        return 1, t - 1 + d
    if fig.value == 0:
        return 0, 0
    return max(1, fig.value - d), fig.value + d


def unperturbed_bounds(n: int, t: int) -> tuple[float, float]:
    """The control: true counts shown, 1 to t − 1 as [c] (per-view suppression, nothing secondary)."""
    return (0, 0) if n == 0 else (1, t - 1) if n < t else (n, n)


def _two_whole_numbers(low: float, high: float) -> bool:
    return math.floor(high + EPS) - math.ceil(low - EPS) >= 1


def attack(figures: list[Figure], bounds: list[tuple[float, float]], n: np.ndarray, t: int,
           first_only: bool = False) -> tuple[int, list[str]]:
    """Solve for every figure whose true count is 1 to t − 1; returns how many were checked and
    those pinned (fewer than two whole numbers between its least and greatest value).

    Atoms in a figure shown as 0 are 0; each other figure bounds the sum of its remaining atoms
    (figures over the same atoms intersect). The programme splits into independent parts
    (connected components of atoms and figures). In each, every solution found is kept: a
    figure that two kept solutions already put two whole numbers apart cannot be pinned and needs
    no programme of its own."""
    zero = np.zeros(n.size, dtype=bool)
    for fig, (_, high) in zip(figures, bounds):
        if high == 0:
            zero[fig.atoms] = True
    live = np.flatnonzero(~zero)
    col = np.full(n.size, -1)
    col[live] = np.arange(live.size)

    def columns(fig: Figure) -> np.ndarray:
        c = col[fig.atoms]
        return np.sort(c[c >= 0])

    rows: dict[bytes, list] = {}
    targets: dict[bytes, list] = {}
    for fig, (low, high) in zip(figures, bounds):
        cols = columns(fig)
        if not cols.size:
            assert low == 0, f"{fig.view}: shown as a count, but every atom is known to be 0"
            continue
        row = rows.setdefault(cols.tobytes(), [cols, low, high])
        row[1], row[2] = max(row[1], low), min(row[2], high)
        if 1 <= n[fig.atoms].sum() <= t - 1:
            targets.setdefault(cols.tobytes(), [cols, fig.view])
    cons = list(rows.values())
    matrix = _matrix([c for c, _, _ in cons], live.size)
    low = np.array([lo for _, lo, _ in cons], dtype=float)
    high = np.array([hi for _, _, hi in cons], dtype=float)
    graph = sparse.bmat([[None, matrix.T], [matrix, None]]).tocsr()
    _, label = connected_components(graph, directed=False)
    atom_part, row_part = label[:live.size], label[live.size:]
    pinned: list[str] = []
    by_part: dict[int, list] = {}
    for cols, view in targets.values():
        by_part.setdefault(int(atom_part[cols[0]]), []).append((cols, view))
    for part, found in by_part.items():
        atoms = np.flatnonzero(atom_part == part)
        local = np.full(live.size, -1)
        local[atoms] = np.arange(atoms.size)
        keep = row_part == part
        a = matrix[keep][:, atoms]
        eq = low[keep] == high[keep]
        a_ub = sparse.vstack([a[~eq], -a[~eq]]).tocsr()
        b_ub = np.r_[high[keep][~eq], -low[keep][~eq]]
        a_eq, b_eq = (a[eq], high[keep][eq]) if eq.any() else (None, None)
        goal = _matrix([local[c] for c, _ in found], atoms.size)

        def solve(c: np.ndarray) -> np.ndarray:
            res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
            assert res.status == 0, f"the attacker's programme failed ({res.message}): the views contradict the method"
            return res.x

        total = np.asarray(goal.sum(axis=0)).ravel()
        values = goal @ np.column_stack([solve(total), solve(-total)])
        for i, (_, view) in enumerate(found):
            if _two_whole_numbers(values[i].min(), values[i].max()):
                continue
            row = goal[i].toarray().ravel()
            least, most = solve(row), solve(-row)
            ends = (float(row @ least), float(row @ most))
            if not _two_whole_numbers(*ends):
                pinned.append(f"{view}: between {ends[0]:.2f} and {ends[1]:.2f}")
                if first_only:
                    return len(targets), pinned
            values = np.column_stack([values, goal @ np.column_stack([least, most])])
    return len(targets), pinned


def _matrix(columns: list[np.ndarray], width: int) -> sparse.csr_matrix:
    """Rows of ones at the given columns."""
    indptr = np.r_[0, np.cumsum([len(c) for c in columns])]
    indices = np.concatenate(columns) if columns else np.zeros(0, dtype=int)
    return sparse.csr_matrix((np.ones(indices.size), indices, indptr), shape=(len(columns), width))


# --- the tests -------------------------------------------------------------------------------------------

def test_no_small_count_can_be_pinned_by_combining_views(world):
    t, d = disclosure.threshold(), disclosure.largest_adjustment()
    bounds = [published_bounds(f, t, d) for f in world.figures]
    wrong = [f"{f.view}: true {world.count(f)}, shown {f.display}" for f, (lo, hi) in zip(world.figures, bounds)
             if not lo <= world.count(f) <= hi]
    assert not wrong, "figures outside the bounds the method promises:\n" + "\n".join(wrong[:20])
    checked, pinned = attack(world.figures, bounds, world.n, t)
    print(f"seed {world.seed}: {len(world.figures)} figures, {checked} small counts checked, {len(pinned)} pinned")
    assert checked > MIN_TARGETS, f"only {checked} counts from 1 to {t - 1} shown: the attack proves little"
    assert not pinned, f"{len(pinned)} counts pinned by combining views:\n" + "\n".join(pinned[:20])


def test_the_attacker_pins_counts_when_nothing_is_perturbed(world):
    """Without perturbation the same views give counts away: the attacker above can find them."""
    t = disclosure.threshold()
    bounds = [unperturbed_bounds(world.count(f), t) for f in world.figures]
    checked, pinned = attack(world.figures, bounds, world.n, t, first_only=True)
    print(f"seed {world.seed}: control pins {pinned[:1]}")
    assert checked > MIN_TARGETS and pinned


def test_the_same_records_show_the_same_value_in_every_view(world):
    """A cell is its set of records: every view showing the same records shows the same value."""
    shown: dict[bytes, dict[str, str]] = {}
    for f in world.figures:
        records = np.sort(f.atoms[world.n[f.atoms] > 0])
        shown.setdefault(records.tobytes(), {}).setdefault(f.display, f.view)
    differ = [" vs ".join(f"{v}: {view}" for v, view in views.items()) for views in shown.values() if len(views) > 1]
    print(f"seed {world.seed}: {len(shown)} distinct cells in {len(world.figures)} figures")
    assert not differ, f"{len(differ)} cells show different values in different views:\n" + "\n".join(differ[:20])


def _ons_display(n: int, key: int, table: np.ndarray, t: int) -> str:
    """ONS's cell key method, from the ptable read here: rows above the table's last use
    ((n − 1) mod 250) + 501."""
    if n == 0:
        return "0"
    row = n if n <= 750 else (n - 1) % 250 + 501
    value = n + int(table[row, key % disclosure.KEY_RANGE])
    return "[c]" if value < t else f"{value}"


def test_every_figure_is_the_cell_key_method_on_its_records(world):
    ptable = pd.read_csv(disclosure.PTABLE)
    table = np.zeros((ptable["pcv"].max() + 1, 256), dtype=np.int64)
    table[ptable["pcv"], ptable["ckey"]] = ptable["pvalue"]
    assert ptable["pcv"].max() == 750 and ptable["pvalue"].abs().max() == disclosure.largest_adjustment()
    t = disclosure.threshold()
    wrong, large = [], 0
    for f in world.figures:
        n = world.count(f)
        large += n > 750
        expected = _ons_display(n, int(world.key[f.atoms].sum()), table, t)
        if f.display != expected:
            wrong.append(f"{f.view}: shows {f.display}, the method gives {expected} (n={n})")
    assert large, "no figure over 750: the ptable's wrap-around rule went untested"
    assert not wrong, f"{len(wrong)} figures differ from the method:\n" + "\n".join(wrong[:20])


def _frame_key(frame: pd.DataFrame, cols) -> pd.DataFrame:
    return frame[list(cols)].astype({"activities": float}).reset_index(drop=True)


@pytest.mark.parametrize("need,phase", [(None, None), ("SEMH", None), (None, "post_16"), ("CI", "early_years")])
def test_a_district_alone_is_its_row_in_the_table_by_district(world, need, phase):
    f = Filters(*YEARS, need=need, phase=phase)
    by_district = queries.monthly_activity_by_district(world.db, f)
    for d in ALL_DISTRICTS:
        alone = queries.monthly_activity_by_type(world.db, f.with_(districts=(d,)))
        mine = by_district[by_district["district_code"] == d]
        cols = ("month", "activity_type", "activities", "activities_hidden")
        pd.testing.assert_frame_equal(_frame_key(alone, cols), _frame_key(mine, cols), obj=f"{d} {need} {phase}")


@pytest.mark.parametrize("kpi", list(CARDS))
def test_a_card_is_its_kpi_series(world, kpi):
    for d in (*MEMBERS, None):
        for need, phase in ((None, None), ("CL", None), (None, "post_16")):
            f = Filters(YEARS[1], YEARS[1], (d,) if d else (), need, phase)
            h = compare.headline(world.db, kpi, f)
            series = metrics.kpi_series(world.db, kpi, f)
            row = series[series["period"] == dt.date(YEARS[1], 9, 1)].iloc[0]
            flag = bool(row[disclosure.hidden_column("n")])
            where = _where(f.districts, need, phase)
            assert h.year == YEARS[1] and h.suppressed == flag, where
            assert flag or h.value == row["value"], f"{kpi} {where}: card {h.value}, kpi_series {row['value']}"


def test_all_twelve_districts_chosen_are_kent(world):
    """A selection of every district is the same records as Kent: the same cards and table."""
    for need, phase in ((None, None), ("SP", None), (None, "early_years"), ("CI", "post_16")):
        f = Filters(*YEARS, need=need, phase=phase)
        kent, every = f, f.with_(districts=ALL_DISTRICTS)
        pd.testing.assert_frame_equal(queries.monthly_activity_by_type(world.db, kent),
                                      queries.monthly_activity_by_type(world.db, every), obj=f"table {need} {phase}")
        for kpi in CARDS:
            a, b = compare.headline(world.db, kpi, kent), compare.headline(world.db, kpi, every)
            assert (a.display, a.previous_display, a.year) == (b.display, b.previous_display, b.year), (kpi, need, phase)


def test_an_area_of_need_holding_every_record_shows_the_all_areas_figure(world):
    """Where one area of need (or phase) has every record of a district's month and type, the
    figure under that filter is the figure for all of them."""
    found = 0
    n = world.n.reshape(SHAPE)
    for d in MEMBERS:
        di = ALL_DISTRICTS.index(d)
        f = Filters(*YEARS, districts=(d,))
        table = lambda g: queries.monthly_activity_by_type(world.db, g).set_index(["month", "activity_type"])
        every = table(f)
        for names, field in ((AREAS, "need"), (PHASES, "phase")):
            parts = n[di].sum(axis=3 if field == "need" else 2)   # month × type × area of need (or phase)
            only = (parts > 0).sum(axis=2) == 1
            tables = {name: table(f.with_(**{field: name})) for name in names}
            for m, ti in zip(*np.nonzero(only)):
                one = tables[names[int(np.argmax(parts[m, ti]))]]
                key = (MONTHS[m], TYPES[ti])
                a, b = every.loc[key], one.loc[key]
                assert (a["activities_hidden"], a["activities"]) == (b["activities_hidden"], b["activities"]) or \
                    (a["activities_hidden"] and b["activities_hidden"]), f"{d} {key} {field}"
                found += 1
    assert found, "no district-month with a single area of need or phase: the check proves nothing"


def test_one_year_shows_what_a_range_of_two_shows_for_it(world):
    for geo in ((MEMBERS[0],), SELECTIONS[1], KENT):
        for need, phase in ((None, None), ("SEMH", "post_16")):
            both = Filters(*YEARS, geo, need, phase)
            rows = queries.monthly_activity_by_type(world.db, both)
            one = queries.monthly_activity_by_type(world.db, both.with_(year_from=YEARS[1]))
            later = rows[rows["month"].map(lambda m: pd.Timestamp(m).date() >= dt.date(YEARS[1], 9, 1))]
            pd.testing.assert_frame_equal(later.reset_index(drop=True), one.reset_index(drop=True))
            for kpi in CARDS:
                h = compare.headline(world.db, kpi, both)
                first = compare.headline(world.db, kpi, both.with_(year_to=YEARS[0]))
                last = compare.headline(world.db, kpi, both.with_(year_from=YEARS[1]))
                assert (h.display, h.previous_display) == (last.display, first.display), (kpi, geo, need, phase)


def test_the_overview_table_shows_the_data_layer_cells(world):
    for geo, phase in (((MEMBERS[0],), None), (SELECTIONS[0], "post_16")):
        f = Filters(YEARS[1], YEARS[1], geo, phase=phase)
        table = overview.page(world.db, f).monthly.table
        rows = queries.monthly_activity_by_type(world.db, f)
        for t in ("referral", "school_visit", "advice"):
            mine = rows[rows["activity_type"] == t].set_index("month")
            expected = {f"{pd.Timestamp(m):%b %Y}": disclosure.cell(v, h) for m, v, h in
                        zip(mine.index, mine["activities"], mine["activities_hidden"])}
            shown = dict(zip(table["Month"], table[ref.ACTIVITY_LABELS[t]]))
            for month, text in shown.items():
                assert text == expected.get(month, "0"), (t, month, geo, phase)
