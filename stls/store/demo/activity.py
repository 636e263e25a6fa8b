"""Synthetic record-level activity, generated column-wise with numpy (10 million rows in seconds).

Expected monthly volumes per district, service and activity type are the product of a county
base, the district's pupil share, term-time seasonality, the pandemic dip, regime effects and
the district's story; Poisson draws give the record counts, which are then expanded into one row
per record with a need area, phase, setting and date drawn from small probability tables.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from stls import reference as ref
from stls.store.demo import profiles as p

NEEDS = tuple(ref.NEED_AREAS)          # codes 0..3; 4 = no area recorded
PHASES = tuple(ref.PHASES)              # codes 0..3; 4 = no phase recorded
TYPES = ref.ACTIVITY_TYPE_CODES
SERVICES = ref.DISTRICT_CODES + ("SENSORY", "PD")
NEW_TYPES = {"drop_in", "intensive_support"}  # from September 2022

PHASE_MIX = {  # early years, primary, secondary, post-16, none
    "referral": (0.20, 0.55, 0.21, 0.04, 0.0), "school_visit": (0.15, 0.55, 0.26, 0.04, 0.0),
    "advice": (0.18, 0.52, 0.25, 0.05, 0.0), "drop_in": (0.25, 0.50, 0.22, 0.03, 0.0),
    "intensive_support": (0.05, 0.60, 0.35, 0.0, 0.0), "lift_meeting": (0, 0, 0, 0, 1.0),
    "training": (0.10, 0.30, 0.10, 0.0, 0.5),
}


# The activity's columns as codes, one entry per record: district, activity type and phase (indexes).
Columns = dict[str, npt.NDArray[np.integer]]


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    out, m = [], first
    while m <= last:
        out.append(m)
        m = dt.date(m.year + (m.month == 12), m.month % 12 + 1, 1)
    return out


def _expected(months: list[dt.date], scale: float, shares: dict[str, float]) -> np.ndarray:
    """Expected records, shape (month, district, service, type)."""
    out = np.zeros((len(months), len(ref.DISTRICT_CODES), len(SERVICES), len(TYPES)))
    for mi, m in enumerate(months):
        years_in = mi / 12
        ay = ref.academic_year_start(m)
        base = p.SEASON[(m.month - 9) % 12] * p.COVID.get((m.year, m.month), 1.0) * scale / 12
        for ti, t in enumerate(TYPES):
            if t in NEW_TYPES and m < dt.date(2022, 9, 1):
                continue
            f = base * p.ACTIVITY_BASE[t]
            for start, effects in p.REGIME_EFFECT.items():
                f *= effects.get(t, 1.0) if ay >= start else 1.0
            if t == "lift_meeting" and m.month == 8:
                f = 0.0
            for di, code in enumerate(ref.DISTRICT_CODES):
                growth = (1 + p.STORIES[p.PROFILES[code].story][0]) ** years_in
                cell = f * shares[code] * growth
                countywide = 0.0
                if t in ("referral", "school_visit", "advice"):
                    for si, svc in ((12, "SENSORY"), (13, "PD")):
                        out[mi, di, si, ti] = cell * p.COUNTYWIDE_SHARE[svc]
                        countywide += p.COUNTYWIDE_SHARE[svc]
                out[mi, di, di, ti] = cell * (1 - countywide)
                out[mi, di, :, ti] *= p.RETURN_GAPS.get((code, m.year, m.month), 1.0)
    return out


def _need_table(rng: np.random.Generator, n_years: int) -> np.ndarray:
    """Cumulative need probabilities, shape (district, service kind, type, year, 5)."""
    tilt = rng.uniform(-0.25, 0.25, size=len(ref.DISTRICT_CODES))
    table = np.zeros((len(ref.DISTRICT_CODES), 3, len(TYPES), n_years, 5))
    for di in range(len(ref.DISTRICT_CODES)):
        for yi in range(n_years):
            f = min(yi / 9, 1.2)
            ci = (0.38 + 0.08 * f) * (1 + tilt[di])
            district = np.array([ci, 0.30 - 0.08 * f, 0.26 + 0.01 * f, 0.06 - 0.01 * f, 0.0])
            for ti, t in enumerate(TYPES):
                mix = district.copy()
                if t == "lift_meeting":
                    mix = np.array([0, 0, 0, 0, 1.0])
                elif t == "training":
                    mix = np.append(district[:4] / district[:4].sum() * 0.6, 0.4)
                table[di, 0, ti, yi] = mix / mix.sum()
                table[di, 1, ti, yi] = (0.04, 0.0, 0.0, 0.96, 0.0)
                table[di, 2, ti, yi] = (0.05, 0.05, 0.0, 0.90, 0.0)
    return np.cumsum(table, axis=-1)


def _draw(rng: np.random.Generator, cum: npt.NDArray[np.float64]) -> npt.NDArray[np.int8]:
    """For each row of cumulative probabilities, the index of the outcome drawn."""
    u = rng.random(len(cum), dtype=np.float32)
    drawn: npt.NDArray[np.int8] = np.minimum((u[:, None] > cum[:, :-1]).sum(axis=1), cum.shape[1] - 1).astype(np.int8)
    return drawn


def _assign_settings(rng: np.random.Generator, frame: Columns, settings: pd.DataFrame,
                     ay_index: npt.NDArray[np.int64]) -> npt.NDArray[np.int32]:
    """Each record with a setting goes to one of the settings 'engaged' that year."""
    urn = np.full(len(ay_index), -1, dtype=np.int32)
    iss = frame["type"] == TYPES.index("intensive_support")
    needs_setting = np.isin(frame["type"], [TYPES.index(t) for t in p.SETTING_TYPES]) & (frame["phase"] < 4) & ~iss
    key = (frame["district"].astype(np.int64) * 4 + frame["phase"]) * 100 + ay_index
    key = np.where(needs_setting, key, -1)
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    bounds = np.flatnonzero(np.diff(sorted_key)) + 1
    starts, ends = np.r_[0, bounds], np.r_[bounds, len(sorted_key)]
    groups = settings.groupby(["district_index", "phase_index"]).indices
    for s, e in zip(starts, ends):
        k = int(sorted_key[s])
        if k < 0:
            continue
        di, ph, yi = k // 400, (k // 100) % 4, k % 100
        pool = groups.get((di, ph))
        if pool is None:
            continue
        drift = p.STORIES[p.PROFILES[ref.DISTRICT_CODES[di]].story][2]
        reach = np.clip(0.70 + drift * yi, 0.35, 0.97) * (0.8 if ph == 0 else 1.0)
        engaged = pool[rng.random(len(pool)) < reach]
        if len(engaged):
            urn[order[s:e]] = engaged[rng.integers(0, len(engaged), e - s)]
    _assign_support(rng, frame, settings, ay_index, iss & (frame["phase"] < 4), urn)
    return urn


def _assign_support(rng: np.random.Generator, frame: Columns, settings: pd.DataFrame, ay_index: npt.NDArray[np.int64],
                    iss: npt.NDArray[np.bool_], urn: npt.NDArray[np.int32]) -> None:
    """Intensive Specialist Support goes to the settings planned for it (``impact.first_support_plan``):
    each year, one record to each setting starting that year, the rest among those started."""
    plan = settings["first_support"].to_numpy()
    groups = settings.groupby(["district_index", "phase_index"]).indices
    rows = np.flatnonzero(iss)
    key = (frame["district"][rows].astype(np.int64) * 4 + frame["phase"][rows]) * 100 + ay_index[rows]
    for k in np.unique(key):
        di, ph, yi = int(k // 400), int((k // 100) % 4), int(k % 100)
        pool = groups.get((di, ph))
        if pool is None:
            continue
        year = ref.FIRST_ACADEMIC_YEAR + yi
        started = pool[(plan[pool] > 0) & (plan[pool] <= year)]
        if not len(started):
            continue
        mine = rows[key == k]
        new = started[plan[started] == year][:len(mine)]
        picks = np.concatenate([new, started[rng.integers(0, len(started), len(mine) - len(new))]])
        urn[mine] = rng.permutation(picks)


def build_activity(rng: np.random.Generator, settings: pd.DataFrame, until: dt.date,
                   scale: float, shares: dict[str, float]) -> pa.Table:
    """Record-level activity from September 2016 to ``until`` (a month start), as Arrow."""
    months = months_between(dt.date(ref.FIRST_ACADEMIC_YEAR, 9, 1), until)
    n = rng.poisson(_expected(months, scale, shares)).ravel()
    idx = np.repeat(np.arange(n.size, dtype=np.int64), n)
    shape = (len(months), len(ref.DISTRICT_CODES), len(SERVICES), len(TYPES))
    mi, di, si, ti = (a.astype(np.int16) for a in np.unravel_index(idx, shape))
    month_start = np.array(months, dtype="datetime64[D]")
    ay_index = np.array([ref.academic_year_start(m) - ref.FIRST_ACADEMIC_YEAR for m in months])[mi]
    kind = np.where(si < 12, 0, si - 11)
    need_cum = _need_table(rng, int(ay_index.max()) + 1)[di, kind, ti, ay_index]
    need = _draw(rng, need_cum)
    phase_cum = np.cumsum(np.array([PHASE_MIX[t] for t in TYPES]), axis=1)[ti]
    phase = _draw(rng, phase_cum)
    frame: Columns = {"district": di, "type": ti, "phase": phase}
    urn_index = _assign_settings(rng, frame, settings, ay_index)
    days_in = (month_start[np.minimum(mi + 1, len(months) - 1)] - month_start[mi]).astype(int)
    days_in = np.where(mi == len(months) - 1, 28, days_in)
    date = month_start[mi] + (rng.random(len(mi)) * days_in).astype("timedelta64[D]")
    weekday = (date.astype(np.int64) + 3) % 7          # 0 = Monday (1 Jan 1970 was a Thursday)
    friday = date - np.where(weekday >= 5, weekday - 4, 0)
    monday = date + np.where(weekday >= 5, 7 - weekday, 0)
    date = np.where(friday >= month_start[mi], friday, monday)  # weekends → Friday, or Monday at a month's start
    count = np.where(ti == TYPES.index("training"), rng.integers(1, 4, len(ti)), 1).astype(np.int32)
    order = np.argsort(date, kind="stable")
    return _to_arrow(date, di, si, ti, need, phase, urn_index, count, settings, order)


def _dictionary(indices: npt.NDArray[np.integer], values: Sequence[str], order: npt.NDArray[np.intp],
                missing: int | None = None) -> pa.DictionaryArray:
    """Dictionary-encoded column (DuckDB casts it to the ENUM cheaply); ``missing`` → NULL."""
    idx = indices[order]
    mask = None if missing is None else idx == missing
    if mask is not None:
        idx = np.where(mask, 0, idx)
    return pa.DictionaryArray.from_arrays(pa.array(idx, mask=mask), pa.array(list(values)))


def _to_arrow(date: npt.NDArray[np.datetime64], di: npt.NDArray[np.int16], si: npt.NDArray[np.int16],
              ti: npt.NDArray[np.int16], need: npt.NDArray[np.int8], phase: npt.NDArray[np.int8],
              urn_index: npt.NDArray[np.int32], count: npt.NDArray[np.int32], settings: pd.DataFrame,
              order: npt.NDArray[np.intp]) -> pa.Table:
    return pa.table({
        "activity_date": pa.array(date[order]),
        "district_code": _dictionary(di, ref.DISTRICT_CODES, order),
        "service_code": _dictionary(si, SERVICES, order),
        "activity_type": _dictionary(ti, TYPES, order),
        "need_area": _dictionary(need, NEEDS, order, missing=4),
        "phase": _dictionary(phase, PHASES, order, missing=4),
        "setting_urn": _dictionary(urn_index, settings["urn"].tolist(), order, missing=-1),
        "count": pa.array(count[order]),
    })
