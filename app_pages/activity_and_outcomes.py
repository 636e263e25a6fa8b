"""Activity and outcomes: does more STLS activity go with better outcomes for pupils with SEN?"""
import streamlit as st

from stls import reference as ref
from stls.analysis import association
from stls.present.views import activity_and_outcomes as outcomes
from stls.present.views import benchmarks
from stls.ui import controls, data, frame, widgets

PAGE = "activity_and_outcomes"
f = frame.filters(PAGE)
st.title("Activity and outcomes")
st.caption(f.caption())
st.markdown("The question the 2019 LIFT review raised: **do districts with more STLS activity see better "
            "outcomes for pupils with SEN?** And the commissioner's: **does the money buy outcomes?** (choose "
            "spending below: each district team's budget per pupil). Each point is one district.")

opts = controls.association_controls(f)
res = data.call(association.analyse, opts, f.with_(districts=()))  # every district; the selection is highlighted
st.info(res.summary, icon=":material/insights:")
with st.expander("What this rests on: the figures, the threshold and the power"):
    st.markdown(res.finding)
if res.standout:
    st.markdown(f"**{association.standout_question(opts)}** {res.standout}")
chart = outcomes.scatter(res, f)
event = widgets.chart(chart, "ao_scatter", f.caption(), selectable=True)
controls.drill_from_selection(event, f)
widgets.profile_buttons(sorted(ref.DISTRICT_CODES, key=ref.DISTRICT_NAMES.get), f, "ao_open")   # points can overlap

st.header("How strong is the association?", divider="gray")
widgets.table(outcomes.coefficients(res), outcomes.coefficients_title(res), res.period, "ao_coef")
st.header(f"{'Spending' if opts.x == 'spend' else 'Activity'} and outcome change, {res.change_period}", divider="gray")
for note in outcomes.change_notes(res):
    st.caption(note)
if res.span_note:
    st.warning(res.span_note, icon=":material/warning:")
widgets.table(outcomes.quadrants(res), "Districts by quadrant", res.change_period, "ao_quad")
st.caption(association.CAVEATS)

st.header("Kent and its statistical neighbours", divider="gray")
st.caption("Published DfE figures for the outcome and SEN group chosen above: Kent against England, the South East "
           "and the ten local authorities the DfE judges most like Kent.")
widgets.chart(data.call(benchmarks.neighbours_chart, opts.measure, opts.sen_group), "ao_sn", "Kent")
