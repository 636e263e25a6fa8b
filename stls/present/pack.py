"""Build the meeting pack for a set of filters: the agenda's slides written as PPTX, HTML or PDF."""
from __future__ import annotations

from stls.filters import Filters
from stls.present import meeting, report
from stls.present.report import PdfUnavailable
from stls.store import queries

__all__ = ["PdfUnavailable", "build", "info"]


def info(db, f: Filters, release: str = "") -> report.PackInfo:
    extent = queries.data_extent(db)
    last = extent.get("last_month")
    return report.PackInfo(
        title=f"STLS performance: {f.area.label}, {f.caption().split(' · ')[1]}",
        filters=f.caption(),
        data_date=f"activity to {last:%B %Y}" if last else "no activity loaded",
        synthetic=db.meta().get("synthetic") == "true", release=release)


def build(db, f: Filters, fmt: str, spotlights: tuple[str, ...] = (), release: str = "",
          since: tuple[str, ...] = ()) -> bytes:
    """The pack as bytes in ``fmt`` ('pptx', 'html' or 'pdf'); ``release`` says which figures
    ('Figures as at release 14, published 3 December 2026'), ``since`` what changed since the last
    release, in words, on the opening slide."""
    slides = meeting.agenda(db, f, spotlights, since)
    meta = info(db, f, release)
    if fmt == "pptx":
        return report.pptx(slides, meta)
    page = report.html_pack(slides, meta)
    return page.encode("utf-8") if fmt == "html" else report.pdf(page)
