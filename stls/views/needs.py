"""The areas-of-need page: Kent's mix, each district's, the dissimilarity index and the trend."""
from __future__ import annotations

import pandas as pd

from stls import charts, disclosure, needs
from stls import reference as ref
from stls.filters import Filters

SOURCE = "KCC STLS activity tracker; DfE school census (primary need)"


def kent_mix(mix: pd.DataFrame, year: int, label: str) -> charts.Chart:
    geo = ref.KENT_CODE
    part = mix[mix["geography_code"] == geo]
    idx = needs.index_by_geography(part)["index"].iloc[0] if len(part) else float("nan")
    gap = part.assign(d=part["referral_share"] - part["pupil_share"]).sort_values("d")
    title = (f"{label}: {gap.iloc[-1]['area']} is {abs(gap.iloc[-1]['d']):.0f} points more of referrals than of "
             f"pupils with SEN; dissimilarity {idx:.1f} in {ref.academic_year_label(year)}") if len(gap) else label
    fig = charts.need_mix_bars(part, title, SOURCE)
    table = _mix_table(part)
    alt = f"Grouped bars of referral share and SEN pupil share by area of need, {label}, {ref.academic_year_label(year)}. {title}."
    return charts.Chart(fig, alt, table, title)


def _mix_table(part: pd.DataFrame) -> pd.DataFrame:
    p = disclosure.protect(part[["name", "area", "referrals", "pupils"]].reset_index(drop=True),
                           counts=["referrals", "pupils"])
    shares = lambda col, hidden: ["[c]" if h else ("[x]" if pd.isna(v) else f"{v:.1f}%")
                                  for v, h in zip(part[col], hidden)]
    return p.display.assign(**{"Referral share": shares("referral_share", p.numeric["referrals"].isna()),
                               "Pupil share": shares("pupil_share", p.numeric["pupils"].isna())}) \
        .rename(columns={"name": "Area", "area": "Area of need", "referrals": "Referrals", "pupils": "Pupils with SEN"})


def small_multiples(mix: pd.DataFrame, year: int) -> charts.Chart:
    idx = needs.index_by_geography(mix)
    districts = idx[idx["geography_code"].isin(ref.DISTRICT_CODES)].sort_values("index")
    title = (f"Need mix is closest to the SEN population in {districts.iloc[0]['name']} and furthest in "
             f"{districts.iloc[-1]['name']} ({ref.academic_year_label(year)})") if len(districts) else "Need mix by district"
    fig = charts.need_small_multiples(mix, title, SOURCE)
    table = _mix_table(mix.sort_values(["name", "need_area"]))
    alt = ("Four panels, one per area of need; in each, every district and Kent shows its share of referrals "
           f"(diamond) and of pupils with SEN (circle). {title}.")
    return charts.Chart(fig, alt, table, title)


def district_multiples(db, f: Filters, year: int) -> charts.Chart:
    """Small multiples for every district (the same whichever districts are selected)."""
    return small_multiples(needs.mix(db, f.with_(districts=()), year), year)


def index_table(mix: pd.DataFrame) -> pd.DataFrame:
    idx = needs.index_by_geography(mix).sort_values("index")
    return pd.DataFrame({"Area": idx["name"], "Dissimilarity index (0–100)": idx["index"].map(
        lambda v: "[x]" if pd.isna(v) else f"{v:.1f}")}).reset_index(drop=True)


def trend_chart(db, f: Filters) -> charts.Chart:
    frame = needs.trend(db, f)
    if frame.empty:
        return charts.Chart(charts.empty("No referrals with an area of need in this selection", SOURCE),
                            "No data to chart.", pd.DataFrame(columns=["Academic year"]), "No data")
    first, last = frame["academic_year"].min(), frame["academic_year"].max()
    change = frame.pivot(index="academic_year", columns="need_area", values="share")
    delta = (change.loc[last] - change.loc[first]).sort_values()
    rise = delta.index[-1]
    title = (f"{ref.NEED_AREAS[rise]} rose from {change.loc[first, rise]:.0f}% to {change.loc[last, rise]:.0f}% "
             f"of referrals between {ref.academic_year_label(first)} and {ref.academic_year_label(last)}")
    fig = charts.area_trend(frame, title, SOURCE + " · " + f.caption())
    wide = frame.pivot(index="academic_year", columns="need_area", values="referrals").reindex(columns=list(ref.NEED_AREAS))
    p = disclosure.protect(wide.reset_index(), counts=list(ref.NEED_AREAS))
    table = p.display.rename(columns={"academic_year": "Academic year", **ref.NEED_AREAS})
    table["Academic year"] = wide.index.map(ref.academic_year_label)
    alt = f"Line chart of the share of referrals in each of the four areas of need by academic year. {title}."
    return charts.Chart(fig, alt, table, title)


def selection_mix(db, f: Filters, year: int) -> pd.DataFrame:
    """The need mix for the selected districts taken together, labelled as the Kent row is."""
    mix = needs.mix(db, f.with_(districts=()), year)
    part = mix[mix["geography_code"].isin(f.districts)]
    out = part.groupby(["need_area", "area"], as_index=False)[["referrals", "pupils"]].sum()
    for col, share in (("referrals", "referral_share"), ("pupils", "pupil_share")):
        out[share] = 100 * out[col] / out[col].sum() if out[col].sum() else float("nan")
    return out.assign(geography_code=ref.KENT_CODE, name=f.geography_label())
