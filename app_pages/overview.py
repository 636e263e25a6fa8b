"""Overview: county headlines, monthly activity by type, and the 12 districts compared."""
import streamlit as st

from stls import reference as ref
from stls.kpi import catalogue
from stls.present.views import overview
from stls.ui import controls, data, frame, state, widgets

PAGE = "overview"
f = frame.filters(PAGE)
st.title("STLS overview")
st.caption(f.caption())

st.header("Headlines", divider="gray")
types_key, types_init = state.page_choice("types", list(ref.ACTIVITY_TYPE_CODES), list(overview.DEFAULT_TYPES),
                                          multi=True, most=overview.MOST_TYPES)
types = tuple(st.session_state.get(types_key, types_init))
shown = data.call(overview.page, f, types)   # cards and monthly chart, protected in the data layer
cards = shown.cards
for column, card in zip(st.columns(len(cards)), cards):
    with column:
        widgets.kpi_card(card)
widgets.card_symbols(cards)

st.header("Activity by month", divider="gray")
types = st.multiselect("Activity types", list(ref.ACTIVITY_TYPE_CODES), default=types_init, key=types_key,
                       format_func=ref.ACTIVITY_LABELS.get, max_selections=overview.MOST_TYPES)
state.remember("types", types)
if types:
    widgets.chart(shown.monthly, "ov_monthly", f.caption())
else:
    st.info("Choose at least one activity type to see the monthly chart.")

st.header("Districts compared", divider="gray")
kpi_key, kpi_init = state.page_choice("compare", list(overview.COMPARISON_KPIS), overview.COMPARISON_KPIS[0])
kpi_id = st.selectbox("Indicator", list(overview.COMPARISON_KPIS), key=kpi_key,
                      index=overview.COMPARISON_KPIS.index(kpi_init),
                      format_func=lambda k: catalogue.get(k).label)
state.remember("compare", kpi_id)
event = widgets.chart(data.call(overview.district_comparison, f, kpi_id), "ov_districts", f.caption(), selectable=True)
controls.drill_from_selection(event, f)   # a click on a district's bar opens its profile
st.caption(catalogue.get(kpi_id).description)
