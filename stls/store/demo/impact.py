"""The demo's setting-level panel, with a known answer for the evaluation of support (stls/analysis/evaluation.py).

Each setting has characteristics (number on roll, % SEN support, % EHC plan, IDACI decile) and a
hidden, lasting *standing*: how its pupils with SEN do against its district, points of the
percentage. Intensive Specialist Support (from September 2022) is not given at random: within
each district, settings that stand lower and have more pupils on SEN support are more likely to be
chosen, first in 2022/23, 2023/24, 2024/25 or 2025/26. The tracker records it as
``intensive_support`` activity at the setting's URN (``activity._assign_settings``), and the
first academic year of such activity in the tracker is what the evaluation calls the setting's
first support.

Each school's results by SEN group are drawn around its district's figure for the year (the
``attainment`` table), plus its standing, a little noise of its own and binomial (or, for
Attainment 8, sampling) noise for its small cohort. From the year of first support onwards, its
pupils on SEN support gain the planted effect (``DEFAULT_EFFECT`` points at KS2; at KS4 0.4 of it
in Attainment 8 points); nobody else does. Because supported settings stand lower, a comparison
of supported with other settings in the same year is biased downwards; a difference-in-differences
that compares each setting with itself before is not (selection is on lasting traits only).
"""
from __future__ import annotations

import json

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from stls import reference as ref
from stls.store.demo import profiles as p

DEFAULT_EFFECT = 6.0        # points on the % of SEN-support pupils at the KS2 expected standard
A8_PER_POINT = 0.4          # Attainment 8 points per percentage point (as the district stories)
FIRST_SUPPORT_YEARS = (2022, 2023, 2024, 2025)
OUTCOME_OF_PHASE = {"primary": "ks2_rwm_expected", "secondary": "ks4_attainment8"}
YEAR_GROUP = {"primary": 7, "secondary": 5}        # pupils on roll per pupil in the assessed year
PHASE_PUPILS = {"primary": (290, 0.45), "secondary": (1000, 0.35), "post_16": (420, 0.4), "early_years": (38, 0.5)}
PHASE_SEN = {"primary": (14.0, 2.4), "secondary": (12.5, 2.4), "post_16": (8.0, 1.0), "early_years": (7.0, 0.5)}
GROUP_STANDING = {"sen_support": 1.0, "ehc_plan": 0.6, "no_sen": 0.5}   # how much of the standing each group shares
OWN_NOISE = 2.0             # a setting's year-to-year wobble, points, before cohort noise
A8_PUPIL_SD = 14.0          # spread of pupils' Attainment 8 scores within a setting


def characteristics(rng: np.random.Generator, settings: pd.DataFrame) -> pd.DataFrame:
    """Number on roll, % SEN support, % EHC plan and IDACI decile for each setting, and its
    hidden ``standing`` (not stored in the database): more deprived areas, more SEN, lower standing."""
    n = len(settings)
    offset = settings["district_code"].map(lambda c: p.PROFILES[c].outcome_offset).to_numpy()
    deprivation = rng.normal(-offset / 3, 1.0)                       # higher: more deprived
    decile = np.clip(np.ceil(10 * (1 - _normal_cdf(deprivation))), 1, 10).astype(int)
    phase = settings["phase"].to_numpy()
    median, spread = (np.array([PHASE_PUPILS[ph][i] for ph in phase]) for i in (0, 1))
    pupils = np.maximum(np.round(median * np.exp(rng.normal(0, spread))), 8).astype(int)
    sen, ehc = (np.array([PHASE_SEN[ph][i] for ph in phase]) for i in (0, 1))
    sen_pct = np.clip(sen * np.exp(0.2 * deprivation + rng.normal(0, 0.2, n)), 1, 45).round(1)
    ehc_pct = np.clip(ehc * np.exp(0.15 * deprivation + rng.normal(0, 0.3, n)), 0, 20).round(1)
    standing = -2.5 * deprivation + rng.normal(0, 5.5, n)
    return settings.assign(pupils=pupils, sen_support_pct=sen_pct, ehc_plan_pct=ehc_pct,
                           idaci_decile=decile, standing=standing)


def _normal_cdf(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    from scipy.special import ndtr
    cdf: npt.NDArray[np.float64] = ndtr(x)   # scipy has no types
    return cdf


def first_support_plan(rng: np.random.Generator, settings: pd.DataFrame) -> np.ndarray:
    """Each setting's planned first year of Intensive Specialist Support (0: none by 2025/26).
    Within each district, lower standing and more SEN support make a setting likelier to be chosen."""
    frame = settings.assign(
        rel=settings["standing"] - settings.groupby("district_code")["standing"].transform("mean"),
        sen=settings.groupby("phase")["sen_support_pct"].transform(lambda s: (s - s.mean()) / s.std()))
    score = -1.6 - frame["rel"].to_numpy() / 1.2 + 0.6 * frame["sen"].to_numpy()
    chosen = rng.random(len(frame)) < 1 / (1 + np.exp(-score))
    chosen &= frame["phase"].isin(["primary", "secondary", "early_years"]).to_numpy()
    year = rng.choice(FIRST_SUPPORT_YEARS, len(frame))
    return np.where(chosen, year, 0)


def realised_first_support(activity: pa.Table) -> dict[str, int]:
    """URN → first academic year with Intensive Specialist Support in the tracker (as the
    evaluation reads it from ``setting_support``)."""
    kind = pc.cast(activity["activity_type"], pa.string())
    iss = activity.filter(pc.and_(pc.equal(kind, "intensive_support"), pc.is_valid(activity["setting_urn"])))
    frame = pd.DataFrame({"urn": pc.cast(iss["setting_urn"], pa.string()).to_pylist(),
                          "date": pd.to_datetime(iss["activity_date"].to_pandas())})
    frame["year"] = np.where(frame["date"].dt.month >= 9, frame["date"].dt.year, frame["date"].dt.year - 1)
    first: dict[str, int] = frame.groupby("urn")["year"].min().astype(int).to_dict()
    return first


def build_setting_outcomes(rng: np.random.Generator, settings: pd.DataFrame, attainment: pd.DataFrame,
                           first_support: dict[str, int], effect: float) -> pd.DataFrame:
    """Each primary's KS2 and each secondary's KS4 results by SEN group, every year its district
    has results for (none at KS2 in 2019/20 and 2020/21), with the planted effect."""
    district = attainment.set_index(["academic_year", "geography_code", "measure", "sen_group"])["value"]
    cols: dict[str, list[object]] = {k: [] for k in ("academic_year", "urn", "measure", "sen_group", "cohort", "value")}
    for phase, measure in OUTCOME_OF_PHASE.items():
        schools = settings[settings["phase"] == phase]
        years = sorted(attainment.loc[attainment["measure"] == measure, "academic_year"].unique())
        scale, top = (A8_PER_POINT, 90.0) if measure == "ks4_attainment8" else (1.0, 100.0)
        size = schools["pupils"].to_numpy() / YEAR_GROUP[phase]
        share = {"sen_support": schools["sen_support_pct"].to_numpy() / 100,
                 "ehc_plan": schools["ehc_plan_pct"].to_numpy() / 100}
        share["no_sen"] = 1 - share["sen_support"] - share["ehc_plan"]
        first = schools["urn"].map(first_support).fillna(0).to_numpy()
        for year in years:
            for group, shares in share.items():
                cohort = rng.binomial(np.maximum(np.round(size).astype(int), 1), np.clip(shares, 0, 1))
                centre = district.loc[[(year, d, measure, group) for d in schools["district_code"]]].to_numpy()
                mean = centre + scale * (GROUP_STANDING[group] * schools["standing"].to_numpy()
                                         + rng.normal(0, OWN_NOISE, len(schools)))
                if group == "sen_support":
                    mean = mean + np.where((first > 0) & (year >= first), effect * scale, 0.0)
                value = _draw(rng, measure, np.clip(mean, 0.5, top - 0.5), cohort, top)
                cols["academic_year"] += [int(year)] * len(schools)
                cols["urn"] += schools["urn"].tolist()
                cols["measure"] += [measure] * len(schools)
                cols["sen_group"] += [group] * len(schools)
                cols["cohort"] += cohort.tolist()
                cols["value"] += value.tolist()
    return pd.DataFrame(cols)


def _draw(rng: np.random.Generator, measure: str, mean: npt.NDArray[np.float64], cohort: npt.NDArray[np.int64],
          top: float) -> npt.NDArray[np.float64]:
    """A cohort's result: the share of ``cohort`` pupils reaching the standard, or their mean
    Attainment 8 score; NaN (no result) for a cohort of none."""
    n = np.maximum(cohort, 1)
    if measure == "ks4_attainment8":
        value = np.clip(mean + rng.normal(0, A8_PUPIL_SD, len(n)) / np.sqrt(n), 0, top)
    else:
        value = 100 * rng.binomial(n, mean / 100) / n
    return np.where(cohort > 0, np.round(value, 1), np.nan)


def truth(effect: float, first_support: dict[str, int]) -> str:
    """The planted answer, as JSON for the meta table (key ``impact_truth``)."""
    cohorts = pd.Series(first_support).value_counts().sort_index()
    return json.dumps({
        "effect": {"ks2_rwm_expected": effect, "ks4_attainment8": round(effect * A8_PER_POINT, 6)},
        "sen_group": "sen_support",
        "from": "the academic year of a setting's first Intensive Specialist Support, and every year after",
        "other_groups": 0.0,
        "selection": "within each district, settings standing lower and with more pupils on SEN support",
        "first_support_settings": {ref.academic_year_label(int(y)): int(n) for y, n in cohorts.items()},
    })
