"""The areas-of-need page: Kent's mix, each district's, the dissimilarity index and the trend."""
from __future__ import annotations

import pandas as pd

from stls import reference as ref
from stls.analysis import needs
from stls.filters import SELECTION, Filters
from stls.present import charts
from stls.store import disclosure

SOURCE = "KCC STLS activity tracker; DfE school census (primary need)"


PERCENT = "{:.1f}%".format


def _largest_gap(part: pd.DataFrame) -> pd.Series | None:
    """The area whose referral share most exceeds its pupil share (shown figures only)."""
    shown = part.dropna(subset=["referral_share", "pupil_share"])
    if shown.empty:
        return None
    return shown.assign(d=shown["referral_share"] - shown["pupil_share"]).sort_values("d").iloc[-1]


def kent_mix(mix: pd.DataFrame, year: int, label: str, geography: str = ref.KENT_CODE) -> charts.Chart:
    part = mix[mix["geography_code"] == geography]
    idx = part["index"].iloc[0] if len(part) else float("nan")
    gap = _largest_gap(part)
    index_text = disclosure.cell(idx, bool(len(part) and part["index_hidden"].iloc[0]), "{:.1f}".format)
    title = (f"{label}: {gap['area']} is {abs(gap['d']):.0f} points more of referrals than of "
             f"pupils with SEN; dissimilarity {index_text} in {ref.academic_year_label(year)}") if gap is not None else label
    fig = charts.need_mix_bars(part, title, SOURCE)
    table = _mix_table(part)
    alt = f"Grouped bars of referral share and SEN pupil share by area of need, {label}, {ref.academic_year_label(year)}. {title}."
    return charts.Chart(fig, alt, table, title)


def _mix_table(part: pd.DataFrame) -> pd.DataFrame:
    """A protected mix as displayed ([c] where a protected count is under the threshold)."""
    return pd.DataFrame({
        "Area": part["name"].to_numpy(), "Area of need": part["area"].to_numpy(),
        "Referrals": disclosure.cells(part["referrals"], part["referrals_hidden"]),
        "Pupils with SEN": disclosure.cells(part["pupils"], part["pupils_hidden"]),
        "Referral share": disclosure.cells(part["referral_share"], part["referral_share_hidden"], PERCENT),
        "Pupil share": disclosure.cells(part["pupil_share"], part["pupil_share_hidden"], PERCENT)})


def small_multiples(mix: pd.DataFrame, year: int) -> charts.Chart:
    idx = needs.index_by_geography(mix)
    districts = idx[idx["geography_code"].isin(ref.DISTRICT_CODES)].dropna(subset=["index"]).sort_values("index")
    title = (f"Need mix is closest to the SEN population in {districts.iloc[0]['name']} and furthest in "
             f"{districts.iloc[-1]['name']} ({ref.academic_year_label(year)})") if len(districts) else "Need mix by district"
    shown = mix[mix["geography_code"].isin([*ref.DISTRICT_CODES, ref.KENT_CODE])]
    fig = charts.need_small_multiples(shown, title, SOURCE)
    table = _mix_table(shown.sort_values(["name", "need_area"]))
    alt = ("Four panels, one per area of need; in each, every district and Kent shows its share of referrals "
           f"(diamond) and of pupils with SEN (circle). {title}.")
    return charts.Chart(fig, alt, table, title)


def district_multiples(db, f: Filters, year: int) -> charts.Chart:
    """Small multiples for every district (the same whichever districts are selected)."""
    return small_multiples(needs.mix(db, f.with_(districts=()), year), year)


def index_table(mix: pd.DataFrame) -> pd.DataFrame:
    idx = needs.index_by_geography(mix[mix["geography_code"] != SELECTION]).sort_values("index")
    return pd.DataFrame({"Area": idx["name"], "Dissimilarity index (0–100)": disclosure.cells(
        idx["index"], idx["index_hidden"], "{:.1f}".format)}).reset_index(drop=True)


def trend_chart(db, f: Filters) -> charts.Chart:
    frame = needs.trend(db, f)
    if frame.empty:
        return charts.Chart(charts.empty("No referrals with an area of need in this selection", SOURCE),
                            "No data to chart.", pd.DataFrame(columns=["Academic year"]), "No data")
    first, last = frame["academic_year"].min(), frame["academic_year"].max()
    change = frame.pivot(index="academic_year", columns="need_area", values="share")
    delta = (change.loc[last] - change.loc[first]).dropna()
    if len(delta):
        area = delta.abs().idxmax()   # the largest movement, up or down
        verb = "rose" if delta[area] > 0 else "fell" if delta[area] < 0 else "stayed"
        title = (f"{ref.NEED_AREAS[area]} {verb} from {change.loc[first, area]:.0f}% to {change.loc[last, area]:.0f}% "
                 f"of referrals between {ref.academic_year_label(first)} and {ref.academic_year_label(last)}")
    else:
        title = "Share of referrals by area of need"
    fig = charts.area_trend(frame, title, SOURCE + " · " + f.caption())
    # the table gives what the chart draws (the shares) and the counts behind them
    table = pd.DataFrame({"Academic year": [ref.academic_year_label(y) for y in sorted(frame["academic_year"].unique())]})
    for area, label in ref.NEED_AREAS.items():
        part = frame[frame["need_area"] == area].set_index("academic_year").reindex(sorted(frame["academic_year"].unique()))
        hidden_n = part["referrals_hidden"].fillna(False).astype(bool).to_numpy()
        hidden_s = part["share_hidden"].fillna(False).astype(bool).to_numpy()
        table[f"{label}: share"] = disclosure.cells(part["share"], hidden_s, PERCENT)
        table[f"{label}: referrals"] = disclosure.cells(part["referrals"], hidden_n)
    alt = f"Line chart of the share of referrals in each of the four areas of need by academic year. {title}."
    return charts.Chart(fig, alt, table, title)


def selection_mix(db, f: Filters, year: int) -> pd.DataFrame:
    """The need mix with the selected districts taken together (protected with every district
    and Kent), labelled as the Kent row is: pass it to ``kent_mix`` with ``SELECTION``."""
    mix = needs.mix(db, f, year)
    return mix.assign(name=mix["name"].where(mix["geography_code"] != SELECTION, f.area.label))
