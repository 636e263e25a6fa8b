"""``python -m stls ...``: exit 0 on success, non-zero with a message on stderr otherwise."""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
from pathlib import Path

# the kinds of file ``import`` takes: store.ingest.schema.KINDS, written out so that starting the
# server does not import pandas (tests/test_concepts.py keeps the two the same)
IMPORT_KINDS = ["activity", "attainment", "sen_pupils", "settings", "setting_outcomes", "budget", "published"]


class CliError(Exception):
    """A problem to report to the user in one line, without a traceback."""


def _month(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a month such as 2026-10") from None


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1
    if value <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a positive number")
    return value


def _effect(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not -30 <= value <= 30:
        raise argparse.ArgumentTypeError(f"'{text}' is not an effect from -30 to 30 percentage points")
    return value


def cmd_demo(args) -> int:
    from stls.store.demo import build_demo
    started = time.perf_counter()
    counts = build_demo(args.db, seed=args.seed, scale=args.scale, until=args.until, effect=args.effect)
    took = time.perf_counter() - started
    print(f"Built the synthetic demo database at {args.db} in {took:.1f} s")
    for table, rows in counts.items():
        print(f"  {table:<12} {rows:>12,} rows")
    return 0


def _district(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    import difflib

    from stls import reference as ref
    code = ref.district_lookup().get(ref.normalise_name(text))
    if code in ref.DISTRICT_NAMES:
        return (code,)
    if code == ref.KENT_CODE:
        return ()
    near = difflib.get_close_matches(text.strip().title(), list(ref.DISTRICT_NAMES.values()), n=1)
    hint = f" Did you mean '{near[0]}'?" if near else ""
    raise CliError(f"unknown district '{text}': expected one of Kent's 12 districts "
                   f"(a name such as 'Swale' or an ONS code such as E07000113).{hint}")


def _release_db(args):
    """The database a command reads: ``--release N``'s file, or the current one (recorded as a
    release if it is not yet one); with the release it is."""
    from stls.store.releases import ReleaseError, Releases, command_line_actor
    releases = Releases(args.db)
    try:
        if getattr(args, "release", None) is not None:
            return releases.open(args.release), releases.get(args.release)
        current = releases.ensure_current(command_line_actor())
        return releases.open(), current
    except ReleaseError as exc:
        raise CliError(str(exc)) from None


def _filters_for(args):
    from stls import reference as ref
    from stls.filters import Filters
    from stls.store import queries
    db, release = _release_db(args)
    args.release_shown = release
    extent = queries.data_extent(db)
    if extent["first_month"] is None:
        raise CliError(f"{args.db} holds no activity data yet: load some with 'python -m stls import'")
    year = extent["last_year"] if extent["last_month"].month == 8 else max(extent["first_year"], extent["last_year"] - 1)
    if args.year:
        try:
            year = ref.parse_academic_year(args.year)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        if not extent["first_year"] <= year <= extent["last_year"]:
            raise CliError(f"no data for {ref.academic_year_label(year)}: the database covers "
                           f"{ref.academic_year_label(extent['first_year'])} to {ref.academic_year_label(extent['last_year'])}")
    return db, Filters(extent["first_year"], year, _district(args.district))


def cmd_kpis(args) -> int:
    import json

    from stls.kpi.line import scorecard
    from stls.store import disclosure
    started = time.perf_counter()
    db, f = _filters_for(args)
    table = scorecard(db, f)
    took = time.perf_counter() - started
    release = args.release_shown
    as_at = release.figures_as_at if release else "Figures not yet published as a release"
    if args.format == "csv":
        from stls.present.export import to_csv
        sys.stdout.write(to_csv(table, "STLS KPI scorecard", f.caption(), release=as_at).decode("utf-8-sig"))
    elif args.format == "json":
        print(json.dumps({"filters": f.caption(), "release": release.number if release else None, "figures_as_at": as_at,
                          "kpis": table.to_dict(orient="records")}, ensure_ascii=False, indent=1))
    else:
        cols = ["id", "period", "value", "target", "rag", "change", "direction", "variation", "assurance"]
        print(f"STLS KPI scorecard: {f.caption()}")
        print(f"{as_at}.")
        print(table[cols].to_string(index=False, max_colwidth=38))
        print(f"({len(table)} KPIs in {took:.2f} s; [c] confidential, [x] not available, [z] not applicable)")
        print(f"{disclosure.ADDITIVITY_NOTE} Method: {disclosure.METHOD_DOC}.")
    return 0


def cmd_import(args) -> int:
    from stls.store import releases as rel
    if not args.file.is_file():
        raise CliError(f"{args.file}: no such file")
    started = time.perf_counter()
    try:
        report, into = rel.load(args.file, args.kind, args.db, by=rel.command_line_actor(), draft=args.draft,
                                note=args.note or "", replace=args.replace, dry_run=args.dry_run, earlier=args.earlier)
    except rel.ReleaseError as exc:
        raise CliError(str(exc)) from None
    took = time.perf_counter() - started
    stream = sys.stdout if report.ok else sys.stderr
    print("\n".join(report.lines()), file=stream)
    if isinstance(into, rel.Release):
        print(f"Published as {into.label}.", file=stream)
    elif isinstance(into, rel.Draft):
        print(f"Held as a draft (begun from release {into.base}): only data owners and administrators see it. Review it "
              "on the Data page or with 'python -m stls releases', then 'python -m stls publish' or 'python -m stls discard'.",
              file=stream)
    print(f"({took:.2f} s)", file=stream)
    return 0 if report.ok else 1


def cmd_exceptions(args) -> int:
    """The exception list of a release (the current one by default), the same as the Exceptions page."""
    import json

    from stls.analysis import exceptions
    db, release = _release_db(args)
    found = exceptions.alerts(db)
    table = exceptions.table(found)
    as_at = release.figures_as_at if release else "Figures not yet published as a release"
    if args.format == "csv":
        from stls.present.export import to_csv
        sys.stdout.write(to_csv(table, "STLS exceptions", "Kent and each district", release=as_at).decode("utf-8-sig"))
    elif args.format == "json":
        print(json.dumps({"release": release.number if release else None, "figures_as_at": as_at,
                          "exceptions": table.to_dict(orient="records")}, ensure_ascii=False, indent=1))
    else:
        print(f"STLS exceptions: {as_at}; {len(found)} exception{'s' * (len(found) != 1)}.")
        for (indicator, area), rows in table.groupby(["Indicator", "Area"], sort=False):
            for row in rows.itertuples():
                print(f"- {indicator}, {area}: {row.Rule.lower()}: {row.Reason} ({row.Concern})")
    return 0


def _size(n: int) -> str:
    return f"{n / 2**20:,.1f} MB"


def cmd_releases(args) -> int:
    from stls.store.releases import Releases, long_date
    releases = Releases(args.db)
    current, draft = releases.current(), releases.draft()
    shown = releases.all()
    if not shown:
        print("No releases yet: the first data loaded (or the demo's build) is release 1.")
    for r in shown:
        mark = "current" if current and r.number == current.number else ("kept" if r.kept else "not kept")
        imports = ", ".join(str(i) for i in r.imports) or "none"
        print(f"{r.number:>4}  {long_date(r.published_at):<17} {mark:<8} {_size(r.size):>9}  by {r.by}; imports {imports}"
              + (f"; {r.note}" if r.note else ""))
    if draft:
        print(f"Draft: begun {long_date(draft.created_at)} by {draft.by} from release {draft.base}; imports "
              f"{', '.join(str(i) for i in draft.imports) or 'none loaded yet'}")
    print(f"Kept releases use {_size(releases.disk_use())} beyond the current data file.")
    return 0


def cmd_publish(args) -> int:
    from stls.store.releases import ReleaseError, Releases, command_line_actor
    try:
        release = Releases(args.db).publish(command_line_actor(), args.note or "")
    except ReleaseError as exc:
        raise CliError(str(exc)) from None
    print(f"Published {release.label}" + (f": {release.note}" if release.note else "") + ".")
    return 0


def cmd_discard(args) -> int:
    from stls.store.releases import ReleaseError, Releases
    try:
        draft = Releases(args.db).discard()
    except ReleaseError as exc:
        raise CliError(str(exc)) from None
    print(f"Discarded the draft begun from release {draft.base} (imports {', '.join(map(str, draft.imports)) or 'none'}); "
          "the published data is unchanged.")
    return 0


def cmd_imports(args) -> int:
    from stls.store import queries
    from stls.store.db import Database
    log = queries.import_log(Database(args.db), newest_first=False).rename(columns={"import_id": "id"})
    if log.empty:
        print("No imports yet.")
        return 0
    log["message"] = log["message"].str.slice(0, 70)
    print(log.to_string(index=False))
    return 0


def cmd_key(args) -> int:
    import getpass
    import hashlib
    key = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("Import key: ")
    from stls.access.rules import import_key_problem
    problem = import_key_problem(key)
    if problem:
        raise CliError(f"choose another key: {problem}")
    print(hashlib.sha256(key.encode("utf-8")).hexdigest())
    return 0


def cmd_pack(args) -> int:
    from stls.present import pack
    started = time.perf_counter()
    db, f = _filters_for(args)
    spotlights = tuple(c for text in (args.spotlight or []) for c in _district(text))
    suffix = args.out.suffix.lower()
    if suffix not in (".pptx", ".html", ".pdf"):
        raise CliError(f"{args.out}: the pack is written as .pptx, .html or .pdf; choose one of those endings")
    try:
        release = args.release_shown
        data = pack.build(db, f, suffix.lstrip("."), spotlights or f.districts, release.figures_as_at if release else "")
    except pack.PdfUnavailable as exc:
        raise CliError(str(exc)) from None
    args.out.write_bytes(data)
    print(f"Wrote {args.out} ({len(data) / 1024:,.0f} KB) in {time.perf_counter() - started:.1f} s: {f.caption()}")
    return 0


def cmd_check(args) -> int:
    """Read the whole database (every table, every block: ``stls.store.db.verify``); exit 2 saying what
    is wrong, for a file that cannot be read whole."""
    from stls.store import db as dbmod
    if not args.db.exists():
        raise CliError(f"{args.db}: no such file")
    started = time.perf_counter()
    rows = dbmod.verify(args.db)
    print(f"{args.db}: sound: {len(rows)} tables, {sum(rows.values()):,} rows read in full "
          f"in {time.perf_counter() - started:.2f} s")
    return 0


def _subscription_scope(sub) -> str:
    from stls.present.digest import scope_words
    areas, kpis = scope_words(sub)
    return f"{areas}, {kpis}" + (", with the meeting pack (PDF)" if sub.pack else "")


def cmd_subscribe(args) -> int:
    """Subscribe an address to the digest of exceptions (or change what it receives)."""
    from stls.store.releases import command_line_actor
    from stls.store.subscriptions import SubscriptionError, Subscriptions
    if not args.db.exists():
        raise CliError(f"{args.db}: no such file")
    districts: list[str] = []
    for name in args.districts or []:
        codes = _district(name)
        if not codes:
            raise CliError(f"'{name}' is Kent, which is every district: leave out --districts to subscribe to Kent "
                           "and all twelve districts")
        districts += codes
    try:
        sub = Subscriptions(args.db).set(args.email, tuple(districts), tuple(args.kpis or ()), args.pack, command_line_actor())
    except SubscriptionError as exc:
        raise CliError(str(exc)) from None
    print(f"Subscribed {sub.email}: {_subscription_scope(sub)}. A digest of the exceptions comes once for each new "
          "release, sent by 'python -m stls notify'.")
    return 0


def cmd_unsubscribe(args) -> int:
    from stls.store.subscriptions import SubscriptionError, Subscriptions
    try:
        removed = Subscriptions(args.db).remove(args.email)
    except SubscriptionError as exc:
        raise CliError(str(exc)) from None
    email = args.email.strip().lower()
    print(f"Unsubscribed {email}: no more digests." if removed else f"{email} was not subscribed: nothing to do.")
    return 0


def cmd_subscriptions(args) -> int:
    """Who gets the digest, of what, and the last release each was sent (or why it failed)."""
    from stls.store.releases import long_date
    from stls.store.subscriptions import Subscriptions
    subs = Subscriptions(args.db)
    shown = subs.all()
    if not shown:
        print("No subscriptions: add one with 'python -m stls subscribe name@kent.gov.uk' or on the Exceptions page.")
        return 0
    last: dict[str, tuple[int, float, str, str]] = {}
    for email, release, at, status, detail in subs.sends():   # oldest first: the last one stays
        last[email] = (release, at, status, detail)
    for sub in shown:
        sent = last.get(sub.email)
        said = "nothing sent yet" if sent is None else (
            f"release {sent[0]} sent {long_date(sent[1])}" if sent[2] == "sent"
            else f"release {sent[0]} failed {long_date(sent[1])}: {sent[3]} (tried again on the next run)")
        print(f"{sub.email}: {_subscription_scope(sub)}; since {long_date(sub.at)} by {sub.by or 'unknown'}; {said}")
    print(f"({len(shown)} subscription{'s' * (len(shown) != 1)})")
    return 0


def cmd_notify(args) -> int:
    """E-mail each subscriber the current release's digest, once; exit 1 if any send failed."""
    from stls import notify
    started = time.perf_counter()
    try:
        report = notify.notify(args.db, notify.settings(args.smtp), dry_run=args.dry_run)
    except notify.NotifyError as exc:
        raise CliError(str(exc)) from None
    stream = sys.stderr if report.failed else sys.stdout
    print("\n".join(report.lines()), file=stream)
    print(f"({time.perf_counter() - started:.1f} s)", file=stream)
    return 1 if report.failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m stls", description="STLS Insight command line")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="build the synthetic demo database")
    demo.add_argument("--scale", type=_positive, default=1.0,
                      help="multiply activity rows (16 gives about 10 million)")
    demo.add_argument("--seed", type=int, default=None, help="random seed (same seed, same tables)")
    demo.add_argument("--until", type=_month, default=None,
                      help="last month of activity, YYYY-MM (default: the last complete month)")
    demo.add_argument("--effect", type=_effect, default=None,
                      help="planted effect of Intensive Specialist Support on SEN-support pupils' KS2 results, "
                           "percentage points (default 6; 0 allowed; stored in the database's meta as impact_truth)")
    demo.set_defaults(func=cmd_demo)
    kpis = sub.add_parser("kpis", help="print the KPI scorecard")
    kpis.add_argument("--district", help="a district name or ONS code (default: Kent)")
    kpis.add_argument("--year", help="academic year such as 2024/25 (default: the latest complete year)")
    kpis.add_argument("--format", choices=["table", "csv", "json"], default="table")
    kpis.add_argument("--release", type=int, help="the figures of release N (default: the current release)")
    kpis.set_defaults(func=cmd_kpis)
    imp = sub.add_parser("import", help="check and load a data file (CSV or XLSX)")
    imp.add_argument("kind", choices=IMPORT_KINDS)
    imp.add_argument("file", type=Path)
    imp.add_argument("--replace", action="store_true", help="swap rows already loaded for the same period")
    imp.add_argument("--dry-run", action="store_true", help="check only; write nothing")
    imp.add_argument("--earlier", action="store_true",
                     help="allow activity more than 12 months before the earliest already held (loading older history)")
    imp.add_argument("--draft", action="store_true", help="hold the load as a draft for review instead of publishing it")
    imp.add_argument("--note", help="a one-line note for the release (why the data changed)")
    imp.set_defaults(func=cmd_import)
    sub.add_parser("releases", help="list the releases and the draft").set_defaults(func=cmd_releases)
    exc = sub.add_parser("exceptions", help="list the exceptions: special causes, failing assurance, red, worse than "
                         "Kent and getting worse, data quality")
    exc.add_argument("--release", type=int, help="the exceptions of release N (default: the current release)")
    exc.add_argument("--format", choices=["table", "csv", "json"], default="table")
    exc.set_defaults(func=cmd_exceptions)
    pub = sub.add_parser("publish", help="publish the draft as the next release")
    pub.add_argument("--note", help="a one-line note: what changed and why (revisions are explained here)")
    pub.set_defaults(func=cmd_publish)
    sub.add_parser("discard", help="drop the draft; the published data is unchanged").set_defaults(func=cmd_discard)
    sub.add_parser("imports", help="list the import log").set_defaults(func=cmd_imports)
    pk = sub.add_parser("pack", help="write the meeting pack (.pptx, .html or .pdf)")
    pk.add_argument("--district", help="a district name or ONS code (default: Kent)")
    pk.add_argument("--year", help="academic year such as 2024/25 (default: the latest complete year)")
    pk.add_argument("--spotlight", action="append", help="a district to spotlight (repeatable)")
    pk.add_argument("--out", type=Path, required=True, help="output file: .pptx, .html or .pdf")
    pk.add_argument("--release", type=int, help="the figures of release N (default: the current release)")
    pk.set_defaults(func=cmd_pack)
    sub.add_parser("check", help="read the whole database file and say whether it is sound "
                   "(exit 2 if it is damaged)").set_defaults(func=cmd_check)
    sub.add_parser("key", help="print the SHA-256 hash of an import key (read from standard input)").set_defaults(func=cmd_key)
    sb = sub.add_parser("subscribe", help="e-mail an address the digest of exceptions for each new release "
                        "(or change what it receives)")
    sb.add_argument("email", help="the address, such as name@kent.gov.uk")
    sb.add_argument("--districts", nargs="+", metavar="DISTRICT",
                    help="district names or ONS codes (default: Kent and all twelve districts)")
    sb.add_argument("--kpis", nargs="+", metavar="KPI", help="KPI ids, as 'kpis' lists them (default: every KPI)")
    sb.add_argument("--pack", action="store_true", help="attach the meeting pack as a PDF")
    sb.set_defaults(func=cmd_subscribe)
    un = sub.add_parser("unsubscribe", help="stop an address's digest")
    un.add_argument("email", help="the address")
    un.set_defaults(func=cmd_unsubscribe)
    sub.add_parser("subscriptions", help="list who gets the digest, of what, and what was last sent to each"
                   ).set_defaults(func=cmd_subscriptions)
    nt = sub.add_parser("notify", help="e-mail each subscriber the digest of the current release, once "
                        "(run after each publish, or on a timer)")
    nt.add_argument("--smtp", required=True, metavar="HOST:PORT", help="the SMTP server, such as smtp.kent.gov.uk:587 "
                    "(sender and login: STLS_SMTP_FROM, STLS_SMTP_STARTTLS, STLS_SMTP_USER, STLS_SMTP_PASSWORD)")
    nt.add_argument("--dry-run", action="store_true", help="say what would be sent to whom; send and record nothing")
    nt.set_defaults(func=cmd_notify)
    for p in sub.choices.values():
        p.add_argument("--db", type=Path, default=None, help="database file (default: $STLS_DB or data/stls.duckdb)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:  # everything after 'serve' goes to streamlit run
        from stls.ui.serve import main as serve
        return serve(argv[1:])
    from stls.store.db import default_path  # after 'serve': pandas and DuckDB would delay the server
    db_log = logging.getLogger("stls.store.db")   # it logs a damaged file for a server's log; here the error line says it
    if not db_log.handlers:
        db_log.addHandler(logging.NullHandler())
    args = build_parser().parse_args(argv)
    args.db = args.db or default_path()
    if getattr(args, "seed", 0) is None:
        from stls.store.demo import DEFAULT_SEED
        args.seed = DEFAULT_SEED
    if args.command == "demo" and args.effect is None:
        from stls.store.demo.impact import DEFAULT_EFFECT
        args.effect = DEFAULT_EFFECT
    from stls.store.db import DatabaseError
    try:
        return args.func(args)
    except (CliError, DatabaseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:   # a full disk, a read-only folder: one line, not a traceback
        print(f"error: {exc.filename or args.db}: {exc.strerror or exc}", file=sys.stderr)
        return 2
