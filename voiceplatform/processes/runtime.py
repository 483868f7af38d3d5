"""Process-wide set-up for processes that drive calls: gevent's monkey-patching, and garbage
collection tuned for many long-lived sessions. Done once, as early as the command allows (never at
import time of a library module)."""

from __future__ import annotations

import gc

_patched = False

#: CPython runs a full collection after this many second-generation passes (default 10). A worker
#: holding a thousand sessions has ~180,000 tracked objects, and each full collection stalled every
#: session for ~100 ms (the p99 of bench/freeswitch_calls.py). Young collections still run as
#: usual, so cycles are still freed; full ones become a hundred times rarer. See
#: docs/decisions/freeswitch-driver.md.
FULL_COLLECTION_EVERY = 1000


def tune_gc() -> None:
    first, second, _third = gc.get_threshold()
    gc.set_threshold(first, second, FULL_COLLECTION_EVERY)


def use_gevent() -> None:
    global _patched
    if _patched:
        return
    from gevent import monkey

    if not monkey.is_module_patched("socket"):
        monkey.patch_all()
    tune_gc()
    _patched = True
