"""Reference lists of the data contract (docs/data.md) and the calendar helpers.

Everything here is plain data: the schema module writes it into each new database, the
ingest module matches file values against it, and the UI builds its filter choices from it.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple


class District(NamedTuple):
    code: str
    name: str
    area: str


DISTRICTS: tuple[District, ...] = (
    District("E07000105", "Ashford", "South"),
    District("E07000106", "Canterbury", "East"),
    District("E07000107", "Dartford", "North"),
    District("E07000108", "Dover", "South"),
    District("E07000112", "Folkestone and Hythe", "South"),
    District("E07000109", "Gravesham", "North"),
    District("E07000110", "Maidstone", "West"),
    District("E07000111", "Sevenoaks", "North"),
    District("E07000113", "Swale", "East"),
    District("E07000114", "Thanet", "East"),
    District("E07000115", "Tonbridge and Malling", "West"),
    District("E07000116", "Tunbridge Wells", "West"),
)
DISTRICT_CODES = tuple(d.code for d in DISTRICTS)
DISTRICT_NAMES = {d.code: d.name for d in DISTRICTS}
KENT_CODE = "E10000016"
ENGLAND_CODE = "E92000001"
GEOGRAPHY_NAMES = {**DISTRICT_NAMES, KENT_CODE: "Kent", ENGLAND_CODE: "England"}

# Names seen in real files, after normalise_name(); the canonical names match too.
DISTRICT_ALIASES = {
    "shepway": "E07000112",
    "f and h": "E07000112",
    "folkestone": "E07000112",
    "t and m": "E07000115",
    "tonbridge": "E07000115",
    "kent": KENT_CODE,
    "kent county council": KENT_CODE,
    "england": ENGLAND_CODE,
}


class Service(NamedTuple):
    code: str
    name: str
    district_code: str | None  # None for the countywide teams


SERVICES: tuple[Service, ...] = tuple(
    Service(d.code, f"{d.name} STLS", d.code) for d in DISTRICTS
) + (
    Service("SENSORY", "Sensory Service (hearing, vision, multi-sensory impairment)", None),
    Service("PD", "Physical Disability Service", None),
)
SERVICE_CODES = tuple(s.code for s in SERVICES)
SERVICE_ALIASES = {
    "sensory": "SENSORY", "sensory service": "SENSORY", "pd": "PD",
    "physical disability": "PD", "physical disability service": "PD",
}

NEED_AREAS = {
    "CI": "Communication and interaction",
    "CL": "Cognition and learning",
    "SEMH": "Social, emotional and mental health",
    "SP": "Sensory and/or physical",
}

# DfE primary need (school census) → broad area of need (SEND Code of Practice 2015).
PRIMARY_NEEDS = {
    "ASD": ("Autistic spectrum disorder", "CI"),
    "SLCN": ("Speech, language and communication needs", "CI"),
    "SPLD": ("Specific learning difficulty", "CL"),
    "MLD": ("Moderate learning difficulty", "CL"),
    "SLD": ("Severe learning difficulty", "CL"),
    "PMLD": ("Profound and multiple learning difficulty", "CL"),
    "SEMH": ("Social, emotional and mental health", "SEMH"),
    "HI": ("Hearing impairment", "SP"),
    "VI": ("Visual impairment", "SP"),
    "MSI": ("Multi-sensory impairment", "SP"),
    "PD": ("Physical disability", "SP"),
    "OTH": ("Other difficulty or disability", None),
    "NSA": ("SEN support but no specialist assessment of type of need", None),
}


class ActivityType(NamedTuple):
    """An activity type, with what the tracker records of it (declared once, applied by the data
    layer): ``child_level``, its counts are about children, so they leave the data layer protected
    (stls/store/disclosure.py); ``by_need``, it is recorded by area of need and phase (a LIFT meeting
    is not, so under an area of need or phase filter it is [z], never 0)."""
    code: str
    label: str
    available_from: dt.date | None
    child_level: bool
    by_need: bool = True


ACTIVITY_TYPES: tuple[ActivityType, ...] = (
    ActivityType("referral", "Referrals", None, child_level=True),
    ActivityType("lift_meeting", "LIFT meetings", None, child_level=False, by_need=False),
    ActivityType("school_visit", "School visits", None, child_level=True),
    ActivityType("drop_in", "Drop-in clinics", dt.date(2022, 9, 1), child_level=True),
    ActivityType("intensive_support", "Intensive Specialist Support", dt.date(2022, 9, 1), child_level=True),
    ActivityType("training", "Training sessions", None, child_level=False),
    ActivityType("advice", "Advice and consultations", None, child_level=True),
)
# Counts of these are about children (a referral, a visit or advice on a child or group, a
# drop-in consultation, Intensive Specialist Support): protected wherever they are shown.
CHILD_LEVEL_TYPES = frozenset(a.code for a in ACTIVITY_TYPES if a.child_level)


def child_level(types) -> bool:
    """Counts of these activity types together are about children (any of them is)."""
    return bool(set(types) & CHILD_LEVEL_TYPES)


# Not recorded by area of need or phase: [z] under either filter.
NOT_BY_NEED = frozenset(a.code for a in ACTIVITY_TYPES if not a.by_need)
ACTIVITY_TYPE_CODES = tuple(a.code for a in ACTIVITY_TYPES)


def available_from(types) -> dt.date | None:
    """The first day a figure counting only these activity types can exist (every one of them
    began then or later); None if any type was always recorded. Before it a figure is [z]."""
    starts = [a.available_from for a in ACTIVITY_TYPES if a.code in set(types)]
    return min(starts) if starts and all(starts) else None  # type: ignore[type-var]
ACTIVITY_LABELS = {a.code: a.label for a in ACTIVITY_TYPES}

PHASES = {
    "early_years": "Early years",
    "primary": "Primary",
    "secondary": "Secondary",
    "post_16": "Post-16",
}

SEN_GROUPS = {
    "ehc_plan": "EHC plan",
    "sen_support": "SEN support",
    "no_sen": "No identified SEN",
    "all_sen": "All SEN",
    "all_pupils": "All pupils",
}
PUPILS_IN = {   # the SEN group as the pupils of a sentence
    "ehc_plan": "pupils with an EHC plan", "sen_support": "pupils on SEN support",
    "no_sen": "pupils with no identified SEN", "all_sen": "all pupils with SEN", "all_pupils": "all pupils",
}


class Measure(NamedTuple):
    code: str
    label: str
    unit: str  # "percent" or "score"


MEASURES: tuple[Measure, ...] = (
    Measure("ks2_rwm_expected", "KS2 reading, writing and maths: % at expected standard", "percent"),
    Measure("ks4_attainment8", "KS4 Attainment 8: average score", "score"),
    Measure("ks4_em_grade5", "KS4 English and maths: % grade 5 or above", "percent"),
    Measure("eyfs_gld", "EYFS: % good level of development", "percent"),
    Measure("phonics_y1", "Year 1 phonics: % meeting the standard", "percent"),
)
MEASURE_CODES = tuple(m.code for m in MEASURES)
MEASURE_SHORT = {  # for axis titles
    "ks2_rwm_expected": "KS2 RWM expected (%)", "ks4_attainment8": "Attainment 8",
    "ks4_em_grade5": "KS4 E&M grade 5+ (%)", "eyfs_gld": "EYFS GLD (%)", "phonics_y1": "Phonics Y1 (%)",
}
MEASURE_LABELS = {m.code: m.label for m in MEASURES}


class Regime(NamedTuple):
    start: dt.date
    label: str


# Service regimes, annotated on every time chart.
REGIMES: tuple[Regime, ...] = (
    Regime(dt.date(2016, 9, 1), "District SLAs"),
    Regime(dt.date(2022, 9, 1), "Tiered model"),
    Regime(dt.date(2025, 9, 1), "In-house service"),
)

# The tiered model (September 2022) changed what the tracker records (drop-ins and Intensive
# Specialist Support began; recording practice had differed between district SLAs before), so an
# activity change from before 2022/23 to after it compares different things. A change view
# spans such a break only when the user asks for it, and then says so.
ACTIVITY_BREAKS: tuple[int, ...] = (2022,)

FIRST_ACADEMIC_YEAR = 2016  # 2016/17, the first year of the demo data


# ---- calendar -------------------------------------------------------------------------

def academic_year_start(day: dt.date) -> int:
    """The calendar year in which the academic year containing ``day`` began."""
    return day.year if day.month >= 9 else day.year - 1


def academic_month(day: dt.date) -> int:
    """The month's place in its academic year: September 0 to August 11 (in SQL,
    ``queries.ACADEMIC_MONTH_SQL``)."""
    return (day.month + 3) % 12


def academic_year_label(start: int) -> str:
    """2023 → '2023/24' (the GSS style for academic years)."""
    return f"{start}/{(start + 1) % 100:02d}"


def financial_year_label(start: int) -> str:
    """2023 → '2023-24' (April to March)."""
    return f"{start}-{(start + 1) % 100:02d}"


_YEAR_RE = re.compile(r"^\s*(\d{4})\s*[/\-]\s*(\d{2}|\d{4})\s*$")


def parse_academic_year(text: str) -> int:
    """'2023/24', '2023-24' or '2023/2024' → 2023; raises ValueError otherwise."""
    m = _YEAR_RE.match(str(text))
    if not m:
        raise ValueError(f"'{text}' is not an academic year such as 2023/24")
    start, end = int(m.group(1)), int(m.group(2))
    if end % 100 != (start + 1) % 100:
        raise ValueError(f"'{text}' is not an academic year: the years must follow each other")
    return start


def term_of(day: dt.date) -> str:
    """Autumn (Sep–Dec), Spring (Jan–Mar) or Summer (Apr–Aug)."""
    if day.month >= 9:
        return "Autumn"
    return "Spring" if day.month <= 3 else "Summer"


def last_complete_month(today: dt.date | None = None) -> dt.date:
    """First day of the last calendar month that has fully ended."""
    today = today or dt.date.today()
    first = today.replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


def normalise_name(text: str) -> str:
    """Case, spacing and '&' made uniform, so 'Tonbridge & Malling ' = 'tonbridge and malling'."""
    text = str(text).strip().lower().replace("&", " and ")
    return re.sub(r"[\s_]+", " ", text).strip()


def district_lookup() -> dict[str, str]:
    """Every accepted spelling (normalised) → ONS code, for districts, Kent and England."""
    table = {normalise_name(name): code for code, name in GEOGRAPHY_NAMES.items()}
    table.update({code.lower(): code for code in GEOGRAPHY_NAMES})
    table.update(DISTRICT_ALIASES)
    return table
