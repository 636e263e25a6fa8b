"""Results of expensive pure functions, kept per data version (thread-safe, bounded).

A function ``f(db, *args)`` decorated with ``@memoised`` (or called through ``call``) returns
the same object for the same data version and arguments, so a district change picks its figures
out of the all-districts result instead of recomputing. Callers must not change what they get
back. A new version of the database file (an import) gives new keys; old entries age out.
"""
from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import ParamSpec, TypeVar

MAX_ENTRIES = 2048   # aggregated frames, tables and figures of kilobytes each; this bounds memory
_lock = threading.Lock()
_cache: OrderedDict = OrderedDict()
_computing: dict = {}   # key → (the computing thread's id, Event set when it has finished)

P = ParamSpec("P")
R = TypeVar("R")


def _key_of(fn, db, args: tuple = (), kwargs: dict | None = None) -> tuple:
    """The key a result is kept under: the function, the file and its version, the arguments' reprs."""
    return (fn.__module__, fn.__qualname__, str(getattr(db, "path", id(db))), getattr(db, "version", id(db)),
            repr(args), repr(sorted((kwargs or {}).items())))


def call(fn, db, *args, **kwargs):
    """``fn(db, *args, **kwargs)``, computed once per data version and arguments (their reprs).

    Computed once even when several sessions ask at the same moment (after an import, every open
    page asks for the new version's figures together): the first computes, the others wait for its
    result. Memoised functions call others only down a chain, never round, so waiting cannot
    deadlock. If the first fails, each waiter computes for itself (and meets the error itself)."""
    if getattr(fn, "_memoised", False):   # already memoised (``call(f)`` of an @memoised f): one key, not two
        return fn(db, *args, **kwargs)
    key = _key_of(fn, db, args, kwargs)
    while True:
        with _lock:
            if key in _cache:
                _cache.move_to_end(key)
                return _cache[key]
            running = _computing.get(key)
            if running is None:
                done = threading.Event()
                _computing[key] = (threading.get_ident(), done)
                break
            if running[0] == threading.get_ident():   # asked again inside its own computation: compute
                return fn(db, *args, **kwargs)
        running[1].wait()
    try:
        value = fn(db, *args, **kwargs)
        with _lock:
            _cache[key] = value
            while len(_cache) > MAX_ENTRIES:
                _cache.popitem(last=False)
        return value
    finally:
        with _lock:
            _computing.pop(key, None)
        done.set()


def ready(fn, db) -> bool:
    """Whether ``fn(db)`` is already kept for this data version (a page can show it at once)."""
    with _lock:
        return _key_of(getattr(fn, "__wrapped__", fn), db) in _cache


_background: dict = {}   # key → the monotonic time its background computation started


def start(fn, db) -> float | None:
    """Begin computing ``fn(db)`` in a background thread unless it is kept or already being
    computed; returns when that computation started (``time.monotonic``), None once it is kept.
    Waiters (``call``) pick up its result; a failure is left for the next caller to meet."""
    import time
    key = _key_of(getattr(fn, "__wrapped__", fn), db)
    with _lock:
        if key in _cache:
            _background.pop(key, None)
            return None
        if key in _background:
            return _background[key]
        began = _background[key] = time.monotonic()

    def run() -> None:
        try:
            call(getattr(fn, "__wrapped__", fn), db)
        except Exception:  # noqa: BLE001 - the page that needs it computes again and reports the error
            with _lock:
                _background.pop(key, None)
    threading.Thread(target=run, daemon=True, name=f"stls-prepare-{fn.__qualname__}").start()
    return began


def memoised(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        return call(fn, *args, **kwargs)   # type: ignore[no-any-return,unused-ignore]  # what fn returned, kept
    wrapper._memoised = True  # type: ignore[attr-defined]
    return wrapper


def clear() -> None:
    with _lock:
        _cache.clear()
