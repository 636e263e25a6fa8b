"""What each kind of file must contain (DESIGN.md §2.3), described once with pydantic.

Each column has a *type* naming how its text is checked and normalised in SQL
(``stls.store.ingest.validate``); lookups map every accepted spelling to its code.
"""
from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from stls import reference as ref
from stls.store import published

ColumnType = Literal["date", "district", "geography", "service", "activity_type", "need_area", "phase",
                     "urn", "count", "text", "academic_year", "financial_year", "measure", "sen_group",
                     "primary_need", "whole", "number", "money", "bool", "lait_code", "lait_sen_group",
                     "lait_year", "la_code"]


class Column(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    type: ColumnType
    required: bool = True          # the column must be in the header
    blank_ok: bool = False         # a cell may be empty
    signed: bool = False           # a number that may be negative
    description: str


class Kind(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    description: str
    columns: tuple[Column, ...]
    example: tuple[str, ...]       # one example row, for the template

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


C = Column
KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind(name="activity", description="STLS activity tracker export: one row per activity, or a count of alike ones",
         columns=(
             C(name="date", type="date", description="2023-09-14, 14/09/2023 (day first), 2023-09 (a month) or an Excel date; not in the future"),
             C(name="district", type="district", description="Kent district name or ONS code; aliases such as Shepway, F&H, T&M accepted"),
             C(name="service", type="service", required=False, blank_ok=True, description="Sensory, PD, or a district's team; blank = the district's own team"),
             C(name="activity_type", type="activity_type", description="referral, lift_meeting, school_visit, drop_in, intensive_support, training or advice (or their names)"),
             C(name="need_area", type="need_area", required=False, blank_ok=True, description="CI, CL, SEMH, SP or the full name; blank if not recorded"),
             C(name="phase", type="phase", required=False, blank_ok=True, description="Early years, Primary, Secondary or Post-16; blank if not recorded"),
             C(name="setting_urn", type="urn", required=False, blank_ok=True, description="6-digit URN (or EY + 6 digits) of a setting in the settings list"),
             C(name="count", type="count", required=False, blank_ok=True, description="whole number of alike activities, 1 or more; blank = 1"),
         ), example=("2024-10-14", "Swale", "", "Referral", "SEMH", "Primary", "118403", "1")),
    Kind(name="attainment", description="Yearly outcome file (DfE): one row per year, area, measure and SEN group",
         columns=(
             C(name="academic_year", type="academic_year", description="such as 2023/24"),
             C(name="geography", type="geography", description="a Kent district, Kent or England (name or ONS code)"),
             C(name="measure", type="measure", description=", ".join(ref.MEASURE_CODES)),
             C(name="sen_group", type="sen_group", description=", ".join(ref.SEN_GROUPS)),
             C(name="cohort", type="whole", blank_ok=True, description="pupils in the cohort (whole number)"),
             C(name="value", type="number", blank_ok=True, description="percentage 0–100 or Attainment 8 score 0–90; blank, x or [x] if not published"),
         ), example=("2023/24", "Swale", "ks2_rwm_expected", "sen_support", "210", "21.4")),
    Kind(name="sen_pupils", description="January school census: pupils by SEN group, primary need and phase",
         columns=(
             C(name="academic_year", type="academic_year", description="such as 2023/24 (the January census in that year)"),
             C(name="geography", type="district", description="a Kent district (name or ONS code)"),
             C(name="sen_group", type="sen_group", description="ehc_plan, sen_support or no_sen"),
             C(name="primary_need", type="primary_need", blank_ok=True, description="DfE primary need code (ASD, SLCN, ...); blank for no_sen"),
             C(name="phase", type="phase", description="Early years, Primary, Secondary or Post-16"),
             C(name="pupils", type="whole", description="number of pupils (whole number, 0 or more)"),
         ), example=("2023/24", "Swale", "sen_support", "SEMH", "Primary", "412")),
    Kind(name="settings", description="Schools and early years settings",
         columns=(
             C(name="urn", type="urn", description="6-digit URN, or EY + 6 digits for an early years provider"),
             C(name="name", type="text", description="the setting's name"),
             C(name="district", type="district", description="Kent district"),
             C(name="phase", type="phase", description="Early years, Primary, Secondary or Post-16"),
             C(name="open", type="bool", description="yes/no, true/false or 1/0"),
             C(name="pupils", type="whole", required=False, blank_ok=True, description="number on roll (January census); blank if not known"),
             C(name="sen_support_pct", type="number", required=False, blank_ok=True, description="% of pupils on SEN support, 0–100"),
             C(name="ehc_plan_pct", type="number", required=False, blank_ok=True, description="% of pupils with an EHC plan, 0–100"),
             C(name="idaci_decile", type="whole", required=False, blank_ok=True,
               description="IDACI decile of the setting's area, 1 (most deprived 10%) to 10 (least)"),
         ), example=("118403", "Oak Swale Primary School", "Swale", "Primary", "yes", "312", "14.1", "2.6", "3")),
    Kind(name="setting_outcomes", description="Each setting's results by SEN group (from the authority's pupil-level results)",
         columns=(
             C(name="academic_year", type="academic_year", description="such as 2023/24"),
             C(name="urn", type="urn", description="the setting's URN, as in the settings list"),
             C(name="measure", type="measure", description=", ".join(ref.MEASURE_CODES)),
             C(name="sen_group", type="sen_group", description="ehc_plan, sen_support or no_sen"),
             C(name="cohort", type="whole", description="the setting's pupils in that group who were assessed (0 or more)"),
             C(name="value", type="number", blank_ok=True,
               description="percentage 0–100 or Attainment 8 score 0–90, for those pupils; blank when the cohort is 0"),
         ), example=("2023/24", "118403", "ks2_rwm_expected", "sen_support", "6", "33.3")),
    Kind(name="published", description="Published DfE figures in LAIT's long format (Kent, England, South East, statistical neighbours)",
         columns=(
             C(name="lait_measure_code", type="lait_code", description="a LAIT measure code, such as KS2RWM_Expected_STD"),
             C(name="indicator", type="text", required=False, blank_ok=True, description="LAIT's name for the measure (kept as given)"),
             C(name="sen_group", type="lait_sen_group", description="EHC plan/statement, SEN support, No identified SEN or All pupils"),
             C(name="lait_year_label", type="lait_year", description="LAIT's year: the end year of the academic year (2019 = 2018/19), or '2025 (prov)'"),
             C(name="old_la_code", type="la_code", description="the DfE's three-digit LA code: 886 Kent, 970 England, 989 South East, or a neighbour"),
             C(name="value", type="number", blank_ok=True, signed=True,
               description="the published figure (Progress 8 may be negative); blank, x or c if suppressed (such rows are not loaded)"),
         ), example=("KS2RWM_Expected_STD", "KS2 RWM expected standard %", "All pupils", "2019", "886", "64")),
    Kind(name="budget", description="Budget allocation per service and financial year",
         columns=(
             C(name="financial_year", type="financial_year", description="such as 2023-24"),
             C(name="service", type="service", description="a district's team, Sensory or PD"),
             C(name="allocation_gbp", type="money", description="pounds, such as 512000 or £512,000.00"),
         ), example=("2024-25", "Swale", "£512,000")),
)}


def header_key(text: str) -> str:
    """Header names match ignoring case, spaces, hyphens and underscores."""
    return re.sub(r"[\s_\-]+", "", str(text).strip().lower().replace("\ufeff", ""))


def detect_kind(header: list[str]) -> str | None:
    """The kind whose required columns the header holds (the best match), or None."""
    keys = {header_key(h) for h in header}
    scores = {k: sum(header_key(c) in keys for c in kind.required) / len(kind.required) for k, kind in KINDS.items()}
    best = max(scores, key=scores.__getitem__)
    return best if scores[best] >= 0.6 else None


def _norm(text: str) -> str:
    return ref.normalise_name(text)


def lookups() -> dict[str, dict[str, str]]:
    """Accepted spelling (normalised) → code, per column type that takes a closed list."""
    districts = {k: v for k, v in ref.district_lookup().items() if v in ref.DISTRICT_NAMES}
    services = {**districts, **{_norm(k): v for k, v in ref.SERVICE_ALIASES.items()},
                **{_norm(s.name): s.code for s in ref.SERVICES}, "sensory": "SENSORY", "pd": "PD"}
    types = {}
    for a in ref.ACTIVITY_TYPES:
        for spelling in (a.code, a.code.replace("_", " "), a.label, a.label.rstrip("s")):
            types[_norm(spelling)] = a.code
    types.update({"lift": "lift_meeting", "visit": "school_visit", "iss": "intensive_support",
                  "intensive specialist support": "intensive_support", "consultation": "advice",
                  "drop in": "drop_in", "drop-in": "drop_in", "drop in clinic": "drop_in"})
    return {
        "district": districts,
        "geography": ref.district_lookup(),
        "service": services,
        "activity_type": types,
        "need_area": {**{_norm(c): c for c in ref.NEED_AREAS}, **{_norm(n): c for c, n in ref.NEED_AREAS.items()},
                      "sensory and physical": "SP", "semh": "SEMH"},
        "phase": {**{_norm(c): c for c in ref.PHASES}, **{_norm(n): c for c, n in ref.PHASES.items()},
                  "post 16": "post_16", "post16": "post_16", "ey": "early_years", "eyfs": "early_years"},
        "measure": {**{_norm(m.code): m.code for m in ref.MEASURES}, **{_norm(m.label): m.code for m in ref.MEASURES}},
        "sen_group": {**{_norm(c): c for c in ref.SEN_GROUPS}, **{_norm(n): c for c, n in ref.SEN_GROUPS.items()},
                      "ehcp": "ehc_plan", "ehc": "ehc_plan", "k": "sen_support", "e": "ehc_plan", "none": "no_sen"},
        "primary_need": {**{_norm(c): c for c in ref.PRIMARY_NEEDS},
                         **{_norm(n): c for c, (n, _) in ref.PRIMARY_NEEDS.items()}},
        "lait_code": {_norm(c): c for c in published.INDICATORS},
        "lait_sen_group": {_norm(k): v for k, v in published.SEN_GROUP_OF.items()},
        "la_code": {**{str(o): g for o, g in published.GSS.items()}, **{f"{o}.0": g for o, g in published.GSS.items()}},
        "bool": {"yes": "true", "y": "true", "true": "true", "1": "true", "open": "true",
                 "no": "false", "n": "false", "false": "false", "0": "false", "closed": "false"},
    }


def canonical_names(col_type: str) -> list[str]:
    """Display names offered in 'did you mean' suggestions."""
    return {
        "district": list(ref.DISTRICT_NAMES.values()),
        "geography": list(ref.GEOGRAPHY_NAMES.values()),
        "service": list(ref.DISTRICT_NAMES.values()) + ["Sensory", "PD"],
        "activity_type": [a.label for a in ref.ACTIVITY_TYPES] + list(ref.ACTIVITY_TYPE_CODES),
        "need_area": list(ref.NEED_AREAS.values()) + list(ref.NEED_AREAS),
        "phase": list(ref.PHASES.values()),
        "measure": list(ref.MEASURE_CODES),
        "sen_group": list(ref.SEN_GROUPS),
        "primary_need": list(ref.PRIMARY_NEEDS),
        "lait_code": list(published.INDICATORS),
        "lait_sen_group": list(published.SEN_GROUP_OF),
        "la_code": [str(o) for o in published.GSS],
    }.get(col_type, [])
