"""The naive baseline: each page's computations done in pandas on whole tables loaded per rerun.

This is how a first version of a Streamlit dashboard is usually written: read every table into
pandas at the top of the script, filter and group there. Each function below is one filter change
of one page (the district picked is the filter), computing the same figures the page shows, to
the same definitions, without disclosure control or charts (so the baseline is, if anything,
flattered). ``bench/run.py`` times these against our pages' AppTest reruns.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from stls import reference as ref

KENT = ref.KENT_CODE
NEED_OF = {code: area for code, (_, area) in ref.PRIMARY_NEEDS.items() if area}
REGIME_BREAKS = [pd.Timestamp(r.start) for r in ref.REGIMES[1:]]



def _census(pupils, year: int) -> int:
    """The census a figure for ``year`` uses (kpis.toml [census]): its own year's, else the latest earlier."""
    return max(y for y in pupils["academic_year"].unique() if y <= year)

def load(con, names=("activity", "sen_pupils", "attainment", "settings", "budget", "setting_outcomes")) -> dict[str, pd.DataFrame]:
    """Whole tables into pandas, with the academic year and month added to activity."""
    tables = {name: con.execute(f"SELECT * FROM {name}").df() for name in names}
    if "activity" in tables:
        act = tables["activity"]
        date = pd.to_datetime(act["activity_date"])
        act["ay"] = date.dt.year - (date.dt.month < 9)
        act["month"] = date.dt.to_period("M").dt.to_timestamp()
    return tables


def _xmr(values: np.ndarray) -> tuple[float, float, float]:
    mean = float(np.mean(values)) if len(values) else float("nan")
    mr = float(np.mean(np.abs(np.diff(values)))) if len(values) > 1 else 0.0
    return mean, mean - 2.66 * mr, mean + 2.66 * mr


def _spc_by_regime(series: pd.Series) -> list[tuple[float, float, float]]:
    series = series[series.index.month != 8]
    edges = [pd.Timestamp.min, *REGIME_BREAKS, pd.Timestamp.max]
    return [_xmr(series[(series.index >= a) & (series.index < b)].to_numpy(float)) for a, b in zip(edges, edges[1:])]


def _headlines(t: dict, district: str | None, year: int) -> dict[str, float]:
    act, pupils, att, settings = t["activity"], t["sen_pupils"], t["attainment"], t["settings"]
    a = act[act["ay"] == year]
    s = settings[settings["open"]]
    p = pupils[(pupils["academic_year"] == _census(pupils, year)) & (pupils["sen_group"] == "sen_support")]
    if district:
        a, s, p = a[a["district_code"] == district], s[s["district_code"] == district], p[p["geography_code"] == district]
    else:
        p = p[p["geography_code"].isin(ref.DISTRICT_CODES)]
    referrals = a.loc[a["activity_type"] == "referral", "count"].sum()
    reached = a["setting_urn"].dropna().nunique()
    geo = district or KENT
    ks2 = att[(att["measure"] == "ks2_rwm_expected") & (att["sen_group"] == "sen_support")
              & (att["geography_code"] == geo) & (att["academic_year"] == year)]["value"]
    return {"referrals": referrals, "referral_rate": 100 * referrals / max(p["pupils"].sum(), 1),
            "settings_reached": 100 * reached / max(len(s), 1),
            "contact_rate": a["count"].sum() / max(len(s), 1), "ks2": ks2.mean()}


def overview(t: dict, district: str | None, year: int):
    act, pupils, att = t["activity"], t["sen_pupils"], t["attainment"]
    cards = {y: _headlines(t, district, y) for y in (year - 1, year)}
    a = act[act["district_code"] == district] if district else act
    monthly = a.groupby(["month", "activity_type"], observed=True)["count"].sum()
    refs = act[(act["activity_type"] == "referral") & (act["ay"] == year)].groupby("district_code", observed=True)["count"].sum()
    ss = pupils[(pupils["sen_group"] == "sen_support") & (pupils["academic_year"] == _census(pupils, year))] \
        .groupby("geography_code", observed=True)["pupils"].sum()
    rates = 100 * refs / ss.reindex(refs.index)
    return cards, monthly, rates, att


def district(t: dict, code: str, year: int):
    act, pupils, att, settings = t["activity"], t["sen_pupils"], t["attainment"], t["settings"]
    pairs = {y: (_headlines(t, code, y), _headlines(t, None, y)) for y in (year - 1, year)}
    mine = act[act["district_code"] == code]
    monthly = mine[mine["activity_type"] == "referral"].groupby("month")["count"].sum()
    limits = _spc_by_regime(monthly)
    a = act[(act["ay"] == year) & (act["activity_type"] == "referral")].dropna(subset=["need_area"])
    refs = a.groupby(["district_code", "need_area"], observed=True)["count"].sum().unstack(fill_value=0)
    p = pupils[(pupils["academic_year"] == _census(pupils, year)) & pupils["sen_group"].isin(["ehc_plan", "sen_support"])].copy()
    p["need_area"] = p["primary_need"].astype(str).map(NEED_OF)
    pups = p.dropna(subset=["need_area"]).groupby(["geography_code", "need_area"], observed=True)["pupils"].sum().unstack(fill_value=0)
    shares = (refs.div(refs.sum(axis=1), axis=0), pups.div(pups.sum(axis=1), axis=0))
    outcome = att[(att["measure"] == "ks2_rwm_expected") & (att["sen_group"] == "sen_support")
                  & att["geography_code"].isin([code, KENT, ref.ENGLAND_CODE])]
    funnel = att[(att["measure"] == "ks2_rwm_expected") & (att["sen_group"] == "sen_support")
                 & (att["academic_year"] == year - 1) & att["geography_code"].isin(ref.DISTRICT_CODES)]
    kent_p = (funnel["value"] * funnel["cohort"]).sum() / funnel["cohort"].sum() / 100
    limits95 = 1.96 * np.sqrt(kent_p * (1 - kent_p) / funnel["cohort"])
    contacted = set(mine.loc[mine["ay"] == year, "setting_urn"].dropna())
    unreached = settings[(settings["district_code"] == code) & settings["open"] & ~settings["urn"].isin(contacted)]
    return pairs, limits, shares, outcome, limits95, unreached


def scorecard(t: dict, district: str | None, year: int):
    act, pupils, att, budget = t["activity"], t["sen_pupils"], t["attainment"], t["budget"]
    years = range(ref.FIRST_ACADEMIC_YEAR, year + 1)
    series = {y: _headlines(t, district, y) for y in years}
    matrix = {code: _headlines(t, code, year) for code in ref.DISTRICT_CODES}
    a = act[act["district_code"] == district] if district else act
    by_type = a.groupby(["ay", "activity_type"], observed=True)["count"].sum().unstack(fill_value=0)
    monthly = a.groupby(["month", "activity_type"], observed=True)["count"].sum().unstack(fill_value=0)
    spc = {col: _spc_by_regime(monthly[col]) for col in monthly.columns}
    spend = budget.groupby("financial_year")["allocation_gbp"].sum()
    cost = spend.reindex(by_type.index) / by_type.get("referral", pd.Series(dtype=float))
    outcomes = att[att["sen_group"] == "sen_support"].groupby(["measure", "academic_year", "geography_code"],
                                                               observed=True)["value"].mean()
    return series, matrix, spc, cost, outcomes


def activity_and_outcomes(t: dict, district: str | None, year: int):
    act, pupils, att = t["activity"], t["sen_pupils"], t["attainment"]
    a = act[(act["ay"] == year) & act["activity_type"].isin(["referral", "school_visit", "advice", "drop_in",
                                                             "intensive_support"])]
    n = a.groupby("district_code", observed=True)["count"].sum()
    ss = pupils[(pupils["academic_year"] == _census(pupils, year)) & (pupils["sen_group"] == "sen_support")] \
        .groupby("geography_code", observed=True)["pupils"].sum()
    x = (100 * n / ss.reindex(n.index)).astype(float)
    out = att[(att["measure"] == "ks2_rwm_expected") & (att["sen_group"] == "sen_support") & (att["academic_year"] == year)]
    eng = out.loc[out["geography_code"] == ref.ENGLAND_CODE, "value"].mean()
    y = out.set_index("geography_code")["value"].reindex(x.index.astype(str)).to_numpy(float) - eng
    ok = ~np.isnan(y)
    return x, y, np.corrcoef(x.to_numpy()[ok], y[ok])[0, 1] if ok.sum() > 2 else None


def areas_of_need(t: dict, district: str | None, year: int):
    act, pupils = t["activity"], t["sen_pupils"]
    a = act[(act["activity_type"] == "referral")].dropna(subset=["need_area"])
    mix = a[a["ay"] == year].groupby(["district_code", "need_area"], observed=True)["count"].sum().unstack(fill_value=0)
    p = pupils[(pupils["academic_year"] == _census(pupils, year)) & pupils["sen_group"].isin(["ehc_plan", "sen_support"])].copy()
    p["need_area"] = p["primary_need"].astype(str).map(NEED_OF)
    pups = p.dropna(subset=["need_area"]).groupby(["geography_code", "need_area"], observed=True)["pupils"].sum().unstack(fill_value=0)
    pups = pups.reindex(mix.index.astype(str))
    index = 50 * (mix.div(mix.sum(axis=1), axis=0).to_numpy() - pups.div(pups.sum(axis=1), axis=0).to_numpy()).__abs__().sum(axis=1)
    sel = a[a["district_code"] == district] if district else a
    trend = sel.groupby(["ay", "need_area"], observed=True)["count"].sum().unstack(fill_value=0)
    return mix, index, trend.div(trend.sum(axis=1), axis=0)


def meeting(t: dict, district: str | None, year: int):
    """The slide on screen: the headlines against last year, with each headline's monthly trend."""
    cards = {y: _headlines(t, district, y) for y in (year - 1, year)}
    act = t["activity"]
    a = act[act["district_code"] == district] if district else act
    return cards, _spc_by_regime(a[a["activity_type"] == "referral"].groupby("month")["count"].sum())


def data(t: dict, district: str | None, year: int, months: int = 36):
    act = t["activity"]
    latest = {"activity": act["activity_date"].max(), "attainment": t["attainment"]["academic_year"].max(),
              "census": t["sen_pupils"]["academic_year"].max(), "settings": len(t["settings"])}
    recent = act[act["month"] > act["month"].max() - pd.DateOffset(months=months)]
    grid = recent.groupby(["district_code", "month"], observed=True)["count"].sum().unstack(fill_value=0)
    usual = grid.loc[:, grid.columns.month != 8].median(axis=1)
    return latest, grid.div(usual, axis=0)


def impact(tables, code, year):
    """The evaluation of support refitted on every change, from the whole tables (no cache)."""
    from stls.analysis.evaluation import model
    act = tables["activity"]
    iss = act[(act["activity_type"].astype(str) == "intensive_support") & act["setting_urn"].notna()]
    first = iss.groupby(iss["setting_urn"].astype(str))["ay"].min()
    out = tables["setting_outcomes"]
    out = out[(out["measure"].astype(str) == "ks2_rwm_expected") & (out["sen_group"].astype(str) == "sen_support")
              & (out["cohort"] > 0) & out["value"].notna()]
    frame = pd.DataFrame({"urn": out["urn"].astype(str), "year": out["academic_year"], "y": out["value"],
                          "cohort": out["cohort"]})
    frame["first"] = frame["urn"].map(first).fillna(0).astype(int)
    frame.loc[frame["first"] > frame["year"].max(), "first"] = 0
    frame["district_code"] = code
    return model._sun_abraham(model._prepared(frame, model.Spec())[0])


PAGES = {"overview": overview, "scorecard": scorecard, "district": district,
         "activity_and_outcomes": activity_and_outcomes, "impact": impact, "areas_of_need": areas_of_need,
         "meeting": meeting, "data": data}
