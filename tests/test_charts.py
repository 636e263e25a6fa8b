"""Every figure the package builds is valid Plotly, keeps the shared look, and is placed by pixels.

Figures are plain dictionaries built without Plotly's validators (see stls/present/charts.py), so this is
where they are validated: ``go.Figure(spec)`` raises on any property Plotly does not know.
"""
from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import plotly.tools
import pytest

from stls import reference as ref
from stls.analysis import association, needs
from stls.filters import Filters
from stls.present import charts
from stls.present.views import activity_and_outcomes as outcomes
from stls.present.views import areas_of_need as needs_view
from stls.present.views import data as data_view
from stls.present.views import district, overview, scorecard

F = Filters(2016, 2025)


def _every_chart(db) -> dict[str, charts.Chart]:
    code = ref.DISTRICT_CODES[0]
    mix = needs.mix(db, F, 2024)
    return {
        "monthly lines": overview.page(db, F).monthly,
        "district bars": overview.district_comparison(db, F, "referral_rate"),
        "spc (months)": scorecard.spc_view(db, F, "referrals"),
        "spc (years, target)": scorecard.spc_view(db, F, "phonics_sen_support"),
        "spc (district)": district.profile_activity(db, F, code, "referral").spc,
        "need mix bars": district.need_mix(db, F, code, 2024),
        "outcome lines": district.outcomes(db, F, code, "ks2_rwm_expected", "sen_support"),
        "funnel": district.funnel_view(db, code, "ks2_rwm_expected", "sen_support", 2024),
        "scatter": outcomes.scatter(association.analyse(db, association.Options(), F), F),
        "small multiples": needs_view.small_multiples(mix, 2024),
        "area trend": needs_view.trend_chart(db, F),
        "heat map": data_view.completeness(db),
        "empty": charts.Chart(charts.empty("Nothing here", "Nowhere"), "No data.", None, "Nothing here"),
    }


def _as_streamlit_sends(spec: dict) -> str:
    """The JSON ``st.plotly_chart`` puts on the wire for ``charts.plotly_figure(spec)`` (its own two
    steps, from streamlit/elements/plotly_chart.py)."""
    figure = plotly.tools.return_figure_from_figure_or_data(charts.plotly_figure(spec), validate_figure=True)
    return pio.to_json(figure, validate=False)


@pytest.fixture(scope="module")
def every_chart(demo_db):
    return _every_chart(demo_db)


def test_every_figure_is_valid_plotly(every_chart):
    for name, chart in every_chart.items():
        try:
            validated = go.Figure(charts.standalone(chart.figure))   # validates every property
        except ValueError as err:                        # pragma: no cover - the message is the point
            pytest.fail(f"{name}: {err}")
        expected = json.loads(pio.to_json(validated))     # serialises to strict JSON
        # the "none" template adds no styling: the figure's look is all its own
        assert expected["layout"].pop("template") == {"data": {"scatter": [{"type": "scatter"}]}}
        assert json.loads(_as_streamlit_sends(chart.figure)) == expected, name   # what Streamlit sends


def test_shared_look_and_source_line(every_chart):
    for name, chart in every_chart.items():
        layout = chart.figure["layout"]
        assert layout["font"]["family"].startswith("Arial"), name
        assert layout["title"]["text"] == charts.wrap(chart.title) or name == "empty", name
        sources = [a for a in layout["annotations"] if a.get("name") == charts.SOURCE_NAME]
        assert len(sources) == 1 and sources[0]["text"].startswith("Source: "), name
        # the source line sits (bottom margin - 18 px) below the plot area, whatever the height
        plot = layout["height"] - layout["margin"]["t"] - layout["margin"]["b"]
        assert sources[0]["y"] == pytest.approx(-(layout["margin"]["b"] - 18) / max(plot, 100)), name


def test_resized_moves_legend_and_source(every_chart):
    fig = every_chart["monthly lines"].figure
    small = charts.resized(fig, 300)
    assert small["layout"]["height"] == 300 and fig["layout"]["height"] == 420   # the original is untouched
    plot = 300 - small["layout"]["margin"]["t"] - small["layout"]["margin"]["b"]
    assert small["layout"]["legend"]["y"] == pytest.approx(-45 / max(plot, 100))


def test_regime_lines_where_the_range_covers_them(every_chart):
    fig = every_chart["monthly lines"].figure
    lines = [s for s in fig["layout"].get("shapes", []) if s["yref"] == "y domain"]
    assert [s["x0"] for s in lines] == [r.start for r in ref.REGIMES[1:]]   # both changes in 2016–2026
    spc = every_chart["spc (years, target)"].figure
    target = [s for s in spc["layout"]["shapes"] if s["xref"] == "x domain"]
    assert len(target) == 1 and any(a["text"].startswith("Target ") for a in spc["layout"]["annotations"])


def test_small_multiples_four_panels_one_shared_axis(every_chart):
    layout = every_chart["small multiples"].figure["layout"]
    domains = [layout[f"xaxis{s}"]["domain"] for s in ("", "2", "3", "4")]
    assert domains[0][0] == 0 and domains[-1][1] == pytest.approx(1)
    assert all(a[1] < b[0] for a, b in zip(domains, domains[1:]))           # side by side, not overlapping
    assert all(layout[f"yaxis{s}"]["matches"] == "y" for s in ("2", "3", "4"))
    titles = {a["text"] for a in layout["annotations"]}
    assert set(ref.NEED_AREAS.values()) <= titles


def test_gaps_stay_gaps(every_chart):
    """NaN values go out as null (a gap), never as a zero or an invalid NaN token."""
    spec = _as_streamlit_sends(every_chart["heat map"].figure)
    assert "NaN" not in spec


def test_scatter_labels_keep_apart_and_inside_the_plot(every_chart):
    """Points close together get their labels on different sides; the y axis leaves room above
    the highest point for its label (it was cut off on the shorter meeting-mode chart)."""
    x, y = [1.0, 1.05, 5.0, 1.02], [1.0, 1.0, 3.0, 1.01]
    assert charts.label_positions(np.array(x), np.array(y)) == ["top center", "bottom center", "top center", "middle right"]
    trace = every_chart["scatter"].figure["data"][0]
    low, high = every_chart["scatter"].figure["layout"]["yaxis"]["range"]
    ys = [v for v in trace["y"] if v is not None]
    assert high - max(ys) >= 0.15 * (max(ys) - min(ys)) and min(ys) - low >= 0.1 * (max(ys) - min(ys))
    close = [(a, b) for a in range(len(ys)) for b in range(a) if abs(trace["x"][a] - trace["x"][b]) < 1 and abs(ys[a] - ys[b]) < 0.5]
    assert all(trace["textposition"][a] != trace["textposition"][b] for a, b in close)


# Traces drawn from figures the table gives another way: a funnel's limits are curves over a grid
# of cohort sizes (its table gives each district's limits at its own cohort); a fitted line is two
# end points of the least-squares line (its caption gives the slope and interval).
_DRAWN_NOT_TABLED = {("funnel", "95% limits"), ("funnel", "99.8% limits"), ("scatter", "Fitted line (least squares)")}


def _tabled_numbers(table) -> list[tuple[float, float]]:
    """Every number the table shows, with half its last shown digit (the rounding it allows)."""
    import re
    out = []
    for column in table.columns:
        for cell in table[column].astype(str):
            for text in re.findall(r"[-+−]?\d[\d,]*(?:\.\d+)?", cell):
                digits = len(text.split(".")[1]) if "." in text else 0
                out.append((float(text.replace(",", "").replace("−", "-")), 0.5 * 10 ** -digits + 1e-9))
    return out


def test_table_alternative_holds_every_figure_the_chart_draws(every_chart):
    """The accessibility statement promises the table alternative holds the chart's figures: every
    value a chart plots is in its table at the precision the table shows."""
    checked = 0
    for name, chart in every_chart.items():
        if chart.table is None or name == "heat map":   # the heat map's cells are its table's cells
            continue
        numbers = _tabled_numbers(chart.table)
        for trace in chart.figure["data"]:
            if (name, trace.get("name")) in _DRAWN_NOT_TABLED:
                continue
            plotted = trace.get("x" if trace.get("orientation") == "h" else "y") or []
            for v in plotted:
                if isinstance(v, (int, float)) and v == v:
                    assert any(abs(v - n) <= tol for n, tol in numbers), (name, trace.get("name"), v)
                    checked += 1
    assert checked > 500


def test_lines_differ_by_more_than_colour(every_chart):
    """WCAG 1.4.1: in a chart with several lines each legend entry has its own dash or marker
    shape, not only its own colour (the monthly and area-of-need trend lines differed by colour alone)."""
    multi = 0
    for name, chart in every_chart.items():
        lines = [t for t in chart.figure["data"] if t.get("type") == "scatter" and "lines" in t.get("mode", "")
                 and t.get("showlegend", True)]
        if len(lines) < 2:
            continue
        looks = [((t.get("line") or {}).get("dash", "solid"),
                  (t.get("marker") or {}).get("symbol", "circle") if "markers" in t["mode"] else None) for t in lines]
        assert len(set(looks)) == len(looks), (name, [(t["name"], look) for t, look in zip(lines, looks)])
        multi += 1
    assert multi >= 3


def test_on_screen_the_title_and_source_leave_the_figure_to_wrap_as_text():
    """Chart titles and source lines were fixed lines in the figure, clipped at 390 px: on a page
    they are text above and below it; the figure keeps its plot area's height."""
    from stls.present import charts
    fig = charts.figure([], "A finding that is long enough to need more than one line on a small phone screen",
                        "KCC STLS activity tracker", height=420,
                        yaxis=charts.axis("KS2 RWM expected (%), SEN support, minus England"))
    shown, title, source = charts.on_screen(fig)
    assert title == "A finding that is long enough to need more than one line on a small phone screen"
    assert source == "Source: KCC STLS activity tracker"
    assert shown["layout"]["title"]["text"] == ""
    assert all(n.get("name") != charts.SOURCE_NAME for n in shown["layout"]["annotations"])
    plot = lambda f: f["layout"]["height"] - f["layout"]["margin"]["t"] - f["layout"]["margin"]["b"]
    assert plot(shown) == plot(fig)
    assert "<br>" in shown["layout"]["yaxis"]["title"]["text"]
    assert fig["layout"]["title"]["text"].startswith("A finding")   # the pack's figure is untouched
