"""Published DfE figures for Kent, England, the South East and Kent's statistical neighbours.

The files ship in ``data/published/`` (Open Government Licence v3.0; ``data/published/README.md``
names each source) and the schema build loads them (``db.create_schema``), so a fresh clone
has them with no extra step; a data owner refreshes them with ``python -m stls import
published FILE`` (the LAIT long format), checked like every other import.

Years follow the project's convention: LAIT labels an academic year by its end ("2019" =
2018/19, so ``academic_year`` 2018); "2025 (prov)" is provisional. EHC plans issued within 20
weeks are counted by calendar year in LAIT: stored the same way (label − 1) and flagged
``calendar_year``, so a view can say "calendar year 2024" rather than an academic year.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from stls import ROOT
from stls import reference as ref

FOLDER = ROOT / "data" / "published"
LAIT_FILE = "lait_send_outcomes_kent_england_sn.csv"
NEIGHBOURS_FILE = "kent_statistical_neighbours.csv"
RANKS_FILE = "lait_kent_rank_among_las_latest.csv"
NEIGHBOUR_LIST = "May 2025"
ATTRIBUTION = ("Contains public sector information licensed under the Open Government Licence v3.0, "
               "Department for Education")
SOURCE_LINE = "DfE statistics via the Local Authority Interactive Tool (LAIT), OGL v3.0"
# What the demo database is made of, said once for the banner, the pack and the report.
DEMO_SHORT = ("Synthetic districts, real county: district figures are demonstration data; Kent and England "
              "results are published DfE statistics")
DEMO_NOTICE_SHORT = ("**Synthetic districts, real county.** District activity, pupils and results are made up; "
                     "Kent's and England's results are real DfE statistics.")
DEMO_NOTICE = ("**Synthetic districts, real county.** The 12 districts' STLS activity, pupils and results are made "
               "up to show how the dashboard works, and they add up to Kent's published figures. Kent's and England's "
               "results (KS2, KS4 Attainment 8, EYFS and phonics by SEN group, 2016/17 to 2024/25), Kent's shares of "
               "pupils with an EHC plan and on SEN support, and the statistical neighbours are real DfE statistics. "
               "KS4 English and maths grade 5+ (not in the shipped extract), the activity and the budget are synthetic "
               "throughout.")


@dataclass(frozen=True)
class Geography:
    code: str           # GSS code (E06/E08/E09/E10 for local authorities)
    old_la_code: int    # the DfE's three-digit LA code (970 England, 989 South East)
    name: str
    kind: str           # england | region | county (Kent) | statistical_neighbour
    neighbour_rank: int | None = None


# Old LA code → GSS code, for Kent, England, the South East and the May 2025 neighbours
# (checked against the DfE's own LA table in dfe-analytical-services' FindInformationAcademiesTrusts;
# Somerset became a unitary authority in April 2023: E06000066, previously E10000027).
GSS = {970: ref.ENGLAND_CODE, 989: "E12000008", 886: ref.KENT_CODE, 881: "E10000012", 845: "E10000011",
       878: "E10000008", 303: "E09000004", 935: "E10000029", 926: "E10000020", 891: "E10000024",
       938: "E10000032", 822: "E06000055", 933: "E06000066"}

# LAIT's labels → the project's SEN groups
SEN_GROUP_OF = {"EHC plan/statement": "ehc_plan", "SEN support": "sen_support", "No identified SEN": "no_sen",
                "All pupils": "all_pupils"}
# LAIT measure codes that are one of the project's outcome measures
MEASURE_OF = {"KS2RWM_Expected_STD": "ks2_rwm_expected", "NEW_KS2_RWM_Sen_W/Osta": "ks2_rwm_expected",
              "NEW_KS2_RWM_Sen_Withsta": "ks2_rwm_expected", "NoID_SEN_NEW_KS2_RWM": "ks2_rwm_expected",
              "AVG_Attain8_Score": "ks4_attainment8", "SEN_Stat_AVG_Attain8_Score": "ks4_attainment8",
              "SEN_WoStat_AVG_Attain8_Score": "ks4_attainment8", "SEN_NoID_AVG_Attain8_Score": "ks4_attainment8",
              "FSP_NEW_GOODDEV": "eyfs_gld", "FSP_Gooddev_With_SENSTATE": "eyfs_gld",
              "FSP_Gooddev_Without_SENSTATE": "eyfs_gld", "KS1P_EHCP": "phonics_y1", "KS1P_SEND": "phonics_y1",
              "KS1P_NonSEND": "phonics_y1"}
CALENDAR_YEAR = {"SEN_EHC_All_20wks", "SEN_EHC_Excpt_20wks"}
# Every LAIT measure the project reads (a refresh with another code is refused, naming it).
INDICATORS = {
    "KS2RWM_Expected_STD": "KS2 RWM expected standard %", "NEW_KS2_RWM_Sen_W/Osta": "KS2 RWM expected standard %",
    "NEW_KS2_RWM_Sen_Withsta": "KS2 RWM expected standard %", "NoID_SEN_NEW_KS2_RWM": "KS2 RWM expected standard %",
    "AVG_Attain8_Score": "KS4 Attainment 8 average", "SEN_Stat_AVG_Attain8_Score": "KS4 Attainment 8 average",
    "SEN_WoStat_AVG_Attain8_Score": "KS4 Attainment 8 average", "SEN_NoID_AVG_Attain8_Score": "KS4 Attainment 8 average",
    "SEN_Stat_AVG_Prog8_Score": "KS4 Progress 8 average", "SEN_WoStat_AVG_Prog8_Score": "KS4 Progress 8 average",
    "SEN_NoID_AVG_Prog8_Score": "KS4 Progress 8 average",
    "FSP_NEW_GOODDEV": "EYFS good level of development %", "FSP_Gooddev_With_SENSTATE": "EYFS good level of development %",
    "FSP_Gooddev_Without_SENSTATE": "EYFS good level of development %",
    "KS1P_EHCP": "Y1 phonics expected standard %", "KS1P_SEND": "Y1 phonics expected standard %",
    "KS1P_NonSEND": "Y1 phonics expected standard %",
    "SEN_TotStat": "% pupils with EHC plan/statement (all schools, Jan census)",
    "SEN_TotSENSuP": "% pupils with SEN support (all schools, Jan census)",
    "PrimStatements": "% pupils with EHC plan/statement (primary)", "PrimNoStatements": "% pupils with SEN support (primary)",
    "SecStatements": "% pupils with EHC plan/statement (secondary)", "SecNoStatements": "% pupils with SEN support (secondary)",
    "SEN_EHC_All_20wks": "% new EHC plans issued within 20 weeks (incl exceptions)",
    "SEN_EHC_Excpt_20wks": "% new EHC plans issued within 20 weeks (excl exceptions)",
}


def neighbours(folder: Path = FOLDER) -> list[Geography]:
    """Kent's statistical neighbours (May 2025 list), in rank order, from the shipped file."""
    rows = list(csv.DictReader((folder / NEIGHBOURS_FILE).read_text(encoding="utf-8").splitlines()))
    out = []
    for r in rows:
        if r["sn_list"].startswith(NEIGHBOUR_LIST):
            old = int(float(r["old_la_code"]))
            out.append(Geography(GSS[old], old, r["la_name"], "statistical_neighbour", int(r["rank"])))
    return sorted(out, key=lambda g: g.neighbour_rank or 0)


def geographies(folder: Path = FOLDER) -> list[Geography]:
    """England, the South East, Kent and its neighbours."""
    return [Geography(ref.ENGLAND_CODE, 970, "England", "england"), Geography("E12000008", 989, "South East", "region"),
            Geography(ref.KENT_CODE, 886, "Kent", "county"), *neighbours(folder)]


COLUMNS = ["lait_code", "indicator", "measure", "sen_group", "academic_year", "provisional", "calendar_year",
           "geography_code", "old_la_code", "value"]


def lait_year(label: str) -> tuple[int, bool]:
    """'2019' → (2018, False): LAIT labels an academic year by its end; '2025 (prov)' is provisional."""
    text = label.strip()
    provisional = text.endswith("(prov)")
    return int(text.split()[0]) - 1, provisional


def frame_from_lait(rows: pd.DataFrame) -> pd.DataFrame:
    """LAIT's long format (columns lait_measure_code, indicator, sen_group, lait_year_label,
    old_la_code, value; others ignored), already checked, as the ``published`` table's rows."""
    years = [lait_year(str(v)) for v in rows["lait_year_label"]]
    old = [int(float(v)) for v in rows["old_la_code"]]
    return pd.DataFrame({
        "lait_code": rows["lait_measure_code"].astype(str),
        "indicator": rows["indicator"].astype(str),
        "measure": rows["lait_measure_code"].map(MEASURE_OF),
        "sen_group": rows["sen_group"].map(SEN_GROUP_OF),
        "academic_year": [y for y, _ in years],
        "provisional": [p for _, p in years],
        "calendar_year": rows["lait_measure_code"].isin(CALENDAR_YEAR),
        "geography_code": [GSS[o] for o in old],
        "old_la_code": old,
        "value": pd.to_numeric(rows["value"], errors="coerce"),
    }, columns=COLUMNS)


def shipped(folder: Path = FOLDER) -> pd.DataFrame:
    """The shipped LAIT extract as ``published`` rows (blank values, suppressed at source, dropped)."""
    text = (folder / LAIT_FILE).read_text(encoding="utf-8")
    rows = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    rows = rows[rows["value"].str.strip() != ""]
    return frame_from_lait(rows).reset_index(drop=True)


def geography_frame(folder: Path = FOLDER) -> pd.DataFrame:
    return pd.DataFrame([g.__dict__ for g in geographies(folder)])


# The rank file's indicator names → (measure or LAIT code, SEN group)
RANKED = {"KS2 RWM SEN support": ("ks2_rwm_expected", "sen_support"), "KS2 RWM EHC": ("ks2_rwm_expected", "ehc_plan"),
          "KS2 RWM no SEN": ("ks2_rwm_expected", "no_sen"), "A8 SEN support": ("ks4_attainment8", "sen_support"),
          "A8 EHC": ("ks4_attainment8", "ehc_plan"), "GLD SEN support": ("eyfs_gld", "sen_support"),
          "GLD EHC": ("eyfs_gld", "ehc_plan"), "% EHC": ("SEN_TotStat", "ehc_plan"),
          "% SEN support": ("SEN_TotSENSuP", "sen_support")}
RANK_COLUMNS = ["key", "sen_group", "academic_year", "value", "rank", "tied", "authorities", "q1", "median", "q3"]


def ranks(folder: Path = FOLDER) -> pd.DataFrame:
    """Kent's rank among English local authorities (1 = highest value; ``tied`` authorities share
    it) and the authorities' quartiles, latest year, from the shipped file (LAIT's own extract
    of every authority: a refresh of the Kent-and-neighbours file cannot recompute it)."""
    rows = list(csv.DictReader((folder / RANKS_FILE).read_text(encoding="utf-8").splitlines()))
    out = []
    for r in rows:
        key, group = RANKED[r["indicator"]]
        year, _ = lait_year(r["year"])
        out.append((key, group, year, float(r["kent"]), int(r["rank_desc"]), int(r["n_tied"]), int(r["n_LAs"]),
                    float(r["q1"]), float(r["median"]), float(r["q3"])))
    return pd.DataFrame(out, columns=RANK_COLUMNS)
