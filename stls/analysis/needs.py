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

from stls import reference as ref
from stls.filters import SELECTION, Filters
from stls.kpi import kinds, metrics
from stls.memo import memoised
from stls.store import disclosure, queries

AREAS = tuple(ref.NEED_AREAS)


def dissimilarity(a: pd.Series, b: pd.Series) -> float:
    """Index of dissimilarity (0–100) between two sets of counts over the same categories."""
    a, b = a.reindex(AREAS).fillna(0).astype(float), b.reindex(AREAS).fillna(0).astype(float)
    return float(kinds.dissimilarity(a.to_numpy()[None, :], b.to_numpy()[None, :])[0])


def mix(db, f: Filters, year: int, types=("referral",)) -> pd.DataFrame:
    """Per district and Kent (and, with two or more districts chosen, the selection taken
    together), for one academic year: referrals and SEN pupils by area of need, after
    disclosure control over everything a need-mix view shows.

    Columns: geography_code, name, need_area, area, referrals, pupils, referral_share,
    pupil_share (%), index (the geography's dissimilarity), and ``<column>_hidden`` flags:
    a hidden figure is NaN with its flag set, so it shows as [c]; NaN without the flag is [x].
    The same for every area-of-need filter and range of years (only the phase, the year and a
    multi-district selection matter)."""
    selection = tuple(sorted(f.area.selection))
    return _mix(db, year, f.phase or queries.ALL, tuple(types), selection)


COUNTS = ("referrals", "pupils")
SHARES = {"referrals": "referral_share", "pupils": "pupil_share"}


@memoised
def _mix(db, year: int, phase_key: str, types: tuple[str, ...], selection: tuple[str, ...] = ()) -> pd.DataFrame:
    every = _mix_every(db, metrics.all_years(db, Filters(year, year)), types)
    rows = (every["academic_year"].to_numpy() == year) & (every["phase_key"].to_numpy() == phase_key)
    raw = every.loc[rows].drop(columns=["phase_key", "academic_year"]).reset_index(drop=True)
    return protect_mix(raw, selection)




def _total(cells: pd.DataFrame, by: list[str], count: str) -> tuple[np.ndarray, np.ndarray]:
    """Each row's group total (``by``) as a cell of its own, the group's records together,
    protected like any other: (values, hidden)."""
    sums = cells.groupby(by)[[count, disclosure.key_column(count)]].transform("sum")
    return disclosure.protect(sums[count], sums[disclosure.key_column(count)])


def _with_shares(cells: pd.DataFrame, by: list[str], shares: dict[str, str]) -> pd.DataFrame:
    """``cells`` (counts with their cell keys) protected, with each count's share of its group's
    total: a protected count over the protected total, [c] if either is (so a share never grows
    because its neighbours are [c]; shares may not add to 100)."""
    totals = {col: _total(cells, by, col) for col in shares}
    out = disclosure.protect_columns(cells, list(shares))
    for col, share in shares.items():
        total, total_hidden = totals[col]
        out[share] = 100 * out[col] / np.where(total > 0, total, np.nan)
        out[disclosure.hidden_column(share)] = out[disclosure.hidden_column(col)].to_numpy() | total_hidden
        out.loc[out[disclosure.hidden_column(share)], share] = float("nan")
    return out


def protect_mix(raw: pd.DataFrame, selection: tuple[str, ...] = ()) -> pd.DataFrame:
    """A need mix's cells (districts and Kent: counts with their cell keys; with a selection, its
    districts' cells summed too) as protected counts (stls/store/disclosure.py), with their shares
    (``_with_shares``) and the index worked out from the protected counts, a [c] area as none.
    The same counts as every other view of the same cells."""
    cols = list(COUNTS) + [disclosure.key_column(c) for c in COUNTS]
    if selection:
        part = raw[raw["geography_code"].isin(selection)]
        extra = part.groupby(["need_area", "area"], as_index=False)[cols].sum()
        extra = extra.assign(geography_code=SELECTION, name="Selected districts")
        raw = pd.concat([raw, extra[[c for c in raw.columns if c in extra.columns]]], ignore_index=True)
    out = _with_shares(raw.reset_index(drop=True), ["geography_code"], SHARES)
    index = index_by_geography(out.fillna({c: 0 for c in COUNTS}).drop(columns=["index"], errors="ignore"))
    out["index"] = out["geography_code"].map(index.set_index("geography_code")["index"])
    out["index_hidden"] = False
    return out


@memoised
def _mix_every(db, f: Filters, types: tuple[str, ...]) -> pd.DataFrame:
    """``mix``'s cells (counts with their cell keys, unprotected: ``protect_mix`` protects them)
    for every academic year of ``f`` and every phase (``phase_key``, 'all' for all phases): two
    statements, one frame."""
    refs, pups = metrics.need_cells(db, types, f)
    keys = ["phase_key", "academic_year", "geography_code", "need_area"]
    grid = pd.MultiIndex.from_product([[queries.ALL, *ref.PHASES], list(f.years), ref.DISTRICT_CODES, AREAS], names=keys)
    frame = pd.DataFrame(index=grid).join(
        refs.groupby(keys)[["n", "n_key"]].sum().rename(columns={"n": "referrals", "n_key": "referrals_key"})).join(
        pups.groupby(keys)[["pupils", "pupils_key"]].sum()).fillna(0).astype("int64").reset_index()
    sums = ["referrals", "pupils", "referrals_key", "pupils_key"]
    kent = frame.groupby(["phase_key", "academic_year", "need_area"], as_index=False)[sums].sum()
    frame = pd.concat([frame, kent.assign(geography_code=ref.KENT_CODE)[frame.columns]], ignore_index=True)
    frame["name"] = frame["geography_code"].map(ref.GEOGRAPHY_NAMES)
    frame["area"] = frame["need_area"].map(ref.NEED_AREAS)
    return frame


def index_by_geography(frame: pd.DataFrame) -> pd.DataFrame:
    """Dissimilarity per geography: geography_code, name, index (and index_hidden).

    From a ``mix`` frame it reads the index ``protect_mix`` worked out from the protected counts;
    from other counts it works the index out."""
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
                         "index": kinds.dissimilarity(counts["referrals"], counts["pupils"]), "index_hidden": False})


def trend(db, f: Filters, types=("referral",)) -> pd.DataFrame:
    """Referrals by area of need per academic year for the filters' area: academic_year,
    need_area, referrals, share, each count protected as a cell (``referrals_hidden``: [c], an
    area with none included) with its share of the year's (``_with_shares``, ``share_hidden``)."""
    refs = queries.referral_need_mix(db, types, f.with_(need=None))
    if f.districts:
        refs = refs[refs["geography_code"].isin(f.districts)]
    cells = refs.groupby(["academic_year", "need_area"])[["n", "n_key"]].sum()
    if cells.empty:
        return pd.DataFrame({"academic_year": [], "need_area": [], "referrals": [], "share": [],
                             "referrals_hidden": pd.Series(dtype=bool), "share_hidden": pd.Series(dtype=bool)})
    grid = pd.MultiIndex.from_product([sorted(refs["academic_year"].unique()), AREAS], names=["academic_year", "need_area"])
    cells = cells.reindex(grid, fill_value=0).reset_index().rename(columns={"n": "referrals", "n_key": "referrals_key"})
    out = _with_shares(cells, ["academic_year"], {"referrals": "share"})
    return out.sort_values(["academic_year", "need_area"]).reset_index(drop=True)
