"""Did the support work? A setting-level evaluation of Intensive Specialist Support.

The unit that receives support is the setting. A setting's *first support* is the first
academic year in which the tracker records Intensive Specialist Support at its URN
(``setting_support``); its outcome is its own result for one SEN group (``setting_outcomes``).
Support began in September 2022 and reached settings in different years (staggered adoption), and
it was not given at random, so a comparison of supported with other settings in the same year (the
*naive* comparison, shown beside the estimate) mixes the effect of support with how the chosen
settings already differed.

The estimate is a difference-in-differences from ``pyfixest`` (not written by hand here):

- main: Sun and Abraham's interaction-weighted event study (``SaturatedEventStudy``): one effect
  per first-support cohort and year since first support, against settings never supported in the
  panel, with setting and year fixed effects; event-time effects are averaged over cohorts with
  weights by how many settings each cohort has there (pyfixest's ``aggregate``), and the overall
  effect averages every cohort-year after first support, weighted by settings;
- other control group: Gardner's two-stage estimator (``did2s``), whose comparison is every
  setting not yet or never supported;
- standard errors clustered by setting (CRV1) throughout; a joint Wald test of the years before
  support is the pre-trend check.

Only aggregates over many settings leave this module; no setting's result is ever shown.
A direction is claimed only when the 95% interval excludes zero (``Effect.direction``).
"""
from __future__ import annotations

import json
import multiprocessing
import os
import re
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from stls import queries
from stls import reference as ref
from stls.memo import memoised

Z = 1.959964
MEASURES = {"ks2_rwm_expected": "primary", "ks4_attainment8": "secondary"}   # the setting results held
GROUPS = ("sen_support", "ehc_plan", "no_sen")
PANDEMIC_YEARS = (2019, 2020)      # 2019/20 and 2020/21: no KS2 tests; KS4 grades assessed by centres
MIN_SETTINGS = 10                  # supported and comparison settings an estimate needs (a district's too)
MIN_EVENT_SETTINGS = 5             # settings behind one year-since-support point
CONTROLS = {"never": "settings never supported (Sun and Abraham)",
            "not_yet": "settings not yet or never supported (Gardner's two-stage)"}


def unit(measure: str) -> str:
    return "Attainment 8 points" if measure == "ks4_attainment8" else "percentage points"


@dataclass(frozen=True)
class Effect:
    estimate: float
    low: float
    high: float
    se: float

    @classmethod
    def of(cls, estimate: float, se: float) -> Effect:
        return cls(float(estimate), float(estimate - Z * se), float(estimate + Z * se), float(se))

    def direction(self) -> int:
        """+1 or −1 when the 95% interval lies wholly above or below zero, else 0."""
        return 1 if self.low > 0 else -1 if self.high < 0 else 0

    def covers(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class Spec:
    """One estimate: the outcome, the SEN group, the control group, and what is left out."""
    measure: str = "ks2_rwm_expected"
    sen_group: str = "sen_support"
    control: str = "never"              # never | not_yet
    drop_pandemic: bool = False
    district: str | None = None


@dataclass
class Estimate:
    spec: Spec
    overall: Effect | None = None
    event: pd.DataFrame = field(default_factory=pd.DataFrame)   # rel_time, estimate, low, high, settings
    pretrend_p: float | None = None
    pretrend_years: int = 0
    naive: Effect | None = None
    before: Effect | None = None        # later-supported settings against the others, before support began
    supported: int = 0                  # settings with a first support inside the panel and a year before
    compared: int = 0                   # settings never supported (or not yet) in the panel
    cohorts: dict[int, int] = field(default_factory=dict)    # first-support year → settings
    years: tuple[int, ...] = ()
    reason: str = ""                    # why there is no estimate

    @property
    def ok(self) -> bool:
        return self.overall is not None


def panel(db, measure: str, sen_group: str) -> pd.DataFrame:
    """One row per setting and year with a result: urn, district, year, y, cohort, first (the first
    support year, 0 for none inside the panel's years)."""
    frame = queries.setting_panel(db, measure, sen_group)
    if frame.empty:
        return frame
    last = int(frame["year"].max())
    frame["first"] = frame["first_support"].fillna(0).astype(int)
    frame.loc[frame["first"] > last, "first"] = 0        # supported after the panel ends: not yet, in it
    return frame.drop(columns="first_support")


def _prepared(frame: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    if spec.drop_pandemic:
        frame = frame[~frame["year"].isin(PANDEMIC_YEARS)]
    if spec.district:
        frame = frame[frame["district_code"] == spec.district]
    # a supported setting needs a result before its first support, or it cannot be compared with itself
    before = frame[(frame["first"] > 0) & (frame["year"] < frame["first"])]["urn"].unique()
    frame = frame[(frame["first"] == 0) | frame["urn"].isin(before)]
    # a setting with one result says nothing about change (and the two-stage estimator drops it)
    frame = frame[frame.groupby("urn")["urn"].transform("size") > 1]
    return frame.reset_index(drop=True)


def _difference(frame: pd.DataFrame, flag: pd.Series) -> Effect | None:
    """Mean of the flagged setting-years minus the others', within years (year fixed effects),
    clustered by setting."""
    import pyfixest as pf
    data = frame.assign(flag=flag.astype(float))
    if data["flag"].nunique() < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # pyfixest's own pandas deprecation warnings
        fit = pf.feols("y ~ flag | year", data=data, vcov={"CRV1": "urn"})
    return Effect.of(fit.coef()["flag"], fit.se()["flag"])


def _naive(frame: pd.DataFrame) -> Effect | None:
    """Supported against other settings in the same years since support began."""
    post = frame[frame["year"] >= int(frame.loc[frame["first"] > 0, "first"].min())]
    return _difference(post, (post["first"] > 0) & (post["year"] >= post["first"]))


def _before(frame: pd.DataFrame) -> Effect | None:
    """Settings later supported against the others, in the years before any support began: how
    the chosen settings already differed."""
    pre = frame[frame["year"] < int(frame.loc[frame["first"] > 0, "first"].min())]
    return _difference(pre, pre["first"] > 0)


def _sun_abraham(frame: pd.DataFrame) -> tuple[Effect, pd.DataFrame, float | None, int]:
    import pyfixest as pf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # pyfixest calls its saturated event study "beta"
        fit = pf.event_study(frame, yname="y", idname="urn", tname="year", gname="first", cluster="urn",
                             estimator="saturated")
        event = fit.aggregate().astype(float)
    names = list(fit._coefnames)
    parsed = [re.match(r".+::(-?[0-9.]+):.+::([0-9]+)$", n) for n in names]
    rel = np.array([float(m.group(1)) if m else np.nan for m in parsed])
    cohort = np.array([int(m.group(2)) if m else -1 for m in parsed])
    data = fit._data
    treated = data[data["first_treated_period"] > 0]
    n_obs = treated.groupby(["first_treated_period", "rel_time"]).size()
    post = np.array([r >= 0 and (c, r) in n_obs.index for r, c in zip(rel, cohort)])
    weights = np.where(post, [n_obs.get((c, r), 0) for r, c in zip(rel, cohort)], 0).astype(float)
    weights /= weights.sum()
    beta, vcov = np.asarray(fit._beta_hat), np.asarray(fit._vcov)
    overall = Effect.of(weights @ beta, np.sqrt(weights @ vcov @ weights))
    pre = np.flatnonzero(rel < -1)
    p = None
    if len(pre):
        R = np.zeros((len(pre), len(beta)))
        R[np.arange(len(pre)), pre] = 1
        test = fit.wald_test(R=R, distribution="chi2")
        p = float(test["pvalue"]) if "pvalue" in test else float(test.iloc[-1])
    points = pd.DataFrame({"rel_time": event.index.astype(float).astype(int), "estimate": event["Estimate"].to_numpy(),
                           "se": event["Std. Error"].to_numpy()})
    return overall, _event_frame(points, treated.groupby("rel_time")["urn"].nunique()), p, len(set(rel[pre]))


def _event_frame(points: pd.DataFrame, settings: pd.Series) -> pd.DataFrame:
    """Event-time effects (rel_time, estimate, se) with the reference year (−1, zero by
    definition), how many supported settings each rests on, and 95% limits."""
    out = pd.concat([points, pd.DataFrame({"rel_time": [-1], "estimate": [0.0], "se": [0.0]})])
    out = out.sort_values("rel_time").reset_index(drop=True)
    out["rel_time"] = out["rel_time"].astype(int)
    out["settings"] = out["rel_time"].map(settings).fillna(0).astype(int)
    out["low"], out["high"] = out["estimate"] - Z * out["se"], out["estimate"] + Z * out["se"]
    return out


def _gardner(frame: pd.DataFrame) -> tuple[Effect, pd.DataFrame, float | None, int]:
    """Gardner's two-stage estimator: setting and year effects fitted on every setting-year not
    (yet) supported, then the supported years' departures from them (pyfixest's ``did2s``)."""
    import pyfixest as pf
    supported = frame["first"] > 0
    data = frame.assign(treat=supported & (frame["year"] >= frame["first"]),
                        rel=np.where(supported, frame["year"] - frame["first"], -1).astype(int))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # pyfixest's own pandas deprecation warnings
        fit = pf.did2s(data, yname="y", first_stage="~ 0 | urn + year", second_stage="~ treat",
                       treatment="treat", cluster="urn")
        ev = pf.did2s(data, yname="y", first_stage="~ 0 | urn + year", second_stage="~ i(rel, ref=-1)",
                      treatment="treat", cluster="urn")
    coef, se = fit.coef(), fit.se()
    name = next(n for n in coef.index if n.startswith("treat"))
    rows = [(int(m.group(1)), float(b), float(ev.se()[n])) for n, b in ev.coef().items()
            if (m := re.search(r"\[(?:T\.)?(-?[0-9]+)\]$", n) or re.search(r"::(-?[0-9]+)", n))]
    points = pd.DataFrame(rows, columns=["rel_time", "estimate", "se"])
    return Effect.of(coef[name], se[name]), _event_frame(points, data[supported].groupby("rel")["urn"].nunique()), None, 0


def estimate(db, spec: Spec) -> Estimate:
    """The difference-in-differences estimate for one specification (computed once per data
    version: see ``bundle``)."""
    held = panel(db, spec.measure, spec.sen_group)
    frame = held if held.empty else _prepared(held, spec)
    est = Estimate(spec)
    if frame.empty:
        est.reason = "no setting results are held for this outcome"
        return est
    firsts = frame.groupby("urn")["first"].first()
    est.supported = int((firsts > 0).sum())
    est.compared = int((firsts == 0).sum())
    est.cohorts = {int(g): int(n) for g, n in firsts[firsts > 0].value_counts().sort_index().items()}
    est.years = tuple(int(y) for y in sorted(frame["year"].unique()))
    if est.supported < MIN_SETTINGS or est.compared < MIN_SETTINGS:
        est.reason = (f"too few settings to estimate ({est.supported} supported and {est.compared} never supported "
                      f"with results before and after; at least {MIN_SETTINGS} of each are needed)")
        return est
    fitter = _sun_abraham if spec.control == "never" else _gardner
    est.overall, event, est.pretrend_p, est.pretrend_years = fitter(frame)
    est.event = event[event["settings"] >= MIN_EVENT_SETTINGS].reset_index(drop=True)
    est.naive, est.before = _naive(frame), _before(frame)
    return est


# --- the view's bundle: every estimate the page shows, once per data version -----------------------

SENSITIVITY = ("main", "not_yet", "no_pandemic", "other_outcome", "placebo")


@dataclass
class Bundle:
    measure: str
    main: Estimate
    checks: dict[str, Estimate]
    districts: dict[str, Estimate]
    dose: Effect | None
    dose_settings: int
    truth: dict | None          # the demo's planted answer (meta ``impact_truth``), None on real data


def _other(measure: str) -> str:
    return next(m for m in MEASURES if m != measure)


def bundle(db, measure: str) -> Bundle:
    """The main estimate, its sensitivity checks, each district's, and the dose-response slope, for
    one outcome (``bundles``: once per data version)."""
    return bundles(db)[measure]


@memoised
def bundles(db) -> dict[str, Bundle]:
    """Every outcome's bundle, fitted in a short-lived worker process when ``db`` is a database
    file: the model fitting imports much of the scientific stack (pyfixest's formulaic, matplotlib,
    great_tables: about 200 MiB the server would keep for good), and the server's other sessions
    keep the interpreter while it runs. A file swapped in meanwhile is fitted here instead."""
    path = getattr(db, "path", None)
    if path is None or os.environ.get("STLS_IMPACT_IN_PROCESS") == "1":
        return _fit_all(db)
    context = multiprocessing.get_context("spawn")   # never fork a server that runs threads
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        version, result = pool.submit(_worker, str(path)).result()
    return result if version == db.version else _fit_all(db)


def _worker(path: str) -> tuple[str, dict[str, Bundle]]:
    from stls import db as dbmod
    handle = dbmod.Database(path)
    try:
        return handle.version, _fit_all(handle)
    finally:
        handle.close()


def _fit_all(db) -> dict[str, Bundle]:
    return {measure: _fit(db, measure) for measure in MEASURES}


def _fit(db, measure: str) -> Bundle:
    main = estimate(db, Spec(measure))
    checks = {
        "main": main,
        "not_yet": estimate(db, Spec(measure, control="not_yet")),
        "no_pandemic": estimate(db, Spec(measure, drop_pandemic=True)),
        "other_outcome": estimate(db, Spec(_other(measure))),
        "placebo": estimate(db, Spec(measure, sen_group="no_sen")),
    }
    districts = {code: estimate(db, Spec(measure, district=code)) for code in ref.DISTRICT_CODES}
    dose, n = dose_response(db, measure)
    raw = db.meta().get("impact_truth")
    return Bundle(measure, main, checks, districts, dose, n, json.loads(raw) if raw else None)


def dose_response(db, measure: str) -> tuple[Effect | None, int]:
    """Secondary analysis: change in the SEN-support result per extra STLS contact per pupil on
    SEN support in the same year, within settings (setting and year fixed effects, clustered by
    setting). An association: contacts follow need as well as cause change."""
    import pyfixest as pf
    frame = panel(db, measure, "sen_support")
    if frame.empty:
        return None, 0
    dose = queries.setting_dose(db)
    frame = frame.merge(dose, on=["urn", "year"], how="left")
    frame["contacts"] = frame["contacts"].fillna(0)
    frame = frame[frame["sen_support_pupils"] > 0]
    frame = frame.assign(dose=frame["contacts"] / frame["sen_support_pupils"])
    if frame["urn"].nunique() < MIN_SETTINGS or frame["dose"].std() == 0:
        return None, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.feols("y ~ dose | urn + year", data=frame, vcov={"CRV1": "urn"})
    return Effect.of(fit.coef()["dose"], fit.se()["dose"]), int(frame["urn"].nunique())


# --- words that never say more than the interval ------------------------------------------------------

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
    if est.pretrend_p is None:
        return "No pre-trend test: the comparison needs at least two years before first support."
    if est.pretrend_p < 0.05:
        return (f"Warning: before their first support, the supported settings' results were already moving differently "
                f"from the comparison settings' (joint test of the {est.pretrend_years} earlier years against the year "
                f"before support, p = {est.pretrend_p:.3f}); the estimate may be biased.")
    return (f"Before their first support, the supported settings moved as the comparison settings did: the joint test "
            f"of the {est.pretrend_years} earlier years against the year before support finds no clear difference "
            f"(p = {est.pretrend_p:.2f}). That supports, but cannot prove, the assumption the estimate rests on.")


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
        return (f"Dose-response (association, within settings): no clear link between STLS contacts per pupil on SEN "
                f"support and that year's result ({_pts(d.estimate)} {unit(b.measure)} per contact per pupil, "
                f"95% interval {span}; {b.dose_settings} settings).")
    word = "better" if d.direction() > 0 else "worse"
    return (f"Dose-response (association, within settings): years with more STLS contacts per pupil on SEN support "
            f"went with {word} results, {_pts(d.estimate)} {unit(b.measure)} per contact per pupil "
            f"(95% interval {span}; {b.dose_settings} settings). Contacts follow need as well as change it, so "
            "this is not an effect.")


CAVEATS = ("Difference-in-differences estimates the effect of support if, without it, supported settings' results "
           "would have changed as the comparison settings' did. Support went to settings in more need, so anything "
           "else that changed for them at the same time (staff, intake, other programmes) would be counted as the "
           "effect. Results of small cohorts are noisy: the intervals allow for this, setting by setting.")

CHECK_LABELS = {
    "main": "Main: against settings never supported",
    "not_yet": "Against settings not yet or never supported (two-stage)",
    "no_pandemic": "Without 2019/20 and 2020/21 (pandemic years)",
    "other_outcome": "Another outcome",
    "placebo": "Pupils with no SEN, same settings (no effect expected)",
}


def verdict(est: Estimate) -> str:
    if not est.ok:
        return "No estimate"
    assert est.overall is not None
    reading = {1: "Higher", -1: "Lower", 0: "No clear effect"}[est.overall.direction()]
    failed = est.pretrend_p is not None and est.pretrend_p < 0.05
    return reading + (" (pre-trend check fails)" if failed else "")


def cohort_text(est: Estimate) -> str:
    return ", ".join(f"{ref.academic_year_label(y)}: {n}" for y, n in est.cohorts.items()) or "none"


def years_text(est: Estimate) -> str:
    if not est.years:
        return "[x]"
    missing = [y for y in range(est.years[0], est.years[-1] + 1) if y not in est.years]
    text = f"{ref.academic_year_label(est.years[0])} to {ref.academic_year_label(est.years[-1])}"
    return text + (f" (no results in {', '.join(ref.academic_year_label(y) for y in missing)})" if missing else "")
