"""The evaluation run once per data version: every estimate the page shows (``bundles``), fitted in a worker
process that exits when done, each estimate on its own so one failure takes nothing else down."""
from __future__ import annotations

import json
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from stls import reference as ref
from stls.analysis.evaluation.model import MEASURES, Effect, Estimate, Spec, dose_response, estimate, plain_failure
from stls.memo import memoised

USUAL_SECONDS = 25                 # how long the whole evaluation takes on the demo (2 cores), for progress

LOG = logging.getLogger(__name__)


SENSITIVITY = ("main", "not_yet", "no_pandemic", "other_outcome", "placebo")


@dataclass
class Bundle:
    measure: str
    main: Estimate
    checks: dict[str, Estimate]
    districts: dict[str, Estimate]
    dose: Effect | None
    dose_settings: int
    truth: dict | None          # the demo's planted answer (meta ``impact_truth``), None on real data


def _other(measure: str) -> str:
    return next(m for m in MEASURES if m != measure)


def bundle(db, measure: str) -> Bundle:
    """The main estimate, its sensitivity checks, each district's, and the dose-response slope, for
    one outcome (``bundles``: once per data version)."""
    return bundles(db)[measure]


@memoised
def bundles(db) -> dict[str, Bundle]:
    """Every outcome's bundle, fitted in a short-lived worker process when ``db`` is a database
    file: the model fitting imports much of the scientific stack (pyfixest's formulaic, matplotlib,
    great_tables: about 200 MiB the server would keep for good), and the server's other sessions
    keep the interpreter while it runs. A file swapped in meanwhile is fitted here instead."""
    path = getattr(db, "path", None)
    if path is None or os.environ.get("STLS_IMPACT_IN_PROCESS") == "1":
        return _fit_all(db)
    context = multiprocessing.get_context("spawn")   # never fork a server that runs threads
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        version, result = pool.submit(_worker, str(path)).result()
    return result if version == db.version else _fit_all(db)


def _worker(path: str) -> tuple[str, dict[str, Bundle]]:
    from stls.store import db as dbmod
    handle = dbmod.Database(path)
    try:
        return handle.version, _fit_all(handle)
    finally:
        handle.close()


def _fit_all(db) -> dict[str, Bundle]:
    return {measure: _fit(db, measure) for measure in MEASURES}


def _safe(db, spec: Spec) -> Estimate:
    """``estimate``, or an estimate saying why there is none: each is fitted on its own."""
    try:
        return estimate(db, spec)
    except Exception as exc:  # noqa: BLE001 - one estimate that fails takes no other down
        LOG.warning("impact: %s could not be estimated", spec, exc_info=exc)
        return Estimate(spec, reason=plain_failure(exc))


def _fit(db, measure: str) -> Bundle:
    main = _safe(db, Spec(measure))
    checks = {
        "main": main,
        "not_yet": _safe(db, Spec(measure, control="not_yet")),
        "no_pandemic": _safe(db, Spec(measure, drop_pandemic=True)),
        "other_outcome": _safe(db, Spec(_other(measure))),
        "placebo": _safe(db, Spec(measure, sen_group="no_sen")),
    }
    districts = {code: _safe(db, Spec(measure, district=code)) for code in ref.DISTRICT_CODES}
    try:
        dose, n = dose_response(db, measure)
    except Exception as exc:  # noqa: BLE001 - the secondary analysis failing leaves the rest
        LOG.warning("impact: the dose-response for %s could not be fitted", measure, exc_info=exc)
        dose, n = None, 0
    raw = db.meta().get("impact_truth")
    return Bundle(measure, main, checks, districts, dose, n, json.loads(raw) if raw else None)
