"""Plotly figure builders: one palette, one font scale, a source line, regime annotations.

Every builder returns a ``Chart``: the figure, its alt text and the table that is its
accessible alternative (already through disclosure control). Pages never style a figure.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from stls import reference as ref

PALETTE = ("#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1")
NEED_COLOURS = dict(zip(ref.NEED_AREAS, PALETTE))
HIGHLIGHT, MUTED, KENT_LINE = "#12436D", "#BFC9D4", "#801650"
RAG_COLOURS = {"Green": "#00703C", "Amber": "#B05A00", "Red": "#D4351C"}
FONT = dict(family="Arial, Helvetica, sans-serif", size=15, color="#0B0C0C")
REGIME_NOTE = "Vertical lines mark service changes: tiered model from Sept 2022, in-house service from Sept 2025."


@dataclass
class Chart:
    figure: go.Figure
    alt: str
    table: pd.DataFrame   # the table alternative, as displayed (strings, symbols)
    title: str


def style(fig: go.Figure, title: str, source: str, *, height: int = 420, legend: bool = True) -> go.Figure:
    """The shared look: title stating the finding, Arial, palette, source line under the plot."""
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left", font=dict(size=19)),
        font=FONT, colorway=list(PALETTE), height=height, template="plotly_white",
        margin=dict(l=10, r=10, t=70, b=80), showlegend=legend,
        legend=dict(orientation="h", yanchor="top", y=-0.14, x=0, title_text=""),
        hoverlabel=dict(font_size=14),
    )
    axis = dict(tickfont=dict(color="#0B0C0C", size=13), title_font=dict(color="#0B0C0C", size=14),
                gridcolor="#E5E5E5", linecolor="#505A5F")
    fig.update_xaxes(**axis)
    fig.update_yaxes(**axis)
    fig.add_annotation(text=f"Source: {source}", xref="paper", yref="paper", x=0, y=-0.30,
                       showarrow=False, xanchor="left", font=dict(size=12, color="#505A5F"))
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
