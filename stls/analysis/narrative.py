"""'Since the last meeting', in words you can trace: a short line per KPI and area between two
releases, built from a declared rule table (``RULES``), each clause stating the figures it rests on
and never more than the statistics allow. No language model: the same figures give the same words.

A line is written for a KPI in an area when its figure changed between the releases or it has an
exception in the later one (``exceptions.alerts``). Its clauses, in order:

- value:       the figure and its period in the later release ('546 in 2026/27 (Sep–Dec)');
- change:      the earlier release's figure, as arithmetic only ('537 (2026/27 (Sep–Nov)) in
               release 1'); 'improving' or 'worsening' is never said from one change;
- signal:      an exception's own words (a special cause and its rule, red, failing assurance,
               worse than Kent and getting worse), the only place a direction is claimed;
- benchmark:   Kent's figure for the same period, beside a district's;
- caveat:      months not returned, an earlier census, a provisional part year's RAG basis;
- suppression: a [c] figure is said to be withheld, with no number.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from stls import reference as ref
from stls.analysis import exceptions
from stls.filters import default_filters
from stls.kpi import catalogue, compare
from stls.store import queries

if TYPE_CHECKING:
    from stls.store.db import Database


class Scope(Protocol):
    """Whose lines: a subscription, or a page's area (anything that says which KPI and area it covers)."""
    def covers(self, kpi: str, area: str) -> bool: ...

RULES = (
    ("value", "the figure and its period in the later release"),
    ("change", "the earlier release's figure and period, as arithmetic"),
    ("signal", "each exception of the later release, in its own words"),
    ("benchmark", "Kent's figure for the same period, beside a district's"),
    ("caveat", "months not returned, an earlier census, a provisional RAG basis"),
    ("suppression", "a figure withheld to protect small numbers, with no number"),
)
WITHHELD = "withheld to protect small numbers ([c])"


@dataclass(frozen=True)
class Line:
    kpi: str
    area: str
    clauses: tuple[tuple[str, str], ...]   # (rule, words), in RULES order

    @property
    def text(self) -> str:
        name = catalogue.get(self.kpi).label
        body = "; ".join(words for _, words in self.clauses)
        return f"{name}, {ref.GEOGRAPHY_NAMES[self.area]}: {body}."


def _figure(h: compare.Headline) -> str:
    return WITHHELD if h.suppressed else f"{h.display} in {h.label}"


def _clauses(area: str, now: compare.Headline, was: compare.Headline | None, kent: compare.Headline,
             alerts: list[exceptions.Alert], before: int | None) -> tuple[tuple[str, str], ...]:
    out = [("suppression" if now.suppressed else "value", _figure(now))]
    if was is not None and (was.display, was.label) != (now.display, now.label):
        out.append(("change", f"release {before} had {WITHHELD if was.suppressed else was.display + ' for ' + was.label}"))
    out += [("signal", _lower(a.reason) if a.rule == "special_cause" else f"{exceptions.RULES[a.rule].lower()}: {a.reason}")
            for a in alerts]
    if area != ref.KENT_CODE and not now.suppressed and not kent.suppressed and kent.label == now.label:
        out.append(("benchmark", f"Kent {kent.display}"))
    caveats = [c for c in (now.returns_note, now.census_note, now.rag_basis) if c]
    out += [("caveat", _lower(c)) for c in caveats]
    return tuple(out)


def _lower(words: str) -> str:
    return words[:1].lower() + words[1:]


def since(before_db: Database | None, after_db: Database, before: int | None = None,
          scope: Scope | None = None) -> list[Line]:
    """The lines between two releases (``before_db`` None: everything in ``after_db`` is new);
    ``scope``: a ``Subscription`` (or anything with ``covers(kpi, area)``) to keep its lines only."""
    found = exceptions.alerts(after_db)
    f_now = default_filters(queries.data_extent(after_db))
    f_was = default_filters(queries.data_extent(before_db)) if before_db is not None else None
    lines = []
    for kpi in catalogue.catalogue().values():
        heads = compare.headlines_by_geography(after_db, kpi.id, f_now)
        old = compare.headlines_by_geography(before_db, kpi.id, f_was) if before_db is not None and f_was else None
        for area in (ref.KENT_CODE, *ref.DISTRICT_CODES):
            if scope is not None and not scope.covers(kpi.id, area):
                continue
            now, was = heads[area], (old[area] if old is not None else None)
            mine = [a for a in found if a.kpi == kpi.id and a.area == area]
            if now.not_applicable or now.year is None:
                continue
            if not mine and was is not None and was.display == now.display:
                continue
            lines.append(Line(kpi.id, area, _clauses(area, now, was, heads[ref.KENT_CODE], mine, before)))
    return lines
