"""Accessibility statement in the form the accessibility regulations (PSBAR 2018) require: compliance
status, what is not accessible and why, feedback and contact, enforcement, how it was prepared."""
import os

import streamlit as st

from stls.store import disclosure
from stls.ui.widgets import plain

# Who answers accessibility requests: set by the council when it deploys the dashboard
# (STLS_ACCESSIBILITY_CONTACT, e.g. a team mailbox); the owning team by name otherwise.
CONTACT = plain(os.environ.get("STLS_ACCESSIBILITY_CONTACT",
                               "the SEND Commissioning team at Kent County Council, who own this dashboard"))
PREPARED, REVIEWED = "5 December 2026", "6 December 2026"

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
- **Tables**: every table can be downloaded as CSV exactly as shown, with a key to any symbols, and has its
  full text beside the grid for screen readers and printing.
- **Text**: UK English, plain language; academic years written 2023/24; no information only on hover.
- **Links**: every view's state is in the address bar, so a view can be bookmarked or shared.

## Symbols used in tables
""" + "\n".join(f"- `{s}` {m}" for s, m in disclosure.symbol_key()) + """

## How counts of children are protected
""" + disclosure.method_markdown() + """

## Compliance status
This website is **partially compliant** with the [Web Content Accessibility Guidelines version 2.2](https://www.w3.org/TR/WCAG22/)
AA standard, due to the non-compliances listed below.

## Non-accessible content
### Non-compliance with the accessibility regulations
- **Interactive charts** (Plotly) can be zoomed, hovered and clicked with a mouse only (WCAG 2.1.1 Keyboard). Every
  chart has a text description and a table alternative holding the same figures, and every click a chart offers
  (opening a district's profile) is also a button or a link.
- **Data grids** are drawn by the Streamlit framework on a canvas (WCAG 1.3.1 Info and relationships). Each one
  has the same table as text beside it, read whole by screen readers and printed in its place, and a CSV download.
- **Filter boxes** that take several values announce the values chosen, but not every change is read out by every
  screen reader (WCAG 4.1.3 Status messages).
- **Downloaded PowerPoint packs** give every chart and table alt text and speaker notes; their native charts may
  read less well in a screen reader than the HTML pack, which is the accessible version of the pack.

### Disproportionate burden
We are not claiming disproportionate burden for any content.

### Content that is not within the scope of the accessibility regulations
None: every page, table, chart and download is in scope.

## What we are doing to improve accessibility
Every page is checked with axe-core (WCAG 2.2 AA rules) in headless Chromium whenever the dashboard changes, and
by hand: the keyboard's Tab order (no stop hidden or off screen), focus visible on every control, text that wraps
rather than being cut, each page's own title, and printing on A4. We will fix the problems listed above where the
framework allows, and report the rest to its maintainers.

## Feedback and contact information
If you need any part of this dashboard in a different format, such as accessible PDF, large print, easy read, audio
recording or braille, or you find a problem not listed here, contact """ + CONTACT + """. We will consider your
request and get back to you within 10 working days. Any table can also be downloaded as CSV from under it.

## Enforcement procedure
The Equality and Human Rights Commission (EHRC) is responsible for enforcing the Public Sector Bodies (Websites
and Mobile Applications) (No. 2) Accessibility Regulations 2018 (the 'accessibility regulations'). If you are not
happy with how we respond to your complaint, [contact the Equality Advisory and Support Service
(EASS)](https://www.equalityadvisoryservice.com/).

## Technical information about this website's accessibility
Kent County Council is committed to making its website accessible, in accordance with the Public Sector Bodies
(Websites and Mobile Applications) (No. 2) Accessibility Regulations 2018.

## Preparation of this statement
This statement was prepared on """ + PREPARED + """ and last reviewed on """ + REVIEWED + """. The website was last
tested on """ + REVIEWED + """ by the team that builds it (a self-assessment): automated axe-core checks on every
page in headless Chromium, run with the test suite on every change, and manual checks of keyboard use, focus,
zoom and reflow, printing and screen-reader table structure.
""")
