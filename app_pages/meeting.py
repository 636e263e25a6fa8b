"""Meeting mode: the LIFT Executive agenda, one idea per screen, large type, previous and next.

Each slide is whole on a 1280×720 shared screen: the slide (where it is in the agenda, its finding
as the heading, one chart or one table) fills the main area; the presenter's speaker notes and the
meeting's preparation sit in the sidebar, which meeting mode opens collapsed.
"""
import streamlit as st

from stls import reference as ref
from stls.present import meeting
from stls.present.views import exceptions as exceptions_view
from stls.ui import data, frame, meeting_ui, state

PAGE = "meeting"
f = frame.filters(PAGE)
skey, spotlights = state.page_choice("spotlight", list(ref.DISTRICT_CODES), list(f.districts), multi=True)
chosen = tuple(st.session_state.get(skey, spotlights))
count = meeting.agenda_length(chosen)
index = meeting_ui.slide_index(count)
slide = data.call(meeting.slide, f, chosen, index, data.call(exceptions_view.since_lines, f, *data.previous_release())
                  if index == 0 else ())

meeting_ui.previous_next(index, count, f"{slide.section} · {f.caption()}")
st.title(slide.title)
lines = meeting_ui.slide_bullets(slide.bullets)
if slide.chart is not None:
    meeting_ui.slide_chart(slide.chart, f"mt_chart_{index}", f.caption(), lines=lines)
elif slide.table is not None:
    meeting_ui.slide_table(slide.table, slide.title, f.caption(), f"mt_table_{index}")
with st.sidebar:
    with st.expander("Speaker notes", expanded=True):
        st.markdown(slide.notes.replace("\n", "  \n") or "None.")
    with st.expander("Prepare the meeting: spotlight districts and the pack"):
        chosen = st.multiselect("District spotlights (added at the end of the agenda)", list(ref.DISTRICT_CODES),
                                default=spotlights, key=skey, format_func=ref.DISTRICT_NAMES.get)
        state.remember("spotlight", chosen)
        meeting_ui.pack_downloads(f, tuple(chosen))
