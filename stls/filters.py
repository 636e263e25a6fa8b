"""The shared filters: academic year range, districts, area of need, phase.

One object yields the URL query parameters, the bound SQL conditions and the English caption,
so the three can never disagree. Values from a URL are untrusted: anything unknown is dropped
with a message saying what was ignored and why.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from stls import reference as ref

SELECTION = "selection"   # the key of two or more chosen districts taken together


@dataclass(frozen=True)
class Area:
    """Kent, one district or a selection of districts: what a figure is for, resolved once.

    ``key`` names it where results are held by geography (Kent's code, the district's code, or
    ``SELECTION``); ``members`` are the districts whose records it counts; ``label`` is its name."""
    districts: tuple[str, ...] = ()   # as chosen: empty = all of Kent

    @classmethod
    def of_key(cls, key: str, selection: tuple[str, ...] = ()) -> Area:
        """The area a result held under ``key`` is for (``selection``: the districts of SELECTION)."""
        if key == ref.KENT_CODE:
            return cls()
        return cls(tuple(selection)) if key == SELECTION else cls((key,))

    @property
    def is_kent(self) -> bool:
        return not self.districts

    @property
    def is_selection(self) -> bool:
        return len(self.districts) > 1

    @property
    def key(self) -> str:
        if self.is_kent:
            return ref.KENT_CODE
        return SELECTION if self.is_selection else self.districts[0]

    @property
    def members(self) -> tuple[str, ...]:
        return self.districts or ref.DISTRICT_CODES

    @property
    def selection(self) -> tuple[str, ...]:
        """The districts taken together when two or more are chosen, else none."""
        return self.districts if self.is_selection else ()

    @property
    def label(self) -> str:
        if self.is_kent:
            return "Kent"
        return f"{len(self.districts)} districts" if self.is_selection else ref.DISTRICT_NAMES[self.districts[0]]


@dataclass(frozen=True)
class Filters:
    year_from: int
    year_to: int
    districts: tuple[str, ...] = ()   # empty = all of Kent
    need: str | None = None           # a NEED_AREAS code
    phase: str | None = None          # a PHASES code
    as_of: dt.date | None = None      # the latest month the data holds (``compare.resolved``); None: not resolved

    @property
    def upto(self) -> int:
        """The academic month (Sep = 0) the last year shown runs to: the as-of month where it falls
        in that year (a year still under way: every year is cut to the same months), else 11."""
        if self.as_of is None or ref.academic_year_start(self.as_of) != self.year_to:
            return 11
        return ref.academic_month(self.as_of)

    @property
    def years(self) -> range:
        return range(self.year_from, self.year_to + 1)

    @property
    def dates(self) -> tuple[dt.date, dt.date]:
        """First day of the first academic year, and the day after the last one ends."""
        return dt.date(self.year_from, 9, 1), dt.date(self.year_to + 1, 9, 1)

    def with_(self, **changes) -> Filters:
        return replace(self, **changes)

    @property
    def area(self) -> Area:
        return Area(self.districts)

    def caption(self) -> str:
        """'Kent · 2018/19 to 2024/25 · all areas of need · all phases'."""
        years = ref.academic_year_label(self.year_from)
        if self.year_to != self.year_from:
            years += f" to {ref.academic_year_label(self.year_to)}"
        where = ", ".join(ref.DISTRICT_NAMES[d] for d in self.districts) or "Kent"
        need = ref.NEED_AREAS[self.need] if self.need else "all areas of need"
        phase = ref.PHASES[self.phase] if self.phase else "all phases"
        return f"{where} · {years} · {need} · {phase}"

    def to_query_params(self) -> dict[str, str]:
        params = {"from": ref.academic_year_label(self.year_from),
                  "to": ref.academic_year_label(self.year_to)}
        if self.districts:
            params["district"] = ",".join(self.districts)
        if self.need:
            params["need"] = self.need
        if self.phase:
            params["phase"] = self.phase
        return params

    def where(self, need: bool = True, phase: bool = True) -> tuple[list[str], dict]:
        """The SQL conditions (bound parameters) of the years, area of need and phase, for the
        tables with academic_year, need_area and phase columns: the conditions every query
        runs (``queries._common``). ``need``/``phase`` false: that filter is split by instead.
        Districts are matched per query (an activity's district, or a result's geography)."""
        parts = ["academic_year BETWEEN $year_from AND $year_to"]
        params: dict = {"year_from": self.year_from, "year_to": self.year_to}
        if need and self.need:
            parts.append("need_area = $need")
            params["need"] = self.need
        if phase and self.phase:
            parts.append("phase = $phase")
            params["phase"] = self.phase
        return parts, params


@dataclass
class ParsedFilters:
    filters: Filters
    problems: list[str] = field(default_factory=list)


def default_filters(extent: dict) -> Filters:
    """A first visit's view of the data ``extent`` describes (``queries.data_extent``): every year
    held, to the one holding the latest month loaded (a year still running is compared on the
    same months of the years before), resolved to that month."""
    return Filters(extent["first_year"], extent["last_year"], as_of=extent.get("last_month"))


def _one(params, key: str) -> str | None:
    value = params.get(key)
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else None
    return None if value is None else str(value)[:200]


def _year(params, key: str, default: int, lo: int, hi: int, problems: list[str]) -> int:
    text = _one(params, key)
    if text is None:
        return default
    try:
        year = ref.parse_academic_year(text)
    except ValueError as exc:
        problems.append(f"Ignored '{key}' in the link: {exc}.")
        return default
    if not lo <= year <= hi:
        problems.append(f"Ignored '{key}={text}' in the link: data covers "
                        f"{ref.academic_year_label(lo)} to {ref.academic_year_label(hi)}.")
        return default
    return year


def _districts(params, problems: list[str]) -> tuple[str, ...]:
    text = _one(params, "district")
    if not text:
        return ()
    lookup, found = ref.district_lookup(), []
    for item in text.split(","):
        code = lookup.get(ref.normalise_name(item)) or lookup.get(item.strip().lower())
        if code in ref.DISTRICT_NAMES:
            if code not in found:
                found.append(code)
        elif item.strip():
            problems.append(f"Ignored district '{item.strip()[:40]}' in the link: it is not one of "
                            "Kent's 12 districts.")
    return tuple(sorted(found, key=ref.DISTRICT_CODES.index))


def _choice(params, key: str, allowed: dict, problems: list[str]) -> str | None:
    text = _one(params, key)
    if not text or text.lower() == "all":
        return None
    by_lower = {c.lower(): c for c in allowed}
    code = by_lower.get(text.strip().lower())
    if code is None:
        problems.append(f"Ignored '{key}={text[:40]}' in the link: expected one of {', '.join(allowed)}.")
    return code


def from_query_params(params, first_year: int, last_year: int) -> ParsedFilters:
    """Filters from URL parameters (a mapping of str → str or list), within the data's years."""
    problems: list[str] = []
    year_from = _year(params, "from", first_year, first_year, last_year, problems)
    year_to = _year(params, "to", last_year, first_year, last_year, problems)
    if year_from > year_to:
        problems.append("Ignored the year range in the link: 'from' is after 'to'.")
        year_from, year_to = first_year, last_year
    return ParsedFilters(
        Filters(year_from, year_to, _districts(params, problems),
                _choice(params, "need", ref.NEED_AREAS, problems),
                _choice(params, "phase", ref.PHASES, problems)),
        problems)
