"""View state held in the URL: the shared sidebar filters and each page's own options.

On a session's first run the URL seeds the widgets (unknown values are dropped with a message);
after every run the app writes the widgets' values back, so a copied link reproduces the view.

After the first run the widgets alone hold the view: the address the browser sends with a rerun
can lag behind the one the last run wrote (two quick key presses on a slider), so it is never read
again. A link inside the app (``follow``) hands its view state over in the session instead.
"""
from __future__ import annotations

import streamlit as st

from stls import reference as ref
from stls.filters import Filters, default_filters, from_query_params

_FILTER_PARAMS = ("from", "to", "district", "need", "phase")
_LOADED, _EXTRA, _PROBLEMS, _PAGE = "_url_loaded", "_url_extra", "_url_problems", "_page_params"
# Widgets take their first value from the URL through value=/default=/index= (kept the same on
# every run, so Streamlit never resets them), never by writing st.session_state[key].
_INIT = "_url_filters"
_CURRENT_PAGE, _EXTRA_PAGE = "_page_now", "_url_extra_page"   # page options belong to one page
_FOLLOWED = "_url_followed"   # view state handed over by a link inside the app, for its next run


def set_page(name: str) -> None:
    """Called by the frame before a page runs: page options are namespaced by page."""
    st.session_state[_CURRENT_PAGE] = name


def current_page() -> str:
    return st.session_state.get(_CURRENT_PAGE, "")


def default_last_year(extent: dict) -> int:
    """The academic year holding the latest month loaded, so a month just imported is in the
    default view (a year still running is compared on the same months of the year before).
    It ended at the last complete year: a November loaded stayed out of sight until it was chosen."""
    return default_filters(extent).year_to


def _load_url(first: int, last: int, default_to: int, params: dict[str, str]) -> None:
    parsed = from_query_params({"to": ref.academic_year_label(default_to), **params}, first, last)
    st.session_state[_INIT] = parsed.filters
    st.session_state[_EXTRA] = {k: v for k, v in params.items() if k not in _FILTER_PARAMS}
    st.session_state[_EXTRA_PAGE] = st.session_state.get(_CURRENT_PAGE)
    st.session_state[_PROBLEMS] = parsed.problems
    st.session_state[_LOADED] = True


def _forget_widgets() -> None:
    for key in [k for k in st.session_state if str(k).startswith(("flt_", "pg_", "_url_pg_"))]:
        del st.session_state[key]


def sidebar_filters(extent: dict) -> Filters:
    """The shared filters as sidebar widgets, seeded from the URL on a session's first run and
    from the view state a link inside the app hands over (``follow``)."""
    first, last = extent["first_year"], extent["last_year"]
    followed = st.session_state.pop(_FOLLOWED, None)
    if followed is not None or not st.session_state.get(_LOADED):
        _forget_widgets()
        _load_url(first, last, default_last_year(extent),
                  followed if followed is not None else st.query_params.to_dict())
    st.session_state[_PAGE] = {}
    init: Filters = st.session_state[_INIT]
    years = list(range(first, last + 1))
    needs, phases = ["all", *ref.NEED_AREAS], ["all", *ref.PHASES]
    with st.sidebar:
        st.markdown("### Filters")
        if len(years) > 1:
            y0, y1 = st.select_slider("Academic years", options=years, key="flt_years",
                                      value=(init.year_from, init.year_to), format_func=ref.academic_year_label)
        else:
            y0 = y1 = years[0]
        districts = st.multiselect("Districts (none = all of Kent)", list(ref.DISTRICT_CODES),
                                   default=list(init.districts), key="flt_districts",
                                   format_func=lambda c: ref.DISTRICT_NAMES[c], placeholder="All of Kent")
        need = st.selectbox("Area of need", needs, index=needs.index(init.need or "all"), key="flt_need",
                            format_func=lambda c: "All areas of need" if c == "all" else ref.NEED_AREAS[c])
        phase = st.selectbox("Phase", phases, index=phases.index(init.phase or "all"), key="flt_phase",
                             format_func=lambda c: "All phases" if c == "all" else ref.PHASES[c])
    return Filters(y0, y1, tuple(sorted(districts, key=ref.DISTRICT_CODES.index)),
                   None if need == "all" else need, None if phase == "all" else phase, as_of=extent.get("last_month"))


def url_problems() -> list[str]:
    """What the first URL of this session asked for that could not be honoured."""
    return st.session_state.get(_PROBLEMS, [])


def page_choice(param: str, options: list[str], default, *, multi: bool = False,
                most: int | None = None) -> tuple[str, object]:
    """A page option's widget key and first value, taken from the URL parameter ``param``.

    Values not in ``options`` are dropped, repeats are read once and a list is cut to ``most``
    values (a hostile or stale link cannot break the page). Pass the value as the widget's
    ``default``/``index``; it is the same on every run.
    """
    page = st.session_state.get(_CURRENT_PAGE, "")
    key, init_key = f"pg_{page}_{param}", f"_url_pg_{page}_{param}"
    if init_key not in st.session_state:
        from_url = st.session_state.get(_EXTRA_PAGE) == page
        raw = st.session_state.get(_EXTRA, {}).get(param) if from_url else None
        if raw is None:
            value = default
        elif multi:
            value = list(dict.fromkeys(v for v in str(raw).split(",") if v in options))[:most] or default
        else:
            value = raw if raw in options else default
        st.session_state[init_key] = value
    return key, st.session_state[init_key]


def remember(key: str, value) -> None:
    """Record a page option for the URL written at the end of this run."""
    text = ",".join(value) if isinstance(value, (list, tuple)) else str(value)
    st.session_state.setdefault(_PAGE, {})[key] = text


def write_url(f: Filters, release: int | None = None) -> None:
    """The view in the address bar, so a copied link reproduces it: the filters, the page's options
    and the release its figures come from (a link opened later shows the same figures)."""
    params = {**f.to_query_params(), **st.session_state.get(_PAGE, {}), **({"release": str(release)} if release else {})}
    if params != st.query_params.to_dict():
        st.query_params.from_dict(params)


def link_params(f: Filters, **extra) -> dict[str, str]:
    """Query parameters for a link to another page with these filters and page options."""
    return {**f.to_query_params(), **{k: v for k, v in extra.items() if v is not None}}


def follow(page: str, params: dict[str, str]) -> None:
    """Open ``page`` in this session with the view state ``params`` (a drill-through)."""
    st.session_state[_FOLLOWED] = dict(params)
    st.switch_page(page, query_params=params)
