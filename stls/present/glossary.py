"""About these words: the dashboard's terms in plain English, one place for every page and the pack.

Each entry is a term as the pages print it and one or two sentences a commissioner can read
without statistics. ``used_in`` finds the terms a piece of text uses, so a page lists only its own.
"""
from __future__ import annotations

import re

TERMS: dict[str, str] = {
    "STLS": "The Specialist Teaching and Learning Service: specialist teachers, based in a special school in each "
            "district, who help mainstream schools and early years settings support children with SEND.",
    "SEND": "Special educational needs and disabilities.",
    "SEN support": "Help for a pupil with special educational needs given by the school from its own resources, "
                   "without an education, health and care plan.",
    "EHC plan": "An education, health and care plan: a legal document setting out a child's needs and the support "
                "the council must secure.",
    "LIFT": "Local Inclusion Forum Team: the district meeting where schools bring pupils they are worried about "
            "and agree support with STLS.",
    "KPI": "Key performance indicator: one of the figures the service is judged by.",
    "GCSE": "General Certificate of Secondary Education: the exams most pupils take at 16.",
    "KS2 RWM": "Key stage 2 reading, writing and maths: the share of pupils at the end of primary school "
               "(age 11) reaching the expected standard in all three.",
    "Attainment 8": "A secondary school score (age 16) from a pupil's results in eight GCSE subjects; a higher "
                    "score is better.",
    "A8": "Short for Attainment 8.",
    "GLD": "A good level of development: the share of children at the end of reception (age 5) reaching the "
           "expected level in the early learning goals that matter most.",
    "LAIT": "The Department for Education's Local Authority Interactive Tool, where the published figures for "
            "Kent, England and similar councils come from.",
    "percentage points": "The difference between two percentages: from 20% to 25% is 5 percentage points.",
    "RAG": "Red, amber or green: how a figure compares with its target (green met, amber close, red below "
           "the floor). The targets in the demo are illustrative.",
    "SPC": "Statistical process control: a way of telling real change in a monthly series from everyday "
           "ups and downs, as the NHS 'Making Data Count' guidance does.",
    "Common cause": "In a control chart, the ups and downs a series always has: no sign of real change.",
    "Special cause": "In a control chart, a point or run of points too far from the usual to be everyday "
                     "variation: something has changed, for better or worse.",
    "Assurance": "Whether a series can be relied on to meet its target: 'consistently passing', "
                 "'consistently failing', or 'hit and miss' when the target lies inside its usual range.",
    "95% interval": "The range the true figure probably lies in, allowing for chance. When it includes zero, "
                    "the data cannot tell an effect from none.",
    "difference-in-differences": "Comparing how supported settings' results changed with how other settings' "
                                 "results changed over the same years, so that what differed before does not "
                                 "pass for an effect.",
    "Sun and Abraham": "The main way this dashboard estimates the effect of support: each supported setting is "
                       "compared with itself before support and with settings never supported.",
    "Callaway and Sant'Anna": "A second, independent way of estimating the same effect, used as a check.",
    "two-stage": "Gardner's two-stage method, a check that compares supported settings with those not yet "
                 "supported as well as those never supported.",
    "placebo": "A check on pupils support was not aimed at (those with no SEN): an 'effect' there would mean "
               "the method picks up something other than support.",
    "sensitivity bound": "How far the trend after support would have to depart from the trend before it "
                         "before the effect could be zero (Rambachan and Roth's method).",
    "statistical neighbours": "The ten local authorities the Department for Education judges most like Kent.",
    "false discovery rate": "Comparing many districts at once, some would look different by chance; "
                            "flags are held back so that no more than 1 in 20 of them are expected to be false.",
    "regression to the mean": "Districts that started unusually low tend to rise, and those that started high "
                              "tend to fall, with no help from anyone.",
    "funnel plot": "A chart of each district's figure against its size, with limits that are wider for smaller "
                   "districts: a point outside them is more than chance would explain.",
    "[c]": "Hidden to protect children: a count too small to publish.",
    "[x]": "Not available.",
    "[z]": "Not applicable.",
    "cell key perturbation": "The Office for National Statistics' method of protecting small counts: each count "
                             "is nudged by a small fixed amount, so tables may not add up exactly.",
}


def used_in(text: str) -> dict[str, str]:
    """The terms ``text`` uses (whole words, ignoring case), in the glossary's order."""
    low = text.lower()
    return {term: meaning for term, meaning in TERMS.items()
            if (term in text if term.startswith("[") else re.search(rf"(?<![\w]){re.escape(term.lower())}(?![\w])", low))}
