"""Accuracy of the protected figures (docs/disclosure.md): every count KPI's yearly value for Kent
and each district against the true count, on the demo database. Prints figures; asserts nothing."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import duckdb
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from stls import reference as ref  # noqa: E402
from stls.filters import Filters  # noqa: E402
from stls.kpi import catalogue, metrics  # noqa: E402
from stls.store import db as dbmod  # noqa: E402
from stls.store.demo import build_demo  # noqa: E402


def main() -> None:
    path = Path(tempfile.mkdtemp()) / "stls.duckdb"
    build_demo(path)
    db, con = dbmod.Database(path), duckdb.connect(str(path), read_only=True)
    kent, district = {}, []
    last = con.execute("SELECT max(academic_year) FROM activity_monthly").fetchall()[0][0]
    for kpi in catalogue.catalogue().values():
        types = kpi.compute.counted
        if kpi.compute.kind != "activity_count" or not set(types) & ref.CHILD_LEVEL_TYPES:
            continue
        truth = {(g, y): n for g, y, n in con.execute(
            "SELECT district_code::VARCHAR, academic_year, sum(activities) FROM activity_monthly "
            "WHERE list_contains(?, activity_type::VARCHAR) GROUP BY ALL", [list(types)]).fetchall()}
        for (_g, y), n in list(truth.items()):
            truth[(ref.KENT_CODE, y)] = truth.get((ref.KENT_CODE, y), 0) + n
        for geo, frame in metrics.series_by_geography(db, kpi.id, Filters(ref.FIRST_ACADEMIC_YEAR, last)).items():
            for p, v in zip(frame["period"], frame["value"]):
                err = abs(v - truth[(geo, p.year)]) / truth[(geo, p.year)]
                if p.year == last:   # the year under way: a few months, reported apart
                    district.append((kpi.id + " (year to date)", err)) if geo != ref.KENT_CODE else None
                    continue
                if geo == ref.KENT_CODE:
                    kent.setdefault(kpi.id, []).append(err)
                else:
                    district.append((kpi.id, err))
    for k, errs in kent.items():
        print(f"Kent {k:18s} yearly: largest relative error {100 * max(errs):.3f}%, mean {100 * np.mean(errs):.3f}%")
    by = {}
    for k, e in district:
        by.setdefault(k, []).append(e)
    for k, errs in by.items():
        print(f"District {k:14s} yearly: mean {100 * np.mean(errs):.3f}%, largest {100 * max(errs):.3f}%, "
              f"unchanged {100 * np.mean([e == 0 for e in errs]):.0f}%")
    all_e = [e for k, e in district if "date" not in k]
    print(f"District yearly counts (complete years), all count KPIs: mean {100 * np.mean(all_e):.3f}%, largest {100 * max(all_e):.3f}%, "
          f"unchanged {100 * np.mean([e == 0 for e in all_e]):.0f}% ({len(all_e)} cells)")


if __name__ == "__main__":
    main()
