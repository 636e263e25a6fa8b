"""District profile: the Head of SEN's drill-down into one district."""
import datetime as dt

import streamlit as st

from stls import reference as ref
from stls.present.views import district
from stls.ui import controls, data, frame, state, widgets

PAGE = "district"
f = frame.filters(PAGE)
heading = st.empty()
codes = list(ref.DISTRICT_CODES)   # any district, whatever the sidebar narrows the other pages to
key, init = state.page_choice("profile", codes, (f.districts or codes)[0])
code = st.selectbox("District", codes, index=codes.index(init) if init in codes else 0, key=key,
                    format_func=ref.DISTRICT_NAMES.get)
state.remember("profile", code)
name = ref.DISTRICT_NAMES[code]
heading.title(f"District profile: {name}")
g = f.with_(districts=(code,))
st.caption(g.caption())

types = list(ref.ACTIVITY_TYPE_CODES)
tkey, tinit = state.page_choice("type", types, "referral")
months = [m.isoformat() for m in data.call(district.month_choices, f, code)]   # newest first
mkey, minit = state.page_choice("month", months, months[0] if months else "")
if st.session_state.get(mkey, months[0] if months else "") not in months:
    st.session_state.pop(mkey, None)   # the years chosen no longer hold it: start again from the newest
chosen = st.session_state.get(mkey, minit if minit in months else (months[0] if months else ""))
shown = data.call(district.profile_activity, f, code, st.session_state.get(tkey, tinit),
                  dt.date.fromisoformat(chosen) if chosen else None)

st.header("Headlines against Kent and last year", divider="gray")
for column, (mine, kent) in zip(st.columns(5), shown.pairs):
    with column:
        widgets.kpi_card(mine)
        st.caption(f"Kent: {kent.display} ({kent.label})")
widgets.card_symbols([h for pair in shown.pairs for h in pair])

st.header("Monthly activity with control limits", divider="gray")
activity_type = st.selectbox("Activity type", types, index=types.index(tinit), key=tkey, format_func=ref.ACTIVITY_LABELS.get)
state.remember("type", activity_type)
widgets.chart(shown.spc, "dp_spc", g.caption())

st.header("One month", divider="gray")
if shown.month is None:
    st.info(f"No months of activity in {name} for this selection.")
else:
    month = st.selectbox("Month", months, index=months.index(minit) if minit in months else 0, key=mkey,
                         format_func=lambda m: dt.date.fromisoformat(m).strftime("%B %Y"))
    state.remember("month", month)
    need = ref.NEED_AREAS[f.need].lower() if f.need else "all areas of need"
    title = f"Activity in {name}, {shown.month:%B %Y}, against the same month a year before ({need})"
    st.markdown(f"**{title}**")
    widgets.table(shown.month_table, title, g.caption(), "dp_month")

st.header("Areas of need against Kent", divider="gray")
widgets.chart(data.call(district.need_mix, f, code, f.year_to), "dp_mix", g.caption())

st.header("Outcomes for pupils with SEN", divider="gray")
measure, group = controls.outcome_pickers()
widgets.chart(data.call(district.outcomes, f, code, measure, group), "dp_outcomes", g.caption())
year = data.call(district.latest_outcome_year, measure, f.year_to)
if year is None:
    st.info(f"No {ref.MEASURE_LABELS[measure]} results up to {ref.academic_year_label(f.year_to)}.")
else:
    widgets.chart(data.call(district.funnel_view, code, measure, group, year), "dp_funnel", g.caption())

st.header("Settings reached", divider="gray")
unreached = data.call(district.unreached_settings, f, code, f.year_to)
st.markdown(f"**{len(unreached)} open settings** in {name} had no STLS contact in {ref.academic_year_label(f.year_to)}"
            + (f" ({ref.PHASES[f.phase].lower()} only)." if f.phase else "."))
widgets.table(unreached, f"Settings with no STLS contact, {name}, {ref.academic_year_label(f.year_to)}", g.caption(), "dp_unreached")
