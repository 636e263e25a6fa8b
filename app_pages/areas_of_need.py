"""Areas of need: the four broad areas for Kent and each district, against the SEN population."""
import streamlit as st

from stls import reference as ref
from stls.analysis import needs
from stls.kpi import compare
from stls.present.views import areas_of_need as view
from stls.ui import data, frame, widgets

PAGE = "areas_of_need"
f = frame.filters(PAGE)
st.title("Areas of need")
st.caption(f.caption())
if f.need:
    st.info("This page compares all four areas of need, so the area-of-need filter is not applied here.")
year = f.year_to
mix = data.call(needs.mix, f.with_(districts=()), year)
census = data.call(compare.census_note_for, year)
if census:
    st.caption(f"{census}.")

st.header(f"{f.area.label}: referrals against pupils with SEN", divider="gray")
shown_mix = data.call(view.selection_mix, f, year) if f.area.is_selection else mix
shown = view.kent_mix(shown_mix, year, f.area.label, f.area.key)
widgets.chart(shown, "na_kent", f.caption())

st.header("Every district", divider="gray")
widgets.chart(data.call(view.district_multiples, f.with_(districts=()), year), "na_multiples", f.caption())
widgets.table(view.index_table(mix), f"Dissimilarity index by area, {ref.academic_year_label(year)}", f.caption(), "na_index")
st.caption("The index is the share of referrals that would have to change area for the referral mix to match the "
           "mix of pupils with SEN: 0 means the same mix, 100 no overlap.")

st.header("Trend by area of need", divider="gray")
widgets.chart(data.call(view.trend_chart, f), "na_trend", f.caption())
