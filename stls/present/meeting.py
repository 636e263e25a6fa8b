"""The LIFT Executive agenda, built from the data: one idea per slide, for the screen and the pack.

headline scorecard → exceptions (red KPIs, special-cause signals, with the districts) →
activity and outcomes → impact of support → areas of need → district spotlights chosen beforehand.
Every figure comes through the same functions (and disclosure control) as the dashboard.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

import pandas as pd

from stls import reference as ref
from stls.analysis import association, needs
from stls.analysis.evaluation import words
from stls.filters import Filters
from stls.kpi import catalogue
from stls.present.charts import Chart
from stls.present.views import activity_and_outcomes as outcomes_view
from stls.present.views import areas_of_need as needs_view
from stls.present.views import district as district_view
from stls.present.views import impact as impact_view
from stls.present.views import scorecard as scorecard_view


@dataclass
class Native:
    """A chart as data, for a native PowerPoint chart: categories × named series."""
    kind: str                                   # line | bar | scatter
    categories: list[str]
    series: dict[str, list]   # values per category (line, bar) or (x, y) points (scatter)
    x_title: str = ""
    y_title: str = ""
    fitted: tuple[float, float] | None = None    # scatter: the fitted line's slope and intercept
    interval: tuple[list, list] | None = None    # line: the first series' lower and upper 95% limits (error bars)


@dataclass
class Slide:
    section: str
    title: str                                  # states the finding
    chart: Chart | None = None
    native: Native | None = None
    table: pd.DataFrame | None = None
    notes: str = ""                             # speaker notes: "about this indicator" and caveats
    bullets: list[str] = field(default_factory=list)   # said on the slide under its title, never repeating it


# The headline scorecard in two screens (15 KPIs in one table did not fit a shared screen: the
# outcome KPIs were the ones cut off). Each half is one idea: how the service reaches children,
# then what happens for them.
HEADLINE_HALVES = (
    ("Headline scorecard: access, timeliness and quality",
     ("Access and reach", "Timeliness and capacity", "Quality of provision")),
    ("Headline scorecard: outcomes, equity and value for money",
     ("Outcomes for children and young people", "Equity across need and place", "Value for money")),
)


# the scorecard's columns a shared screen has room for (the page's row, ``scorecard_view.row``)
SLIDE_COLUMNS = ("Indicator", "Period", "Value", "Target", "RAG", "Change", "Trend", "Filters not applied", "Not returned",
                 "RAG basis")


def _headlines(db, f: Filters, half: int) -> Slide:
    section, themes = HEADLINE_HALVES[half]
    rows, red, green, with_target, kpis = [], [], 0, 0, []
    for theme, items in scorecard_view.themed(db, f, with_spc=False).items():
        if theme not in themes:
            continue
        for ln in items:
            h = ln.headline
            kpis.append(ln.kpi)
            rows.append({k: v for k, v in scorecard_view.row(ln, f, with_spc=False).items() if k in SLIDE_COLUMNS})
            with_target += bool(h.rag)
            green += h.rag == "Green"
            if h.rag == "Red":
                red.append(ln.kpi.label)
    plural = "s" if with_target != 1 else ""
    title = (f"Target{plural} met by {green} of {with_target} KPI{plural}" if with_target else "No KPI here has a target") \
        + (f"; {len(red)} red" if red else "; none red")
    notes = "\n\n".join(f"{k.label}: {k.description}" for k in kpis)
    table = scorecard_view.only_saying(rows, *scorecard_view.NOTES)
    return Slide(section, title, table=table, notes=notes)


def _exceptions(db, f: Filters) -> Slide:
    """The exception list of the area (``analysis.exceptions``, the Exceptions page's), grouped by KPI."""
    from stls.analysis import exceptions
    from stls.present.views import exceptions as exceptions_view
    found = exceptions_view.in_area(exceptions.alerts(db), f)
    grouped: dict[tuple[str, str], list[str]] = {}   # one row per KPI and rule, its areas together (a screen's worth)
    for r in (a.row() for a in found):
        signal = str(r["Rule"]) + (f" ({r['Concern']})" if r["Rule"] == exceptions.RULES["special_cause"] else "")
        grouped.setdefault((str(r["Indicator"]), signal), []).append(str(r["Area"]))
    table = pd.DataFrame([{"Indicator": k, "Signal": s, "Where": ", ".join(w)} for (k, s), w in grouped.items()],
                         columns=["Indicator", "Signal", "Where"])
    counts = {rule: sum(a.rule == rule for a in found) for rule in exceptions.RULES}
    said = [f"{n} {words.lower()}" for rule, words in exceptions.RULES.items() if (n := counts[rule])]
    title = (f"{len(found)} exception{'s' * (len(found) != 1)}: " + "; ".join(said)) if found else "No exceptions"
    reasons = "\n".join(f"{a.row()['Indicator']}, {a.area_name}: {a.reason}" for a in found)
    return Slide("Exceptions", title, table=table,
                 notes=reasons + "\n\nSpecial cause follows NHS 'Making Data Count' rules on the latest point (not judged on a month "
                       "some district did not return); red = floor standard not met (targets are illustrative); "
                       "worse than Kent = outside the funnel plot's 95% limits and worsening.")


def _activity_outcomes(db, f: Filters) -> Slide:
    res = association.analyse(db, association.Options(), f.with_(districts=()))
    chart = outcomes_view.scatter(res, f)
    pts = res.points.dropna(subset=["x", "y"])
    fitted = (res.slope, res.intercept) if res.slope is not None and res.intercept is not None else None
    native = Native("scatter", pts["name"].tolist(), {"Districts": list(zip(pts["x"], pts["y"]))},
                    res.x_label, res.y_label, fitted=fitted)
    return Slide("Activity and outcomes", chart.title, chart=chart, native=native,
                 table=outcomes_view.coefficients(res), notes=res.finding,
                 bullets=([f"{association.flag(res.options)} (beyond chance, allowing for the "
                                                  f"{res.compared} districts compared), "
                                                  f"{res.change_period}: {', '.join(res.flagged)}"] if res.flagged else []))


def _impact(db, f: Filters) -> Slide:
    shown = impact_view.shown(db, "ks2_rwm_expected", f)
    ev = shown.chart.table
    est = shown.bundle.main.event
    est = est[est["settings"] >= impact_view.min_settings()]
    years = ["0 (support begins)" if str(y).startswith("0") else str(y) for y in ev["Years since first support"]]
    native = Native("line", years, {"Effect (95% interval as bars)": [round(float(v), 2) for v in est["estimate"]]},
                    "Years since first Intensive Specialist Support (−1: the year before, the reference)",
                    "Difference (percentage points)",
                    interval=([round(float(v), 2) for v in est["low"]], [round(float(v), 2) for v in est["high"]]))
    return Slide("Impact of support", shown.chart.title, chart=shown.chart, native=native, table=shown.checks[
        ["Check", "Reading", "Estimate", "95% interval", "Settings supported", "Settings compared"]],
                 notes=" ".join(t for t in (shown.finding, shown.sensitivity, shown.pretrend, shown.naive,
                                             words.CAVEATS) if t),
                 bullets=[shown.headline])   # the effect, its interval and how robust it is, in one sentence


def _needs(db, f: Filters) -> Slide:
    mix = needs.mix(db, f.with_(districts=()), f.year_to)
    chart = needs_view.kent_mix(mix, f.year_to, "Kent")
    kent = mix[mix["geography_code"] == ref.KENT_CODE]
    shares = lambda col: [None if v != v else round(float(v), 1) for v in kent[col]]   # a hidden share stays out
    native = Native("bar", kent["area"].tolist(), {"Referrals (%)": shares("referral_share"),
                                                  "Pupils with SEN (%)": shares("pupil_share")},
                    "", "Share (%)")
    return Slide("Areas of need", chart.title, chart=chart, native=native, table=chart.table,
                 notes=catalogue.get("need_alignment").description)


def _spotlight(db, f: Filters, code: str) -> Slide:
    pairs = district_view.headline_pairs(db, f, code)
    table = pd.DataFrame([{"Indicator": d.kpi.label, ref.DISTRICT_NAMES[code]: d.display, "Kent": k.display,
                           "RAG": scorecard_view.icon(scorecard_view.RAG_ICON, d.rag, "[z]" if not d.kpi.has_rag else "[x]"),
                           "Change": d.change_display or "[x]"} for d, k in pairs])
    chart = district_view.outcomes(db, f, code, "ks2_rwm_expected", "sen_support")
    assert chart.numbers is not None
    native = Native("line", chart.table["Academic year"].tolist(),
                    {str(c): [None if pd.isna(v) else round(float(v), 1) for v in chart.numbers[c]] for c in chart.numbers.columns},
                    "", "KS2 RWM expected (%), SEN support")
    return Slide(f"Spotlight: {ref.DISTRICT_NAMES[code]}", chart.title, chart=chart, native=native, table=table,
                 notes="\n\n".join(f"{d.kpi.label}: {d.kpi.description}" for d, _ in pairs))


SECTIONS = (functools.partial(_headlines, half=0), functools.partial(_headlines, half=1),
            _exceptions, _activity_outcomes, _impact, _needs)
# The slide a page opens in meeting mode (``?mode=meeting`` on that page, or the toggle there).
PAGE_SLIDES = {"overview": 0, "scorecard": 0, "exceptions": 2, "activity_and_outcomes": 3, "impact": 4, "areas_of_need": 5}


def slide_for_page(page: str, spotlights: tuple[str, ...] = (), profile: str | None = None) -> int:
    """The agenda index a page's meeting view starts at: its own section; a district profile
    starts at that district's spotlight (when it is one); any other page at the start."""
    if page == "district" and profile in spotlights:
        return len(SECTIONS) + spotlights.index(profile)
    return PAGE_SLIDES.get(page, 0)


def agenda_length(spotlights: tuple[str, ...] = ()) -> int:
    return len(SECTIONS) + len(spotlights)


SINCE_ON_OPENING = 3   # 'since the last release' lines on the opening slide (the rest on the Exceptions page)


def slide(db, f: Filters, spotlights: tuple[str, ...], index: int, since: tuple[str, ...] = ()) -> Slide:
    """One slide of the agenda (meeting mode builds only the one on screen). ``since``: what
    changed since the last release, in words (``narrative``), said first on the opening slide."""
    if index < len(SECTIONS):
        made = SECTIONS[index](db, f)
        if index == 0 and since:
            shown = list(since[:SINCE_ON_OPENING])
            more = len(since) - len(shown)
            made = replace(made, bullets=[*shown, *([f"and {more} more since the last release (the Exceptions page)"]
                                                    if more else []), *made.bullets])
        return made
    return _spotlight(db, f, spotlights[index - len(SECTIONS)])


def agenda(db, f: Filters, spotlights: tuple[str, ...] = (), since: tuple[str, ...] = ()) -> list[Slide]:
    """The slides, in agenda order, for the filters and the spotlight districts."""
    return [slide(db, f, spotlights, i, since) for i in range(agenda_length(spotlights))]
