"""The impact-of-support page: the setting-level evaluation (``stls.analysis.evaluation``), one view at a time.

Every figure here is an aggregate over settings: an estimate, its interval, and how many
settings it rests on. No setting's result is shown anywhere; the list of supported settings says
what support each received (first year, years with support), never a result.
"""
from __future__ import annotations

import pandas as pd

from stls import reference as ref
from stls.analysis.evaluation import model, words, worker
from stls.filters import Filters
from stls.present import charts
from stls.store import disclosure, queries

SOURCE = "Settings' own results by SEN group; STLS tracker (Intensive Specialist Support)"


def _span(e: model.Effect | None) -> str:
    return "[x]" if e is None else f"{e.low:+.1f} to {e.high:+.1f}"


def _value(e: model.Effect | None) -> str:
    return "[x]" if e is None else f"{e.estimate:+.1f}"


def min_settings() -> int:
    """Settings a year-since-support point must rest on to be shown."""
    return max(model.MIN_EVENT_SETTINGS, disclosure.threshold())


def event_chart(b: worker.Bundle) -> charts.Chart:
    est = b.main
    measure = ref.MEASURE_LABELS[b.measure]
    u = model.unit(b.measure)
    event = est.event[est.event["settings"] >= min_settings()]
    if est.ok and est.overall is not None:
        word = {1: "higher", -1: "lower", 0: "no clearly different"}[est.overall.direction()]
        title = (f"After first support, results for pupils on SEN support were {word} than the comparison predicts"
                 if est.overall.direction() else
                 "After first support, no clear difference from what the comparison predicts")
    else:
        title = "No estimate of the effect of support"
    fig = charts.event_study_chart(event, title, SOURCE, f"Difference, {u}")
    table = pd.DataFrame({
        "Years since first support": [f"{int(t):+d}" if t else "0 (first year)" for t in event["rel_time"]],
        f"Effect ({u})": [f"{v:+.1f}" if t != -1 else "0 (reference)" for v, t in zip(event["estimate"], event["rel_time"])],
        "95% interval": [f"{lo:+.1f} to {hi:+.1f}" if t != -1 else "[z]"
                         for lo, hi, t in zip(event["low"], event["high"], event["rel_time"])],
        "Supported settings": [f"{int(n):,}" for n in event["settings"]],
    })
    alt = (f"Event-study chart for {measure}, pupils on SEN support: for each year before and after a setting's first "
           f"Intensive Specialist Support, the estimated difference from settings never supported, with 95% intervals. "
           f"{words.finding(est)}")
    caption = (f"Each point compares supported settings with themselves in the year before support (−1), against the "
               f"same change in settings never supported. Points resting on fewer than {min_settings()} settings are not "
               "shown. Points before support should sit near zero: that is the pre-trend check.")
    return charts.Chart(fig, alt, table, title, caption)


def summary(b: worker.Bundle) -> pd.DataFrame:
    """How many settings were supported and compared, in which years, on what."""
    e = b.main
    return pd.DataFrame([
        {"Item": "Outcome", "Value": f"{ref.MEASURE_LABELS[b.measure]}, pupils on SEN support"},
        {"Item": "Settings supported (with results before and after)", "Value": f"{e.supported:,}"},
        {"Item": "First supported in", "Value": words.cohort_text(e)},
        {"Item": "Settings compared (never supported in these years)", "Value": f"{e.compared:,}"},
        {"Item": "Years of results", "Value": words.years_text(e)},
        {"Item": "Overall effect (95% interval)", "Value": f"{_value(e.overall)} ({_span(e.overall)}) {model.unit(b.measure)}"
                                                       if e.ok else "[x]"},
        {"Item": "Naive comparison, same years (95% interval)", "Value": f"{_value(e.naive)} ({_span(e.naive)})"},
    ])


def same_as_main(est: model.Estimate, main: model.Estimate) -> bool:
    """A check whose estimate equals the main one by construction (e.g. leaving out years that hold
    no results of this kind): not a check at all."""
    return (est.overall is not None and main.overall is not None
            and abs(est.overall.estimate - main.overall.estimate) <= 1e-6 * (1 + abs(main.overall.estimate)))


def _note(est: model.Estimate) -> str:
    parts = [f"{why}: {n} supported setting{'s' if n != 1 else ''} left out" for why, n in est.left_out.items()]
    parts += [f"{part}: [x], {why}" for part, why in est.problems.items() if part != "estimate"]
    if not est.ok:
        parts.insert(0, est.reason)
    return "; ".join(parts)


def _row(label: str, est: model.Estimate, effect: model.Effect | None, note: str) -> dict:
    return {"Check": label, "Reading": words.reading(effect),
            "Estimate": _value(effect), "95% interval": _span(effect), "Unit": model.unit(est.spec.measure),
            "Settings supported": f"{est.supported:,}", "Settings compared": f"{est.compared:,}", "Note": note or "[z]"}


def checks(b: worker.Bundle) -> pd.DataFrame:
    """The main estimate, the second main estimator and the checks, each fitted on its own: one
    that could not be fitted says why in its row. A check that equals the main estimate by
    construction is left out (``checks_note`` says so)."""
    rows = []
    for key, est in b.checks.items():
        if key != "main" and same_as_main(est, b.main):
            continue
        label = words.CHECK_LABELS[key]
        if key == "other_outcome":
            label += f": {ref.MEASURE_LABELS[est.spec.measure]}"
        rows.append(_row(label, est, est.overall, _note(est)))
        if key == "main":
            cs_note = b.main.problems.get("Callaway and Sant'Anna", "")
            rows.append(_row(words.CHECK_LABELS["cs"], est, est.cs, f"[x]: {cs_note}" if cs_note else ""))
    return pd.DataFrame(rows)


def checks_note(b: worker.Bundle) -> str:
    """Checks left out because they cannot differ from the main estimate, in words."""
    same = [words.CHECK_LABELS[k] for k, est in b.checks.items() if k != "main" and same_as_main(est, b.main)]
    if not same:
        return ""
    return (f"Not shown as a check: {'; '.join(same)} — for this outcome it gives the main estimate exactly (no "
            "results in the years it leaves out bear on it), so it cannot test anything.")


def districts(b: worker.Bundle, f: Filters) -> pd.DataFrame:
    codes = f.area.members
    q = model.adjusted(b.districts)
    rows = []
    for code in codes:
        est = b.districts[code]
        rows.append({"District": ref.DISTRICT_NAMES[code], "Estimate": _value(est.overall), "95% interval": _span(est.overall),
                     f"p-value adjusted for {len(q)} districts": f"{q[code]:.3f}" if code in q else "[x]",
                     "Settings supported": f"{est.supported:,}", "Settings compared": f"{est.compared:,}",
                     "Reading": words.verdict(est, q.get(code)) if est.ok else (
                         "Too few settings to estimate" if est.reason.startswith("too few") else f"[x]: {est.reason}")})
    return pd.DataFrame(rows)


def districts_text(b: worker.Bundle, f: Filters) -> str:
    codes = f.area.members
    q = model.adjusted(b.districts)
    few = [ref.DISTRICT_NAMES[c] for c in codes if not b.districts[c].ok]
    clear = [ref.DISTRICT_NAMES[c] for c in codes if c in q and q[c] < 0.05]
    parts = []
    if few:
        parts.append(f"No district estimate in {', '.join(few)} (each needs at least {model.MIN_SETTINGS} supported "
                     f"and {model.MIN_SETTINGS} never-supported settings with results, and a model that fits).")
    if q:
        parts.append(f"{len(q)} district estimates are compared, so some would exclude zero by chance alone: a "
                     "district reads 'Higher' or 'Lower' only when its p-value, adjusted for the "
                     f"{len(q)} compared (Benjamini and Hochberg, false discovery rate 5%), is under 0.05. "
                     f"{len(clear)} of the {len([c for c in codes if c in q])} shown do"
                     f"{'es' if len(clear) == 1 else ''}. A district's estimate rests on few settings, so its interval "
                     "is wide: the county estimate is the one to act on.")
    return " ".join(parts)


def supported_list(db, b: worker.Bundle, f: Filters) -> pd.DataFrame:
    """Settings that received Intensive Specialist Support: what they received, never a result."""
    frame = queries.supported_settings(db)
    if f.districts:
        frame = frame[frame["district_code"].isin(f.districts)]
    compared = set(model.panel(db, b.measure, "sen_support").pipe(
        lambda p: p[p["first"] > 0]["urn"] if not p.empty else pd.Series(dtype=str)))
    return pd.DataFrame({
        "URN": frame["urn"], "Setting": frame["name"], "District": frame["district_code"].map(ref.DISTRICT_NAMES),
        "Phase": frame["phase"].map(ref.PHASES),
        "First Intensive Specialist Support": frame["first_support"].map(lambda y: ref.academic_year_label(int(y))),
        "Academic years with it": frame["years"].map("{:,}".format),
        f"In the {ref.MEASURE_LABELS[b.measure].split(':')[0]} comparison": frame["urn"].map(
            lambda u: "Yes" if u in compared else "No"),
    }).reset_index(drop=True)


class Shown:
    """Everything the page shows, built from the once-per-data-version ``worker.bundle``."""

    def __init__(self, db, measure: str, f: Filters):
        b = worker.bundle(db, measure)
        self.bundle = b
        self.headline = words.headline(b.main)
        self.finding = words.finding(b.main)
        self.pretrend = words.pretrend_text(b.main) if b.main.ok else ""
        self.sensitivity = words.sensitivity_text(b.main) if b.main.ok else ""
        self.naive = words.naive_text(b.main)
        self.dose = words.dose_text(b)
        self.chart = event_chart(b)
        self.summary = summary(b)
        self.checks = checks(b)
        self.checks_note = checks_note(b)
        self.districts = districts(b, f)
        self.districts_text = districts_text(b, f)
        self.supported = supported_list(db, b, f)


def shown(db, measure: str, f: Filters) -> Shown:
    return Shown(db, measure, f)
