"""Plotly figures as plain dictionaries: one palette, one font scale, a source line, regime lines.

Every builder returns a ``Chart``: the figure, its alt text and the table that is its
accessible alternative (already through disclosure control). Pages never style a figure.

Figures are built as Plotly's JSON structure (``{"data": [...], "layout": {...}}``) in one pass
rather than through ``plotly.graph_objects``: each ``update_layout``/``add_vline`` call there
validates and copies the whole figure, which cost 50–100 ms per chart, most of a filter change.
A dictionary is also cheap to cache. ``plotly_figure()`` wraps one for ``st.plotly_chart``
without validating again; ``tests/test_charts.py`` validates every builder's output against
Plotly's schema.
"""
from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from stls import reference as ref

PALETTE = ("#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1")
NEED_COLOURS = dict(zip(ref.NEED_AREAS, PALETTE))
# Lines told apart without colour (WCAG 1.4.1): each series of a multi-line chart has its own dash
# and marker shape as well as its own colour, in this order.
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "star")


def series_style(i: int, colour: str | None = None, width: float = 2.5, every: int = 1) -> dict:
    """The line and marker of a multi-line chart's ``i``-th series (``every``: at most this many
    markers drawn, for long monthly series)."""
    colour = colour or PALETTE[i % len(PALETTE)]
    marker = dict(color=colour, size=7, symbol=SYMBOLS[i % len(SYMBOLS)])
    if every > 1:
        marker["maxdisplayed"] = every
    return dict(mode="lines+markers", line=dict(color=colour, width=width, dash=DASHES[i % len(DASHES)]),
                marker=marker)
HIGHLIGHT, MUTED, KENT_LINE = "#12436D", "#BFC9D4", "#801650"
RAG_COLOURS = {"Green": "#00703C", "Amber": "#B05A00", "Red": "#D4351C"}
FONT = dict(family="Arial, Helvetica, sans-serif", size=15, color="#0B0C0C")
REGIME_NOTE = "Vertical lines mark service changes: tiered model from Sept 2022, in-house service from Sept 2025."
SPC_COLOURS = {"improving": "#12436D", "concerning": "#F46A25", "neutral": "#A285D1"}
SOURCE_NAME = "source"   # the name of the source-line annotation, so resizing can move it

Figure = dict   # Plotly's figure JSON: {"data": [trace, ...], "layout": {...}}


@dataclass
class Chart:
    figure: Figure
    alt: str
    table: pd.DataFrame   # the table alternative, as displayed (strings, symbols)
    title: str
    caption: str = ""     # shown under the chart: the method, where the reader needs it
    numbers: pd.DataFrame | None = None   # what a line chart draws as numbers, a column per series and a row per
                                          # row of ``table`` (a native PowerPoint chart reads these, never the strings)


class _Prebuilt(go.Figure):
    """A built figure handed to ``st.plotly_chart`` as it is.

    ``st.plotly_chart`` accepts a ``go.Figure`` and asks it for ``to_dict()`` (a dictionary it
    would otherwise validate property by property). Our dictionaries are validated by the test
    suite instead (tests/test_charts.py checks Streamlit sends the same JSON as for a validated
    figure), so this figure skips Plotly's constructor and copies: about 5 ms a chart.
    """

    def __init__(self, spec: Figure):   # noqa: D107 - deliberately not go.Figure.__init__
        self._spec = spec

    def to_dict(self) -> Figure:
        return self._spec


def plotly_figure(fig: Figure) -> go.Figure:
    """The figure for ``st.plotly_chart``, not validated or copied again (see ``_Prebuilt``)."""
    return _Prebuilt(fig)


def standalone(fig: Figure) -> Figure:
    """The figure for use outside Streamlit (the HTML pack): Plotly's empty "none" template named,
    since the process default may be Streamlit's theme, whose colours its front end fills in."""
    return {**fig, "layout": {**fig["layout"], "template": "none"}}


def wrap(title: str, width: int = 90) -> str:
    """Break a long title once, at the space nearest the middle (Plotly titles do not wrap)."""
    if len(title) <= width or "<br>" in title:
        return title
    middle = len(title) // 2
    spaces = [i for i, ch in enumerate(title) if ch == " "]
    cut = min(spaces, key=lambda i: abs(i - middle)) if spaces else middle
    return title[:cut] + "<br>" + title[cut + 1:]


def values(column) -> list:
    """A column as a JSON-ready list (NaN and NaT become null, dates stay dates)."""
    return [None if v is None or v is pd.NA or v is pd.NaT or v != v else v   # NaN != NaN
            for v in pd.Series(column).tolist()]


def axis(title: str | None = None, **settings) -> dict:
    """An axis in the shared look; ``settings`` are Plotly axis properties."""
    base: dict[str, Any] = dict(tickfont=dict(color="#0B0C0C", size=13), gridcolor="#E5E5E5", linecolor="#505A5F",
                showline=True, zeroline=False, automargin=True, showgrid=True, ticks="",
                title=dict(font=dict(color="#0B0C0C", size=14)))
    if title:
        base["title"]["text"] = title
    return {**base, **settings}


def vline(x, colour: str, dash: str, width: float) -> dict:
    return dict(type="line", xref="x", yref="y domain", x0=x, x1=x, y0=0, y1=1,
                line=dict(color=colour, dash=dash, width=width))


def hline(y, colour: str, dash: str, width: float) -> dict:
    return dict(type="line", xref="x domain", yref="y", x0=0, x1=1, y0=y, y1=y,
                line=dict(color=colour, dash=dash, width=width))


def label(text: str, *, x, y, xref: str = "x", yref: str = "paper", xanchor: str = "left",
          yanchor: str = "bottom", size: int = 12, colour: str = "#3D3D3D") -> dict:
    """A text annotation without an arrow."""
    return dict(text=text, x=x, y=y, xref=xref, yref=yref, xanchor=xanchor, yanchor=yanchor,
                showarrow=False, font=dict(size=size, color=colour))


X_TITLE = 28   # pixels an x-axis title takes below the tick labels


LEGEND_ROW, LEGEND_WIDTH = 24, 900   # pixels per legend row; the width a legend row can use


def _x_title(layout: dict) -> int:
    """Pixels under the plot for the x axis's title and any tick labels beyond one line."""
    xaxis = layout.get("xaxis", {})
    lines = max((str(t).count("<br>") for t in xaxis.get("ticktext", []) or []), default=0)
    return (X_TITLE if xaxis.get("title", {}).get("text") else 0) + 16 * lines


def _legend_rows(traces: list[dict]) -> int:
    """Rows a horizontal legend needs at about 8 px a character plus its symbol, so the source
    line can sit below it (Plotly wraps a long legend, and does not make room for it)."""
    names = list(dict.fromkeys(t.get("name", "") for t in traces if t.get("showlegend", True)))
    width = sum(8 * len(n) + 60 for n in names)
    return max(1, -(-width // LEGEND_WIDTH))


def place(layout: dict) -> None:
    """Legend and source line in pixels below the plot area (and below any x-axis title),
    whatever the chart's height: call again after changing its height or margins."""
    margin = layout["margin"]
    plot = max(layout["height"] - margin["t"] - margin["b"], 100)
    layout["legend"]["y"] = -(45 + _x_title(layout)) / plot
    for note in layout["annotations"]:
        if note.get("name") == SOURCE_NAME:
            note["y"] = -(margin["b"] - 18) / plot


def figure(traces: list[dict], title: str, source: str, *, height: int = 420, legend: bool = True,
           xaxis: dict | None = None, yaxis: dict | None = None, shapes: Sequence[dict] = (),
           annotations: Sequence[dict] = (), **layout: Any) -> Figure:
    """The shared look: title stating the finding, Arial, palette, legend and source line below."""
    title = wrap(title)
    top, bottom = 70 + 22 * title.count("<br>"), 120 if legend else 70
    source_note = dict(label(f"Source: {source}", x=0, y=0, xref="paper", colour="#505A5F"), name=SOURCE_NAME)
    out = dict(
        title=dict(text=title, x=0, xref="paper", xanchor="left", font=dict(size=18)),
        font=FONT, colorway=list(PALETTE), height=height, paper_bgcolor="white", plot_bgcolor="white",
        margin=dict(l=10, r=10, t=top, b=bottom), showlegend=legend,
        legend=dict(orientation="h", yanchor="top", x=0, title=dict(text="")),
        hoverlabel=dict(font=dict(size=14)), xaxis=xaxis or axis(), yaxis=yaxis or axis(),
        annotations=[*annotations, source_note], **layout)
    out["margin"]["b"] += _x_title(out) + (LEGEND_ROW * (_legend_rows(traces) - 1) if legend else 0)
    if shapes:
        out["shapes"] = list(shapes)
    place(out)
    return {"data": traces, "layout": out}


def on_screen(fig: Figure) -> tuple[Figure, str, str]:
    """For a page that reflows: the figure without its title and source line, and those two as
    text, to be set above and below it in HTML, which wraps at any width (in the figure they are
    fixed lines that ran off a 390-pixel screen). Packs and meeting slides keep them in the figure."""
    layout = fig["layout"]
    title = str((layout.get("title") or {}).get("text", "")).replace("<br>", " ")
    notes = layout.get("annotations", [])
    source = next((str(n.get("text", "")) for n in notes if n.get("name") == SOURCE_NAME), "")
    out = {**layout, "title": {"text": ""}, "annotations": [n for n in notes if n.get("name") != SOURCE_NAME],
           "margin": {**layout["margin"], "t": 30, "b": max(layout["margin"]["b"] - 30, 40)}}
    out["height"] = layout["height"] - (layout["margin"]["t"] - out["margin"]["t"]) - (layout["margin"]["b"] - out["margin"]["b"])
    axis_title = ((layout.get("yaxis") or {}).get("title") or {})
    if isinstance(axis_title, dict) and len(str(axis_title.get("text") or "")) > 40:   # a long y title on two lines
        out["yaxis"] = {**layout["yaxis"], "title": {**axis_title, "text": wrap(str(axis_title["text"]), 40)}}
    place(out)
    return {**fig, "layout": out}, title, source


def resized(fig: Figure, height: int) -> Figure:
    """A copy at another height, legend and source line moved to match."""
    out = copy.deepcopy(fig)
    out["layout"]["height"] = height
    place(out["layout"])
    return out


def regimes(first: dt.date, last: dt.date) -> tuple[list[dict], list[dict]]:
    """Dashed vertical lines (shapes) and their labels at each service-regime change in the range."""
    shapes, notes = [], []
    for regime in ref.REGIMES[1:]:
        if first <= regime.start <= last:
            shapes.append(vline(regime.start, "#3D3D3D", "dash", 1.5))
            notes.append(label(regime.label, x=regime.start, y=1.0))
    return shapes, notes


def _date(value) -> dt.date:
    return pd.Timestamp(value).date()


def empty(title: str, source: str) -> Figure:
    """A blank, titled figure for a selection with no data (the page also says so in words)."""
    return figure([], title, source, height=240, legend=False,
                  xaxis=axis(visible=False), yaxis=axis(visible=False))


def monthly_lines(frame: pd.DataFrame, title: str, source: str, y_title: str) -> Figure:
    """One line per series over months (frame: month, series, value); gaps stay gaps."""
    traces = [dict(type="scatter", x=values(part["month"]), y=values(part["value"]), name=str(name),
                   **series_style(i, every=24),
                   hovertemplate="%{x|%b %Y}: %{y:,.0f}<extra>" + str(name) + "</extra>")
              for i, (name, part) in enumerate(frame.groupby("series", sort=False))]
    shapes, notes = regimes(_date(frame["month"].min()), _date(frame["month"].max())) if not frame.empty else ([], [])
    return figure(traces, title, source, shapes=shapes, annotations=notes,
                  xaxis=axis(None, dtick="M12", tickformat="%Y"),
                  yaxis=axis(y_title, rangemode="tozero", tickformat=","))


def district_bars(frame: pd.DataFrame, value_label: str, title: str, source: str,
                  kent_value: float | None = None, highlight: tuple[str, ...] = (),
                  decimals: int = 1) -> Figure:
    """Horizontal bars by district (frame: name, value, and geography_code for a click to carry),
    sorted, with Kent as a reference line."""
    frame = frame.dropna(subset=["value"]).sort_values("value")
    colours = [HIGHLIGHT if (not highlight or n in highlight) else MUTED for n in frame["name"]]
    bars = dict(type="bar", x=values(frame["value"]), y=values(frame["name"]), orientation="h",
                marker=dict(color=colours), text=[f"{v:,.{decimals}f}" for v in frame["value"]],
                textposition="outside", hovertemplate="%{y}: %{x:,." + str(decimals) + "f}<extra></extra>")
    if "geography_code" in frame:
        bars["customdata"] = values(frame["geography_code"])
    shapes, notes = [], []
    if kent_value is not None and pd.notna(kent_value):
        shapes.append(vline(float(kent_value), KENT_LINE, "dash", 2))
        notes.append(label(f"Kent {kent_value:,.{decimals}f}", x=float(kent_value), y=1.0, xanchor="center",
                           size=13, colour=KENT_LINE))
    return figure([bars], title, source, height=max(360, 34 * len(frame) + 150), legend=False,
                  shapes=shapes, annotations=notes,
                  xaxis=axis(value_label, rangemode="tozero"), yaxis=axis(None))


def spc_chart(frame: pd.DataFrame, title: str, source: str, y_title: str, polarity: str,
              target: float | None = None, decimals: int = 0) -> Figure:
    """XmR chart: values, mean, process limits per segment, special-cause points marked by colour and shape."""
    period = values(frame["period"])
    traces: list[dict[str, Any]] = [dict(type="scatter", x=period, y=values(frame["value"]), mode="lines+markers", name="Value",
                   line=dict(color="#3D3D3D", width=1.5), marker=dict(size=6, color="#3D3D3D"))]
    first_segment = frame["segment"].iloc[0] if len(frame) else None
    for seg, part in frame.groupby("segment"):
        for col, name, dash in (("mean", "Mean", "solid"), ("ucl", "Process limits", "dash"), ("lcl", "Process limits", "dash")):
            traces.append(dict(type="scatter", x=values(part["period"]), y=values(part[col]), mode="lines", name=name,
                               legendgroup=name, showlegend=bool(seg == first_segment and col != "lcl"),
                               line=dict(color="#12436D" if col == "mean" else "#505A5F", dash=dash, width=1.5),
                               hoverinfo="skip"))
    special = frame[frame["special"]]
    if not special.empty:   # coloured by the direction of the point's rules (a trend's own way); mixed: neutral
        way = special["direction"] if "direction" in special else special["side"]
        good = (way > 0) == (polarity == "higher_is_better")
        kind = np.where((polarity == "demand") | (way == 0), "neutral", np.where(good, "improving", "concerning"))
        for k, symbol in (("improving", "circle"), ("concerning", "diamond"), ("neutral", "square")):
            pts = special[kind == k]
            if len(pts):
                traces.append(dict(type="scatter", x=values(pts["period"]), y=values(pts["value"]), mode="markers",
                                   name=f"Special cause ({k})" if k != "neutral" else "Special cause",
                                   marker=dict(size=12, color=SPC_COLOURS[k], symbol=symbol,
                                               line=dict(color="white", width=1)),
                                   customdata=values(pts["rules"]),
                                   hovertemplate="%{x}: %{y}<br>%{customdata}<extra></extra>"))
    shapes, notes = regimes(_date(min(frame["period"])), _date(max(frame["period"]))) if not frame.empty else ([], [])
    if target is not None:
        shapes.append(hline(target, "#00703C", "dot", 2))
        notes.append(label(f"Target {target:,.{decimals}f}", x=0, xref="x domain", y=target, yref="y",
                           size=15, colour="#0B0C0C"))
    return figure(traces, title, source, shapes=shapes, annotations=notes, yaxis=axis(y_title))


def funnel_chart(points: pd.DataFrame, curve: pd.DataFrame, kent: float, title: str, source: str,
                 y_title: str, highlight: str | None = None, unit: str = "percent") -> Figure:
    """District results against cohort size; ``unit`` 'percent' or 'score' (points)."""
    suffix = "%" if unit == "percent" else " points"
    cohort = values(curve["cohort"])
    traces = [dict(type="scatter", x=cohort, y=values(curve[col]), mode="lines", name=name, legendgroup=name,
                   showlegend=col.startswith("upper"), hoverinfo="skip", line=dict(color="#505A5F", dash=dash, width=1.5))
              for col, name, dash in (("upper_998", "99.8% limits", "dash"), ("lower_998", "99.8% limits", "dash"),
                                      ("upper_95", "95% limits", "dot"), ("lower_95", "95% limits", "dot"))]
    colours = [HIGHLIGHT if highlight in (None, n) else MUTED for n in points["name"]]
    labels = [n if n == highlight or pos != "within limits" else "" for n, pos in zip(points["name"], points["position"])]
    traces.append(dict(type="scatter", x=values(points["cohort"]), y=values(points["value"]), mode="markers+text",
                       name="Districts", text=labels, textposition="top center", textfont=dict(size=13),
                       customdata=values(points["name"]),
                       marker=dict(size=11, color=colours, line=dict(color="#0B0C0C", width=1)),
                       hovertemplate="%{customdata}: %{y:.1f}" + suffix + ", %{x:,} pupils<extra></extra>"))
    kent = float(kent)
    return figure(traces, title, source, height=480, shapes=[hline(kent, KENT_LINE, "solid", 2)],
                  annotations=[label(f"Kent {kent:.1f}{suffix}", x=1, xref="x domain", y=kent, yref="y", xanchor="right",
                                     size=15, colour="#0B0C0C")],
                  xaxis=axis("Pupils in the cohort"), yaxis=axis(y_title))


def scatter_chart(points: pd.DataFrame, x_title: str, y_title: str, title: str, source: str,
                  slope: float | None, intercept: float | None, highlight: tuple[str, ...] = ()) -> Figure:
    """Districts as labelled points (points: geography_code, name, x, y), with the fitted line."""
    pts = points.dropna(subset=["x", "y"])
    colours = [HIGHLIGHT if not highlight or n in highlight else MUTED for n in pts["name"]]
    x, y = pts["x"].to_numpy(float), pts["y"].to_numpy(float)
    traces = [dict(type="scatter", x=values(pts["x"]), y=values(pts["y"]), mode="markers+text", text=values(pts["name"]),
                   textposition=label_positions(x, y), cliponaxis=False, customdata=values(pts["geography_code"]), name="Districts",
                   marker=dict(size=13, color=colours, line=dict(color="#0B0C0C", width=1)),
                   hovertemplate="%{text}<br>x %{x:.1f}, y %{y:.1f}<extra></extra>")]
    if slope is not None and intercept is not None and len(pts) > 1:
        xs = np.array([pts["x"].min(), pts["x"].max()], dtype=float)
        traces.append(dict(type="scatter", x=xs.tolist(), y=(intercept + slope * xs).tolist(), mode="lines",
                           name="Fitted line (least squares)", line=dict(color="#801650", dash="dash", width=2),
                           hoverinfo="skip"))
    # Room above the highest point and below the lowest for their labels (a label above the top
    # point was cut off by the plot area, most visibly on the shorter meeting-mode chart).
    yaxis = axis(y_title)
    if len(y):
        span = float(np.ptp(y)) or 1.0
        yaxis["range"] = [float(y.min()) - 0.12 * span, float(y.max()) + 0.18 * span]
    return figure(traces, title, source, height=520, xaxis=axis(x_title), yaxis=yaxis)


def label_positions(x: np.ndarray, y: np.ndarray) -> list[str]:
    """A text position per point, so that labels of points close together do not overprint:
    above the point, unless an earlier point's label above is near; then below; then on the side
    away from the nearest such point (nearness judged on each axis's span: 12% across, 8% up and
    down)."""
    if not len(x):
        return []
    xs, ys = float(np.ptp(x)) or 1.0, float(np.ptp(y)) or 1.0
    taken: list[tuple[float, float, str]] = []
    out = []
    for px, py in zip(x, y):
        near = [(abs(px - qx) / xs + abs(py - qy) / ys, qx, pos) for qx, qy, pos in taken
                if abs(px - qx) / xs < 0.12 and abs(py - qy) / ys < 0.08]
        used = {pos for _, _, pos in near}
        if "top center" not in used:
            pos = "top center"
        elif "bottom center" not in used:
            pos = "bottom center"
        else:
            nearest_x = min(near)[1]
            pos = "middle left" if nearest_x >= px else "middle right"
        taken.append((px, py, pos))
        out.append(pos)
    return out


def need_mix_bars(frame: pd.DataFrame, title: str, source: str) -> Figure:
    """Referral share against SEN pupil share for the four areas (frame: area, referral_share, pupil_share)."""
    traces = [dict(type="bar", x=values(frame["area"]), y=values(frame[col]), name=name, marker=dict(color=colour),
                   text=["" if pd.isna(v) else f"{v:.0f}%" for v in frame[col]], textposition="outside",
                   hovertemplate="%{x}: %{y:.1f}%<extra>" + name + "</extra>")
              for col, name, colour in (("referral_share", "Referrals", PALETTE[0]),
                                        ("pupil_share", "Pupils with SEN", PALETTE[1]))]
    areas = list(frame["area"])   # level, on two lines: rotated, they ran into the legend in the printed pack
    return figure(traces, title, source, height=440, barmode="group", yaxis=axis("Share (%)", rangemode="tozero"),
                  xaxis=axis(None, tickangle=0, tickvals=areas, ticktext=[wrap(a, 18) for a in areas]))


def need_small_multiples(frame: pd.DataFrame, title: str, source: str) -> Figure:
    """One panel per area (frame: name, need_area, referral_share, pupil_share): districts as dumbbells.

    Four x axes side by side sharing one y axis (as ``make_subplots(1, 4, shared_yaxes=True)``)."""
    areas, gap = list(ref.NEED_AREAS), 0.03
    width = (1 - gap * (len(areas) - 1)) / len(areas)
    names = sorted(frame["name"].unique(), key=lambda n: (n != "Kent", n), reverse=True)
    traces: list[dict[str, Any]] = []
    axes: dict[str, Any] = {}
    titles: list[dict[str, Any]] = []
    for i, area in enumerate(areas, start=1):
        part = frame[frame["need_area"] == area].set_index("name").reindex(names)
        suffix = "" if i == 1 else str(i)
        for col, name, colour, symbol in (("pupil_share", "Pupils with SEN", PALETTE[1], "circle"),
                                          ("referral_share", "Referrals", PALETTE[0], "diamond")):
            traces.append(dict(type="scatter", x=values(part[col]), y=list(names), mode="markers", name=name,
                               legendgroup=name, showlegend=i == 1, xaxis=f"x{suffix}", yaxis=f"y{suffix}",
                               marker=dict(size=10, color=colour, symbol=symbol),
                               hovertemplate="%{y}: %{x:.1f}%<extra>" + name + "</extra>"))
        left = (i - 1) * (width + gap)
        axes[f"xaxis{suffix}"] = axis("%", rangemode="tozero", domain=[left, left + width], anchor=f"y{suffix}")
        axes[f"yaxis{suffix}"] = axis(None, anchor=f"x{suffix}", domain=[0, 1],
                                      **({} if i == 1 else dict(matches="y", showticklabels=False)))
        titles.append(label(ref.NEED_AREAS[area], x=left + width / 2, xref="paper", y=1.0, xanchor="center",
                            size=13, colour="#0B0C0C"))
    fig = figure(traces, title, source, height=560, annotations=titles, xaxis=axes.pop("xaxis"),
                 yaxis=axes.pop("yaxis"), **axes)
    return fig


def area_trend(frame: pd.DataFrame, title: str, source: str) -> Figure:
    """Referral share by area per year (frame: academic_year, need_area, share)."""
    traces = []
    for i, (area, colour) in enumerate(NEED_COLOURS.items()):
        part = frame[frame["need_area"] == area]
        traces.append(dict(type="scatter", x=[ref.academic_year_label(y) for y in part["academic_year"]],
                           y=values(part["share"]), name=ref.NEED_AREAS[area], **series_style(i, colour),
                           hovertemplate="%{x}: %{y:.1f}%<extra>" + ref.NEED_AREAS[area] + "</extra>"))
    return figure(traces, title, source, yaxis=axis("Share of referrals (%)", rangemode="tozero"))


def outcome_lines(frame: pd.DataFrame, title: str, source: str, y_title: str) -> Figure:
    """Outcome by academic year per geography (frame: academic_year, series, value); missing years stay gaps."""
    colours = {"England": PALETTE[4], "Kent": PALETTE[2]}
    traces = [dict(type="scatter", x=[ref.academic_year_label(y) for y in part["academic_year"]],
                   y=values(part["value"]), name=str(name), connectgaps=False,
                   **series_style(i, colours.get(name, PALETTE[0])),
                   hovertemplate="%{x}: %{y:.1f}<extra>" + str(name) + "</extra>")
              for i, (name, part) in enumerate(frame.groupby("series", sort=False))]
    return figure(traces, title, source, yaxis=axis(y_title), xaxis=axis(None, type="category"))


def benchmark_lines(table: pd.DataFrame, neighbours: list[str], title: str, source: str, y_title: str) -> Figure:
    """Kent against England, the neighbour average and each statistical neighbour by academic
    year (table: academic_year and one column per series); the neighbours thin and grey, one
    legend entry for them; missing years stay gaps."""
    x = [ref.academic_year_label(int(y)) for y in table["academic_year"]]
    traces: list[dict[str, Any]] = []
    for i, name in enumerate(neighbours):
        traces.append(dict(type="scatter", x=x, y=values(table[name]), mode="lines", name="Statistical neighbours",
                           legendgroup="sn", showlegend=i == 0, connectgaps=False, line=dict(color=MUTED, width=1.5),
                           hovertemplate="%{x}: %{y:.1f}<extra>" + name + "</extra>"))
    for name, colour, dash, width in (("Neighbour average", PALETTE[1], "dash", 2.5), ("England", PALETTE[4], "dot", 2.5),
                                      ("Kent", KENT_LINE, "solid", 3.5)):
        traces.append(dict(type="scatter", x=x, y=values(table[name]), mode="lines+markers", name=name, connectgaps=False,
                           line=dict(color=colour, dash=dash, width=width),
                           hovertemplate="%{x}: %{y:.1f}<extra>" + name + "</extra>"))
    return figure(traces, title, source, yaxis=axis(y_title), xaxis=axis(None, type="category"))


def heatmap(z: np.ndarray, x: list[str], y: list[str], text: np.ndarray, title: str, source: str,
            tickvals: list[str]) -> Figure:
    """Rows × columns shaded white to dark blue from 0 to 150 (per cent of usual), with cell words."""
    trace = dict(type="heatmap", z=[[None if np.isnan(v) else float(v) for v in row] for row in z], x=list(x), y=list(y),
                 text=text.tolist(), texttemplate="%{text}", colorscale=[[0, "#FFFFFF"], [1, "#12436D"]],
                 zmin=0, zmax=150, colorbar=dict(title=dict(text="% of usual")),
                 hovertemplate="%{y}, %{x}: %{z:.0f}% of a usual month<extra></extra>")
    return figure([trace], title, source, height=520, legend=False, xaxis=axis(None, tickangle=0, tickvals=tickvals))


def event_study_chart(event: pd.DataFrame, title: str, source: str, y_title: str) -> Figure:
    """Effect by years since first support (event: rel_time, estimate, low, high), each point with
    its 95% interval as error bars; the year before support is the reference (0 by definition).
    Before and after support are told apart by marker shape and a labelled dashed line, not by
    colour alone."""
    pre, post = event[event["rel_time"] < 0], event[event["rel_time"] >= 0]
    traces = []
    for part, name, symbol, colour in ((pre, "Before first support (pre-trend check)", "circle-open", PALETTE[4]),
                                       (post, "Years since first support", "circle", PALETTE[0])):
        if part.empty:
            continue
        traces.append(dict(
            type="scatter", mode="markers", name=name, x=values(part["rel_time"]), y=values(part["estimate"]),
            marker=dict(size=12, symbol=symbol, color=colour, line=dict(color=colour, width=2)),
            error_y=dict(type="data", symmetric=False, array=values(part["high"] - part["estimate"]),
                         arrayminus=values(part["estimate"] - part["low"]), color=colour, thickness=2, width=6),
            customdata=values(part["low"].map("{:+.1f}".format) + " to " + part["high"].map("{:+.1f}".format)),
            hovertemplate="Year %{x}: %{y:+.1f} (95% interval %{customdata})<extra></extra>"))
    ticks = event["rel_time"].astype(int).tolist()
    text = [f"{t:+d}" if t else "0: first year" for t in ticks]
    return figure(traces, title, source, height=460,
                  xaxis=axis("Years since the first year of Intensive Specialist Support (−1: the year before, the reference)",
                             tickmode="array", tickvals=ticks, ticktext=text),
                  yaxis=axis(y_title, zeroline=True, zerolinecolor="#0B0C0C", zerolinewidth=1),
                  shapes=[vline(-0.5, "#505A5F", "dash", 1.5)],
                  annotations=[label("Support begins", x=-0.45, y=1, yref="y domain", yanchor="top", size=13)])
