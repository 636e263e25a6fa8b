"""Kent against England, the South East and its statistical neighbours, from published DfE figures.

The neighbour average is LAIT's: the unweighted mean of the neighbours with a figure that year
(so a neighbour with a suppressed value drops out of that year's mean, and the count says so).
Kent's rank is among Kent and its ten neighbours (1 = highest value, which is the better end for
every outcome measure here). Breaks in the series: no KS2, phonics or EYFS assessments in
2019/20 and 2020/21, and KS4 grades teacher-assessed in those years; the EYFS profile was
reformed in 2021/22 (``[[measure]] breaks`` and ``not_comparable`` in kpis.toml).
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from stls import reference as ref
from stls.kpi import catalogue
from stls.memo import memoised
from stls.store import queries


@dataclass(frozen=True)
class LaRank:
    """Kent among English local authorities in one year (LAIT; 1 = highest value)."""
    year: int
    rank: int
    tied: int           # authorities sharing Kent's figure (the rank is the best of them)
    authorities: int
    q1: float
    median: float
    q3: float

    def quartile(self, value: float) -> str:
        """Which quarter of authorities Kent's figure falls in, highest first (a figure on a
        boundary counts in the higher quarter, as a tie shares the better rank)."""
        return ("the highest quarter" if value >= self.q3 else "the second-highest quarter" if value >= self.median
                else "the second-lowest quarter" if value >= self.q1 else "the lowest quarter")


@dataclass
class Comparison:
    measure: str
    sen_group: str
    table: pd.DataFrame            # academic_year × Kent, England, South East, neighbour average, n, each neighbour
    neighbours: list[str]          # neighbour names in rank order (the DfE's closeness)
    latest: int | None             # the latest year with Kent's figure
    rank: int | None               # Kent's rank among itself and the neighbours with a figure that year (1 = highest)
    ranked: int                    # how many were ranked
    breaks: list[str]              # the series' breaks, in words
    among_las: LaRank | None = None   # Kent's rank among English authorities in ``latest``, where published
    provisional: tuple[int, ...] = ()  # years whose figures are provisional (no final figure held yet)


@memoised
def comparison(db, measure: str, sen_group: str) -> Comparison:
    rows = queries.published_values(db, measure, sen_group)
    neighbours = list(dict.fromkeys(rows.loc[rows["kind"] == "statistical_neighbour"].sort_values("neighbour_rank")["name"]))
    wide = rows.pivot_table(index="academic_year", columns="name", values="value", aggfunc="first")
    if len(wide):   # every year in the span, so a year with no assessments is a gap, not a join
        wide = wide.reindex(range(int(wide.index.min()), int(wide.index.max()) + 1))
    sn = wide.reindex(columns=neighbours)
    table = pd.DataFrame(index=wide.index)
    for name in ("Kent", "England", "South East"):
        table[name] = wide.get(name)
    table["Neighbour average"] = sn.mean(axis=1, skipna=True).where(sn.notna().any(axis=1))
    table["Neighbours with a figure"] = sn.notna().sum(axis=1)
    table = table.join(sn)
    kent = table["Kent"].dropna() if "Kent" in table else pd.Series(dtype=float)
    latest = int(kent.index.max()) if len(kent) else None
    rank, ranked = None, 0
    if latest is not None:
        values = pd.concat([pd.Series({"Kent": kent[latest]}), sn.loc[latest].dropna()])
        ranked = len(values)
        rank = int((values > values["Kent"]).sum()) + 1
    provisional = tuple(sorted(int(y) for y in rows.loc[rows["provisional"].astype(bool), "academic_year"].unique()))
    return Comparison(measure, sen_group, table.reset_index(), neighbours, latest, rank, ranked, _breaks(measure),
                      _among_las(db, measure, sen_group, latest, None if latest is None else float(kent[latest])),
                      provisional)


def _among_las(db, measure: str, sen_group: str, latest: int | None, kent: float | None) -> LaRank | None:
    """The shipped rank, only for the year shown and only if it was ranked on the figure shown
    (a refreshed extract with a newer year or a revised figure drops it rather than mislead)."""
    r = queries.published_rank(db, measure, sen_group)
    if r is None or latest is None or kent is None or r["academic_year"] != latest or abs(r["value"] - kent) > 1e-6:
        return None
    return LaRank(int(r["academic_year"]), int(r["rank"]), int(r["tied"]), int(r["authorities"]),
                  float(r["q1"]), float(r["median"]), float(r["q3"]))


@memoised
def outcome_source(db, measure: str) -> str:
    """The source line of every chart of ``measure``'s results: Kent's and England's figures are
    the published DfE ones where the published table holds them (``queries.attainment``), the
    districts' come from the attainment data (synthetic in the demo)."""
    synthetic = db.meta().get("synthetic") == "true"
    span = queries.published_span(db, measure)
    label = ref.academic_year_label
    if span:
        county = f"Kent and England: DfE statistics via LAIT, {label(span[0])} to {label(span[1])} (OGL v3.0)"
    else:
        county = "Kent and England: " + ("synthetic (not in the shipped DfE extract)" if synthetic else "as imported")
    return f"{county}; districts: " + ("synthetic demonstration data" if synthetic else "KCC pupil-level results")


def kpi_source(db, kpi) -> str:
    """A KPI chart's source line: the KPI's own source, and for an outcome KPI where its Kent
    and England figures come from (``outcome_source``)."""
    measure = kpi.compute.measure
    return f"{kpi.source}; {outcome_source(db, measure)}" if measure else kpi.source


def _breaks(measure: str) -> list[str]:
    info = catalogue.measure(measure)
    label = ref.academic_year_label
    out = []
    if measure in ("ks2_rwm_expected", "eyfs_gld", "phonics_y1"):
        out.append("no assessments in 2019/20 and 2020/21 (the pandemic)")
    if info.not_comparable:
        out.append(f"{' and '.join(label(y) for y in info.not_comparable)} results were assessed differently")
    out += [f"a new assessment from {label(y)}" for y in info.breaks]
    if measure == "ks2_rwm_expected":
        out.append("the expected standard began in 2015/16")
    return out
