"""An attacker that combines views, and the check that a cell shows one value in every view.

Counts about children are protected in the data layer by ONS's cell key method
(stls/store/disclosure.py): a cell (a set of records) shows its count plus an adjustment of at most
``disclosure.largest_adjustment()`` either way, looked up in the shipped ptable by its cell key; a
protected count under the threshold shows as [c], a cell with no records included (ONS's rule), so
[c] does not tell whether there were any records. The same records
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
  s is a count from max(1, s − D) to s + D; a [c] is a count from 0 to t − 1 + D; atoms are at
  least 0. (With empty cells shown as 0, as a first version did, every [c] was known to be at least
  1, and on seed 303 seven [c] months of two districts under their [c] year, at most 7, were each
  pinned to 1: the reason empty cells are [c].) (It is also told that these activity types always
  record an area of need and a phase, which the demo's data bear out: a stronger attacker than a
  real one.) For every figure whose true count is 1 to t − 1 it works out, by linear programming
  (SciPy's HiGHS; the continuous relaxation), the least and greatest value the figures allow it;
  the figure is *pinned* if fewer than two whole numbers lie between. None may be. (``Attack``
  settles most figures by cheaper steps first, each exact: see its docstring.)
- A control: the same views without perturbation (true counts shown, and [c] for 1 to t − 1, the
  old per-view suppression without secondary suppression): the same attacker pins at least one
  count, so the test above can fail.
- Consistency: every set of records shows one value in every view that shows it; that value is
  the one ONS's method gives (recomputed here from ``activity_monthly`` and stls/store/ptable.csv read
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
from conftest import DEMO_UNTIL
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from stls import reference as ref
from stls.filters import Filters
from stls.kpi import compare, metrics
from stls.present.views import overview
from stls.store import disclosure, queries
from stls.store.db import Database
from stls.store.demo import build_demo

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
MIN_TARGETS = 1000   # small counts each seed's views must show, so the attacker cannot pass vacuously


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
                  [AREAS.index(need)] if need else range(len(AREAS)),
                  [PHASES.index(phase)] if phase else range(len(PHASES)))
    return np.ravel_multi_index(np.broadcast_arrays(*grid), SHAPE).ravel()


def _months_of(year: int) -> list[int]:
    return [MONTH_INDEX[m] for m in compare.year_months(year, 11)]


def _where(districts: tuple[str, ...], need, phase) -> str:
    geo = "Kent" if not districts else "all 12 districts" if districts == ALL_DISTRICTS else "+".join(
        ref.DISTRICT_NAMES[d] for d in districts)
    return f"{geo}, need={need or 'all'}, phase={phase or 'all'}"


def _monthly(rows: pd.DataFrame, districts, need, phase, years: tuple[int, int], view: str) -> list[Figure]:
    """A monthly table's figures: every month of ``years`` and child-level type, a month and type
    without a row being a cell with no records (the page shows it [c])."""
    shown = {(pd.Timestamp(m).date(), t): (v, h) for m, t, v, h in
             zip(rows["month"], rows["activity_type"], rows["activities"], rows["activities_hidden"]) if t in TYPES}
    out = []
    for m in (m for y in range(years[0], years[1] + 1) for m in _months_of(y)):
        for t in TYPES:
            value, hidden = shown.pop((MONTHS[m], t), (math.nan, True))
            out.append(Figure(f"{view} ({_where(districts, need, phase)}) {MONTHS[m]:%b %Y} {t}",
                              _atoms(districts, [m], t, need, phase), float(value), bool(hidden)))
    assert not shown, f"{view} has rows outside its years: {sorted(shown)[:3]}"
    return out


def _cards(h: compare.Headline, kpi: str, districts, need, phase, years: tuple[int, int]) -> list[Figure]:
    """A headline card's figures: its value, and its previous value when that is in the years chosen."""
    out = []
    where = _where(districts, need, phase)
    for year, value, hidden in ((h.year, h.value, h.suppressed), (h.previous_year, h.previous, h.previous_suppressed)):
        if year is None or not years[0] <= year <= years[1]:
            continue
        assert hidden or value is not None, f"card {kpi} {year} shows nothing for {where}"
        out.append(Figure(f"card {kpi} {ref.academic_year_label(year)} (years {years[0]}-{years[1]}, {where})",
                          _atoms(districts, _months_of(year), CARDS[kpi], need, phase),
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
                mine = rows[rows["district_code"] == d]
                figures += _monthly(mine, (d,), need, phase, years, "monthly_activity_by_district")
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
    month = frame["month"].map(lambda m: MONTH_INDEX[pd.Timestamp(m).date()])
    index = np.ravel_multi_index((frame["d"].map(ALL_DISTRICTS.index), month, frame["t"].map(TYPES.index),
                                  frame["a"].map(AREAS.index), frame["p"].map(PHASES.index)), SHAPE)
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
        return 0, t - 1 + d
    return max(1, fig.value - d), fig.value + d


def unperturbed_bounds(n: int, t: int) -> tuple[float, float]:
    """The control: true counts shown, 1 to t − 1 as [c] (per-view suppression, nothing secondary)."""
    return (0, 0) if n == 0 else (1, t - 1) if n < t else (n, n)


class Programme:
    """Bounds on sums of atoms, low ≤ a·x ≤ high with x ≥ 0, as a linear programme for HiGHS."""

    def __init__(self, a: sparse.csr_matrix, low: np.ndarray, high: np.ndarray):
        eq = low == high
        ub = a[~eq]
        self.a_ub = sparse.vstack([ub, -ub]).tocsr() if ub.shape[0] else None
        self.b_ub = np.r_[high[~eq], -low[~eq]] if ub.shape[0] else None
        self.a_eq, self.b_eq = (a[eq], high[eq]) if eq.any() else (None, None)

    def solve(self, c: np.ndarray) -> np.ndarray:
        """A solution with the least c·x."""
        res = linprog(c, A_ub=self.a_ub, b_ub=self.b_ub, A_eq=self.a_eq, b_eq=self.b_eq, bounds=(0, None),
                      method="highs")
        assert res.status == 0, f"the attacker's programme failed ({res.message}): the views contradict the method"
        return res.x

    def moves(self, row: np.ndarray, value: float) -> bool:
        """Whether row·x can be a whole number away from ``value`` (its value in a known solution):
        its greatest value first, then its least."""
        return row @ self.solve(-row) >= value + 1 - EPS or row @ self.solve(row) <= value - 1 + EPS


class Attack:
    """What the figures shown tell about the counts they add up, as bounds on sums of atoms.

    Atoms in a figure shown as 0 are 0; every other figure bounds the sum of its remaining atoms
    (figures over the same atoms intersect). A *target* is a figure whose true count is 1 to t − 1;
    it is pinned when fewer than two whole numbers lie between the least and the greatest value
    the bounds allow it. The true counts are one solution, so a target is not pinned as soon as a
    second solution puts it a whole number away; the cheap ways of finding one come first, each
    exact (what it finds is a solution of the whole):

    1. one atom of the target moved one up or down from the true counts, every figure still in
       its bounds;
    2. a programme over the atoms near the target, every other atom held at its true count:
       first those of its months and activity type (every district), then those of its districts
       and type (every month);
    3. the whole programme: the part of it (connected atoms and figures) holding the target, its
       least and greatest value; every solution found is kept and tried on the part's other targets.
    """

    def __init__(self, figures: list[Figure], bounds: list[tuple[float, float]], n: np.ndarray, t: int):
        zero = np.zeros(n.size, dtype=bool)
        for fig, (_, high) in zip(figures, bounds):
            if high == 0:
                zero[fig.atoms] = True
        live = np.flatnonzero(~zero)
        col = np.full(n.size, -1)
        col[live] = np.arange(live.size)
        rows: dict[bytes, list] = {}
        self.targets: dict[bytes, tuple[np.ndarray, str]] = {}   # columns, view
        for fig, (low, high) in zip(figures, bounds):
            cols = col[fig.atoms]
            cols = np.sort(cols[cols >= 0])
            if not cols.size:
                assert low == 0, f"{fig.view}: shown as a count, but every atom is known to be 0"
                continue
            row = rows.setdefault(cols.tobytes(), [cols, low, high])
            row[1], row[2] = max(row[1], low), min(row[2], high)
            if 1 <= n[fig.atoms].sum() <= t - 1:
                self.targets.setdefault(cols.tobytes(), (cols, fig.view))
        cons = list(rows.values())
        self.matrix = _matrix([c for c, _, _ in cons], live.size)
        self.by_column = self.matrix.tocsc()
        self.low = np.array([lo for _, lo, _ in cons], dtype=float)
        self.high = np.array([hi for _, _, hi in cons], dtype=float)
        self.true = n[live].astype(float)
        self.sums = self.matrix @ self.true
        assert (self.low <= self.sums).all() and (self.sums <= self.high).all(), \
            "the true counts break the bounds the figures give"
        blocked_up = (self.matrix.T @ (self.high - self.sums < 1 - EPS).astype(float)) > 0
        blocked_down = ((self.matrix.T @ (self.sums - self.low < 1 - EPS).astype(float)) > 0) | (self.true < 1)
        self.movable = ~(blocked_up & blocked_down)
        where = np.unravel_index(live, SHAPE)
        # the atoms near a target: of its months and type; of its districts and type
        self.neighbourhoods = (where[1] * SHAPE[2] + where[2], where[0] * SHAPE[2] + where[2])
        self.parts: tuple[np.ndarray, np.ndarray] | None = None
        self.programmes: dict[int, tuple[np.ndarray, Programme, list[np.ndarray]]] = {}
        self.steps = [0, 0, 0]   # targets settled by each step (or pinned, for the last)

    def run(self, first_only: bool = False) -> tuple[int, list[str]]:
        """How many targets were checked, and those pinned (with the range the bounds allow)."""
        pinned = []
        for cols, view in self.targets.values():
            found = self.pinned(cols)
            if found is not None:
                value = self.true[cols].sum()
                pinned.append(f"{view}: true {value:.0f}, the views allow {found[0]:.2f} to {found[1]:.2f}")
                if first_only:
                    break
        return len(self.targets), pinned

    def pinned(self, cols: np.ndarray) -> tuple[float, float] | None:
        """None if the target can take two whole values, else its least and greatest."""
        value = self.true[cols].sum()
        if self.movable[cols].any():
            self.steps[0] += 1
            return None
        for key in self.neighbourhoods:
            if self._moves_near(cols, np.flatnonzero(np.isin(key, key[cols])), value):
                self.steps[1] += 1
                return None
        self.steps[2] += 1
        atoms, programme, tried = self._part(cols)
        row = np.zeros(atoms.size)
        row[np.searchsorted(atoms, cols)] = 1
        if any(abs(row @ x - value) >= 1 - EPS for x in tried):
            return None
        tried += [programme.solve(row), programme.solve(-row)]
        least, most = row @ tried[-2], row @ tried[-1]
        return (least, most) if least > value - 1 + EPS and most < value + 1 - EPS else None

    def _moves_near(self, cols: np.ndarray, near: np.ndarray, value: float) -> bool:
        sub = self.by_column[:, near].tocsr()
        touched = np.flatnonzero(np.diff(sub.indptr))
        a = sub[touched]
        held = self.sums[touched] - a @ self.true[near]
        row = np.zeros(near.size)
        row[np.searchsorted(near, cols)] = 1
        return Programme(a, self.low[touched] - held, self.high[touched] - held).moves(row, value)

    def _part(self, cols: np.ndarray) -> tuple[np.ndarray, Programme, list[np.ndarray]]:
        """The part of the whole programme holding these atoms: its atoms, programme and solutions so far."""
        if self.parts is None:
            width = self.matrix.shape[1]
            graph = sparse.bmat([[None, self.matrix.T], [self.matrix, None]]).tocsr()
            label = connected_components(graph, directed=False)[1]
            self.parts = label[:width], label[width:]
        atom_part, row_part = self.parts
        part = int(atom_part[cols[0]])
        if part not in self.programmes:
            atoms, keep = np.flatnonzero(atom_part == part), row_part == part
            self.programmes[part] = atoms, Programme(self.matrix[keep][:, atoms], self.low[keep], self.high[keep]), []
        return self.programmes[part]


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
    attack = Attack(world.figures, bounds, world.n, t)
    checked, pinned = attack.run()
    moved, near, whole = attack.steps
    print(f"seed {world.seed}: {len(world.figures)} figures, {checked} counts from 1 to {t - 1} checked (settled by "
          f"one move {moved}, a programme near them {near}, the whole programme {whole}), {len(pinned)} pinned")
    assert checked > MIN_TARGETS, f"only {checked} counts from 1 to {t - 1} shown: the attack proves little"
    assert not pinned, f"{len(pinned)} counts pinned by combining views:\n" + "\n".join(pinned[:20])


def test_the_attacker_pins_counts_when_nothing_is_perturbed(world):
    """Without perturbation the same views give counts away: the attacker above can find them."""
    t = disclosure.threshold()
    bounds = [unperturbed_bounds(world.count(f), t) for f in world.figures]
    checked, pinned = Attack(world.figures, bounds, world.n, t).run(first_only=True)
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
        return "[c]" if t > 0 else "0"
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
            series = series[series["period"] == dt.date(YEARS[1], 9, 1)]
            where = _where(f.districts, need, phase)
            if series.empty:   # e.g. no Intensive Specialist Support is post-16 anywhere
                assert h.year is None, f"{kpi} {where}: card {h.display}, nothing in kpi_series"
                continue
            row = series.iloc[0]
            flag = bool(row[disclosure.hidden_column("n")])
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
            shown = [(h.year, h.display, h.previous_display) for h in (a, b)]
            assert shown[0] == shown[1], (kpi, need, phase)


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
            assert set(expected) <= set(shown), (t, geo, phase)
            for month, text in shown.items():
                assert text == expected.get(month, "[c]"), (t, month, geo, phase)   # no row: an empty cell
