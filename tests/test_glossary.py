"""About these words: every acronym a page prints is explained in the glossary the pages show."""
import re

import pytest
from conftest import ROOT
from streamlit.testing.v1 import AppTest

from stls.present import glossary

# Acronyms a reader meets as names, not jargon: the council, the department, file formats.
NAMES = {"KCC", "CSV", "PDF", "URL", "DFE", "ONS", "NHS", "OGL", "HTML", "SEN", "UK", "WCAG", "AA", "PSBAR", "IDACI",
         "ISS", "CYP", "URN", "RWM", "KS4", "KS2", "EYFS", "GSS", "SQL"}


def _text(at) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "warning", "title", "header", "subheader")
             for e in getattr(at, kind)]
    for df in at.dataframe:
        parts.extend(map(str, df.value.columns))
    return re.sub(r"\]\([^)]*\)", "]", "\n".join(map(str, parts)))   # a link's address is not read out


@pytest.mark.parametrize("page", ["app_pages/overview.py", "app_pages/scorecard.py", "app_pages/activity_and_outcomes.py",
                                  "app_pages/impact.py", "app_pages/areas_of_need.py", "app_pages/exceptions.py"])
def test_every_acronym_on_a_page_is_in_its_glossary(app_env, page):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    if page != "app_pages/overview.py":
        at.switch_page(page)
    at.run()
    assert not at.exception
    text = _text(at)
    listed = next(e for e in at.sidebar.expander if e.label == "About these words")
    shown = "\n".join(m.value for m in listed.markdown)
    for term in glossary.TERMS:
        assert f"**{term}**" in shown, term
    acronyms = {a for a in re.findall(r"\b[A-Z][A-Z0-9]{1,}\b", text) if a.upper() not in NAMES}
    unexplained = {a for a in acronyms if not any(re.search(rf"\b{a}\b", term) for term in glossary.TERMS)}
    assert unexplained == set(), unexplained


def test_terms_are_found_as_whole_words():
    assert set(glossary.used_in("A RAG rating and the SPC chart; [c] hidden")) == {"RAG", "SPC", "[c]"}
    assert glossary.used_in("DRAGON spectacle") == {}
    assert "Common cause" in glossary.used_in("● Common cause (no real change)")
