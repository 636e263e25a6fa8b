"""``python -m stls ...``: exit 0 on success, non-zero with a message on stderr otherwise."""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from stls import db


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


def cmd_demo(args) -> int:
    from stls.demo import build_demo
    started = time.perf_counter()
    counts = build_demo(args.db, seed=args.seed, scale=args.scale, until=args.until)
    took = time.perf_counter() - started
    print(f"Built the synthetic demo database at {args.db} in {took:.1f} s")
    for table, rows in counts.items():
        print(f"  {table:<12} {rows:>12,} rows")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m stls", description="STLS Insight command line")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="build the synthetic demo database")
    demo.add_argument("--scale", type=_positive, default=1.0,
                      help="multiply activity rows (16 gives about 10 million)")
    demo.add_argument("--seed", type=int, default=None, help="random seed (same seed, same tables)")
    demo.add_argument("--until", type=_month, default=None,
                      help="last month of activity, YYYY-MM (default: the last complete month)")
    demo.set_defaults(func=cmd_demo)
    for p in sub.choices.values():
        p.add_argument("--db", type=Path, default=None, help="database file (default: $STLS_DB or data/stls.duckdb)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.db = args.db or db.default_path()
    if getattr(args, "seed", 0) is None:
        from stls.demo import DEFAULT_SEED
        args.seed = DEFAULT_SEED
    try:
        return args.func(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
