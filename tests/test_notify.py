"""Subscriptions and the digest by e-mail (issue 32 item 3), against a real SMTP server on loopback
(aiosmtpd, in a thread): each subscriber gets the current release's exceptions in their scope once,
with links that open the view they describe; a refused address is recorded and retried; an
unreachable server is said in one line with nothing recorded; a dry run sends and records nothing;
someone who unsubscribes during a run is not sent to; and every figure is a protected one.

One database for the module (the demo, release 1; a month of referrals, release 2; another, release
3), its tests run in order: first sends, then the retries."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import fcntl
import re
import shutil
import socket
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import duckdb
import pytest
from aiosmtpd.controller import Controller

from stls import cli, notify
from stls import reference as ref
from stls.analysis import exceptions, narrative
from stls.filters import default_filters
from stls.kpi import catalogue, compare
from stls.present import digest
from stls.store import queries
from stls.store import releases as rel
from stls.store.releases import Releases
from stls.store.subscriptions import Subscription, Subscriptions

ROOT = Path(__file__).resolve().parent.parent
HEADER = "date,district,service,activity_type,need_area,phase,setting_urn,count\n"
BASE = "https://stls.kent.gov.uk"
ENV = {"STLS_PUBLIC_URL": BASE, "STLS_SMTP_FROM": "STLS Insight <stls-insight@kent.gov.uk>", "STLS_SMTP_STARTTLS": "0"}
SWALE, DOVER, THANET = "E07000113", "E07000108", "E07000114"
EVERYONE, SWALE_ONLY, REFERRALS_ONLY, WITH_PACK = ("all@kent.gov.uk", "swale@kent.gov.uk", "referrals@kent.gov.uk",
                                                   "pack@kent.gov.uk")


def _month_file(folder: Path, month: str, name: str = "month.csv") -> Path:
    """Referrals in ``month`` (YYYY-MM) for three districts (tests/test_releases.py's helper)."""
    path = folder / name
    path.write_text(HEADER + "".join(f"{month}-0{day},{district},,referral,CI,primary,,{3 + k}\n"
                                     for k, district in enumerate(["Swale", "Thanet", "Dover"]) for day in (1, 2, 3)))
    return path


# --- an SMTP server on loopback ---------------------------------------------------------------------

class Keep:
    """Accepts every message and keeps it: (recipients, the message parsed)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        subject = msg["Subject"]   # a long subject is folded onto its own line: the fold is not part of it
        msg.replace_header("Subject", " ".join(str(subject).split()))
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"


class Refuse(Keep):
    """Refuses one address at RCPT (550) and drops the connection on another's message (421)."""

    def __init__(self, refused: str, dropped: str) -> None:
        super().__init__()
        self.refused, self.dropped = refused, dropped

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refused:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.dropped in envelope.rcpt_tos:
            return "421 4.3.2 service shutting down, closing the connection"
        return await super().handle_DATA(server, session, envelope)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server(handler) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    return controller


@pytest.fixture(scope="module")
def good():
    controller = _server(Keep())
    yield controller
    controller.stop()


def _smtp(controller: Controller) -> notify.Smtp:
    return notify.settings(f"127.0.0.1:{controller.port}", ENV)


def _run(world: Path, controller: Controller, dry_run: bool = False) -> notify.Report:
    return notify.notify(world, _smtp(controller), dry_run=dry_run, env=ENV)


def _sent(controller: Controller) -> dict[str, email.message.EmailMessage]:
    """The messages the server has, by recipient (each has one); the server's list emptied."""
    kept = controller.handler.messages
    out = {}
    for rcpt, msg in kept:
        assert len(rcpt) == 1 and rcpt[0] not in out, rcpt
        out[rcpt[0]] = msg
    kept.clear()
    return out


def _bodies(msg: email.message.EmailMessage) -> tuple[str, str]:
    text, page = (msg.get_body((kind,)).get_content() for kind in ("plain", "html"))
    return text.replace("\r\n", "\n"), page.replace("\r\n", "\n")   # as sent, over SMTP: CRLF


# --- the database: release 1 (the demo), release 2 (a month of referrals) ---------------------------

@pytest.fixture(scope="module")
def world(demo_path, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("notify")
    db = folder / "stls.duckdb"
    shutil.copyfile(demo_path, db)
    Releases(db).start_over("demo build", "the synthetic demo")
    report, release = rel.load(_month_file(folder, "2026-11"), "activity", db, by="cron", note="November")
    assert report.status == "loaded" and release.number == 2, report.message
    subs = Subscriptions(db)
    subs.set(EVERYONE)
    subs.set(SWALE_ONLY, districts=(SWALE,))
    subs.set(REFERRALS_ONLY, kpis=("referrals",))
    subs.set(WITH_PACK, districts=(THANET,), pack=True)
    return db


@pytest.fixture(scope="module")
def first(world, good):
    """The first real run's report and messages (release 2 to the four subscribers)."""
    report = _run(world, good)
    return report, _sent(good)


# --- settings ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, env, said", [
    ("smtp.kent.gov.uk", ENV, "--smtp 'smtp.kent.gov.uk' is not HOST:PORT"),
    ("smtp.kent.gov.uk:0", ENV, "is not HOST:PORT"),
    ("smtp.kent.gov.uk:smtp", ENV, "is not HOST:PORT"),
    ("smtp.kent.gov.uk:587", {**ENV, "STLS_SMTP_FROM": ""}, "STLS_SMTP_FROM is not set"),
    ("smtp.kent.gov.uk:587", {**ENV, "STLS_SMTP_FROM": "stls insight"}, "STLS_SMTP_FROM 'stls insight' is not an e-mail"),
    ("smtp.kent.gov.uk:587", {**ENV, "STLS_SMTP_USER": "stls"}, "STLS_SMTP_USER is set but STLS_SMTP_PASSWORD is not"),
    ("smtp.kent.gov.uk:587", {**ENV, "STLS_SMTP_PASSWORD": "x"}, "STLS_SMTP_PASSWORD is set but STLS_SMTP_USER is not"),
    ("smtp.kent.gov.uk:587", {**ENV, "STLS_SMTP_STARTTLS": "maybe"}, "STLS_SMTP_STARTTLS must be 1 or 0"),
    ("smtp.kent.gov.uk:25", {**ENV, "STLS_SMTP_USER": "stls", "STLS_SMTP_PASSWORD": "x"}, "would cross the network unencrypted"),
])
def test_a_wrong_setting_is_one_line_naming_it(spec, env, said):
    with pytest.raises(notify.NotifyError) as caught:
        notify.settings(spec, env)
    assert said in str(caught.value) and "\n" not in str(caught.value)


def test_good_settings_are_read():
    smtp = notify.settings("[::1]:2525", {**ENV, "STLS_SMTP_STARTTLS": "", "STLS_SMTP_USER": "u", "STLS_SMTP_PASSWORD": "s3cret!"})
    assert (smtp.host, smtp.port, smtp.sender, smtp.sender_name, smtp.starttls) == ("::1", 2525, "stls-insight@kent.gov.uk",
                                                                                   "STLS Insight", True)
    assert "s3cret!" not in repr(smtp) and smtp.password == "s3cret!"   # not in a traceback's repr
    with pytest.raises(notify.NotifyError, match="STLS_PUBLIC_URL is not set"):
        notify.public_url({})
    with pytest.raises(notify.NotifyError, match="is not the dashboard's address"):
        notify.public_url({"STLS_PUBLIC_URL": "stls.kent.gov.uk"})


# --- the command line -------------------------------------------------------------------------------

def test_the_command_line_subscribes_lists_and_refuses_by_name(world, good, capsys, monkeypatch):
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    db = ["--db", str(world)]
    assert cli.main(["subscribe", "x@kent.gov.uk", "--districts", "Swayle", *db]) == 2
    assert "unknown district 'Swayle'" in capsys.readouterr().err
    assert cli.main(["subscribe", "x@kent.gov.uk", "--kpis", "referals", *db]) == 2
    assert "unknown KPI referals" in capsys.readouterr().err
    assert cli.main(["subscribe", "not-an-address", *db]) == 2
    assert "is not an e-mail address" in capsys.readouterr().err
    assert cli.main(["subscribe", "X@Kent.gov.uk", "--districts", "tunbridge wells", "E07000108", "--kpis", "referrals",
                     "--pack", *db]) == 0
    assert "Subscribed x@kent.gov.uk: Dover and Tunbridge Wells, Referrals, with the meeting pack (PDF)" in capsys.readouterr().out
    assert Subscriptions(world).get("x@kent.gov.uk").districts == (DOVER, "E07000116")
    assert cli.main(["subscriptions", *db]) == 0
    listed = capsys.readouterr().out
    assert "x@kent.gov.uk: Dover and Tunbridge Wells, Referrals, with the meeting pack (PDF)" in listed
    assert "swale@kent.gov.uk: Swale, every KPI" in listed and "(5 subscriptions)" in listed
    assert cli.main(["unsubscribe", "x@kent.gov.uk", *db]) == 0 and "Unsubscribed x@kent.gov.uk" in capsys.readouterr().out
    assert cli.main(["unsubscribe", "x@kent.gov.uk", *db]) == 0 and "was not subscribed" in capsys.readouterr().out
    assert cli.main(["notify", "--smtp", "localhost", *db]) == 2
    assert "error: --smtp 'localhost' is not HOST:PORT" in capsys.readouterr().err
    assert Subscriptions(world).sends() == []


def test_an_unreachable_server_is_said_and_nothing_is_recorded(world, capsys, monkeypatch):
    stopped = _server(Keep())
    stopped.stop()
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    assert cli.main(["notify", "--smtp", f"127.0.0.1:{stopped.port}", "--db", str(world)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: cannot reach the SMTP server 127.0.0.1:{stopped.port}: Connection refused\n"
    assert Subscriptions(world).sends() == []


def test_no_starttls_and_a_second_run_at_once_are_refused_before_sending(world, good):
    with pytest.raises(notify.NotifyError, match=f"the SMTP server 127.0.0.1:{good.port} does not offer STARTTLS"):
        notify.notify(world, notify.settings(f"127.0.0.1:{good.port}", {**ENV, "STLS_SMTP_STARTTLS": "1"}), env=ENV)
    with open(world.with_name(f".{world.name}.notify.lock"), "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(notify.NotifyError, match="another 'python -m stls notify' is running"):
            _run(world, good)
    assert good.handler.messages == [] and Subscriptions(world).sends() == []


def test_a_dry_run_says_what_would_go_to_whom_and_sends_and_records_nothing(world, good, capsys, monkeypatch):
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    assert cli.main(["notify", "--smtp", f"127.0.0.1:{good.port}", "--dry-run", "--db", str(world)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Dry run: nothing sent or recorded. Digest of release 2, published ")
    for address in (EVERYONE, SWALE_ONLY, REFERRALS_ONLY, WITH_PACK):
        assert f"would send {address}: STLS exceptions: release 2, " in out
    assert " for Swale (" in out and "with the meeting pack (PDF)" in out and "sentences since the last release" in out
    assert good.handler.messages == [] and Subscriptions(world).sends() == []


# --- sending ----------------------------------------------------------------------------------------

def test_each_subscriber_is_sent_their_digest_once(world, good, first):
    report, sent = first
    assert sorted(sent) == sorted([EVERYONE, SWALE_ONLY, REFERRALS_ONLY, WITH_PACK])
    assert [o.status for o in report.outcomes] == ["sent"] * 4 and not report.failed
    assert {(e, r, s) for e, r, _, s, _ in Subscriptions(world).sends()} == {(a, 2, "sent") for a in sent}
    for address, msg in sent.items():
        assert msg["To"] == address and msg["From"] == "STLS Insight <stls-insight@kent.gov.uk>"
        assert msg["Subject"].startswith("STLS exceptions: release 2, ") and msg["Auto-Submitted"] == "auto-generated"
    for address in (EVERYONE, SWALE_ONLY, REFERRALS_ONLY):
        assert sent[address].get_content_type() == "multipart/alternative"
    again = _run(world, good)
    assert again.outcomes == [] and again.already == 4 and good.handler.messages == []   # never the same release twice
    assert "nothing to send; 4 already sent this release." in again.lines()[0]


def test_the_digest_is_plain_text_and_accessible_html(first):
    _, sent = first
    text, page = _bodies(sent[SWALE_ONLY])
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en-GB">' in page
    assert page.count("<h1>") == 1 and "<h2>Since the last release (release 1)</h2>" in page and "<h3>Swale: " in page
    assert "<title>STLS exceptions: release 2, " in page
    assert "<img" not in page and "color" not in page          # no images, nothing said by colour
    assert "(concerning)" in text and "(concerning)" in page   # concern in words
    assert "Figures as at release 2, published " in text and "This digest covers Swale, every KPI" in text
    assert "python -m stls unsubscribe swale@kent.gov.uk" in text and "python -m stls unsubscribe swale@kent.gov.uk" in page
    assert f"on the Exceptions page ({BASE}/exceptions?" in text
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', page)
    assert all(label.strip() and not label.startswith("http") for _, label in links)   # links say where they go


def test_each_digest_holds_its_scope_only(world, first):
    _, sent = first
    db = Releases(world).open()
    found = exceptions.alerts(db)
    others = [name for code, name in ref.DISTRICT_NAMES.items() if code != SWALE]
    text, page = _bodies(sent[SWALE_ONLY])
    assert "Swale" in text and not [n for n in others if n in text or n in page]
    assert set(re.findall(r"E0700\d{4}", text)) == {SWALE}
    swale = [a for a in found if a.area == SWALE]
    assert sent[SWALE_ONLY]["Subject"].endswith(f": {len(swale)} for Swale")
    assert text.count("\n  Open: ") == len(swale)
    # KPI-limited: every sentence and exception is that KPI's (or the tracker's returns, which every KPI rests on)
    text, _ = _bodies(sent[REFERRALS_ONLY])
    since = _section(text, "Since the last release")
    assert since and all(line.startswith("- Referrals, ") for line in since)
    items = [line for line in text.splitlines() if line.startswith("- ") and line not in since]
    assert items and all(line.startswith(("- Referrals: ", "- Activity tracker returns: ")) for line in items)
    assert {q.get("kpi", ["referrals"])[0] for q in _queries(text)} == {"referrals"}
    label = catalogue.get("referrals").label
    assert sent[REFERRALS_ONLY]["Subject"].endswith(f"for Kent and all districts ({catalogue.get('referrals').short_label or label})")
    # everyone: every exception of the release
    text, _ = _bodies(sent[EVERYONE])
    assert text.count("\n  Open: ") == len(found)


def _section(text: str, heading: str) -> list[str]:
    """The '- ' lines under a heading of the plain-text body."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    out = []
    for line in lines[start + 2:]:
        if not line.startswith("- "):
            break
        out.append(line)
    return out


def _queries(text: str) -> list[dict[str, list[str]]]:
    return [parse_qs(urlsplit(url).query) for url in re.findall(r"Open: (\S+)", text)]


def test_each_link_opens_the_view_it_describes(world, first, monkeypatch):
    _, sent = first
    text, _ = _bodies(sent[SWALE_ONLY])
    urls = re.findall(r"Open: (\S+)", text)
    wanted = {(a.kpi, a.area, "scorecard" if a.rule != "data_quality" else "data")
              for a in exceptions.alerts(Releases(world).open()) if a.area == SWALE}
    got = set()
    for url in urls:
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == BASE
        q = parse_qs(parts.query)
        assert q["release"] == ["2"] and q["district"] == [SWALE] and q["from"] == ["2016/17"] and q["to"] == ["2026/27"]
        got.add((q.get("kpi", [""])[0], q["district"][0], parts.path.strip("/")))
    assert got == {(k if page == "scorecard" else "", a, page) for k, a, page in wanted}
    # open one as the dashboard would: its area, its KPI, the release it names, no error
    url = next(u for u in urls if "/scorecard?" in u)
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    at = _app(world, monkeypatch, "app_pages/scorecard.py", **q)
    assert not at.exception
    assert at.title[0].value == "KPI scorecard"
    assert any(c.value.startswith("Swale · 2016/17 to 2026/27") for c in at.caption)
    assert next(s for s in at.selectbox if s.label == "Indicator").value == q["kpi"]
    assert at.caption[0].value == f":material/verified: {Releases(world).get(2).figures_as_at}."
    assert not [w for w in at.warning if "earlier release" in w.value]


def _app(db: Path, monkeypatch, page: str, **params: str):
    from streamlit.testing.v1 import AppTest
    monkeypatch.setenv("STLS_DB", str(db))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(page)
    return at.run()


def test_the_pack_is_attached_when_asked_for(first):
    _, sent = first
    msg = sent[WITH_PACK]
    assert msg.get_content_type() == "multipart/mixed"
    pdf = next(msg.iter_attachments())
    assert pdf.get_content_type() == "application/pdf" and pdf.get_filename() == "stls-meeting-pack-release-2.pdf"
    assert pdf.get_content().startswith(b"%PDF")
    assert msg.get_body(("html",)) is not None and "Thanet" in msg["Subject"]


def test_the_first_release_gives_its_figures_and_no_exceptions_is_said(world):
    """With no earlier release, the figures in scope (at most MAX_LINES, the rest linked); a scope
    with nothing to report is still sent its digest, saying so."""
    releases = Releases(world)
    db, first_release = releases.open(1), releases.get(1)
    found = exceptions.alerts(db)
    quiet = next((d, k) for d in ref.DISTRICT_CODES for k in catalogue.catalogue()
                 if not [a for a in found if a.area == d and (a.kpi == k or a.rule == "data_quality")])
    sub = Subscription("quiet@kent.gov.uk", (quiet[0],), (quiet[1],), False, "test", 0.0)
    made = digest.build(sub, db, first_release, BASE)
    kpi = catalogue.get(quiet[1])
    assert made.subject == (f"STLS exceptions: release 1, {rel.long_date(first_release.published_at)}: no exceptions for "
                            f"{ref.DISTRICT_NAMES[quiet[0]]} ({kpi.short_label or kpi.label})")
    assert "There are no exceptions in your districts and KPIs in this release." in made.text and made.exceptions == 0
    assert "Figures in this release" in made.text and "there is no earlier release to compare with" in made.text
    everyone = digest.build(Subscription(EVERYONE, (), (), False, "test", 0.0), db, first_release, BASE)
    assert everyone.lines > digest.MAX_LINES and f"{everyone.lines - digest.MAX_LINES} more on the KPI scorecard: " in everyone.text
    assert everyone.text.count("\n- ") == digest.MAX_LINES + everyone.exceptions


# --- protection -------------------------------------------------------------------------------------

def _label_area(line: str) -> tuple[str, str] | None:
    """The KPI and area a 'since the last release' sentence is about."""
    for kpi in catalogue.catalogue().values():
        for area, name in ref.GEOGRAPHY_NAMES.items():
            if line.startswith(f"- {kpi.label}, {name}: "):
                return kpi.id, area
    return None


def _headline(db, kpi: str, area: str) -> compare.Headline:
    f = default_filters(queries.data_extent(db))
    return compare.headline(db, kpi, f.with_(districts=() if area == ref.KENT_CODE else (area,)))


def test_every_figure_in_a_digest_is_the_protected_one(world, first):
    """Each sentence's figure is the headline the dashboard shows for that KPI and area (after
    protection), release 1's is release 1's, Kent's is Kent's; each exception's reason is the
    exception list's own words."""
    _, sent = first
    now, was = Releases(world).open(), Releases(world).open(1)
    checked = 0
    for msg in sent.values():
        text, _ = _bodies(msg)
        for line in _section(text, "Since the last release"):
            kpi, area = _label_area(line)
            h, before, kent = _headline(now, kpi, area), _headline(was, kpi, area), _headline(now, kpi, ref.KENT_CODE)
            body = line.split(": ", 1)[1]
            assert body.startswith("withheld" if h.suppressed else f"{h.display} in {h.label}"), line
            if "release 1 had " in body:
                assert f"release 1 had {'withheld' if before.suppressed else before.display}" in body, line
            if area != ref.KENT_CODE and "; Kent " in body:
                assert f"; Kent {kent.display}" in body, line
            checked += 1
        reasons = {a.reason for a in exceptions.alerts(now)}
        items = re.findall(r"^- .+?: .+? \((?:concerning|improving)\)\. (.+)\.$", text, flags=re.M)
        assert items and set(items) <= reasons
    assert checked > 20


def test_a_withheld_figure_gives_no_number(demo_path, tmp_path, monkeypatch):
    """With the threshold raised to 335, Swale's referrals are shown in release 2 (339 after
    protection) but withheld ([c]) in release 1: the sentence says release 1's is withheld, and
    release 1's count before protection appears nowhere in the digest."""
    monkeypatch.setenv("STLS_DISCLOSURE_THRESHOLD", "335")
    db = tmp_path / "stls.duckdb"
    shutil.copyfile(demo_path, db)
    Releases(db).start_over("demo build", "the synthetic demo")
    rel.load(_month_file(tmp_path, "2026-11"), "activity", db, by="cron")
    releases = Releases(db)
    now, was = releases.open(), releases.open(1)
    assert _headline(was, "referrals", SWALE).suppressed and not _headline(now, "referrals", SWALE).suppressed
    sub = Subscriptions(db).set(SWALE_ONLY, districts=(SWALE,))
    made = digest.build(sub, now, releases.current(), BASE, was, 1)
    con = duckdb.connect(str(releases.get(1).file), read_only=True)
    try:
        (raw,), = con.execute("SELECT sum(count) FROM activity WHERE district_code = ? AND activity_type = 'referral' "
                              "AND activity_date BETWEEN ? AND ?", [SWALE, dt.date(2026, 9, 1), dt.date(2026, 10, 31)]).fetchall()
    finally:
        con.close()
    assert raw >= 100, raw
    line = next(line for line in made.text.splitlines() if line.startswith("- Referrals, Swale: "))
    assert f"release 1 had {narrative.WITHHELD};" in line, line
    for body in (made.text, made.html):
        assert not re.search(rf"(?<![\d,.£]){raw}(?![\d,])|{raw:,}", body), raw
    withheld = [k for k in catalogue.catalogue() if _headline(now, k, SWALE).suppressed]
    for kpi in withheld:   # a figure withheld now is given no number at all
        assert not re.search(rf"^- {re.escape(catalogue.get(kpi).label)}, Swale: \d", made.text, flags=re.M)


# --- failures and retries ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def third(world, first):
    """Release 3: a month of December referrals (after the first run has sent release 2)."""
    report, release = rel.load(_month_file(world.parent, "2026-12", "dec.csv"), "activity", world, by="cron", earlier=True)
    assert report.status == "loaded" and release.number == 3, report.message
    return release


def test_a_refused_address_is_recorded_retried_and_the_rest_still_go(world, good, third, monkeypatch):
    """Release 3 through a server that refuses one address (550) and drops the connection on
    another's message (421): both recorded as failed with the server's words, the others sent (the
    pack without its PDF, which cannot be made here, and saying so); the next run sends those two."""
    from stls.present import report as pdf
    monkeypatch.setattr(pdf, "chromium", lambda: None)
    refusing = _server(Refuse(SWALE_ONLY, EVERYONE))
    try:
        done = _run(world, refusing)
        sent = _sent(refusing)
    finally:
        refusing.stop()
    outcomes = {o.email: o for o in done.outcomes}
    assert outcomes[SWALE_ONLY].status == "failed" and "refused the address: 550 5.1.1 no such mailbox here" in outcomes[SWALE_ONLY].detail
    assert outcomes[EVERYONE].status == "failed" and "421" in outcomes[EVERYONE].detail
    assert sorted(sent) == sorted([REFERRALS_ONLY, WITH_PACK])            # after the dropped connection, a new one
    text, page = _bodies(sent[WITH_PACK])
    assert sent[WITH_PACK].get_content_type() == "multipart/alternative"   # no attachment
    assert "The meeting pack is not attached this time: PDF needs Chromium" in text and "Meeting mode: " in page
    assert "Since the last release (release 2)" in text
    recorded = {(e, r): (s, d) for e, r, _, s, d in Subscriptions(world).sends()}
    assert recorded[(SWALE_ONLY, 3)][0] == "failed" and "550" in recorded[(SWALE_ONLY, 3)][1]
    assert recorded[(EVERYONE, 3)][0] == "failed"
    assert not Subscriptions(world).was_sent(SWALE_ONLY, 3)
    retry = _run(world, good)
    assert sorted(o.email for o in retry.outcomes if o.status == "sent") == [EVERYONE, SWALE_ONLY]
    assert sorted(_sent(good)) == [EVERYONE, SWALE_ONLY] and retry.already == 2
    assert Subscriptions(world).was_sent(SWALE_ONLY, 3)


def test_the_command_line_exits_1_when_a_send_failed(world, third, capsys, monkeypatch):
    Subscriptions(world).set("nobody@kent.gov.uk")
    refusing = _server(Refuse("nobody@kent.gov.uk", "-"))
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    try:
        assert cli.main(["notify", "--smtp", f"127.0.0.1:{refusing.port}", "--db", str(world)]) == 1
    finally:
        refusing.stop()
    err = capsys.readouterr().err
    assert "1 failed" in err and "failed     nobody@kent.gov.uk: the server refused the address: 550" in err
    assert "tried again on the next run" in err
    Subscriptions(world).remove("nobody@kent.gov.uk")


def test_someone_who_unsubscribes_during_a_run_is_not_sent_to(world, good, third, monkeypatch):
    subs = Subscriptions(world)
    subs.set("early@kent.gov.uk")
    subs.set("late@kent.gov.uk")
    subs.set("self@kent.gov.uk")
    real = digest.build

    def build(sub, *args, **kwargs):   # while early's digest is made, late and self unsubscribe
        if sub.email == "early@kent.gov.uk":
            subs.remove("late@kent.gov.uk")
        if sub.email == "self@kent.gov.uk":   # ... and self while its own is made
            subs.remove("self@kent.gov.uk")
        return real(sub, *args, **kwargs)

    monkeypatch.setattr(digest, "build", build)
    done = _run(world, good)
    mine = ("early@kent.gov.uk", "late@kent.gov.uk", "self@kent.gov.uk")   # others the module set up may be sent too
    assert {o.email: o.status for o in done.outcomes if o.email in mine} == {
        "early@kent.gov.uk": "sent", "late@kent.gov.uk": "removed", "self@kent.gov.uk": "removed"}
    assert [e for e in sorted(_sent(good)) if e in mine] == ["early@kent.gov.uk"]
    assert not {e for e, *_ in subs.sends()} & {"late@kent.gov.uk", "self@kent.gov.uk"}
