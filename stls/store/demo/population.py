"""Synthetic settings, SEN census, attainment and budget tables (small; built row by group)."""
from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from stls import reference as ref
from stls.store import queries
from stls.store.demo import profiles as p

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


# (geography, measure or LAIT code, SEN group, academic year) → a published figure
County = dict[tuple[str, str, str, int], float]


def county_figures(published: pd.DataFrame) -> County:
    """(geography, measure or LAIT code, SEN group, academic year) → the published value for Kent
    and England, from ``published.shipped()``: a final figure before a provisional one, by the
    rule every query of the published figures uses (``queries.final_published``)."""
    rows = queries.final_published(published)
    rows = rows[rows["geography_code"].isin([ref.KENT_CODE, ref.ENGLAND_CODE])]
    out: County = {}
    for r in rows.itertuples():
        key = r.measure if isinstance(r.measure, str) else r.lait_code
        out[(r.geography_code, key, r.sen_group, int(r.academic_year))] = float(r.value)
    return out


def build_sen_pupils(rng: np.random.Generator, county: County) -> pd.DataFrame:
    """January census: pupils by district, SEN group, primary need and phase. Kent's shares with an
    EHC plan and on SEN support are the published ones, exactly (to the pupil); the districts and
    phases share them out with more SEN where outcomes are lower."""
    rows: list[tuple[int, str, str, str | None, str, int]] = []
    shares = district_shares()
    cells = [(code, phase) for code in shares for phase in p.PHASE_SHARES]
    tilt = np.array([1 - p.PROFILES[code].outcome_offset * 0.02 for code, _ in cells])
    place = np.array([shares[code] * p.PHASE_SHARES[phase] for code, phase in cells])
    for i, year in enumerate(p.YEARS):
        pupils = round(_lerp(p.KENT_PUPILS, i))
        kent = {g: round(county[(ref.KENT_CODE, code, g, year)] / 100 * pupils) for g, code in p.CENSUS_CODES.items()}
        totals = rng.multinomial(pupils, place / place.sum())
        weights = {
            "ehc_plan": np.array([shares[c] * p.PHASE_EHC[ph] for c, ph in cells]) * tilt,
            "sen_support": totals * np.array([p.PHASE_SEN_SUPPORT[ph] for _, ph in cells]) * tilt,
        }
        counts = {g: rng.multinomial(n, weights[g] / weights[g].sum()) for g, n in kent.items()}
        mixes = {g: {need: _lerp(v, i) for need, v in mix.items()} for g, mix in p.PRIMARY_NEED_MIX.items()}
        for k, (code, phase) in enumerate(cells):
            for group in ("sen_support", "ehc_plan"):
                mix = mixes[group]
                w = np.array(list(mix.values()))
                split = rng.multinomial(int(counts[group][k]), w / w.sum())
                rows += [(year, code, group, need, phase, int(n)) for need, n in zip(mix, split)]
            rows.append((year, code, "no_sen", None, phase,
                         int(totals[k] - counts["sen_support"][k] - counts["ehc_plan"][k])))
    return pd.DataFrame(rows, columns=["academic_year", "geography_code", "sen_group",
                                       "primary_need", "phase", "pupils"])


BASE_GROUPS = ("ehc_plan", "sen_support", "no_sen")


def group_values(values: dict[str, float], e: float, s: float) -> tuple[dict[str, float], float]:
    """The three base groups' values and the SEN support share of the cohort, from a geography's
    published groups. With all four published, the share is solved so that the groups' cohort-
    weighted mean is the published all-pupils figure (kept within 0.5–1.6 times the default ``s``);
    without a no-SEN figure (EYFS), that figure follows from all pupils."""
    ehc, ss = values["ehc_plan"], values["sen_support"]
    allp, no = values.get("all_pupils"), values.get("no_sen")
    if allp is not None and no is not None and ss != no:
        s = float(np.clip((allp - no - e * (ehc - no)) / (ss - no), 0.5 * s, 1.6 * s))
    if no is None:
        assert allp is not None, "a published year needs no-SEN or all-pupils figures"
        no = (allp - e * ehc - s * ss) / (1 - e - s)
    return {"ehc_plan": ehc, "sen_support": ss, "no_sen": no}, s


def _published_groups(county: County, geo: str, measure: str, year: int) -> dict[str, float]:
    return {g: county[k] for g in (*BASE_GROUPS, "all_pupils") if (k := (geo, measure, g, year)) in county}


def _district_value(rng: np.random.Generator, measure: str, base: float, cohort: int, drift: float) -> float:
    mean = base + drift
    if measure == "ks4_attainment8":
        return float(np.clip(rng.normal(mean, 18 / np.sqrt(max(cohort, 1))), 0, 90))
    prob = float(np.clip(mean, 0.5, 99.5)) / 100
    return 100 * rng.binomial(cohort, prob) / max(cohort, 1)


def calibrated(values: npt.NDArray[np.float64], cohorts: npt.NDArray[np.int64], target: float,
               top: float) -> npt.NDArray[np.float64]:
    """The districts' values shifted by one amount (the same for every district, so their
    differences and stories stay) until their cohort-weighted mean is ``target``, within 0..top."""
    v = values.astype(float)
    for _ in range(50):
        gap = target - float(np.average(v, weights=cohorts))
        if abs(gap) < 1e-9:
            break
        v = np.clip(v + gap, 0.0, top)
    return v


# One attainment row: academic year, geography, measure, SEN group, cohort, value
AttainmentRow = tuple[int, str, str, str, int, float]


def _rows(year: int, geo: str, measure: str, groups: dict[str, tuple[int, float]],
          allp: float | None = None) -> list[AttainmentRow]:
    """The base groups' rows plus all_sen and all_pupils as cohort-weighted means of them (all
    pupils as published where it is)."""
    out = [(year, geo, measure, g, c, round(v, 1)) for g, (c, v) in groups.items()]
    for name, parts in (("all_sen", ("ehc_plan", "sen_support")), ("all_pupils", BASE_GROUPS)):
        cohort = sum(groups[g][0] for g in parts)
        value = sum(groups[g][0] * groups[g][1] for g in parts) / cohort
        out.append((year, geo, measure, name, cohort, round(allp if name == "all_pupils" and allp is not None
                                                                else value, 1)))
    return out


def build_attainment(rng: np.random.Generator, county: County) -> pd.DataFrame:
    """Attainment for England and Kent (published) and each district (synthetic stories, adding up
    to Kent). A year with no published Kent figures for a measure has no results (the pandemic)."""
    rows: list[AttainmentRow] = []
    shares = district_shares()
    for measure in ref.MEASURE_CODES:
        scale = 0.4 if measure == "ks4_attainment8" else 1.0  # A8 points move less than %
        top = 90.0 if measure == "ks4_attainment8" else 100.0
        cohort_total = p.COHORT_SHARES[measure][2]
        for i, year in enumerate(p.YEARS):
            e, s0 = p.cohort_shares(measure, i)
            kent_pub = _published_groups(county, ref.KENT_CODE, measure, year)
            if measure in p.SYNTHETIC_ENGLAND:
                series = p.SYNTHETIC_ENGLAND[measure]
                england, s_eng = group_values({g: series[g][i] for g in ("ehc_plan", "sen_support", "all_pupils")}, e, s0)
                target, s_kent, allp = None, s_eng, None
            elif not kent_pub:
                continue
            else:
                england, s_eng = group_values(_published_groups(county, ref.ENGLAND_CODE, measure, year), e, s0)
                target, s_kent = group_values(kent_pub, e, s0)
                allp = kent_pub.get("all_pupils")
            share_of = {"ehc_plan": e, "sen_support": s_eng, "no_sen": 1 - e - s_eng}
            rows += _rows(year, ref.ENGLAND_CODE, measure,
                          {g: (round(cohort_total * share_of[g]), v) for g, v in england.items()},
                          _published_groups(county, ref.ENGLAND_CODE, measure, year).get("all_pupils"))
            kent_share = {"ehc_plan": e, "sen_support": s_kent, "no_sen": 1 - e - s_kent}
            districts: dict[str, dict[str, tuple[int, float]]] = {code: {} for code in shares}
            for group, sen_drift in (("ehc_plan", 0.5), ("sen_support", 1.0), ("no_sen", 0.0)):
                centre = (target or england)[group]
                cohorts = np.array([round(cohort_total * KENT_OF_ENGLAND * kent_share[group] * share)
                                    for share in shares.values()])
                values = []
                for code, cohort in zip(shares, cohorts):
                    prof = p.PROFILES[code]
                    drift = p.STORIES[prof.story][1] * max(i - 1, 0) * scale * sen_drift
                    values.append(_district_value(rng, measure, centre + prof.outcome_offset * scale, int(cohort), drift))
                v = np.array(values) if target is None else calibrated(np.array(values), cohorts, centre, top)
                for code, cohort, value in zip(shares, cohorts, v):
                    districts[code][group] = (int(cohort), float(value))
            for code, groups in districts.items():
                rows += _rows(year, code, measure, groups)
            kent = {g: (sum(d[g][0] for d in districts.values()),
                        target[g] if target else sum(d[g][0] * d[g][1] for d in districts.values())
                        / sum(d[g][0] for d in districts.values())) for g in BASE_GROUPS}
            rows += _rows(year, ref.KENT_CODE, measure, kent, allp)
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
