"""Calibration of the synthetic demo: "synthetic districts, real county".

Kent's and England's results and Kent's SEN percentages are the published DfE figures shipped in
``data/published/`` (``stls.store.published``); the districts are synthetic, drawn around Kent's figure
with their own stories and then shifted so that together they add up to it (``population``).
KS4 English and maths grade 5+ is not in the shipped extract, so for that measure England's
levels below are plausible fill-ins and Kent is the districts' total. Years are indexed from
2016/17 (index 0) to 2024/25 (index 8), the last year of the shipped extract.
"""
from __future__ import annotations

from typing import NamedTuple

from stls import reference as ref

YEARS = tuple(range(ref.FIRST_ACADEMIC_YEAR, 2025))  # 2016/17..2024/25

# England for the one measure not in the shipped extract: EHC plan, SEN support and all pupils by
# year; all_sen and no_sen follow from the cohort shares below.
SYNTHETIC_ENGLAND = {
    "ks4_em_grade5": {
        "ehc_plan": (5.0, 5.1, 5.4, 7.2, 8.0, 7.0, 6.3, 6.3, 6.4),
        "sen_support": (16.5, 16.8, 17.0, 23.4, 24.8, 22.1, 18.9, 18.3, 18.5),
        "all_pupils": (39.9, 40.2, 40.1, 49.9, 51.9, 49.8, 45.3, 45.9, 45.2),
    },
}

# Share of each assessed cohort with an EHC plan / on SEN support, first and last year
# (interpolated between), and England's cohort size. Where a geography publishes all four groups,
# its SEN support share is solved from them instead (``population.group_values``).
COHORT_SHARES = {
    "ks2_rwm_expected": ((0.035, 0.045), (0.138, 0.160), 650_000),
    "ks4_attainment8": ((0.040, 0.050), (0.110, 0.125), 600_000),
    "ks4_em_grade5": ((0.040, 0.050), (0.110, 0.125), 600_000),
    "eyfs_gld": ((0.015, 0.025), (0.085, 0.100), 640_000),
    "phonics_y1": ((0.020, 0.030), (0.100, 0.120), 660_000),
}


def cohort_shares(measure: str, year_index: int) -> tuple[float, float]:
    """(EHC plan share, SEN support share) of the cohort in that year."""
    (e0, e1), (s0, s1), _ = COHORT_SHARES[measure]
    f = year_index / (len(YEARS) - 1)
    return e0 + (e1 - e0) * f, s0 + (s1 - s0) * f


class DistrictProfile(NamedTuple):
    pupil_share: float     # share of Kent's pupils
    outcome_offset: float  # percentage points from England for every group (deprivation, roughly)
    story: str             # see STORIES


# activity growth a year, SEN outcome drift a year (pp, relative to England), setting-reach drift
STORIES = {
    "disconnect": (0.08, 0.0, 0.020),   # activity rises, outcomes flat: the 2019 review's finding
    "both_rise": (0.06, 1.3, 0.025),    # activity and outcomes rise together
    "falling": (-0.07, -0.3, -0.030),   # activity falls
    "steady": (0.01, 0.0, 0.0),
}

PROFILES = {
    "E07000105": DistrictProfile(0.087, 0.0, "both_rise"),     # Ashford
    "E07000106": DistrictProfile(0.087, 0.5, "both_rise"),     # Canterbury
    "E07000107": DistrictProfile(0.082, -0.5, "disconnect"),   # Dartford
    "E07000108": DistrictProfile(0.072, -2.0, "steady"),       # Dover
    "E07000112": DistrictProfile(0.067, -2.0, "steady"),       # Folkestone and Hythe
    "E07000109": DistrictProfile(0.072, -1.0, "disconnect"),   # Gravesham
    "E07000110": DistrictProfile(0.108, 1.0, "both_rise"),     # Maidstone
    "E07000111": DistrictProfile(0.077, 3.0, "falling"),       # Sevenoaks
    "E07000113": DistrictProfile(0.098, -3.0, "disconnect"),   # Swale
    "E07000114": DistrictProfile(0.093, -4.0, "disconnect"),   # Thanet
    "E07000115": DistrictProfile(0.088, 2.0, "steady"),        # Tonbridge and Malling
    "E07000116": DistrictProfile(0.077, 4.0, "both_rise"),     # Tunbridge Wells
}

# Kent school population in the census, first and last year (synthetic: the shipped extract has
# percentages, not headcounts). The shares with an EHC plan and on SEN support are the published
# ones (LAIT SEN_TotStat, SEN_TotSENSuP); the phase factors below only spread them across phases.
KENT_PUPILS = (243_000, 258_000)
CENSUS_CODES = {"ehc_plan": "SEN_TotStat", "sen_support": "SEN_TotSENSuP"}
PHASE_SHARES = {"early_years": 0.035, "primary": 0.52, "secondary": 0.40, "post_16": 0.045}
PHASE_SEN_SUPPORT = {"early_years": 0.65, "primary": 1.15, "secondary": 0.92, "post_16": 0.45}  # × the rate
PHASE_EHC = {"early_years": 0.02, "primary": 0.46, "secondary": 0.44, "post_16": 0.08}  # share of EHC plans

# Share of pupils by primary need, first year → last year; the EHC plans' last year is Kent's
# published mix of all EHC plans in January 2025 (need unknown counted as other).
PRIMARY_NEED_MIX = {
    "sen_support": {
        "SLCN": (0.22, 0.25), "SEMH": (0.18, 0.21), "MLD": (0.21, 0.15), "SPLD": (0.14, 0.12),
        "ASD": (0.07, 0.10), "OTH": (0.05, 0.04), "NSA": (0.05, 0.05), "PD": (0.03, 0.03),
        "HI": (0.02, 0.02), "VI": (0.01, 0.01), "SLD": (0.01, 0.01), "PMLD": (0.002, 0.002),
        "MSI": (0.002, 0.002),
    },
    "ehc_plan": {
        "ASD": (0.33, 0.462), "SEMH": (0.15, 0.186), "SLCN": (0.15, 0.174), "SLD": (0.09, 0.039),
        "MLD": (0.12, 0.050), "PD": (0.05, 0.031), "SPLD": (0.04, 0.019), "PMLD": (0.03, 0.018),
        "HI": (0.015, 0.009), "VI": (0.007, 0.004), "MSI": (0.002, 0.001), "OTH": (0.02, 0.006),
    },
}

# Activity records a year for the whole county at scale 1, before stories and regimes.
ACTIVITY_BASE = {
    "referral": 9_000, "lift_meeting": 900, "school_visit": 24_000, "drop_in": 3_000,
    "intensive_support": 800, "training": 1_500, "advice": 22_000,
}
# Month factor, September first: term-time rhythm, August near zero.
SEASON = (0.85, 1.1, 1.15, 0.75, 1.0, 0.95, 1.15, 0.8, 1.05, 1.15, 0.9, 0.04)
# Calendar month (year, month) → factor: first lockdown and the January 2021 closure.
COVID = {(2020, 3): 0.7, (2020, 4): 0.3, (2020, 5): 0.35, (2020, 6): 0.5, (2020, 7): 0.65,
         (2021, 1): 0.7, (2021, 2): 0.75}
# Regime effects on each type (multipliers), from September 2022 and from September 2025.
REGIME_EFFECT = {
    2022: {"referral": 1.10, "school_visit": 0.90, "advice": 1.15},
    2025: {"school_visit": 1.15, "lift_meeting": 1.20, "training": 1.25},
}
# Tracker returns that went astray (for the Data page's completeness check): district, month → factor.
RETURN_GAPS = {("E07000108", 2024, 3): 0.0, ("E07000109", 2025, 1): 0.3}
COUNTYWIDE_SHARE = {"SENSORY": 0.08, "PD": 0.05}  # of each district's referrals, visits, advice
SETTING_TYPES = ("referral", "school_visit", "drop_in", "intensive_support", "advice")
