"""The kinds of KPI computation (``compute`` in kpis.toml), one class each, carrying all of a kind's
behaviour: what it counts, whether it is a published result (whole academic years, all pupils),
the shared filters it cannot honour and the words said for them, which of its parts count
children, and how its value is finished from parts summed to any area.

Reading the parts from the database is ``metrics``' job (``metrics.PARTS``, one reader per kind);
everything else a page, the scorecard or the pack asks of a kind is asked here.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from stls import reference as ref
from stls.filters import Filters

_ActivityType = Literal[ref.ACTIVITY_TYPE_CODES]  # type: ignore[valid-type]
if TYPE_CHECKING:   # built from the reference lists at run time, which a type checker cannot follow
    _Measure = str
    _Group = str
else:
    _Measure = Literal[ref.MEASURE_CODES]
    _Group = Literal[tuple(ref.SEN_GROUPS)]

AREAS = tuple(ref.NEED_AREAS)
_strict = ConfigDict(extra="forbid", frozen=True)

# the words said where a figure cannot honour a chosen filter (pages, the CSV and the pack)
_RESULTS_NOT_APPLIED = {"need": "all pupils: results are not published by area of need",
                        "phase": "all phases: results are published for the key stage, not cut by phase"}


def ratio(a: pd.Series, b: pd.Series, k: float = 1.0) -> pd.Series:
    """``k × a / b``, NaN where ``b`` is not positive."""
    return k * a / b.where(b > 0)


def dissimilarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Index of dissimilarity (0–100) row by row between two arrays of counts (rows × areas of
    need): half the sum of absolute differences between the two percentage mixes; NaN where
    either row has no counts. The one definition, for the KPI and the areas-of-need page."""
    sa, sb = a.sum(axis=1, keepdims=True), b.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 50 * np.abs(a / sa - b / sb).sum(axis=1)
    return np.where((sa[:, 0] > 0) & (sb[:, 0] > 0), out, np.nan)


class Kind(BaseModel):
    """What every kind answers; each class below overrides what differs."""
    model_config = _strict
    results: ClassVar[bool] = False       # a published outcome result: whole academic years only
    per_pupil: ClassVar[bool] = False     # divides by (or compares with) pupils from the school census
    monthly_spc: ClassVar[bool] = True    # judged month by month where the KPI has months
    index: ClassVar[bool] = False         # worked out from protected counts, so never itself hidden
    not_applied: ClassVar[dict[str, str]] = {}   # shared filter → the words said where it is not applied

    @property
    def from_tracker(self) -> bool:
        """Counted from the activity tracker (so a month with no return leaves activity out)."""
        return not self.results

    @property
    def measure(self) -> str | None:
        """The outcome measure a result kind reads (None for tracker kinds)."""
        return None

    @property
    def counted(self) -> tuple[str, ...]:
        """The activity types it counts (none for results and settings reached)."""
        return ()

    def child_level_components(self) -> tuple[str, ...]:
        """The parts that count children (disclosure control applies to them)."""
        return ()

    def finish(self, parts: pd.DataFrame) -> pd.Series:
        """The value from parts summed and protected (NaN where a denominator is zero or a count
        it needs is [c])."""
        raise NotImplementedError(type(self).__name__)

    @classmethod
    def unhonoured(cls, f: Filters) -> tuple[str, ...]:
        """The words for each chosen filter this kind cannot honour."""
        return tuple(words for name, words in cls.not_applied.items() if getattr(f, name))

    @classmethod
    def honoured(cls, f: Filters) -> Filters:
        """``f`` with the filters this kind cannot honour reset."""
        return f.with_(**{name: None for name in cls.not_applied}) if cls.not_applied else f

    def months(self, upto: int) -> int:
        """The academic months (Sep = 0) a year's value covers when the view is cut to ``upto``."""
        return 11 if self.results else upto

    def is_part_year(self, upto: int) -> bool:
        """A figure for September to ``upto`` only (results are for whole years)."""
        return self.months(upto) < 11


class _Counting(Kind):
    """A kind that counts tracker activity of declared types."""
    activity_types: tuple[_ActivityType, ...] = Field(min_length=1)

    @property
    def counted(self) -> tuple[str, ...]:
        return tuple(self.activity_types)

    def child_level_components(self) -> tuple[str, ...]:
        return ("n",) if ref.child_level(self.activity_types) else ()


class ActivityCount(_Counting):
    kind: Literal["activity_count"]

    def finish(self, parts: pd.DataFrame) -> pd.Series:
        return parts["n"].astype(float)


class ActivityRate(_Counting):
    kind: Literal["activity_rate"]
    per_100: Literal["sen_support", "ehc_plan", "all_sen"]
    per_pupil: ClassVar[bool] = True

    def child_level_components(self) -> tuple[str, ...]:
        return (*super().child_level_components(), "pupils")

    def finish(self, parts: pd.DataFrame) -> pd.Series:
        return ratio(parts["n"], parts["pupils"], 100)


class CostPerActivity(_Counting):
    kind: Literal["cost_per_activity"]

    def finish(self, parts: pd.DataFrame) -> pd.Series:
        return ratio(parts["gbp"], parts["n"])


class NeedAlignment(_Counting):
    kind: Literal["need_alignment"]
    activity_types: tuple[_ActivityType, ...] = ("referral",)
    per_pupil: ClassVar[bool] = True
    index: ClassVar[bool] = True
    not_applied: ClassVar[dict[str, str]] = {"need": "all areas of need: the indicator compares the four areas"}

    def child_level_components(self) -> tuple[str, ...]:   # referrals and pupils by area
        return tuple(f"{part}_{a}" for part in ("ref", "pup") for a in AREAS)

    def finish(self, parts: pd.DataFrame) -> pd.Series:
        """From protected counts, a [c] area counting as none (the index is a function of what is shown)."""
        refs = np.nan_to_num(parts[[f"ref_{a}" for a in AREAS]].to_numpy(float))
        pups = np.nan_to_num(parts[[f"pup_{a}" for a in AREAS]].to_numpy(float))
        return pd.Series(dissimilarity(refs, pups), index=parts.index)


class SettingsReached(Kind):
    kind: Literal["settings_reached"]
    monthly_spc: ClassVar[bool] = False   # a month's share of settings reached is not a process to chart

    def finish(self, parts: pd.DataFrame) -> pd.Series:
        return ratio(parts["reached"], parts["settings"], 100)


class _Result(Kind):
    """A published outcome result: a measure for an SEN group, for whole academic years."""
    measure_code: _Measure = Field(alias="measure")
    sen_group: _Group
    results: ClassVar[bool] = True
    not_applied: ClassVar[dict[str, str]] = _RESULTS_NOT_APPLIED
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def measure(self) -> str:
        return self.measure_code

    def child_level_components(self) -> tuple[str, ...]:
        return ("cohort_a", "cohort_b")


class Attainment(_Result):
    kind: Literal["attainment"]

    def finish(self, parts: pd.DataFrame) -> pd.Series:
        return ratio(parts["met_a"], parts["cohort_a"])


class AttainmentGap(_Result):
    kind: Literal["attainment_gap"]
    reference_group: _Group = "no_sen"

    def finish(self, parts: pd.DataFrame) -> pd.Series:
        return ratio(parts["met_b"], parts["cohort_b"]) - ratio(parts["met_a"], parts["cohort_a"])


Compute = Annotated[ActivityCount | ActivityRate | SettingsReached | Attainment | AttainmentGap | CostPerActivity | NeedAlignment,
                    Field(discriminator="kind")]
