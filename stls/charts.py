"""Plotly figure builders: one palette, one font scale, a source line, regime annotations.

Every builder returns a ``Chart``: the figure, its alt text and the table that is its
accessible alternative (already through disclosure control). Pages never style a figure.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from stls import reference as ref

PALETTE = ("#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1")
NEED_COLOURS = dict(zip(ref.NEED_AREAS, PALETTE))
HIGHLIGHT, MUTED, KENT_LINE = "#12436D", "#BFC9D4", "#801650"
RAG_COLOURS = {"Green": "#00703C", "Amber": "#B05A00", "Red": "#D4351C"}
FONT = dict(family="Arial, Helvetica, sans-serif", size=15, color="#0B0C0C")
REGIME_NOTE = "Vertical lines mark service changes: tiered model from Sept 2022, in-house service from Sept 2025."


# No Plotly template: building and copying one costs tens of milliseconds per figure; the few
# styles we use are set directly in style().
pio.templates.default = "none"


@dataclass
class Chart:
    figure: go.Figure
    alt: str
    table: pd.DataFrame   # the table alternative, as displayed (strings, symbols)
    title: str


def wrap(title: str, width: int = 90) -> str:
    """Break a long title once, at the space nearest the middle (Plotly titles do not wrap)."""
    if len(title) <= width or "<br>" in title:
        return title
    middle = len(title) // 2
    spaces = [i for i, ch in enumerate(title) if ch == " "]
    cut = min(spaces, key=lambda i: abs(i - middle)) if spaces else middle
    return title[:cut] + "<br>" + title[cut + 1:]


def style(fig: go.Figure, title: str, source: str, *, height: int = 420, legend: bool = True) -> go.Figure:
    """The shared look: title stating the finding, Arial, palette, legend and source line below.

    Legend and source are placed in pixels below the plot area, so they never overlap
    whatever the chart's height.
    """
    title = wrap(title)
    top, bottom = 70 + 22 * title.count("<br>"), 120 if legend else 70
    plot = max(height - top - bottom, 100)
    axis = dict(tickfont=dict(color="#0B0C0C", size=13), title_font=dict(color="#0B0C0C", size=14),
                gridcolor="#E5E5E5", linecolor="#505A5F", showline=True, zeroline=False, automargin=True,
                showgrid=True, ticks="")
    fig.update_xaxes(**axis)
    fig.update_yaxes(**axis)
    source_note = dict(text=f"Source: {source}", xref="paper", yref="paper", x=0, y=-(bottom - 18) / plot,
                       showarrow=False, xanchor="left", yanchor="bottom", font=dict(size=12, color="#505A5F"))
    fig.update_layout(
        title=dict(text=title, x=0, xref="paper", xanchor="left", font=dict(size=18)),
        font=FONT, colorway=list(PALETTE), height=height, paper_bgcolor="white", plot_bgcolor="white",
        margin=dict(l=10, r=10, t=top, b=bottom), showlegend=legend,
        legend=dict(orientation="h", yanchor="top", y=-45 / plot, x=0, title_text=""),
        hoverlabel=dict(font_size=14), annotations=list(fig.layout.annotations) + [source_note],
    )
    return fig


def add_regimes(fig: go.Figure, first: dt.date, last: dt.date) -> go.Figure:
    """Dashed vertical lines at each service-regime change inside the time range."""
    for regime in ref.REGIMES[1:]:
        if first <= regime.start <= last:
            fig.add_vline(x=regime.start, line=dict(color="#3D3D3D", dash="dash", width=1.5))
            fig.add_annotation(x=regime.start, y=1.0, yref="paper", text=regime.label,
                               showarrow=False, xanchor="left", yanchor="bottom",
                               font=dict(size=12, color="#3D3D3D"))
    return fig


def monthly_lines(frame: pd.DataFrame, title: str, source: str, y_title: str) -> go.Figure:
    """One line per series over months (frame: month, series, value); gaps stay gaps."""
    fig = go.Figure()
    for i, (name, part) in enumerate(frame.groupby("series", sort=False)):
        fig.add_trace(go.Scatter(x=part["month"], y=part["value"], name=str(name), mode="lines",
                                 line=dict(color=PALETTE[i % len(PALETTE)], width=2.5),
                                 hovertemplate="%{x|%b %Y}: %{y:,.0f}<extra>" + str(name) + "</extra>"))
    style(fig, title, source)
    fig.update_yaxes(title_text=y_title, rangemode="tozero", tickformat=",")
    fig.update_xaxes(title_text=None, dtick="M12", tickformat="%Y")
    if not frame.empty:
        add_regimes(fig, frame["month"].min(), frame["month"].max())
    return fig


def district_bars(frame: pd.DataFrame, value_label: str, title: str, source: str,
                  kent_value: float | None = None, highlight: tuple[str, ...] = (),
                  decimals: int = 1) -> go.Figure:
    """Horizontal bars by district (frame: name, value), sorted, with Kent as a reference line."""
    frame = frame.dropna(subset=["value"]).sort_values("value")
    colours = [HIGHLIGHT if (not highlight or n in highlight) else MUTED for n in frame["name"]]
    fig = go.Figure(go.Bar(x=frame["value"], y=frame["name"], orientation="h", marker_color=colours,
                           text=frame["value"].map(lambda v: f"{v:,.{decimals}f}"), textposition="outside",
                           hovertemplate="%{y}: %{x:,." + str(decimals) + "f}<extra></extra>"))
    style(fig, title, source, height=max(360, 34 * len(frame) + 150), legend=False)
    if kent_value is not None and pd.notna(kent_value):
        fig.add_vline(x=kent_value, line=dict(color=KENT_LINE, dash="dash", width=2))
        fig.add_annotation(x=kent_value, y=1.0, yref="paper", yanchor="bottom", showarrow=False,
                           text=f"Kent {kent_value:,.{decimals}f}", font=dict(color=KENT_LINE, size=13))
    fig.update_xaxes(title_text=value_label, rangemode="tozero")
    fig.update_yaxes(title_text=None)
    return fig


def empty(title: str, source: str) -> go.Figure:
    """A blank, titled figure for a selection with no data (the page also says so in words)."""
    fig = style(go.Figure(), title, source, height=240, legend=False)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


SPC_COLOURS = {"improving": "#12436D", "concerning": "#F46A25", "neutral": "#A285D1"}


def spc_chart(frame: pd.DataFrame, title: str, source: str, y_title: str, polarity: str,
              target: float | None = None, decimals: int = 0) -> go.Figure:
    """XmR chart: values, mean, process limits per segment, special-cause points marked by colour and shape."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=frame["period"], y=frame["value"], mode="lines+markers", name="Value",
                             line=dict(color="#3D3D3D", width=1.5), marker=dict(size=6, color="#3D3D3D")))
    for seg, part in frame.groupby("segment"):
        first = seg == frame["segment"].iloc[0]
        for col, name, dash in (("mean", "Mean", "solid"), ("ucl", "Process limits", "dash"), ("lcl", "Process limits", "dash")):
            fig.add_trace(go.Scatter(x=part["period"], y=part[col], mode="lines", name=name,
                                     legendgroup=name, showlegend=bool(first and col != "lcl"),
                                     line=dict(color="#12436D" if col == "mean" else "#505A5F", dash=dash, width=1.5),
                                     hoverinfo="skip"))
    special = frame[frame["special"]]
    if not special.empty:
        good = (special["side"] > 0) == (polarity == "higher_is_better")
        kind = np.where(polarity == "demand", "neutral", np.where(good, "improving", "concerning"))
        for k, symbol in (("improving", "circle"), ("concerning", "diamond"), ("neutral", "square")):
            pts = special[kind == k]
            if len(pts):
                fig.add_trace(go.Scatter(x=pts["period"], y=pts["value"], mode="markers",
                                         name=f"Special cause ({k})" if k != "neutral" else "Special cause",
                                         marker=dict(size=12, color=SPC_COLOURS[k], symbol=symbol,
                                                     line=dict(color="white", width=1)),
                                         customdata=pts["rules"], hovertemplate="%{x}: %{y}<br>%{customdata}<extra></extra>"))
    if target is not None:
        fig.add_hline(y=target, line=dict(color="#00703C", dash="dot", width=2),
                      annotation_text=f"Target {target:,.{decimals}f}", annotation_position="top left")
    style(fig, title, source)
    fig.update_yaxes(title_text=y_title)
    if not frame.empty:
        add_regimes(fig, min(frame["period"]), max(frame["period"]))
    return fig


def funnel_chart(points: pd.DataFrame, curve: pd.DataFrame, kent: float, title: str, source: str,
                 y_title: str, highlight: str | None = None) -> go.Figure:
    fig = go.Figure()
    for col, name, dash in (("upper_998", "99.8% limits", "dash"), ("lower_998", "99.8% limits", "dash"),
                            ("upper_95", "95% limits", "dot"), ("lower_95", "95% limits", "dot")):
        fig.add_trace(go.Scatter(x=curve["cohort"], y=curve[col], mode="lines", name=name, legendgroup=name,
                                 showlegend=col.startswith("upper"), hoverinfo="skip",
                                 line=dict(color="#505A5F", dash=dash, width=1.5)))
    fig.add_hline(y=kent, line=dict(color=KENT_LINE, width=2), annotation_text=f"Kent {kent:.1f}%",
                  annotation_position="top right")
    colours = [HIGHLIGHT if highlight in (None, n) else MUTED for n in points["name"]]
    labels = [n if n == highlight or pos != "within limits" else "" for n, pos in zip(points["name"], points["position"])]
    fig.add_trace(go.Scatter(x=points["cohort"], y=points["value"], mode="markers+text", name="Districts",
                             text=labels, textposition="top center", textfont=dict(size=13), customdata=points["name"],
                             marker=dict(size=11, color=colours, line=dict(color="#0B0C0C", width=1)),
                             hovertemplate="%{customdata}: %{y:.1f}% of %{x:,} pupils<extra></extra>"))
    style(fig, title, source, height=480)
    fig.update_xaxes(title_text="Pupils in the cohort")
    fig.update_yaxes(title_text=y_title)
    return fig


def scatter_chart(points: pd.DataFrame, x_title: str, y_title: str, title: str, source: str,
                  slope: float | None, intercept: float | None, highlight: tuple[str, ...] = ()) -> go.Figure:
    """Districts as labelled points (points: geography_code, name, x, y), with the fitted line."""
    pts = points.dropna(subset=["x", "y"])
    colours = [HIGHLIGHT if not highlight or n in highlight else MUTED for n in pts["name"]]
    fig = go.Figure(go.Scatter(x=pts["x"], y=pts["y"], mode="markers+text", text=pts["name"],
                               textposition="top center", customdata=pts["geography_code"], name="Districts",
                               marker=dict(size=13, color=colours, line=dict(color="#0B0C0C", width=1)),
                               hovertemplate="%{text}<br>x %{x:.1f}, y %{y:.1f}<extra></extra>"))
    if slope is not None and len(pts) > 1:
        xs = np.array([pts["x"].min(), pts["x"].max()])
        fig.add_trace(go.Scatter(x=xs, y=intercept + slope * xs, mode="lines", name="Fitted line (least squares)",
                                 line=dict(color="#801650", dash="dash", width=2), hoverinfo="skip"))
    style(fig, title, source, height=520)
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    return fig


def need_mix_bars(frame: pd.DataFrame, title: str, source: str) -> go.Figure:
    """Referral share against SEN pupil share for the four areas (frame: area, referral_share, pupil_share)."""
    fig = go.Figure()
    for col, name, colour in (("referral_share", "Referrals", PALETTE[0]), ("pupil_share", "Pupils with SEN", PALETTE[1])):
        fig.add_trace(go.Bar(x=frame["area"], y=frame[col], name=name, marker_color=colour,
                             text=frame[col].map(lambda v: "" if pd.isna(v) else f"{v:.0f}%"), textposition="outside",
                             hovertemplate="%{x}: %{y:.1f}%<extra>" + name + "</extra>"))
    style(fig, title, source, height=420)
    fig.update_layout(barmode="group")
    fig.update_yaxes(title_text="Share (%)", rangemode="tozero")
    return fig


def need_small_multiples(frame: pd.DataFrame, title: str, source: str) -> go.Figure:
    """One panel per area (frame: name, need_area, referral_share, pupil_share): districts as dumbbells."""
    from plotly.subplots import make_subplots
    areas = list(ref.NEED_AREAS)
    fig = make_subplots(rows=1, cols=4, shared_yaxes=True, subplot_titles=[ref.NEED_AREAS[a] for a in areas],
                        horizontal_spacing=0.03)
    names = sorted(frame["name"].unique(), key=lambda n: (n != "Kent", n), reverse=True)
    for i, area in enumerate(areas, start=1):
        part = frame[frame["need_area"] == area].set_index("name").reindex(names)
        for col, label, colour, symbol in (("pupil_share", "Pupils with SEN", PALETTE[1], "circle"),
                                           ("referral_share", "Referrals", PALETTE[0], "diamond")):
            fig.add_trace(go.Scatter(x=part[col], y=names, mode="markers", name=label, legendgroup=label,
                                     showlegend=i == 1, marker=dict(size=10, color=colour, symbol=symbol),
                                     hovertemplate="%{y}: %{x:.1f}%<extra>" + label + "</extra>"), row=1, col=i)
    style(fig, title, source, height=560)
    fig.update_annotations(font=dict(size=13))
    fig.update_xaxes(title_text="%", rangemode="tozero")
    return fig


def area_trend(frame: pd.DataFrame, title: str, source: str) -> go.Figure:
    """Referral share by area per year (frame: academic_year, need_area, share)."""
    fig = go.Figure()
    for area, colour in NEED_COLOURS.items():
        part = frame[frame["need_area"] == area]
        fig.add_trace(go.Scatter(x=part["academic_year"].map(ref.academic_year_label), y=part["share"],
                                 mode="lines+markers", name=ref.NEED_AREAS[area], line=dict(color=colour, width=2.5),
                                 hovertemplate="%{x}: %{y:.1f}%<extra>" + ref.NEED_AREAS[area] + "</extra>"))
    style(fig, title, source)
    fig.update_yaxes(title_text="Share of referrals (%)", rangemode="tozero")
    return fig


def outcome_lines(frame: pd.DataFrame, title: str, source: str, y_title: str) -> go.Figure:
    """Outcome by academic year per geography (frame: academic_year, series, value); missing years stay gaps."""
    fig = go.Figure()
    colours = {"England": PALETTE[4], "Kent": PALETTE[2]}
    for i, (name, part) in enumerate(frame.groupby("series", sort=False)):
        fig.add_trace(go.Scatter(x=part["academic_year"].map(ref.academic_year_label), y=part["value"],
                                 mode="lines+markers", name=str(name), connectgaps=False,
                                 line=dict(color=colours.get(name, PALETTE[0]), width=2.5,
                                           dash="dot" if name == "England" else "solid"),
                                 hovertemplate="%{x}: %{y:.1f}<extra>" + str(name) + "</extra>"))
    style(fig, title, source)
    fig.update_yaxes(title_text=y_title)
    fig.update_xaxes(type="category")
    return fig
