"""Concepts written once (issue 30), each with a guard against drifting back into copies:
the area a figure is for, the resolved period, the kinds of computation, the academic month,
the dissimilarity index and the census rule for figures per pupil."""
import datetime as dt
import re
from pathlib import Path

import numpy as np
import pytest

from stls import reference as ref
from stls.filters import SELECTION, Area, Filters
from stls.kpi import compare, kinds

ROOT = Path(__file__).resolve().parent.parent
SWALE, ASHFORD = "E07000113", "E07000105"


def _source(*folders: str) -> dict[Path, str]:
    files = [p for folder in folders for p in (ROOT / folder).rglob("*.py")]
    return {p.relative_to(ROOT): p.read_text(encoding="utf-8") for p in files}


def test_an_area_is_kent_a_district_or_a_selection():
    kent, swale, both = Area(), Area((SWALE,)), Area((ASHFORD, SWALE))
    assert (kent.key, kent.label, kent.members, kent.selection) == (ref.KENT_CODE, "Kent", ref.DISTRICT_CODES, ())
    assert (swale.key, swale.label, swale.members, swale.selection) == (SWALE, "Swale", (SWALE,), ())
    assert (both.key, both.label, both.members, both.selection) == (SELECTION, "2 districts", (ASHFORD, SWALE), (ASHFORD, SWALE))
    assert Area.of_key(ref.KENT_CODE) == kent and Area.of_key(SWALE) == swale
    assert Area.of_key(SELECTION, (ASHFORD, SWALE)) == both
    assert Filters(2023, 2024, (SWALE,)).area == swale


def test_no_page_or_module_resolves_the_area_by_hand():
    """'Kent, one district or a selection' is resolved in filters.Area only."""
    by_hand = re.compile(r"len\(\w+\.districts\)|\w+\.districts\[0\]|districts or ref\.DISTRICT_CODES|"
                         r"if \w+\.districts else ref\.KENT_CODE")
    found = [f"{path}: {m.group(0)}" for path, text in _source("stls", "app_pages").items()
             if path.name != "filters.py" for m in by_hand.finditer(text)]
    assert found == []


@pytest.mark.parametrize("as_of, year_to, upto", [
    (None, 2026, 11),                      # not resolved: whole years
    (dt.date(2026, 11, 1), 2026, 2),       # November of 2026/27: September to November
    (dt.date(2026, 9, 1), 2026, 0),
    (dt.date(2027, 8, 1), 2026, 11),       # August: the year is complete
    (dt.date(2026, 11, 1), 2025, 11),      # the last year shown ended before the as-of month
])
def test_the_resolved_period_gives_the_months_of_the_last_year(as_of, year_to, upto):
    assert Filters(2020, year_to, as_of=as_of).upto == upto


def test_the_period_is_resolved_from_the_database_once(demo_db):
    f = compare.resolved(demo_db, Filters(2016, 2026))
    assert f.as_of == dt.date(2026, 10, 1) and f.upto == 1   # the demo's latest month
    assert compare.resolved(demo_db, f) is f
    assert compare.headline(demo_db, "referrals", f).label == "2026/27 (Sep–Oct)"


def test_the_academic_month_is_counted_in_one_place():
    assert [ref.academic_month(dt.date(2025, m, 1)) for m in (9, 12, 1, 8)] == [0, 3, 4, 11]
    copies = [str(p) for p, text in _source("stls", "app_pages").items()
              if re.search(r"\+ ?3\) ?% ?12", text) and p.name not in ("reference.py", "queries.py")]
    assert copies == []   # queries.ACADEMIC_MONTH_SQL is the same rule written in SQL


def test_each_kind_answers_for_itself_and_no_module_asks_by_name():
    """What a kind of computation is (a whole-year result, per pupil, the filters it cannot
    honour) is declared on its class; nothing else compares kind names."""
    assert kinds.Attainment.results and kinds.AttainmentGap.results and not kinds.ActivityRate.results
    assert kinds.ActivityRate.per_pupil and kinds.NeedAlignment.per_pupil and not kinds.ActivityCount.per_pupil
    assert not kinds.SettingsReached.monthly_spc
    asked = [f"{p}: {m.group(0)}" for p, text in _source("stls", "app_pages").items()
             for m in re.finditer(r"compute\.kind\b|getattr\(\w+\.compute", text)]
    assert asked == []


def test_one_dissimilarity_index():
    a = np.array([[50, 30, 20, 0], [0, 0, 0, 0]], dtype=float)
    b = np.array([[25, 25, 25, 25], [1, 1, 1, 1]], dtype=float)
    index = kinds.dissimilarity(a, b)
    assert index[0] == pytest.approx(30.0)   # ½(|50−25| + |30−25| + |20−25| + |0−25|) = ½ × 60
    assert np.isnan(index[1])                # no referrals: no mix to compare
    definitions = [str(p) for p, text in _source("stls").items() if re.search(r"50 \* np\.abs", text)]
    assert definitions == ["stls/kpi/kinds.py"]


def test_activity_per_pupil_uses_the_kpis_census_rule(demo_db):
    """The analysis's activity per 100 pupils is the referral rate KPI's figure, in a year whose
    census is not loaded yet too (2025/26 uses January 2025's, as the scorecard says)."""
    from stls.analysis import association
    o = association.Options(activity_types=("referral",), per_100="sen_support")
    rates = association._intensity(demo_db, o, Filters(2016, 2026)).set_index(["geography_code", "academic_year"])
    for year in (2024, 2025):
        h = compare.headline(demo_db, "referral_rate", Filters(2016, year, (SWALE,)))
        assert h.year == year and not h.suppressed
        assert rates.loc[(SWALE, year), "intensity"] == pytest.approx(h.value, rel=1e-12)
    assert compare.headline(demo_db, "referral_rate", Filters(2016, 2025, (SWALE,))).census_year == 2024


def test_the_command_line_takes_every_kind_of_file_the_importer_does():
    from stls.cli import IMPORT_KINDS
    from stls.store.ingest.schema import KINDS
    assert sorted(IMPORT_KINDS) == sorted(KINDS)


def test_the_need_mix_is_read_in_one_place():
    """Referrals and pupils by area of need (the need alignment KPI and the areas-of-need page)
    come from ``metrics.need_cells`` only."""
    readers = sorted(str(p) for p, text in _source("stls").items() if "by_need_area=True" in text)
    assert readers == ["stls/kpi/metrics.py"]
    assert _source("stls/kpi")[Path("stls/kpi/metrics.py")].count("by_need_area=True") == 1
