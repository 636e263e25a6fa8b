"""Accessibility statement (WCAG 2.2 AA): what meets it, known gaps, how to get the data another way."""
import streamlit as st

from stls import disclosure

st.title("Accessibility statement")
st.markdown("""
This statement covers the STLS Insight dashboard. We want as many people as possible to be able to use it:
you should be able to change colours through your browser, zoom to 400% without losing content, move
around with a keyboard, and use a screen reader.

## What we have done
- **Colour**: charts use the Government Analysis Function's accessible palette; RAG ratings are always shown as
  a word and an icon (✔ Green, ▲ Amber, ✖ Red) as well as a colour, special-cause points on control
  charts differ in shape as well as colour, and the lines of a chart with several differ in marker shape
  and dash as well as colour.
- **Keyboard**: the item with keyboard focus has a thick dark ring with a yellow halo, on every page.
- **Headline cards**: each card gives its recent years' values in words under it (no unlabelled sparkline).
- **Charts**: every chart has a title that states its finding, a text description (alt text) read by screen
  readers, and a **table alternative** under it that can be downloaded as CSV.
- **Tables**: every table can be downloaded as CSV exactly as shown, with a key to any symbols.
- **Text**: UK English, plain language; academic years written 2023/24; no information only on hover.
- **Links**: every view's state is in the address bar, so a view can be bookmarked or shared.

## Symbols used in tables
""" + "\n".join(f"- `{s}` {m}" for s, m in disclosure.symbol_key()) + """

## How counts of children are protected
""" + disclosure.method_markdown() + """

## Known gaps
- Some parts of the page come from the Streamlit framework, which we do not control. Automated checks with
  axe-core (WCAG 2.2 AA rules) find no serious or critical issues on any page, including the framework's own
  markup; automated checks cannot find every issue, and the tables drawn on a canvas (the data grid) are read
  best through their CSV download.
- Interactive charts (Plotly) can be zoomed and hovered with a mouse; keyboard users should use the table
  alternative, which holds the same figures.
- The multi-select filter boxes announce selected values, but not every change is read out by all screen readers.

## Getting the data in another form
Download any table as CSV from under its chart. For another format, or for help, contact the SEND
Commissioning team who own this dashboard; we aim to reply within 10 working days.

## Preparation of this statement
This statement was prepared from automated axe-core checks on every page in headless Chromium, run with the
test suite, and manual review of the screenshots. It is reviewed whenever a page is added.
""")
