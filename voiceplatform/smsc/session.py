"""Using the smsc for the length of one job (a test session, a benchmark, the demo), and leaving
nothing behind: as :mod:`voiceplatform.lab.session` does for the lab.

The job takes a lease, starts the smsc unless it already runs, and at the end stops it only if
this job started it, nobody asked to keep it, and no other live job holds a lease. An smsc that
someone started by hand (``voiceplatform smsc up``) is theirs: it keeps running.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from voiceplatform.lab import leases
from voiceplatform.smsc.control import UpReport, down, up
from voiceplatform.smsc.settings import SmscSettings


@contextmanager
def smsc_for_this_job(settings: SmscSettings, *, keep: bool = False) -> Iterator[UpReport]:
    lease = leases.acquire(settings.state_dir)
    report: UpReport | None = None
    try:
        report = up(settings)
        yield report
    finally:
        leases.release(lease)
        if report is not None and not keep and not report.already_running and not leases.holders(settings.state_dir):
            down(settings)
