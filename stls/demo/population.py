"""Synthetic settings, SEN census, attainment and budget tables (small; built row by group)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from stls import reference as ref
from stls.demo import profiles as p

KENT_OF_ENGLAND = 0.0277  # Kent's share of each England cohort
SETTING_COUNTS = {"primary": 470, "secondary": 100, "post_16": 30, "early_years": 600}
_PLACES = ("Oak", "Ash", "Beech", "Willow", "Hazel", "Elm", "Meadow", "Brook", "Hill", "Castle",
           "St Mary's", "St John's", "Holy Trinity", "Christ Church", "Orchard", "Downs", "Marsh",
           "Harbour", "Priory", "Abbey", "Valley", "Park", "Riverside", "Chalk", "Weald")
_KINDS = {"primary": "Primary School", "secondary": "Secondary School",
          "post_16": "Sixth Form College", "early_years": "Pre-School"}


def district_shares() -> dict[str, float]:
    total = sum(pr.pupil_share for pr in p.PROFILES.values())
    return {code: pr.pupil_share / total for code, pr in p.PROFILES.items()}


def _lerp(pair: tuple[float, float], i: int) -> float:
    return pair[0] + (pair[1] - pair[0]) * i / (len(p.YEARS) - 1)


def build_settings(rng: np.random.Generator) -> pd.DataFrame:
    """About 600 schools and 600 early years settings, spread by pupil share."""
    rows = []
    shares = district_shares()
    next_school, next_ey = 118_000, 500_000
    for phase, total in SETTING_COUNTS.items():
        counts = rng.multinomial(total, list(shares.values()))
        for code, n in zip(shares, counts):
            town = ref.DISTRICT_NAMES[code].split(" and ")[0]
            for _ in range(max(int(n), 1)):
                place = _PLACES[int(rng.integers(len(_PLACES)))]
                if phase == "early_years":
                    urn, next_ey = f"EY{next_ey}", next_ey + int(rng.integers(1, 90))
                else:
                    urn, next_school = str(next_school), next_school + int(rng.integers(1, 40))
                rows.append((urn, f"{place} {town} {_KINDS[phase]}", code, phase, bool(rng.random() > 0.03)))
    frame = pd.DataFrame(rows, columns=["urn", "name", "district_code", "phase", "open"])
    frame["name"] = frame["name"] + frame.groupby("name").cumcount().map(lambda k: "" if k == 0 else f" ({k + 1})")
    return frame


def build_sen_pupils(rng: np.random.Generator) -> pd.DataFrame:
    """January census: pupils by district, SEN group, primary need and phase."""
    rows: list[tuple] = []
    shares = district_shares()
    for i, year in enumerate(p.YEARS):
        pupils, ehc = _lerp(p.KENT_PUPILS, i), _lerp(p.KENT_EHC, i)
        rate = _lerp(p.SEN_SUPPORT_RATE, i)
        mixes = {g: {need: _lerp(v, i) for need, v in mix.items()} for g, mix in p.PRIMARY_NEED_MIX.items()}
        for code, share in shares.items():
            tilt = 1 - p.PROFILES[code].outcome_offset * 0.02  # more SEN where outcomes are lower
            for phase, pshare in p.PHASE_SHARES.items():
                total = int(rng.poisson(pupils * share * pshare))
                counts = {
                    "sen_support": int(rng.poisson(total * rate * p.PHASE_SEN_SUPPORT[phase] * tilt)),
                    "ehc_plan": int(rng.poisson(ehc * share * p.PHASE_EHC[phase] * tilt)),
                }
                for group, n in counts.items():
                    mix = mixes[group]
                    weights = np.array(list(mix.values()))
                    split = rng.multinomial(n, weights / weights.sum())
                    rows += [(year, code, group, need, phase, int(k)) for need, k in zip(mix, split)]
                rows.append((year, code, "no_sen", None, phase, total - sum(counts.values())))
    return pd.DataFrame(rows, columns=["academic_year", "geography_code", "sen_group",
                                       "primary_need", "phase", "pupils"])


def _england_rows(measure: str) -> list[tuple]:
    rows = []
    for i, year in enumerate(p.YEARS):
        if year in p.NO_ASSESSMENT.get(measure, ()):
            continue
        series: dict = p.ENGLAND[measure]   # type: ignore[assignment]  # group → values by year
        ehc, ss, allp = (series[g][i] for g in ("ehc_plan", "sen_support", "all_pupils"))
        e, s = p.cohort_shares(measure, i)
        cohort = p.COHORT_SHARES[measure][2]
        all_sen = (e * ehc + s * ss) / (e + s)
        no_sen = (allp - (e + s) * all_sen) / (1 - e - s)
        for group, value, share in (("ehc_plan", ehc, e), ("sen_support", ss, s),
                                    ("no_sen", no_sen, 1 - e - s), ("all_sen", all_sen, e + s),
                                    ("all_pupils", allp, 1.0)):
            rows.append((year, ref.ENGLAND_CODE, measure, group, round(cohort * share), round(value, 1)))
    return rows


def _district_value(rng, measure: str, base: float, cohort: int, drift: float) -> float:
    mean = base + drift
    if measure == "ks4_attainment8":
        return float(np.clip(rng.normal(mean, 18 / np.sqrt(max(cohort, 1))), 0, 90))
    prob = float(np.clip(mean, 0.5, 99.5)) / 100
    return 100 * rng.binomial(cohort, prob) / max(cohort, 1)


def _combine(rows: list[tuple], groups: dict[str, tuple[int, float]], year, geo, measure) -> None:
    """Add all_sen and all_pupils as cohort-weighted means of the three base groups."""
    for name, parts in (("all_sen", ("ehc_plan", "sen_support")),
                        ("all_pupils", ("ehc_plan", "sen_support", "no_sen"))):
        cohort = sum(groups[g][0] for g in parts)
        value = sum(groups[g][0] * groups[g][1] for g in parts) / cohort
        rows.append((year, geo, measure, name, cohort, round(value, 1)))


def build_attainment(rng: np.random.Generator) -> pd.DataFrame:
    """Attainment for England (calibrated), each district (synthetic stories) and Kent."""
    rows, shares = [], district_shares()
    for measure in ref.MEASURE_CODES:
        england = {(r[0], r[3]): r for r in _england_rows(measure)}
        rows += list(england.values())
        scale = 0.4 if measure == "ks4_attainment8" else 1.0  # A8 points move less than %
        for i, year in enumerate(p.YEARS):
            if (year, "ehc_plan") not in england:
                continue
            kent: dict[str, list[tuple[int, float]]] = {}
            for code, share in shares.items():
                prof = p.PROFILES[code]
                drift = p.STORIES[prof.story][1] * max(i - 1, 0) * scale
                groups = {}
                for group, sen_drift in (("ehc_plan", 0.5 * drift), ("sen_support", drift), ("no_sen", 0.0)):
                    cohort = round(england[(year, group)][4] * KENT_OF_ENGLAND * share)
                    base = england[(year, group)][5] + prof.outcome_offset * scale
                    value = _district_value(rng, measure, base, cohort, sen_drift)
                    groups[group] = (cohort, value)
                    kent.setdefault(group, []).append((cohort, value))
                    rows.append((year, code, measure, group, cohort, round(value, 1)))
                _combine(rows, groups, year, code, measure)
            kent_groups = {g: (sum(c for c, _ in v), sum(c * x for c, x in v) / sum(c for c, _ in v))
                           for g, v in kent.items()}
            for group, (cohort, value) in kent_groups.items():
                rows.append((year, ref.KENT_CODE, measure, group, cohort, round(value, 1)))
            _combine(rows, kent_groups, year, ref.KENT_CODE, measure)
    return pd.DataFrame(rows, columns=["academic_year", "geography_code", "measure", "sen_group",
                                       "cohort", "value"])


def build_budget(last_financial_year: int) -> pd.DataFrame:
    """Illustrative £7.8M a year: district teams by pupil share, then the two countywide teams."""
    total, countywide = 7_800_000, {"SENSORY": 0.10, "PD": 0.06}
    district_pot = total * (1 - sum(countywide.values()))
    rows = []
    for fy in range(ref.FIRST_ACADEMIC_YEAR, last_financial_year + 1):
        rows += [(fy, code, round(district_pot * share, 2)) for code, share in district_shares().items()]
        rows += [(fy, code, round(total * s, 2)) for code, s in countywide.items()]
    return pd.DataFrame(rows, columns=["financial_year", "service_code", "allocation_gbp"])
