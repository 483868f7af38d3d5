"""Process-wide set-up for commands that drive calls: gevent's monkey-patching, done once and
as early as the command allows (never at import time of a library module)."""

from __future__ import annotations

_patched = False


def use_gevent() -> None:
    global _patched
    if _patched:
        return
    from gevent import monkey

    if not monkey.is_module_patched("socket"):
        monkey.patch_all()
    _patched = True
