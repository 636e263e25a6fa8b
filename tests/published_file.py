"""Kent's and England's published figures read straight from the shipped LAIT file with the csv
module, for tests to check the dashboard against (never through the package)."""
from __future__ import annotations

import csv
from pathlib import Path

FILE = Path(__file__).resolve().parent.parent / "data" / "published" / "lait_send_outcomes_kent_england_sn.csv"

# LAIT code → (measure, SEN group): written out here, not imported from the package
OUTCOMES = {
    "KS2RWM_Expected_STD": ("ks2_rwm_expected", "all_pupils"), "NEW_KS2_RWM_Sen_W/Osta": ("ks2_rwm_expected", "sen_support"),
    "NEW_KS2_RWM_Sen_Withsta": ("ks2_rwm_expected", "ehc_plan"), "NoID_SEN_NEW_KS2_RWM": ("ks2_rwm_expected", "no_sen"),
    "AVG_Attain8_Score": ("ks4_attainment8", "all_pupils"), "SEN_Stat_AVG_Attain8_Score": ("ks4_attainment8", "ehc_plan"),
    "SEN_WoStat_AVG_Attain8_Score": ("ks4_attainment8", "sen_support"),
    "SEN_NoID_AVG_Attain8_Score": ("ks4_attainment8", "no_sen"),
    "FSP_NEW_GOODDEV": ("eyfs_gld", "all_pupils"), "FSP_Gooddev_With_SENSTATE": ("eyfs_gld", "ehc_plan"),
    "FSP_Gooddev_Without_SENSTATE": ("eyfs_gld", "sen_support"),
    "KS1P_EHCP": ("phonics_y1", "ehc_plan"), "KS1P_SEND": ("phonics_y1", "sen_support"), "KS1P_NonSEND": ("phonics_y1", "no_sen"),
}


def county_file() -> dict[tuple, float]:
    """(area, measure, SEN group, academic year) → value for Kent and England, read with the csv
    module; a final figure wins over a provisional one."""
    out: dict[tuple, float] = {}
    with open(FILE, encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["value"].strip() and r["area"] in ("Kent", "England")
                and r["lait_measure_code"] in OUTCOMES]
    for r in sorted(rows, key=lambda r: not r["lait_year_label"].endswith("(prov)")):
        out[(r["area"], *OUTCOMES[r["lait_measure_code"]], int(r["lait_year_label"][:4]) - 1)] = float(r["value"])
    return out


def census_file() -> dict[tuple, float]:
    """(area, LAIT code, academic year) → % of pupils with an EHC plan (SEN_TotStat) or on SEN
    support (SEN_TotSENSuP), January census, for Kent and England."""
    with open(FILE, encoding="utf-8", newline="") as fh:
        return {(r["area"], r["lait_measure_code"], int(r["lait_year_label"][:4]) - 1): float(r["value"])
                for r in csv.DictReader(fh) if r["value"].strip() and r["area"] in ("Kent", "England")
                and r["lait_measure_code"] in ("SEN_TotStat", "SEN_TotSENSuP")}
