"""The exceptions page: Making Data Count's summary icon table for the area, what changed since the
last release in words, and the exception list with a link to each one's view."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from stls.analysis import exceptions, narrative
from stls.filters import Filters


@dataclass
class ExceptionsPage:
    icons: pd.DataFrame     # Indicator, Variation, Assurance, Last three values, Variation type
    since: list[str]        # 'since the last release' lines for the area
    table: pd.DataFrame     # exceptions.COLUMNS for the area


def in_area(found: tuple[exceptions.Alert, ...], f: Filters) -> list[exceptions.Alert]:
    """The exceptions of the filters' area: Kent's view holds every area's; a district or a
    selection, its districts' (and, for a selection, Kent's beside them)."""
    if f.area.is_kent:
        return list(found)
    return [a for a in found if a.area in f.area.members]


class _Scope:
    """The filters' area as a narrative scope (``narrative.since``): Kent's view covers every area;
    ``own``: the area itself only (Kent's own figures, for the opening slide)."""

    def __init__(self, f: Filters, own: bool = False) -> None:
        self.members = {f.area.key} if own and f.area.is_kent else None if f.area.is_kent else set(f.area.members)

    def covers(self, kpi: str, area: str) -> bool:
        return self.members is None or area in self.members


def since_lines(db, f: Filters, before_db=None, before: int | None = None) -> tuple[str, ...]:
    """'Since the last release' for the meeting's opening slide: the area's own figures (Kent's,
    not every district's), as sentences."""
    if before_db is None:
        return ()
    return tuple(line.text for line in narrative.since(before_db, db, before, _Scope(f, own=True)))


def page(db, f: Filters, before_db=None, before: int | None = None) -> ExceptionsPage:
    """What the page shows for ``f``; ``before_db`` (the previous release) for 'since the last release'."""
    found = in_area(exceptions.alerts(db), f)
    lines = [line.text for line in narrative.since(before_db, db, before, _Scope(f))] if before_db is not None else []
    return ExceptionsPage(exceptions.summary_icons(db, f), lines, exceptions.table(found))
