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

import logging
import math
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from stls import stats
from stls.store import queries

LOG = logging.getLogger(__name__)


Z = 1.959964


MEASURES = {"ks2_rwm_expected": "primary", "ks4_attainment8": "secondary"}   # the setting results held


GROUPS = ("sen_support", "ehc_plan", "no_sen")


PANDEMIC_YEARS = (2019, 2020)      # 2019/20 and 2020/21: no KS2 tests; KS4 grades assessed by centres


MIN_SETTINGS = 10                  # supported and comparison settings an estimate needs (a district's too)


JACKKNIFE_BELOW = 200              # settings under which the dose-response's standard error is the jackknife's


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
