"""The KPI catalogue: ``kpis.toml`` parsed into pydantic models, validated once at start-up.

A page, a chart, a test and the SQL refer to a KPI by its id only. A bad declaration fails
with a message that names the KPI and the field.
"""
from __future__ import annotations

import datetime as dt
import functools
import tomllib
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from stls import reference as ref
from stls.kpi.kinds import Compute

CATALOGUE_PATH = Path(__file__).with_name("kpis.toml")


class Theme(str, Enum):
    access = "Access and reach"
    timeliness = "Timeliness and capacity"
    quality = "Quality of provision"
    outcomes = "Outcomes for children and young people"
    value = "Value for money"
    equity = "Equity across need and place"


class Polarity(str, Enum):
    higher = "higher_is_better"
    lower = "lower_is_better"  # type: ignore[assignment]  # a member named like str.lower
    demand = "demand"


class Grain(str, Enum):
    month = "month"
    term = "term"
    academic_year = "academic_year"
    rolling_12 = "rolling_12"


class Unit(str, Enum):
    count = "count"  # type: ignore[assignment]  # a member named like str.count
    percent = "percent"
    per_100 = "per_100"
    gbp = "gbp"
    score = "score"
    points = "points"    # percentage-point gap
    index = "index"  # type: ignore[assignment]  # 0–100 dissimilarity (named like str.index)


if TYPE_CHECKING:   # built from the reference lists at run time, which a type checker cannot follow
    _Measure = str
else:
    _Measure = Literal[ref.MEASURE_CODES]

_strict = ConfigDict(extra="forbid", frozen=True)


class Kpi(BaseModel):
    model_config = _strict
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=3)
    short_label: str | None = Field(default=None, max_length=24)  # for cards; label otherwise
    theme: Theme
    description: str = Field(min_length=40)
    unit: Unit
    decimals: int = Field(ge=0, le=2)
    polarity: Polarity
    period_basis: Literal["academic_year", "year_to_date", "rolling_12_months"]
    grains: tuple[Grain, ...] = Field(min_length=1)
    source: str = Field(min_length=3)
    caveats: str = ""
    target: float | None = None
    floor: float | None = None
    # "england": the target and floor are points above (+) or below (−) England's published
    # figure for the same year (compare.rag), e.g. target 0 = "at or above England"
    target_against: Literal["england"] | None = None
    targets_illustrative: bool = True
    # how a part year (Sep to the latest month) is judged against the target: "scaled_target"
    # (the target scaled by earlier years' profile, for a seasonal KPI) or "full_year_target"
    # (the full-year target as it stands, said so beside the RAG)
    part_year: Literal["scaled_target", "full_year_target"] = "full_year_target"
    compute: Compute

    @model_validator(mode="after")
    def _targets_fit_polarity(self) -> Kpi:
        if self.polarity is Polarity.demand and (self.target is not None or self.floor is not None):
            raise ValueError("a demand indicator has no target or floor (no good direction)")
        if (self.target is None) != (self.floor is None):
            raise ValueError("give both target and floor, or neither")
        if self.target is not None and self.floor is not None:
            ok = self.floor <= self.target if self.polarity is Polarity.higher else self.floor >= self.target
            if not ok:
                raise ValueError(f"floor {self.floor} is on the wrong side of target {self.target} "
                                 f"for a {self.polarity.value.replace('_', ' ')} indicator")
        if self.target_against and (self.target is None or not self.compute.results):
            raise ValueError("a target against England needs a target and floor, on a published outcome KPI")
        return self

    @property
    def fixed_target(self) -> float | None:
        """The target as one figure for every year (None when it moves with England's)."""
        return None if self.target_against else self.target

    def target_text(self, which: str = "target") -> str:
        """The target (or floor) as a reader sees it: a figure, or relative to England."""
        if not self.has_rag:
            return "[z]"
        value = self.target if which == "target" else self.floor
        assert value is not None
        if not self.target_against:
            return self.fmt(value)
        if value == 0:
            return f"at or {'above' if self.polarity is Polarity.higher else 'below'} England"
        unit = " points" if self.unit is Unit.score else " pts"
        return f"England {'+' if value > 0 else '−'} {abs(value):.{self.decimals}f}{unit}"

    @property
    def has_rag(self) -> bool:
        return self.target is not None

    @property
    def available_from(self) -> dt.date | None:
        """The first day this KPI can have a value (activity types that began later), or None."""
        types = self.compute.counted
        return ref.available_from(types) if types else None

    def exists_in(self, year: int) -> bool:
        """Whether academic year ``year`` can have a value (else the figure is [z])."""
        start = self.available_from
        return start is None or year >= ref.academic_year_start(start)

    def fmt(self, value: float | None) -> str:
        """A value as the dashboard shows it ('1,234', '72.9%', '£578'); '[x]' when missing."""
        if value is None or value != value:
            return "[x]"
        number = f"{value:,.{self.decimals}f}"
        return {"percent": f"{number}%", "gbp": f"£{number}", "points": f"{number} pts"}.get(
            self.unit.value, number)

    def fmt_change(self, change: float | None, previous: float | None) -> str | None:
        """'+5.3%' for counts and money (relative), '+1.2 pts' for percentages, else absolute."""
        if change is None or change != change:
            return None
        if self.unit in (Unit.count, Unit.gbp) and previous:
            return f"{100 * change / previous:+.1f}%"
        if self.unit in (Unit.percent, Unit.points):
            return f"{change:+.1f} pts"
        return f"{change:+,.{self.decimals}f}"


class MeasureInfo(BaseModel):
    """What statistics about an outcome measure need beyond its values (``[[measure]]`` in kpis.toml)."""
    model_config = _strict
    code: _Measure
    pupil_sd: float | None = Field(default=None, gt=0)
    pupil_sd_source: str = ""
    not_comparable: tuple[int, ...] = ()
    breaks: tuple[int, ...] = ()

    @model_validator(mode="after")
    def _sd_for_scores(self) -> MeasureInfo:
        unit = {m.code: m.unit for m in ref.MEASURES}[self.code]
        if unit == "score" and self.pupil_sd is None:
            raise ValueError("a mean score needs pupil_sd (the spread of pupils' scores) for its limits")
        if unit != "score" and self.pupil_sd is not None:
            raise ValueError("pupil_sd is for mean scores; a percentage's spread follows from the percentage")
        if self.pupil_sd is not None and len(self.pupil_sd_source) < 10:
            raise ValueError("say where pupil_sd comes from (pupil_sd_source)")
        return self

    def se(self, value: float, cohort: float) -> float:
        """Standard error of a cohort's result: sqrt(p(100 − p)/n) points for a percentage, SD/sqrt(n) for a score."""
        # ``**`` with a float exponent is typed Any (a negative base gives a complex); here the base is
        # never negative: a cohort is positive and a percentage lies in [0, 100]
        if self.pupil_sd is not None:
            return cast(float, self.pupil_sd / cohort ** 0.5)
        return cast(float, (value * (100 - value) / cohort) ** 0.5)


class CatalogueError(ValueError):
    """A KPI declaration that does not validate; the message names KPI and field."""


_Model = TypeVar("_Model", bound=BaseModel)


def _parse_tables(raw: dict[str, Any], source: str, table: str, model: type[_Model], key: str, what: str) -> dict[str, _Model]:
    """Each ``[[table]]`` validated as ``model``, by its ``key``; a bad or repeated one names its
    position or key and the field."""
    out: dict[str, _Model] = {}
    for position, item in enumerate(raw.get(table, []), start=1):
        name = item.get(key, f"#{position}")
        try:
            parsed = model.model_validate(item)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"] if not str(p).startswith("function-")) or f"(whole {what})"
            raise CatalogueError(f"{source}: {what} '{name}', field '{field}': {first['msg']}") from None
        if getattr(parsed, key) in out:
            raise CatalogueError(f"{source}: {what} '{getattr(parsed, key)}', field '{key}': declared twice")
        out[getattr(parsed, key)] = parsed
    return out


def _toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{source}: not valid TOML: {exc}") from None


def parse_catalogue(text: str, source: str = "kpis.toml") -> dict[str, Kpi]:
    """Parse TOML text with one ``[[kpi]]`` table per indicator."""
    kpis = _parse_tables(_toml(text, source), source, "kpi", Kpi, "id", "KPI")
    if not kpis:
        raise CatalogueError(f"{source}: no [[kpi]] tables found")
    return kpis


def parse_measures(text: str, source: str = "kpis.toml") -> dict[str, MeasureInfo]:
    """The ``[[measure]]`` tables: one per outcome measure, every measure declared."""
    measures = _parse_tables(_toml(text, source), source, "measure", MeasureInfo, "code", "measure")
    missing = [m for m in ref.MEASURE_CODES if m not in measures]
    if missing:
        raise CatalogueError(f"{source}: no [[measure]] table for {', '.join(missing)}")
    return measures


class CensusRule(BaseModel):
    """``[census]`` in kpis.toml: which January census a figure per pupil uses."""
    model_config = _strict
    rule: Literal["same_year_else_latest_earlier"]
    statement: str = Field(min_length=20)


@functools.cache
def census_rule() -> CensusRule:
    raw = tomllib.loads(CATALOGUE_PATH.read_text(encoding="utf-8")).get("census")
    try:
        return CensusRule.model_validate(raw)
    except ValidationError as exc:
        raise CatalogueError(f"{CATALOGUE_PATH.name}: [census]: {exc.errors()[0]['msg']}") from None


@functools.cache
def measures() -> dict[str, MeasureInfo]:
    """The declared outcome measures."""
    return parse_measures(CATALOGUE_PATH.read_text(encoding="utf-8"), CATALOGUE_PATH.name)


def measure(code: str) -> MeasureInfo:
    return measures()[code]


@functools.cache
def catalogue() -> dict[str, Kpi]:
    """The declared KPIs, in declaration order."""
    return parse_catalogue(CATALOGUE_PATH.read_text(encoding="utf-8"), CATALOGUE_PATH.name)


def get(kpi_id: str) -> Kpi:
    try:
        return catalogue()[kpi_id]
    except KeyError:
        raise KeyError(f"unknown KPI '{kpi_id}'; known: {', '.join(catalogue())}") from None
