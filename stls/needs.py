"""The four broad areas of need: referral mix against the mix of pupils with SEN.

Pupils with SEN (EHC plan or SEN support) are mapped to an area through their DfE primary need;
'other difficulty' and 'SEN support, no specialist assessment' map to no area and are left out,
as are referrals with no area recorded. The dissimilarity index is half the sum of absolute
differences between the two percentage mixes: the share of referrals that would have to move
area for the mixes to match (0 = identical, 100 = no overlap).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from stls import disclosure, metrics, queries
from stls import reference as ref
from stls.filters import Filters
from stls.memo import memoised

AREAS = tuple(ref.NEED_AREAS)


def _index(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dissimilarity (0–100) row by row between two arrays of counts (rows × areas); NaN where
    either row has no counts."""
    sa, sb = a.sum(axis=1, keepdims=True), b.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 50 * np.abs(a / sa - b / sb).sum(axis=1)
    return np.where((sa[:, 0] > 0) & (sb[:, 0] > 0), out, np.nan)


def dissimilarity(a: pd.Series, b: pd.Series) -> float:
    """Index of dissimilarity (0–100) between two sets of counts over the same categories."""
    a, b = a.reindex(AREAS).fillna(0).astype(float), b.reindex(AREAS).fillna(0).astype(float)
    return float(_index(a.to_numpy()[None, :], b.to_numpy()[None, :])[0])


def mix(db, f: Filters, year: int, types=("referral",)) -> pd.DataFrame:
    """Per district and Kent (and, with two or more districts chosen, the selection taken
    together), for one academic year: referrals and SEN pupils by area of need, after
    disclosure control over everything a need-mix view shows.

    Columns: geography_code, name, need_area, area, referrals, pupils, referral_share,
    pupil_share (%), index (the geography's dissimilarity), and ``<column>_hidden`` flags:
    a hidden figure is NaN with its flag set, so it shows as [c]; NaN without the flag is [x].
    The same for every area-of-need filter and range of years (only the phase, the year and a
    multi-district selection matter)."""
    selection = tuple(sorted(f.districts)) if len(f.districts) > 1 else ()
    return _mix(db, year, f.phase or queries.ALL, tuple(types), selection)


SELECTION_CODE = "selection"   # geography_code of the chosen districts taken together
COUNTS = ("referrals", "pupils")
SHARES = {"referrals": "referral_share", "pupils": "pupil_share"}


@memoised
def _mix(db, year: int, phase_key: str, types: tuple[str, ...], selection: tuple[str, ...] = ()) -> pd.DataFrame:
    every = _mix_every(db, metrics.all_years(db, Filters(year, year)), types)
    rows = (every["academic_year"].to_numpy() == year) & (every["phase_key"].to_numpy() == phase_key)
    raw = every.loc[rows].drop(columns=["phase_key", "academic_year"]).reset_index(drop=True)
    return protect_mix(raw, selection)


def _members(code: str, selection: tuple[str, ...]) -> tuple[str, ...]:
    return ref.DISTRICT_CODES if code == ref.KENT_CODE else selection if code == SELECTION_CODE else (code,)


def protect_mix(raw: pd.DataFrame, selection: tuple[str, ...] = ()) -> pd.DataFrame:
    """Disclosure control for a need mix (districts and Kent, unprotected counts) as one view:
    each district × area × count is an atom, Kent and a selection add up their districts, a
    share reveals its count and its geography's total, the index reveals every count."""
    if selection:
        part = raw[raw["geography_code"].isin(selection)]
        extra = part.groupby(["need_area", "area"], as_index=False)[list(COUNTS)].sum()
        extra = extra.assign(geography_code=SELECTION_CODE, name="Selected districts")
        for col, share in SHARES.items():
            total = extra[col].sum()
            extra[share] = 100 * extra[col] / total if total else float("nan")
        raw = pd.concat([raw, extra[raw.columns]], ignore_index=True)
    raw = raw.reset_index(drop=True)
    index = index_by_geography(raw).set_index("geography_code")["index"]
    gate = disclosure.Gate()
    codes, areas = raw["geography_code"].to_numpy(), raw["need_area"].to_numpy()
    totals = {(g, col): float(raw.loc[codes == g, col].sum()) for g in pd.unique(codes) for col in COUNTS}
    atoms = lambda g, col, area_set: [(d, a, col) for d in _members(g, selection) for a in area_set]
    for i, (g, a) in enumerate(zip(codes, areas)):
        for col, share in SHARES.items():
            cell = (atoms(g, col, (a,)), float(raw.at[i, col]))
            gate.count((i, col), *cell)
            gate.derived((i, share), cell, (atoms(g, col, AREAS), totals[g, col]))
    for g in pd.unique(codes):
        gate.derived(("index", g), *[(atoms(g, col, AREAS), totals[g, col]) for col in COUNTS],
                     *[(atoms(g, col, (a,)), float(v)) for col in COUNTS
                       for a, v in zip(areas[codes == g], raw.loc[codes == g, col])])
    hidden = gate.hidden()
    out = raw.astype({c: float for c in COUNTS})
    for col in (*COUNTS, *SHARES.values()):
        flag = np.array([(i, col) in hidden for i in range(len(out))], dtype=bool)
        out[col] = out[col].mask(flag)
        out[col + "_hidden"] = flag
    index_hidden = {g: ("index", g) in hidden for g in pd.unique(codes)}
    out["index"] = [float("nan") if index_hidden[g] else index.get(g, float("nan")) for g in codes]
    out["index_hidden"] = [index_hidden[g] for g in codes]
    return out


@memoised
def _mix_every(db, f: Filters, types: tuple[str, ...]) -> pd.DataFrame:
    """``mix`` for every academic year of ``f`` and every phase (``phase_key``, 'all' for all
    phases): two statements, one frame."""
    refs = queries.referral_need_mix(db, types, f, split=("phase",))
    pups = metrics.census_by_year(db, queries.sen_pupils(db, "all_sen", f.with_(year_from=ref.FIRST_ACADEMIC_YEAR),
                                                         by_need_area=True, split=("phase",)).dropna(subset=["need_area"]),
                                  list(f.years))
    keys = ["phase_key", "academic_year", "geography_code", "need_area"]
    grid = pd.MultiIndex.from_product([[queries.ALL, *ref.PHASES], list(f.years), ref.DISTRICT_CODES, AREAS], names=keys)
    frame = pd.DataFrame(index=grid).join(
        refs.groupby(keys)["n"].sum().rename("referrals")).join(
        pups.groupby(keys)["pupils"].sum()).fillna(0).astype("int64").reset_index()
    kent = frame.groupby(["phase_key", "academic_year", "need_area"], as_index=False)[["referrals", "pupils"]].sum()
    frame = pd.concat([frame, kent.assign(geography_code=ref.KENT_CODE)[frame.columns]], ignore_index=True)
    for col, share in (("referrals", "referral_share"), ("pupils", "pupil_share")):
        total = frame.groupby(["phase_key", "academic_year", "geography_code"])[col].transform("sum")
        frame[share] = 100 * frame[col] / total.where(total > 0)
    frame["name"] = frame["geography_code"].map(ref.GEOGRAPHY_NAMES)
    frame["area"] = frame["need_area"].map(ref.NEED_AREAS)
    return frame


def index_by_geography(frame: pd.DataFrame) -> pd.DataFrame:
    """Dissimilarity per geography: geography_code, name, index (and index_hidden).

    From a protected ``mix`` frame it reads the index worked out before disclosure control
    (NaN where that hid it); from raw counts it works the index out."""
    if "index" in frame.columns:
        first = frame.drop_duplicates("geography_code")
        return first[["geography_code", "name", "index", "index_hidden"]].reset_index(drop=True)
    geo_codes, rows = np.unique(frame["geography_code"].astype(str).to_numpy(), return_inverse=True)
    cols = pd.Index(AREAS).get_indexer(frame["need_area"].astype(str))
    counts = {}
    for col in ("referrals", "pupils"):
        counts[col] = np.zeros((len(geo_codes), len(AREAS)))
        np.add.at(counts[col], (rows[cols >= 0], cols[cols >= 0]), frame[col].to_numpy(float)[cols >= 0])
    order = [int(np.searchsorted(geo_codes, g)) for g in pd.unique(frame["geography_code"].astype(str))]
    geos = [str(geo_codes[i]) for i in order]
    counts = {col: c[order] for col, c in counts.items()}
    names = frame.drop_duplicates("geography_code").set_index("geography_code")["name"]
    return pd.DataFrame({"geography_code": geos, "name": [names[g] for g in geos],
                         "index": _index(counts["referrals"], counts["pupils"])})


def trend(db, f: Filters, types=("referral",)) -> pd.DataFrame:
    """Referrals by area of need per academic year for the filters' area: academic_year, need_area, referrals, share."""
    refs = queries.referral_need_mix(db, types, f.with_(need=None))
    if f.districts:
        refs = refs[refs["geography_code"].isin(f.districts)]
    out = refs.groupby(["academic_year", "need_area"], as_index=False)["n"].sum().rename(columns={"n": "referrals"})
    out["share"] = 100 * out["referrals"] / out.groupby("academic_year")["referrals"].transform("sum")
    return out.sort_values(["academic_year", "need_area"]).reset_index(drop=True)


def protected_trend(db, f: Filters, types=("referral",)) -> pd.DataFrame:
    """``trend`` after disclosure control: each year's counts and shares (a share reveals its
    count and the year's total) through one gate per year. The last year is the need mix's own
    figures for the same area, hidden exactly where the need mix hides them, since both views
    show that year (the Areas of need page shows them side by side)."""
    raw = trend(db, f, types)
    if raw.empty:
        return raw.assign(referrals_hidden=pd.Series(dtype=bool), share_hidden=pd.Series(dtype=bool))
    # every area in every year with referrals: an area with none shows 0 (not [x]), as it is
    grid = pd.MultiIndex.from_product([sorted(raw["academic_year"].unique()), AREAS], names=["academic_year", "need_area"])
    raw = raw.set_index(["academic_year", "need_area"])[["referrals"]].reindex(grid, fill_value=0).reset_index()
    raw["share"] = 100 * raw["referrals"] / raw.groupby("academic_year")["referrals"].transform("sum")
    gate = disclosure.Gate()
    totals = raw.groupby("academic_year")["referrals"].transform("sum").to_numpy(float)
    years, areas = raw["academic_year"].to_numpy(), raw["need_area"].to_numpy()
    for i, (y, a, n) in enumerate(zip(years, areas, raw["referrals"].to_numpy(float))):
        if y == f.year_to:
            continue
        cell = ([(y, a)], n)
        gate.count((i, "referrals"), *cell)
        gate.derived((i, "share"), cell, ([(y, b) for b in AREAS], totals[i]))
    hidden = gate.hidden()
    out = raw.astype({"referrals": float})
    flags = {col: np.array([(i, col) in hidden for i in range(len(raw))]) for col in ("referrals", "share")}
    last = years == f.year_to
    if last.any():
        m = mix(db, f, f.year_to, types)
        geo = SELECTION_CODE if len(f.districts) > 1 else (f.districts[0] if f.districts else ref.KENT_CODE)
        mine = m[m["geography_code"] == geo].set_index("need_area")
        for j in np.flatnonzero(last).tolist():
            a = areas[j]
            if a in mine.index:
                flags["referrals"][j] = bool(mine.at[a, "referrals_hidden"])
                flags["share"][j] = bool(mine.at[a, "referral_share_hidden"])
    for col in ("referrals", "share"):
        out[col] = out[col].mask(flags[col])
        out[col + "_hidden"] = flags[col]
    return out
