"""The evaluation in words: each estimate's finding, checks and caveats, never more than its interval allows."""
from __future__ import annotations

from stls import reference as ref
from stls.analysis.evaluation.model import MIN_EVENT_SETTINGS, Effect, Estimate, unit
from stls.analysis.evaluation.worker import Bundle


def _pts(v: float) -> str:
    return f"{v:+.1f}".replace("-", "−")


PUPILS = {"sen_support": "pupils on SEN support", "ehc_plan": "pupils with an EHC plan", "no_sen": "pupils with no SEN"}


def finding(est: Estimate) -> str:
    """The overall effect in words, held to its interval."""
    s = est.spec
    if not est.ok:
        return f"No estimate for {PUPILS[s.sen_group]} ({ref.MEASURE_LABELS[s.measure]}): {est.reason}."
    e, u = est.overall, unit(s.measure)
    assert e is not None
    span = f"{_pts(e.low)} to {_pts(e.high)}"
    who = PUPILS[s.sen_group]
    if e.direction() == 0:
        return (f"No clear effect: in the years after their first Intensive Specialist Support, {est.supported} settings' "
                f"results for {who} were {_pts(e.estimate)} {u} from what the comparison settings' trend "
                f"predicts, but the 95% interval ({span}) includes zero, so the data fit no effect as well as "
                f"one between those limits.")
    word = "higher" if e.direction() > 0 else "lower"
    return (f"After their first Intensive Specialist Support, {est.supported} settings' results for {who} were "
            f"{abs(e.estimate):.1f} {u} {word} than the comparison settings' trend predicts (95% interval {span}). "
            f"That is an estimate of the effect of support only if, without it, supported settings would have "
            f"moved as the comparison settings did.")


def pretrend_text(est: Estimate) -> str:
    """What the pre-trend check tested, what it found and how small a trend it could find, in
    words; it informs the reading and never decides the verdict."""
    if est.pretrend_p is None or est.pretrend_slope is None:
        return ("No pre-trend check: it needs at least one year before the year ahead of first support "
                f"resting on {MIN_EVENT_SETTINGS} or more settings.")
    u, sl = unit(est.spec.measure), est.pretrend_slope
    tested = (f"The pre-trend check tests one thing: whether, in the {est.pretrend_years + 1} years before first "
              f"support (each resting on at least {MIN_EVENT_SETTINGS} settings), the supported settings were already "
              f"on a different straight-line trend from the comparison settings. ")
    found = (f"The difference in trend was {_pts(sl.estimate)} {u} a year (95% interval {_pts(sl.low)} to {_pts(sl.high)}, "
             f"p = {est.pretrend_p:.2f})")
    found += (": a clear difference, so part of the estimate may be that trend carried on. " if est.pretrend_p < 0.05
              else ": no clear difference. ")
    power = (f"It would find a trend of {est.pretrend_power:.1f} {u} a year 80% of the time, so a smaller one could "
             "go unnoticed: the sensitivity below says how large a departure the estimate survives.")
    return tested + found + power


def sensitivity_text(est: Estimate) -> str:
    """How robust the early effect is to a departure from parallel trends (HonestDiD), in words."""
    if est.early is None:
        return ("No sensitivity bound: " + (est.problems.get("Callaway and Sant'Anna")
                                            or "no effect in the first two years of support could be estimated") + ".")
    e, u = est.early, unit(est.spec.measure)
    head = (f"In the first two years of support, Callaway and Sant'Anna's estimate is {_pts(e.estimate)} {u} "
            f"(95% interval {_pts(e.low)} to {_pts(e.high)}). ")
    if e.direction() == 0:
        return head + "Its interval already includes zero, so there is no effect for a departure from trend to overturn."
    side = "above" if e.direction() > 0 else "below"
    if est.sensitivity is None:
        return head + ("No bound on how far it survives a departure from the earlier trend could be computed "
                       "(some years before support rest on too few settings).")
    if not est.sensitivity:
        return head + ("It does not survive any departure from the trend before support (Rambachan and Roth's bound): "
                       "read it as fragile.")
    return head + (f"It stays {side} zero unless, after support, the supported settings' trend departs from the "
                   f"comparison's by more than {est.sensitivity:.2f} times the largest year-to-year departure seen "
                   "before support (Rambachan and Roth's relative-magnitude bound).")


def headline(est: Estimate) -> str:
    """The verdict in one sentence a commissioner can read: the effect, its interval and how robust it is."""
    if not est.ok or est.overall is None:
        return f"No estimate of the effect of support: {est.reason}."
    e, u = est.overall, unit(est.spec.measure)
    span = f"95% interval {_pts(e.low)} to {_pts(e.high)}"
    if e.direction() == 0:
        text = (f"No clear effect of Intensive Specialist Support: {_pts(e.estimate)} {u} ({span}), which includes zero")
    else:
        word = "higher" if e.direction() > 0 else "lower"
        text = f"Results after Intensive Specialist Support were {abs(e.estimate):.1f} {u} {word} than expected ({span})"
    if e.direction() != 0 and est.early is not None and est.early.direction() == e.direction() \
            and est.sensitivity is not None:
        text += ("; the first two years' effect holds unless trends departed after support by more than "
                 f"{est.sensitivity:.2f} times the largest departure before it" if est.sensitivity
                 else "; but the first two years' effect would not survive any departure from the earlier trend")
    return text + "."


def naive_text(est: Estimate) -> str:
    """The naive comparison, and how the chosen settings differed before support, each held to its
    interval."""
    if est.naive is None or est.overall is None:
        return ""
    n, u = est.naive, unit(est.spec.measure)
    text = (f"Comparing supported with other settings in the same years gives {_pts(n.estimate)} {u} (95% interval "
            f"{_pts(n.low)} to {_pts(n.high)}), against the estimate's {_pts(est.overall.estimate)}. That comparison "
            "mixes what support did with how the chosen settings already differed.")
    b = est.before
    if b is not None:
        span = f"95% interval {_pts(b.low)} to {_pts(b.high)}"
        if b.direction():
            text += (f" Before support began, the settings later supported were already {abs(b.estimate):.1f} {u} "
                     f"{'below' if b.direction() < 0 else 'above'} the others ({span}).")
        else:
            text += f" Before support began, they did not clearly differ from the others ({_pts(b.estimate)}, {span})."
    return text


def dose_text(b: Bundle) -> str:
    if b.dose is None:
        return "Too few settings with contacts and results for the dose-response check."
    d = b.dose
    span = f"{_pts(d.low)} to {_pts(d.high)}"
    if d.direction() == 0:
        return (f"Dose-response (association, within settings and district-years): no clear link between STLS contacts per pupil on SEN "
                f"support and that year's result ({_pts(d.estimate)} {unit(b.measure)} per contact per pupil, "
                f"95% interval {span}; {b.dose_settings} settings).")
    word = "better" if d.direction() > 0 else "worse"
    return (f"Dose-response (association, within settings and district-years): years with more STLS contacts per pupil on SEN support "
            f"went with {word} results, {_pts(d.estimate)} {unit(b.measure)} per contact per pupil "
            f"(95% interval {span}; {b.dose_settings} settings). Contacts follow need as well as change it, so "
            "this is not an effect.")


CAVEATS = ("Difference-in-differences estimates the effect of support if, without it, supported settings' results "
           "would have changed as the comparison settings' did. Support went to settings in more need, so anything "
           "else that changed for them at the same time (staff, intake, other programmes) would be counted as the "
           "effect. Results of small cohorts are noisy: the intervals allow for this, setting by setting.")


CHECK_LABELS = {
    "main": "Main: against settings never supported (Sun and Abraham)",
    "cs": "Second main estimator: against settings never supported (Callaway and Sant'Anna)",
    "not_yet": "Against settings not yet or never supported (two-stage)",
    "no_pandemic": "Without 2019/20 and 2020/21 (pandemic years)",
    "other_outcome": "Another outcome",
    "placebo": "Pupils with no SEN, same settings (no effect expected)",
}


def verdict(est: Estimate, q: float | None = None) -> str:
    """The reading of an estimate's interval (a pre-test never decides it). With ``q`` (its
    Benjamini–Hochberg adjusted p-value among several compared), a direction needs q < 0.05."""
    return reading(est.overall if est.ok else None, q)


def reading(effect: Effect | None, q: float | None = None) -> str:
    """An effect's reading: "Higher" or "Lower" when its interval excludes zero (and, with ``q``,
    when q < 0.05), else "No clear effect"; "No estimate" without one."""
    if effect is None:
        return "No estimate"
    direction = effect.direction() if q is None or q < 0.05 else 0
    return {1: "Higher", -1: "Lower", 0: "No clear effect"}[direction]


def cohort_text(est: Estimate) -> str:
    return ", ".join(f"{ref.academic_year_label(y)}: {n}" for y, n in est.cohorts.items()) or "none"


def years_text(est: Estimate) -> str:
    if not est.years:
        return "[x]"
    missing = [y for y in range(est.years[0], est.years[-1] + 1) if y not in est.years]
    text = f"{ref.academic_year_label(est.years[0])} to {ref.academic_year_label(est.years[-1])}"
    return text + (f" (no results in {', '.join(ref.academic_year_label(y) for y in missing)})" if missing else "")
