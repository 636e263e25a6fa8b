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
- a second main estimator: Callaway and Sant'Anna's group-time effects (``diff-diff``), against
  settings never supported, averaged over every cohort-year after first support;
- standard errors clustered by setting (CRV1; the dose-response's by the cluster jackknife, CRV3,
  when it rests on fewer than ``JACKKNIFE_BELOW`` settings),
  and intervals on Student's t with the fewer of the supported and comparison settings, less one,
  as degrees of freedom (a district's estimate rests on ten-odd supported settings).

Both estimators are given the project's own first-support year: a supported setting with no
result in that year, or none after it, is left out and counted (pyfixest would otherwise date its
support from its next result, or count it as never supported).

How far to trust it is said in two ways, neither of which decides the verdict:
- the **pre-trend check** tests one thing, a straight-line trend in the years before support
  (the least-squares slope through the event-time effects before support, each resting on at
  least ``MIN_EVENT_SETTINGS`` settings, with the reference year at zero), with Student's t on
  the number of settings less one; its size is checked by ``bench/pretrend_size.py`` on simulated
  data of the demo's design with parallel trends true. Its power is stated: the smallest trend
  per year it would detect 80% of the time;
- the **sensitivity** of the first two years' effect (Callaway and Sant'Anna) to a departure from
  parallel trends: Rambachan and Roth's relative-magnitude bound (``diff-diff``'s ``HonestDiD``),
  the largest M̄ for which the robust 95% interval still excludes zero, i.e. the effect holds
  unless the trend after support departs by more than M̄ times the largest year-to-year departure
  before it.

Each part is fitted on its own: one that fails is reported with its reason and takes nothing else
down (``Estimate.problems``).

Only aggregates over many settings leave this module; no setting's result is ever shown.
A direction is claimed only when the 95% interval excludes zero (``Effect.direction``).
"""
from __future__ import annotations

import json
import logging
import math
import multiprocessing
import os
import re
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from stls import reference as ref
from stls import stats
from stls.memo import memoised
from stls.store import queries

LOG = logging.getLogger(__name__)
Z = 1.959964
MEASURES = {"ks2_rwm_expected": "primary", "ks4_attainment8": "secondary"}   # the setting results held
GROUPS = ("sen_support", "ehc_plan", "no_sen")
PANDEMIC_YEARS = (2019, 2020)      # 2019/20 and 2020/21: no KS2 tests; KS4 grades assessed by centres
MIN_SETTINGS = 10                  # supported and comparison settings an estimate needs (a district's too)
JACKKNIFE_BELOW = 200              # settings under which the dose-response's standard error is the jackknife's
USUAL_SECONDS = 25                 # how long the whole evaluation takes on the demo (2 cores), for progress
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
    df: float | None = None     # Student's t degrees of freedom of the interval (None: normal)

    @classmethod
    def of(cls, estimate: float, se: float, df: float | None = None) -> Effect:
        crit = stats.t_quantile(0.05, df) if df else Z
        return cls(float(estimate), float(estimate - crit * se), float(estimate + crit * se), float(se), df)

    def on(self, df: float) -> Effect:
        """The same estimate with its interval on Student's t with ``df`` degrees of freedom."""
        return Effect.of(self.estimate, self.se, df)

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
    pretrend_p: float | None = None     # the one-restriction pre-trend test (see the module's docstring)
    pretrend_slope: Effect | None = None   # its slope, per year before support
    pretrend_years: int = 0             # event times before support it rests on (besides the reference)
    pretrend_power: float | None = None  # the slope per year it would detect 80% of the time
    cs: Effect | None = None            # Callaway and Sant'Anna, every cohort-year after first support
    early: Effect | None = None         # Callaway and Sant'Anna, the first two years of support (the sensitivity's target)
    sensitivity: float | None = None    # HonestDiD breakdown M̄ for ``early`` (None: not computed; 0: not robust at all)
    left_out: dict[str, int] = field(default_factory=dict)     # why → supported settings left out
    problems: dict[str, str] = field(default_factory=dict)     # part → why it could not be computed
    naive: Effect | None = None
    before: Effect | None = None        # later-supported settings against the others, before support began
    supported: int = 0                  # settings with a first support inside the panel and a year before
    compared: int = 0                   # settings never supported (or not yet) in the panel
    df: int | None = None               # degrees of freedom of the intervals: the fewer group of settings less one
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


def _prepared(frame: pd.DataFrame, spec: Spec) -> tuple[pd.DataFrame, dict[str, int]]:
    """The rows an estimate uses, and the supported settings left out (why → how many): each needs
    a result before its first support (to be compared with itself) and one in its first support
    year (so that no estimator re-dates its support from the results it happens to have)."""
    if spec.drop_pandemic:
        frame = frame[~frame["year"].isin(PANDEMIC_YEARS)]
    if spec.district:
        frame = frame[frame["district_code"] == spec.district]
    supported = frame[frame["first"] > 0]
    everyone = set(supported["urn"])
    before = set(supported.loc[supported["year"] < supported["first"], "urn"])
    at_first = set(supported.loc[supported["year"] == supported["first"], "urn"])
    after = set(supported.loc[supported["year"] >= supported["first"], "urn"])
    left_out = {"no result before first support": len(everyone - before),
                "no result after first support": len(before - after),
                "no result in the first year of support (results only later)": len((before & after) - at_first)}
    frame = frame[(frame["first"] == 0) | frame["urn"].isin(before & at_first)]
    # a setting with one result says nothing about change (and the two-stage estimator drops it)
    frame = frame[frame.groupby("urn")["urn"].transform("size") > 1]
    return frame.reset_index(drop=True), {why: n for why, n in left_out.items() if n}


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


@dataclass(frozen=True)
class Pretrend:
    """The one-restriction pre-trend check (see the module's docstring)."""
    slope: Effect          # per year before support
    p: float
    years: int             # event times before support it rests on (besides the reference, −1)
    power: float           # the slope per year it would detect 80% of the time at the 5% level


def _pretrend(weights: dict[int, np.ndarray], beta: np.ndarray, vcov: np.ndarray, clusters: int) -> Pretrend | None:
    """The least-squares slope through the event-time effects before support (``weights[e]``: the
    cohort weights that average coefficients into event time ``e``), with the reference year −1 at
    zero; Student's t on ``clusters − 1`` degrees of freedom."""
    from scipy import stats as sps
    pre = sorted(weights)
    if not pre:
        return None
    times = np.array(pre + [-1], dtype=float)
    a = (times - times.mean()) / ((times - times.mean()) ** 2).sum()
    contrast = np.zeros(len(beta))
    for e, coef in zip(pre, a[:-1]):
        contrast += coef * weights[e]
    slope, se = float(contrast @ beta), float(np.sqrt(contrast @ vcov @ contrast))
    df = max(clusters - 1, 1)
    p = float(2 * sps.t.sf(abs(slope / se), df)) if se > 0 else 1.0
    power = float((sps.t.ppf(0.975, df) + sps.t.ppf(0.80, df)) * se)
    return Pretrend(Effect.of(slope, se), p, len(pre), power)


def _sun_abraham(frame: pd.DataFrame) -> tuple[Effect, pd.DataFrame, Pretrend | None]:
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
    cells = np.array([n_obs.get((c, r), 0) if np.isfinite(r) else 0 for r, c in zip(rel, cohort)], dtype=float)
    weights = np.where(rel >= 0, cells, 0.0)
    weights /= weights.sum()
    beta, vcov = np.asarray(fit._beta_hat), np.asarray(fit._vcov)
    overall = Effect.of(weights @ beta, np.sqrt(weights @ vcov @ weights))
    settings = treated.groupby("rel_time")["urn"].nunique()
    pre_weights = {}
    for e in sorted({int(r) for r in rel[np.isfinite(rel)] if r < -1}):
        if settings.get(e, 0) >= MIN_EVENT_SETTINGS:   # event times resting on few settings are left out
            w = np.where(rel == e, cells, 0.0)
            pre_weights[e] = w / w.sum()
    pre = _pretrend(pre_weights, beta, vcov, int(data["urn"].nunique()))
    points = pd.DataFrame({"rel_time": event.index.astype(float).astype(int), "estimate": event["Estimate"].to_numpy(),
                           "se": event["Std. Error"].to_numpy()})
    return overall, _event_frame(points, settings), pre


def _event_frame(points: pd.DataFrame, settings: pd.Series) -> pd.DataFrame:
    """Event-time effects (rel_time, estimate, se) with the reference year (−1, zero by
    definition), how many supported settings each rests on, and 95% limits."""
    out = pd.concat([points, pd.DataFrame({"rel_time": [-1], "estimate": [0.0], "se": [0.0]})])
    out = out.sort_values("rel_time").reset_index(drop=True)
    out["rel_time"] = out["rel_time"].astype(int)
    out["settings"] = out["rel_time"].map(settings).fillna(0).astype(int)
    out["low"], out["high"] = out["estimate"] - Z * out["se"], out["estimate"] + Z * out["se"]
    return out


def _gardner(frame: pd.DataFrame) -> tuple[Effect, pd.DataFrame, Pretrend | None]:
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
    return Effect.of(coef[name], se[name]), _event_frame(points, data[supported].groupby("rel")["urn"].nunique()), None


def _callaway_santanna(frame: pd.DataFrame) -> tuple[Effect, Effect | None, float | None]:
    """Callaway and Sant'Anna against settings never supported (``diff-diff``): the average over
    every cohort-year after first support, the average of the first two years of support, and
    HonestDiD's relative-magnitude breakdown value M̄ for that early average (None when there are
    too few years before support to bound a departure)."""
    import diff_diff as dd
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # diff-diff's notes on small cohorts
        fit = dd.CallawaySantAnna(control_group="never_treated", base_period="universal").fit(
            frame, outcome="y", unit="urn", time="year", first_treat="first")
        simple = fit.aggregate("simple")
        study = fit.aggregate("event_study")
    overall = Effect.of(float(np.ravel(simple.att)[0]), float(np.ravel(simple.se)[0]))
    times = np.asarray(study.event_time)
    post = np.flatnonzero((times >= 0) & ~np.asarray(study.is_reference, bool))
    early_rows = [i for i in post if times[i] <= 1]
    if not early_rows:
        return overall, None, None
    att, cov = np.asarray(study.att, float), np.asarray(study.vcov, float)
    index = np.asarray(study.vcov_index) if study.vcov_index is not None else times
    order = [int(np.flatnonzero(index == t)[0]) for t in times[early_rows]]
    early = Effect.of(float(att[early_rows].mean()),
                      float(np.sqrt(np.full(len(order), 1 / len(order)) @ cov[np.ix_(order, order)]
                                    @ np.full(len(order), 1 / len(order)))))
    n_post = int(((times >= 0) & ~np.asarray(study.is_reference, bool)).sum())
    l_vec = np.zeros(n_post)
    l_vec[:len(early_rows)] = 1 / len(early_rows)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            breakdown = dd.HonestDiD(method="relative_magnitude", l_vec=l_vec).breakdown_value(study)
    except ValueError as exc:   # e.g. a year before support with too few settings breaks the grid it needs
        LOG.info("impact: no sensitivity bound: %s", exc)
        return overall, early, None
    return overall, early, (None if breakdown is None else float(breakdown))


def _part(est: Estimate, name: str, fn, *args):
    """``fn(*args)``, or None with the reason kept in ``est.problems`` (and the whole error in
    the log): one part that fails takes nothing else down."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - any failure of one part is reported, not raised
        LOG.warning("impact: %s for %s could not be computed", name, est.spec, exc_info=exc)
        est.problems[name] = plain_failure(exc)
        return None


def plain_failure(exc: Exception) -> str:
    """A model failure in words (no traceback, no path)."""
    text = str(exc).lower()
    if "singleton" in text or "singular" in text or "collinear" in text:
        return "the model could not be fitted on these settings (too few results to separate the effects)"
    return f"the model could not be fitted on these settings ({exc.__class__.__name__})"


def estimate(db, spec: Spec) -> Estimate:
    """The difference-in-differences estimate for one specification (computed once per data
    version: see ``bundle``). Never raises for a model that will not fit: ``reason`` says why."""
    held = panel(db, spec.measure, spec.sen_group)
    est = Estimate(spec)
    if held.empty:
        est.reason = "no setting results are held for this outcome"
        return est
    frame, est.left_out = _prepared(held, spec)
    if frame.empty:
        est.reason = "no setting has results in more than one year here"
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
    fitted = _part(est, "estimate", fitter, frame)
    if fitted is None:
        est.reason = est.problems["estimate"]
        return est
    est.overall, event, pre = fitted
    # clustered by setting, an estimate rests on its fewer group of settings: its interval is on
    # Student's t with that many less one degrees of freedom (normal, twelve districts' ten-odd
    # supported settings each claimed a direction on 15% of null seeds, bench/impact_null.py)
    est.df = min(est.supported, est.compared) - 1
    est.overall = est.overall.on(est.df)
    if pre is not None:
        est.pretrend_p, est.pretrend_slope, est.pretrend_years, est.pretrend_power = pre.p, pre.slope, pre.years, pre.power
    est.event = event[event["settings"] >= MIN_EVENT_SETTINGS].reset_index(drop=True)
    est.naive = _part(est, "naive comparison", _naive, frame)
    est.before = _part(est, "before support", _before, frame)
    if spec.control == "never":
        cs = _part(est, "Callaway and Sant'Anna", _callaway_santanna, frame)
        if cs is not None:
            est.cs, est.early, est.sensitivity = cs
            est.cs = est.cs.on(est.df)
            est.early = None if est.early is None else est.early.on(est.df)
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
    from stls.store import db as dbmod
    handle = dbmod.Database(path)
    try:
        return handle.version, _fit_all(handle)
    finally:
        handle.close()


def _fit_all(db) -> dict[str, Bundle]:
    return {measure: _fit(db, measure) for measure in MEASURES}


def _safe(db, spec: Spec) -> Estimate:
    """``estimate``, or an estimate saying why there is none: each is fitted on its own."""
    try:
        return estimate(db, spec)
    except Exception as exc:  # noqa: BLE001 - one estimate that fails takes no other down
        LOG.warning("impact: %s could not be estimated", spec, exc_info=exc)
        return Estimate(spec, reason=plain_failure(exc))


def _fit(db, measure: str) -> Bundle:
    main = _safe(db, Spec(measure))
    checks = {
        "main": main,
        "not_yet": _safe(db, Spec(measure, control="not_yet")),
        "no_pandemic": _safe(db, Spec(measure, drop_pandemic=True)),
        "other_outcome": _safe(db, Spec(_other(measure))),
        "placebo": _safe(db, Spec(measure, sen_group="no_sen")),
    }
    districts = {code: _safe(db, Spec(measure, district=code)) for code in ref.DISTRICT_CODES}
    try:
        dose, n = dose_response(db, measure)
    except Exception as exc:  # noqa: BLE001 - the secondary analysis failing leaves the rest
        LOG.warning("impact: the dose-response for %s could not be fitted", measure, exc_info=exc)
        dose, n = None, 0
    raw = db.meta().get("impact_truth")
    return Bundle(measure, main, checks, districts, dose, n, json.loads(raw) if raw else None)


def dose_response(db, measure: str) -> tuple[Effect | None, int]:
    """Secondary analysis: change in the SEN-support result per extra STLS contact per pupil on
    SEN support in the same year, within settings and within district-years (setting, and district
    × year, fixed effects, clustered by setting, with the jackknife when settings are few): a district's own trend, which the county's year
    effects do not remove, no longer passes for a dose-response. An association: contacts follow
    need as well as cause change."""
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
        # with few settings, the jackknife (CRV3): a few settings with many contacts carry the slope,
        # and CRV1's standard error was a third too small at KS4's 100 secondaries (10% of null seeds
        # claimed a direction); at KS2's 470 primaries the two differ by 5% and the jackknife costs 9 s
        few = frame["urn"].nunique() < JACKKNIFE_BELOW
        fit = pf.feols("y ~ dose | urn + district_code^year", data=frame, vcov={"CRV3" if few else "CRV1": "urn"})
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


def p_value(e: Effect) -> float:
    """Two-sided p-value of an effect against zero (on the distribution of its interval)."""
    if e.se <= 0:
        return 1.0
    if e.df:
        return stats.t_two_sided_p(e.estimate / e.se, e.df)
    return math.erfc(abs(e.estimate / e.se) / math.sqrt(2))


def adjusted(estimates: dict[str, Estimate]) -> dict[str, float]:
    """Benjamini–Hochberg adjusted p-values (SciPy's ``false_discovery_control``) over the
    estimates there are: directions claimed at q < 0.05 keep the expected share of false ones
    among them at 5% however many districts are compared."""
    from scipy import stats as sps
    keys = [k for k, e in estimates.items() if e.overall is not None]
    if not keys:
        return {}
    q = sps.false_discovery_control([p_value(e) for k in keys if (e := estimates[k].overall) is not None],
                                      method="bh")
    return dict(zip(keys, map(float, np.atleast_1d(q))))


def cohort_text(est: Estimate) -> str:
    return ", ".join(f"{ref.academic_year_label(y)}: {n}" for y, n in est.cohorts.items()) or "none"


def years_text(est: Estimate) -> str:
    if not est.years:
        return "[x]"
    missing = [y for y in range(est.years[0], est.years[-1] + 1) if y not in est.years]
    text = f"{ref.academic_year_label(est.years[0])} to {ref.academic_year_label(est.years[-1])}"
    return text + (f" (no results in {', '.join(ref.academic_year_label(y) for y in missing)})" if missing else "")
