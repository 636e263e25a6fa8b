"""The activity-and-outcomes page: the 2019 LIFT review's question, one view at a time."""
from __future__ import annotations

import pandas as pd

from stls import reference as ref
from stls.analysis import association
from stls.filters import Filters
from stls.present import charts
from stls.store import disclosure

MEASURE_GROUPS = ("sen_support", "ehc_plan", "all_sen")


def scatter(res: association.Result, f: Filters) -> charts.Chart:
    o = res.options
    title = res.headline
    fig = charts.scatter_chart(res.points, res.x_label, res.y_label, title, res.source, res.slope, res.intercept,
                               tuple(ref.DISTRICT_NAMES[d] for d in f.districts))
    table = pd.DataFrame({"District": res.points["name"],
                          res.x_label: disclosure.cells(res.points["x"], res.points["x_hidden"], "{:.1f}".format),
                          res.y_label: res.points["y"].map(lambda v: "[x]" if pd.isna(v) else f"{v:.1f}")})
    alt = (f"Scatter plot of {res.y_label} against {res.x_label} for Kent's 12 districts, "
           f"{association.VIEWS[o.view]}, {res.period}, each point labelled with its district, and a fitted "
           f"straight line. {res.finding}")
    return charts.Chart(fig, alt, table, title)


def coefficients_title(res: association.Result) -> str:
    """What the coefficients table compares, for its heading and its CSV's header lines."""
    return f"Correlation coefficients: {res.x_label} against {res.y_label}"


def coefficients(res: association.Result) -> pd.DataFrame:
    rows = []
    for name, c in (("Pearson r", res.pearson), ("Spearman ρ", res.spearman)):
        rows.append({"Measure": name, "Estimate": "[x]" if c is None else f"{c.r:.2f}",
                     "95% interval": "[x]" if c is None else f"{c.low:.2f} to {c.high:.2f}",
                     "p-value": "[x]" if c is None else f"{c.p:.3f}", "Districts (n)": str(res.n)})
    if res.options.view == "change" and res.baseline is not None:   # regression to the mean, beside the chart's r
        b = res.baseline
        rows.append({"Measure": "Change in outcome against its starting level (Pearson r)", "Estimate": f"{b.r:.2f}",
                     "95% interval": f"{b.low:.2f} to {b.high:.2f}", "p-value": f"{b.p:.3f}",
                     "Districts (n)": str(res.compared)})
    ci = res.slope_interval
    rows.append({"Measure": "Fitted slope", "Estimate": "[x]" if res.slope is None else f"{res.slope:.3f}",
                 "95% interval": "[x]" if ci is None else f"{ci[0]:.3f} to {ci[1]:.3f}",
                 # the slope's t test is Pearson's: the same p-value
                 "p-value": "[x]" if res.pearson is None else f"{res.pearson.p:.3f}", "Districts (n)": str(res.n)})
    return pd.DataFrame(rows)


def quadrants(res: association.Result) -> pd.DataFrame:
    """Each district's change in activity and in outcome, the outcome's with its 95% margin (for
    that district alone) and its p-value adjusted for the districts compared, which decides 'better'
    or 'worse' (``association.outcome_verdicts``)."""
    p = res.points
    fmt = lambda v, m: "[x]" if pd.isna(v) else f"{v:+.1f}" + ("" if pd.isna(m) else f" (±{m:.1f})")
    adjusted = ["[c]" if h else "[x]" if pd.isna(q) else "<0.001" if q < 0.001 else f"{q:.3f}"
                for q, h in zip(p["outcome_q"], p["change_hidden"])]
    spend = res.options.x == "spend"
    change = f"Change in spending (£ per pupil, {ref.SEN_GROUPS[res.options.per_100]})" if spend \
        else f"Change in activity ({association.in_sentence(res.x_label)})"
    return pd.DataFrame({"District": p["name"], change: disclosure.cells(p["activity_change"], p["change_hidden"], "{:+.1f}".format),
                         "Change in outcome (95% margin)": [fmt(v, m) for v, m in zip(p["outcome_change"], p["outcome_margin"])],
                         f"p-value adjusted for {res.compared} districts": adjusted,
                         "Quadrant": p["quadrant"]}) \
        .sort_values(["Quadrant", "District"]).reset_index(drop=True)


def change_notes(res: association.Result) -> list[str]:
    """The notes above the districts' change table: how the flags allow for the districts compared
    and, where the chart is not the change view (whose finding carries it), regression to the mean."""
    return [n for n in (res.comparisons_note, res.regression_note if res.options.view != "change" else "") if n]
