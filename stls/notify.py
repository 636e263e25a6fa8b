"""``python -m stls notify``: e-mail each subscriber the digest of the current release, once.

The SMTP server is ``--smtp HOST:PORT``; the rest comes from the environment: ``STLS_SMTP_FROM``
(the sender's address, required), ``STLS_SMTP_STARTTLS`` (1, the default, or 0 for a relay on a
trusted network), ``STLS_SMTP_USER`` and ``STLS_SMTP_PASSWORD`` (both or neither), and
``STLS_PUBLIC_URL`` (the dashboard's address, for the links). All are checked before anything is
built or sent, and the server is reached, greeted and logged in to, so a wrong setting is one line
naming it, not a half-sent run.

Each subscriber is sent the current release's digest unless it was sent before (``Subscriptions.
was_sent``): a failed attempt (a refused address, a dropped connection) is recorded with its reason
and tried again on the next run, and the others still go out. The subscription is read again just
before each send, so someone who unsubscribes while a run is going is not sent to. One run at a
time per data file (a lock beside it). The digest itself: ``stls.present.digest``; docs/notify.md.
"""
from __future__ import annotations

import fcntl
import ipaddress
import os
import smtplib
import ssl
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import urlsplit

from stls.present import digest, report
from stls.store.db import Database
from stls.store.releases import Release, Releases, command_line_actor
from stls.store.subscriptions import Subscription, SubscriptionError, Subscriptions, check_email

TIMEOUT = 30            # seconds to wait for the SMTP server at each step
SENDER_NAME = "STLS Insight"
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


class NotifyError(Exception):
    """A setting or server problem found before sending, said in one line."""


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    sender: str                             # the address alone
    sender_name: str = SENDER_NAME
    starttls: bool = True
    user: str = ""
    password: str = field(default="", repr=False)

    @property
    def where(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def host_port(spec: str) -> tuple[str, int]:
    """'smtp.kent.gov.uk:587' or '[::1]:25' as (host, port); a clear refusal otherwise."""
    host, _, port = spec.strip().rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not host or any(c.isspace() or c in "/@[]" for c in host) or not port.isdigit() or not 0 < int(port) < 65536:
        raise NotifyError(f"--smtp {spec!r} is not HOST:PORT, such as smtp.kent.gov.uk:587 (a port from 1 to 65535)")
    return host, int(port)


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in TRUE | FALSE:
        raise NotifyError(f"{name} must be 1 or 0 (it is {raw!r})")
    return raw in TRUE


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def settings(spec: str, env: Mapping[str, str] | None = None) -> Smtp:
    """The SMTP settings from ``--smtp HOST:PORT`` and the environment, checked (not yet connected)."""
    env = os.environ if env is None else env
    host, port = host_port(spec)
    raw_from = env.get("STLS_SMTP_FROM", "").strip()
    if not raw_from:
        raise NotifyError("STLS_SMTP_FROM is not set: it is the digest's sender address, such as stls-insight@kent.gov.uk")
    name, address = parseaddr(raw_from)
    try:
        address = check_email(address or raw_from)
    except SubscriptionError:
        raise NotifyError(f"STLS_SMTP_FROM {raw_from!r} is not an e-mail address such as stls-insight@kent.gov.uk") from None
    starttls = _flag(env, "STLS_SMTP_STARTTLS", True)
    user, password = env.get("STLS_SMTP_USER", ""), env.get("STLS_SMTP_PASSWORD", "")
    if user and not password:
        raise NotifyError("STLS_SMTP_USER is set but STLS_SMTP_PASSWORD is not: set both to log in, or neither")
    if password and not user:
        raise NotifyError("STLS_SMTP_PASSWORD is set but STLS_SMTP_USER is not: set both to log in, or neither")
    if user and not starttls and not _loopback(host):
        raise NotifyError("STLS_SMTP_USER is set with STLS_SMTP_STARTTLS=0: the password would cross the network "
                          "unencrypted; use STARTTLS (usually port 587)")
    return Smtp(host, port, address, name or SENDER_NAME, starttls, user, password)


def public_url(env: Mapping[str, str] | None = None) -> str:
    """The dashboard's address for the digest's links (``STLS_PUBLIC_URL``), without a final '/'."""
    env = os.environ if env is None else env
    raw = env.get("STLS_PUBLIC_URL", "").strip()
    if not raw:
        raise NotifyError("STLS_PUBLIC_URL is not set: the digest's links need the dashboard's address, "
                          "such as https://stls.kent.gov.uk")
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise NotifyError(f"STLS_PUBLIC_URL {raw!r} is not the dashboard's address, such as https://stls.kent.gov.uk")
    return raw.rstrip("/")


def _reason(exc: BaseException) -> str:
    """An SMTP or network error in words: '550 5.1.1 no such user', 'Connection refused'."""
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {text}".strip()
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def connect(smtp: Smtp) -> smtplib.SMTP:
    """A connection greeted, with STARTTLS and logged in as set; ``NotifyError`` naming the step that failed."""
    try:
        con = smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT)
    except (OSError, smtplib.SMTPException) as exc:
        raise NotifyError(f"cannot reach the SMTP server {smtp.where}: {_reason(exc)}") from None
    try:
        con.ehlo()
        if smtp.starttls:
            if not con.has_extn("starttls"):
                raise NotifyError(f"the SMTP server {smtp.where} does not offer STARTTLS: set STLS_SMTP_STARTTLS=0 "
                                  "only for a relay on a trusted network")
            con.starttls(context=ssl.create_default_context())
            con.ehlo()
        if smtp.user:
            con.login(smtp.user, smtp.password)
        return con
    except smtplib.SMTPAuthenticationError as exc:
        _close(con)
        raise NotifyError(f"the SMTP server {smtp.where} refused the login for {smtp.user}: {_reason(exc)}") from None
    except ssl.SSLError as exc:
        _close(con)
        raise NotifyError(f"STARTTLS with the SMTP server {smtp.where} failed: {_reason(exc)}") from None
    except (OSError, smtplib.SMTPException) as exc:
        _close(con)
        raise NotifyError(f"the SMTP server {smtp.where} did not accept the connection: {_reason(exc)}") from None
    except NotifyError:
        _close(con)
        raise


def _close(con: smtplib.SMTP) -> None:
    try:
        con.quit()
    except (OSError, smtplib.SMTPException):
        con.close()


def check(smtp: Smtp) -> None:
    """Reach the server, greet it, STARTTLS and log in as set, and leave: a setting that is wrong
    is found before anything is built or sent."""
    _close(connect(smtp))


class _Sender:
    """One connection for the run, opened when first needed and opened again after the server
    drops it (a NOOP before each message finds a connection that has gone quiet)."""

    def __init__(self, smtp: Smtp) -> None:
        self.smtp = smtp
        self.con: smtplib.SMTP | None = None

    def send(self, msg: EmailMessage) -> None:
        if self.con is not None:
            try:
                alive = self.con.noop()[0] == 250
            except (OSError, smtplib.SMTPException):
                alive = False
            if not alive:
                self.close()
        if self.con is None:
            self.con = connect(self.smtp)
        try:
            self.con.send_message(msg)
        except (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError):
            self.close()
            raise

    def close(self) -> None:
        if self.con is not None:
            _close(self.con)
            self.con = None


def _failure(exc: BaseException) -> str:
    """Why a message did not go, for the record and the report."""
    if isinstance(exc, NotifyError):
        return str(exc)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "the server refused the address: " + "; ".join(_reason(smtplib.SMTPResponseException(code, text))
                                                               for code, text in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"the server refused the sender {exc.sender}: {_reason(exc)}"
    if isinstance(exc, smtplib.SMTPDataError):
        return f"the server refused the message: {_reason(exc)}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"the server closed the connection: {_reason(exc)}"
    return f"sending failed: {_reason(exc)}"


def message(d: digest.Digest, to: str, smtp: Smtp, base_url: str) -> EmailMessage:
    """The e-mail: plain text and HTML as alternatives, the PDF pack attached when there is one."""
    msg = EmailMessage()
    msg["Subject"] = d.subject
    msg["From"] = formataddr((smtp.sender_name, smtp.sender))
    msg["To"] = to
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=smtp.sender.rpartition("@")[2])
    msg["Auto-Submitted"] = "auto-generated"          # RFC 3834: no out-of-office replies
    msg["List-Unsubscribe"] = f"<{base_url}/exceptions>"
    msg.set_content(d.text)
    msg.add_alternative(d.html, subtype="html")
    if d.attachment is not None:
        msg.add_attachment(d.attachment, maintype="application", subtype="pdf", filename=d.attachment_name)
    return msg


STATUS_WORDS = {"sent": "sent", "failed": "failed", "would send": "to send", "removed": "unsubscribed during the run"}


@dataclass(frozen=True)
class Outcome:
    email: str
    status: str        # sent | failed | would send | removed
    detail: str


@dataclass
class Report:
    release: Release
    dry_run: bool
    outcomes: list[Outcome] = field(default_factory=list)
    already: int = 0   # subscribers already sent this release

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def lines(self) -> list[str]:
        counts: dict[str, int] = {}
        for o in self.outcomes:
            counts[o.status] = counts.get(o.status, 0) + 1
        said = ", ".join(f"{n} {STATUS_WORDS[status]}" for status, n in counts.items()) or "nothing to send"
        head = f"{'Dry run: nothing sent or recorded. ' if self.dry_run else ''}Digest of {self.release.label}: {said}"
        out = [head + (f"; {self.already} already sent this release." if self.already else ".")]
        out += [f"  {o.status:<10} {o.email}: {o.detail}" for o in self.outcomes]
        if self.failed and not self.dry_run:
            out.append("Failed sends are recorded and tried again on the next run.")
        return out


@contextmanager
def _one_run(data_path: Path) -> Iterator[None]:
    """One notify at a time for a data file (two at once could send a digest twice)."""
    data_path.parent.mkdir(parents=True, exist_ok=True)
    with open(data_path.with_name(f".{data_path.name}.notify.lock"), "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise NotifyError(f"another 'python -m stls notify' is running for {data_path}: try again when it has finished") from None
        yield


class _Run:
    """A run's state: the release, what it is compared with, the connection, the packs made."""

    def __init__(self, data_path: Path, smtp: Smtp, dry_run: bool, base_url: str, release: Release) -> None:
        releases = Releases(data_path)
        self.smtp, self.dry_run, self.base_url, self.release = smtp, dry_run, base_url, release
        self.subs = Subscriptions(data_path)
        # the release's own kept file: a release published while the run goes cannot mix its figures in
        self.db: Database = Database(release.file) if release.file.exists() else releases.open()
        earlier = [r for r in releases.all() if r.kept and r.number < release.number and r.file.exists()]
        self.before: int | None = earlier[-1].number if earlier else None
        self.before_db: Database | None = releases.open(self.before) if self.before else None
        self.sender = _Sender(smtp)
        self.packs: dict[tuple[str, ...], bytes | str] = {}   # by districts: the PDF, or why it could not be made

    def pack(self, sub: Subscription) -> tuple[bytes | None, str]:
        """The PDF pack for ``sub`` (made once per set of districts), or None with the reason in words."""
        if not sub.pack:
            return None, ""
        if sub.districts not in self.packs:
            from stls.present.pack import PdfUnavailable
            try:
                if report.chromium() is None:   # said before the slides are made, not after
                    raise PdfUnavailable("PDF needs Chromium on the server (Debian package 'chromium'), which is not installed")
                self.packs[sub.districts] = digest.pack_pdf(self.db, sub, self.release, self.before_db, self.before)
            except PdfUnavailable as exc:
                self.packs[sub.districts] = str(exc)
            except (subprocess.SubprocessError, OSError) as exc:
                self.packs[sub.districts] = f"making the PDF failed ({_reason(exc)})"
        made = self.packs[sub.districts]
        if isinstance(made, bytes):
            return made, ""
        return None, (f"The meeting pack is not attached this time: {made.rstrip('.')}. Download it from Meeting mode: "
                      f"{digest.absolute(self.base_url, 'meeting?', self.release.number)}")

    def made_for(self, sub: Subscription, attachment: bytes | None = None, note: str = "") -> digest.Digest:
        return digest.build(sub, self.db, self.release, self.base_url, self.before_db, self.before, attachment, note)

    def one(self, email: str) -> Outcome:
        """Send (or, in a dry run, describe) one subscriber's digest, and record what happened."""
        sub = self.subs.get(email)
        if sub is None:
            return Outcome(email, "removed", "unsubscribed while the run was going: not sent")
        if self.dry_run:
            return self._describe(sub)
        attachment, note = self.pack(sub)
        made = self.made_for(sub, attachment, note)
        if self.subs.get(email) is None:   # unsubscribed while the digest was being made
            return Outcome(email, "removed", "unsubscribed while the run was going: not sent")
        try:
            self.sender.send(message(made, sub.email, self.smtp, self.base_url))
        except (NotifyError, OSError, smtplib.SMTPException) as exc:   # SMTPException is an OSError too
            detail = _failure(exc)
            self.subs.record_send(email, self.release.number, "failed", detail)
            return Outcome(email, "failed", detail)
        extra = "; with the meeting pack (PDF)" if attachment else ("; without the pack: the PDF could not be made" if note else "")
        self.subs.record_send(email, self.release.number, "sent", f"{made.subject}{extra}")
        return Outcome(email, "sent", f"{made.subject}{extra}")

    def _describe(self, sub: Subscription) -> Outcome:
        made = self.made_for(sub)
        pack = ""
        if sub.pack:
            pack = "; with the meeting pack (PDF)" if report.chromium() else "; the pack cannot be made here (no Chromium): sent without it"
        return Outcome(sub.email, "would send", f"{made.subject} ({made.exceptions} exception{'s' * (made.exceptions != 1)}, "
                       f"{made.lines} sentence{'s' * (made.lines != 1)} since the last release{pack})")


def notify(data_path: Path | str, smtp: Smtp, dry_run: bool = False, env: Mapping[str, str] | None = None) -> Report:
    """Send each subscriber the digest of the current release, once; a dry run sends and records
    nothing and says what would be sent to whom. ``NotifyError`` for a problem found before sending."""
    data_path = Path(data_path)
    base_url = public_url(env)
    if not data_path.exists():
        raise NotifyError(f"{data_path}: no such file")
    with _one_run(data_path):
        check(smtp)
        release = Releases(data_path).ensure_current(command_line_actor())
        if release is None:
            raise NotifyError(f"{data_path} holds no data yet, so there is no release to send")
        subs = Subscriptions(data_path)
        everyone = subs.all()
        waiting = [s.email for s in everyone if not subs.was_sent(s.email, release.number)]
        run = _Run(data_path, smtp, dry_run, base_url, release)
        done = Report(release, dry_run, already=len(everyone) - len(waiting))
        try:
            done.outcomes = [run.one(email) for email in waiting]
        finally:
            run.sender.close()
        return done
