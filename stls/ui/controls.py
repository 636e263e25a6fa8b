"""Page option widgets whose values live in the URL, and drill-through to the district profile."""
from __future__ import annotations

import streamlit as st

from stls import reference as ref
from stls.analysis import association
from stls.filters import Filters
from stls.ui import state

PROFILE_PAGE = "app_pages/district.py"


def _select(label: str, param: str, options: list[str], default: str, fmt) -> str:
    key, init = state.page_choice(param, options, default)
    if init not in options:   # the filters changed the options (e.g. a narrower range of years)
        init = default
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]   # the widget starts again from ``init``
    value = st.selectbox(label, options, index=options.index(init), key=key, format_func=fmt)
    state.remember(param, value)
    return value


def outcome_pickers() -> tuple[str, str]:
    """Measure and SEN group selectors side by side; returns (measure, group)."""
    left, right = st.columns(2)
    with left:
        measure = _select("Outcome measure", "measure", list(ref.MEASURE_CODES), "ks2_rwm_expected", ref.MEASURE_LABELS.get)
    with right:
        group = _select("SEN group", "group", ["sen_support", "ehc_plan", "all_sen"], "sen_support", ref.SEN_GROUPS.get)
    return measure, group


def association_controls(f: Filters) -> association.Options:
    """Every option of the activity- (or spending-) versus-outcome analysis, held in the URL."""
    x = _select("Compare outcomes with", "x", list(association.XS), "activity", association.XS.get)
    types_key, types_init = state.page_choice("types", list(ref.ACTIVITY_TYPE_CODES),
                                              list(association.Options().activity_types), multi=True)
    if x == "activity":
        types = st.multiselect("Activity counted", list(ref.ACTIVITY_TYPE_CODES), default=types_init, key=types_key,
                               format_func=lambda t: ref.ACTIVITY_LABELS[t])
    else:   # spending: the team's whole budget, whatever it was spent on
        types = list(st.session_state.get(types_key, types_init))
    state.remember("types", types)
    c1, c2, c3 = st.columns(3)
    with c1:
        per = _select("Per pupil with" if x == "spend" else "Per 100 pupils with", "per", ["sen_support", "ehc_plan"],
                      "sen_support", ref.SEN_GROUPS.get)
        view = _select("View", "view", list(association.VIEWS), "same_year", lambda v: association.VIEWS[v].capitalize())
    with c2:
        measure = _select("Outcome measure", "measure", list(ref.MEASURE_CODES), "ks2_rwm_expected", ref.MEASURE_LABELS.get)
        outcome = _select("Outcome as", "outcome", list(association.OUTCOMES), "vs_england", association.OUTCOMES.get)
    with c3:
        group = _select("SEN group", "group", ["sen_support", "ehc_plan", "all_sen"], "sen_support", ref.SEN_GROUPS.get)
        years = [str(y) for y in f.years]
        year = _select("Outcome year (latest with data if not available)", "year", years, years[-1],
                       lambda y: ref.academic_year_label(int(y)))
        bases = ["auto"] + [y for y in years if int(y) < int(year)]
        base = _select("Change from", "base", bases, "auto",
                       lambda y: "Earliest year without a break (default)" if y == "auto" else ref.academic_year_label(int(y)))
    if not types:
        st.info("Choose at least one activity type; showing all contacts meanwhile.")
        types = list(association.Options().activity_types)
    return association.Options(tuple(types), per, measure, group, outcome, view, int(year),
                               None if base == "auto" else int(base), x)


def impact_measure() -> str:
    """The outcome the evaluation of support is shown for (the settings' results held)."""
    from stls.analysis.evaluation import model
    return _select("Outcome", "measure", list(model.MEASURES), "ks2_rwm_expected",
                   lambda m: f"{ref.MEASURE_LABELS[m]} ({model.MEASURES[m]} schools)")


def open_profile(f: Filters, code: str) -> None:
    """Open the district's profile in this tab, keeping the other filters."""
    state.follow(PROFILE_PAGE, state.link_params(f, profile=code))


def drill_from_selection(event, f: Filters) -> None:
    """A click on a district's point opens its profile."""
    points = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else \
        getattr(getattr(event, "selection", None), "points", []) or []
    codes = [p.get("customdata") for p in points if p.get("customdata") in ref.DISTRICT_NAMES]
    if codes:
        open_profile(f, codes[0])
