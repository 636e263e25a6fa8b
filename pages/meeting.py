"""Meeting mode: the LIFT Executive agenda, one idea per screen, large type, previous and next."""
import streamlit as st

from stls import meeting
from stls import reference as ref
from stls.ui import data, frame, meeting_ui, state, widgets

PAGE = "meeting"
f = frame.filters(PAGE)
skey, spotlights = state.page_choice("spotlight", list(ref.DISTRICT_CODES), list(f.districts), multi=True)
chosen = tuple(st.session_state.get(skey, spotlights))
count = meeting.agenda_length(chosen)
index = meeting_ui.slide_index(count)
slide = data.call(meeting.slide, f, chosen, index)

meeting_ui.previous_next(index, count)
st.caption(f"{slide.section} · {f.caption()}")
st.title(slide.title)
for bullet in slide.bullets[1:]:
    st.markdown(f"- {bullet}")
if slide.chart is not None:
    widgets.chart(meeting_ui.fit(slide.chart), f"mt_chart_{index}", f.caption())
elif slide.table is not None:
    widgets.table(slide.table, slide.title, f.caption(), f"mt_table_{index}")
with st.expander("Speaker notes"):
    st.markdown(slide.notes.replace("\n", "  \n") or "None.")
with st.expander("Prepare the meeting: spotlight districts and the pack"):
    chosen = st.multiselect("District spotlights (added at the end of the agenda)", list(ref.DISTRICT_CODES),
                            default=spotlights, key=skey, format_func=ref.DISTRICT_NAMES.get)
    state.remember("spotlight", chosen)
    meeting_ui.pack_downloads(f, tuple(chosen))
