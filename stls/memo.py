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

MAX_ENTRIES = 2048   # aggregated frames, tables and figures of kilobytes each; this bounds memory
_lock = threading.Lock()
_cache: OrderedDict = OrderedDict()


def call(fn, db, *args, **kwargs):
    """``fn(db, *args, **kwargs)``, computed once per data version and arguments (their reprs)."""
    key = (fn.__module__, fn.__qualname__, str(getattr(db, "path", id(db))), getattr(db, "version", id(db)),
           repr(args), repr(sorted(kwargs.items())))
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = fn(db, *args, **kwargs)
    with _lock:
        _cache[key] = value
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)
    return value


def memoised(fn):
    @functools.wraps(fn)
    def wrapper(db, *args, **kwargs):
        return call(fn, db, *args, **kwargs)
    return wrapper


def clear() -> None:
    with _lock:
        _cache.clear()
