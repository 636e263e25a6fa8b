"""One subscriber's e-mail digest of a release: the exceptions in their districts and KPIs, what
changed since the last release in words, and a link to the exact view of each, as a subject, a
plain-text body, an accessible HTML body and (if they asked) the meeting pack as a PDF.

Only words and figures the protected data layer already gives are used: each exception's reason
(``exceptions.alerts``) and the 'since the last release' sentences (``narrative.since``), which quote
headline values after protection and say [c] figures are withheld, with no number. No count is
read here. Sent by ``stls.notify`` (``python -m stls notify``); docs/notify.md.
"""
from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

from stls import reference as ref
from stls.analysis import exceptions, narrative
from stls.filters import default_filters
from stls.kpi import catalogue
from stls.store import disclosure, queries
from stls.store.releases import Release, long_date

if TYPE_CHECKING:
    from stls.store.db import Database
    from stls.store.subscriptions import Subscription

MAX_LINES = 20          # 'since the last release' sentences in one e-mail; the rest are on the Exceptions page
PAGES = {"scorecard": "the KPI scorecard", "data": "the Data page"}   # where an exception's link opens


@dataclass(frozen=True)
class Digest:
    subject: str
    text: str                          # the plain-text body
    html: str                          # the HTML body (the same words)
    attachment: bytes | None = None    # the meeting pack as a PDF, when asked for and it could be made
    attachment_name: str = ""
    exceptions: int = 0                # how many exceptions it lists
    lines: int = 0                     # how many 'since the last release' sentences there are (MAX_LINES in it)


@dataclass(frozen=True)
class Item:
    """One exception as the digest says it: in words, with the absolute link to its view."""
    indicator: str
    rule: str
    concern: str          # 'Concerning' or 'Improving': said in words, never by colour
    reason: str
    url: str
    link_text: str


def in_scope(sub: Subscription, alert: exceptions.Alert) -> bool:
    """Whether an exception is the subscriber's: their districts (or Kent and all twelve) and their
    KPIs (or every KPI). Data quality (the tracker's returns) is every KPI's, so it is in scope for
    their districts whatever KPIs they chose, and a late tracker (Kent's, every district's) for all."""
    if alert.rule == "data_quality":
        return alert.area == ref.KENT_CODE or sub.covers("", alert.area)
    return sub.covers(alert.kpi, alert.area)


def absolute(base_url: str, link: str, release: int) -> str:
    """An exception's relative link made absolute, carrying ``release=N`` so that it opens the
    figures the e-mail describes even after a later release."""
    path, _, query = link.partition("?")
    params = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "release"]
    return f"{base_url.rstrip('/')}/{path}?" + urlencode([*params, ("release", str(release))])


def _and(names: Sequence[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def scope_words(sub: Subscription) -> tuple[str, str]:
    """(the areas, the KPIs) in words: ('Swale', 'every KPI')."""
    areas = _and([ref.DISTRICT_NAMES[d] for d in sub.districts]) if sub.districts else "Kent and all twelve districts"
    kpis = _and([catalogue.get(k).label for k in sub.kpis]) if sub.kpis else "every KPI"
    return areas, kpis


def _short_scope(sub: Subscription) -> str:
    """For the subject: 'Swale', 'Swale and Thanet (2 KPIs)', 'Kent and all districts'."""
    areas = _and([ref.DISTRICT_NAMES[d] for d in sub.districts]) if sub.districts else "Kent and all districts"
    if len(sub.kpis) == 1:
        kpi = catalogue.get(sub.kpis[0])
        return f"{areas} ({kpi.short_label or kpi.label})"
    return f"{areas} ({len(sub.kpis)} KPIs)" if sub.kpis else areas


def subject(release: Release, count: int, sub: Subscription) -> str:
    """'STLS exceptions: release 14, 3 December 2026: 5 for Swale'."""
    said = "no exceptions" if count == 0 else str(count)
    return f"STLS exceptions: release {release.number}, {long_date(release.published_at)}: {said} for {_short_scope(sub)}"


def _items(found: Sequence[exceptions.Alert], base_url: str, release: int) -> list[tuple[str, list[Item]]]:
    """The exceptions grouped by area, Kent first then each district in turn (catalogue order within)."""
    groups: dict[str, list[Item]] = {}
    for a in sorted(found, key=lambda a: exceptions.AREAS.index(a.area)):
        indicator = catalogue.get(a.kpi).label if a.kpi and a.rule != "data_quality" else exceptions.TRACKER
        page = PAGES.get(a.link.partition("?")[0], "its view")
        groups.setdefault(a.area, []).append(Item(
            indicator, exceptions.RULES[a.rule], "Concerning" if a.concerning else "Improving", a.reason,
            absolute(base_url, a.link, release), f"{indicator}, {a.area_name}, on {page}"))
    return [(ref.GEOGRAPHY_NAMES[area], items) for area, items in groups.items()]


@dataclass(frozen=True)
class _Words:
    """What both bodies say, worked out once."""
    title: str
    intro: list[str]
    since_heading: str
    since: list[str]
    since_more: int        # sentences beyond MAX_LINES, left to the page below
    more_at: tuple[str, str]   # (the page, its address) that has them: the Exceptions page, or the scorecard
    page_url: str          # the Exceptions page for the subscriber's districts, this release
    groups: list[tuple[str, list[Item]]]
    none: str
    pack_note: str
    footer: list[str]
    unsubscribe: str       # the footer's last words: how to stop the digest


def _intro(sub: Subscription, db: Database, release: Release, before: int | None) -> list[str]:
    areas, kpis = scope_words(sub)
    last = queries.data_extent(db).get("last_month")
    out = [f"{release.figures_as_at}" + (f", with activity to {last:%B %Y}" if last else "") + ".",
           f"This digest covers {areas}, {kpis}: the exceptions the dashboard's Exceptions page lists for them "
           + (f"and what changed since release {before}." if before else "and their figures (there is no earlier release "
              "to compare with).")]
    if db.meta().get("synthetic") == "true":
        out.append("These are synthetic demonstration data, not real figures.")
    return out


def _words(sub: Subscription, db: Database, release: Release, lines: Sequence[narrative.Line],
           found: Sequence[exceptions.Alert], base_url: str, before: int | None, pack_note: str) -> _Words:
    f = default_filters(queries.data_extent(db)).with_(districts=sub.districts)
    page = absolute(base_url, "exceptions?" + urlencode(f.to_query_params()), release.number)
    groups = _items(found, base_url, release.number)
    return _Words(
        title=f"STLS exceptions: {scope_words(sub)[0]}",
        intro=_intro(sub, db, release, before),
        since_heading=f"Since the last release (release {before})" if before else "Figures in this release",
        since=[line.text for line in lines[:MAX_LINES]],
        since_more=max(0, len(lines) - MAX_LINES),
        more_at=("the Exceptions page", page) if before else
        ("the KPI scorecard", absolute(base_url, "scorecard?" + urlencode(f.to_query_params()), release.number)),
        page_url=page,
        groups=groups,
        none="There are no exceptions in your districts and KPIs in this release." if not groups else "",
        pack_note=pack_note,
        footer=[f"You get this digest once for each new release because {sub.email} is subscribed to {scope_words(sub)[0]}, "
                f"{scope_words(sub)[1]}" + (", with the meeting pack." if sub.pack else "."),
                f"{disclosure.ADDITIVITY_NOTE} Figures withheld to protect small numbers are shown as [c], with no number."],
        unsubscribe=f"ask the dashboard's administrator to run: python -m stls unsubscribe {sub.email}")


def _text(w: _Words) -> str:
    out = [w.title, "", *w.intro, "", w.since_heading, "-" * len(w.since_heading)]
    out += [f"- {s}" for s in w.since] or ["Nothing changed for your districts and KPIs."]
    out += [f"{w.since_more} more on {w.more_at[0]}: {w.more_at[1]}"] if w.since_more else []
    count = sum(len(items) for _, items in w.groups)
    out += ["", f"Exceptions: {count}", "-" * len(f"Exceptions: {count}")]
    out += [w.none] if w.none else []
    for area, items in w.groups:
        out += ["", f"{area} ({len(items)})"]
        for i in items:
            out += [f"- {i.indicator}: {i.rule.lower()} ({i.concern.lower()}). {i.reason}.", f"  Open: {i.url}"]
    if w.pack_note:
        out += ["", w.pack_note]
    stop = f"To stop this digest, use Unsubscribe under 'Get these by e-mail' on the Exceptions page ({w.page_url}), or {w.unsubscribe}"
    return "\n".join([*out, "", "-- ", *w.footer, stop]) + "\n"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _html(w: _Words, subject_line: str) -> str:
    count = sum(len(items) for _, items in w.groups)
    body = [f"<h1>{_e(w.title)}</h1>", *(f"<p>{_e(p)}</p>" for p in w.intro), f"<h2>{_e(w.since_heading)}</h2>"]
    body.append("<ul>" + "".join(f"<li>{_e(s)}</li>" for s in w.since) + "</ul>" if w.since
                else "<p>Nothing changed for your districts and KPIs.</p>")
    if w.since_more:
        body.append(f'<p>{w.since_more} more on <a href="{_e(w.more_at[1])}">{_e(w.more_at[0])}</a>.</p>')
    body.append(f"<h2>Exceptions: {count}</h2>")
    body += [f"<p>{_e(w.none)}</p>"] if w.none else []
    for area, items in w.groups:
        body.append(f"<h3>{_e(area)}: {len(items)}</h3><ul>")
        body += [f"<li><strong>{_e(i.indicator)}</strong>: {_e(i.rule.lower())} ({_e(i.concern.lower())}). {_e(i.reason)}. "
                 f'<a href="{_e(i.url)}">Open {_e(i.link_text)}</a></li>' for i in items]
        body.append("</ul>")
    if w.pack_note:
        body.append(f"<p>{_e(w.pack_note)}</p>")
    stop = (f"<p>To stop this digest, use Unsubscribe under &#x27;Get these by e-mail&#x27; on <a href=\"{_e(w.page_url)}\">the "
            f"Exceptions page</a>, or {_e(w.unsubscribe)}</p>")
    body.append('<hr><footer>' + "".join(f"<p>{_e(p)}</p>" for p in w.footer) + stop + "</footer>")
    return ('<!DOCTYPE html>\n<html lang="en-GB">\n<head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(subject_line)}</title></head>\n"
            '<body style="font-family: Arial, Helvetica, sans-serif; font-size: 16px; line-height: 1.5; max-width: 46em">\n'
            + "\n".join(body) + "\n</body>\n</html>\n")


def pack_pdf(db: Database, sub: Subscription, release: Release, before_db: Database | None = None,
             before: int | None = None) -> bytes:
    """The meeting pack as a PDF for the subscriber: the default view (Kent, every year held), their
    districts spotlighted, 'since the last release' on its opening slide, the release on every page.
    Raises ``pack.PdfUnavailable`` when PDF cannot be made (no Chromium)."""
    from stls.present import pack
    from stls.present.views import exceptions as exceptions_view
    f = default_filters(queries.data_extent(db))
    since = exceptions_view.since_lines(db, f, before_db, before)
    return pack.build(db, f, "pdf", sub.districts, release.figures_as_at, since)


def build(sub: Subscription, db: Database, release: Release, base_url: str, before_db: Database | None = None,
          before: int | None = None, attachment: bytes | None = None, pack_note: str = "") -> Digest:
    """The digest of ``release`` (``db``, its handle) for ``sub``: 'since the last release' from
    ``before_db`` (release ``before``; None: no earlier release, every figure in scope), the
    exceptions in their scope with links under ``base_url``, ``attachment`` the PDF pack (or None,
    with ``pack_note`` saying why it is missing)."""
    found = [a for a in exceptions.alerts(db) if in_scope(sub, a)]
    lines = narrative.since(before_db, db, before, scope=sub)
    words = _words(sub, db, release, lines, found, base_url, before, pack_note)
    said = subject(release, len(found), sub)
    return Digest(said, _text(words), _html(words, said), attachment,
                  f"stls-meeting-pack-release-{release.number}.pdf" if attachment else "", len(found), len(lines))
