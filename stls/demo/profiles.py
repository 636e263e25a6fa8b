"""Calibration of the synthetic demo: England's published levels and each district's story.

England figures follow the DfE releases quoted in issue 2 (KS4 Attainment 8 2018/19–2022/23,
KS2 RWM, phonics, EYFS); the other years are plausible fill-ins. Every district figure is
synthetic. Years are indexed from 2016/17 (index 0) to 2025/26 (index 9).
"""
from __future__ import annotations

from typing import NamedTuple

from stls import reference as ref

YEARS = tuple(range(ref.FIRST_ACADEMIC_YEAR, ref.FIRST_ACADEMIC_YEAR + 10))  # 2016/17..2025/26
NO_ASSESSMENT = {  # measure → academic years with no published results (pandemic)
    "ks2_rwm_expected": {2019, 2020},
    "phonics_y1": {2019, 2020},
    "eyfs_gld": {2019, 2020},
}

# England: EHC plan, SEN support and all pupils by year; all_sen and no_sen follow from the
# cohort shares below, so England's groups add up as the published ones do.
ENGLAND = {
    "ks2_rwm_expected": {
        "ehc_plan": (8, 9, 9, None, None, 7, 8, 8, 9, 9),
        "sen_support": (21, 24, 25, None, None, 21, 21, 22, 24, 24),
        "all_pupils": (61, 64, 65, None, None, 59, 59, 61, 62, 62),
    },
    "ks4_attainment8": {
        "ehc_plan": (13.9, 13.5, 13.7, 15.2, 15.7, 14.3, 14.0, 14.2, 14.1, 14.3),
        "sen_support": (31.9, 32.2, 32.6, 36.4, 36.7, 34.9, 33.3, 33.1, 33.4, 33.6),
        "all_pupils": (46.4, 46.5, 46.7, 50.2, 50.9, 48.8, 46.3, 45.9, 45.9, 46.1),
    },
    "ks4_em_grade5": {
        "ehc_plan": (5.0, 5.1, 5.4, 7.2, 8.0, 7.0, 6.3, 6.3, 6.4, 6.6),
        "sen_support": (16.5, 16.8, 17.0, 23.4, 24.8, 22.1, 18.9, 18.3, 18.5, 18.8),
        "all_pupils": (39.9, 40.2, 40.1, 49.9, 51.9, 49.8, 45.3, 45.9, 45.2, 45.5),
    },
    "eyfs_gld": {
        "ehc_plan": (4.5, 4.7, 5.0, None, None, 3.8, 3.9, 3.8, 3.9, 4.0),
        "sen_support": (28.0, 28.5, 29.0, None, None, 22.8, 23.6, 24.1, 24.8, 25.3),
        "all_pupils": (70.7, 71.5, 71.8, None, None, 65.2, 67.2, 67.7, 68.3, 68.8),
    },
    "phonics_y1": {
        "ehc_plan": (18, 19, 20, None, None, 17, 20, 20, 21, 21),
        "sen_support": (43, 46, 47, None, None, 41, 48, 52, 52, 53),
        "all_pupils": (81, 82, 82, None, None, 75, 79, 80, 80, 81),
    },
}

# Share of each assessed cohort with an EHC plan / on SEN support, first and last year
# (interpolated between), and England's cohort size.
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

# Kent school population (pupils in state-funded schools and funded early years places in
# the census) and EHC plans in the census, first and last year.
KENT_PUPILS = (243_000, 262_000)
KENT_EHC = (9_800, 21_400)            # about 19–21k by 2024/25
SEN_SUPPORT_RATE = (0.112, 0.126)     # SEN support as a share of pupils
PHASE_SHARES = {"early_years": 0.035, "primary": 0.52, "secondary": 0.40, "post_16": 0.045}
PHASE_SEN_SUPPORT = {"early_years": 0.65, "primary": 1.15, "secondary": 0.92, "post_16": 0.45}
PHASE_EHC = {"early_years": 0.02, "primary": 0.46, "secondary": 0.44, "post_16": 0.08}

PRIMARY_NEED_MIX = {  # share of pupils by primary need, first year → last year
    "sen_support": {
        "SLCN": (0.22, 0.25), "SEMH": (0.18, 0.21), "MLD": (0.21, 0.15), "SPLD": (0.14, 0.12),
        "ASD": (0.07, 0.10), "OTH": (0.05, 0.04), "NSA": (0.05, 0.05), "PD": (0.03, 0.03),
        "HI": (0.02, 0.02), "VI": (0.01, 0.01), "SLD": (0.01, 0.01), "PMLD": (0.002, 0.002),
        "MSI": (0.002, 0.002),
    },
    "ehc_plan": {
        "ASD": (0.28, 0.36), "SEMH": (0.13, 0.16), "SLCN": (0.15, 0.16), "SLD": (0.13, 0.10),
        "MLD": (0.12, 0.07), "PD": (0.06, 0.05), "SPLD": (0.04, 0.03), "PMLD": (0.03, 0.03),
        "HI": (0.02, 0.02), "VI": (0.01, 0.01), "MSI": (0.005, 0.005), "OTH": (0.02, 0.02),
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
