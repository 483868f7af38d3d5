"""Using the lab for the length of one job (a test session, the demo), and leaving nothing behind.

The job takes a lease, starts the lab unless it already runs, and at the end stops it only if
this job started it, nobody asked to keep it, and no other live job holds a lease. A lab that
someone started by hand (``voiceplatform lab up``) is theirs: it keeps running.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from voiceplatform.lab import leases
from voiceplatform.lab.control import UpReport, down, up
from voiceplatform.lab.settings import LabSettings


@contextmanager
def lab_for_this_job(settings: LabSettings, *, keep: bool = False) -> Iterator[UpReport]:
    """The running lab for the body of the ``with``; stopped afterwards if this job started it
    (unless ``keep``), even when the body raised."""
    lease = leases.acquire(settings.state_dir)
    report: UpReport | None = None
    try:
        report = up(settings)
        yield report
    finally:
        leases.release(lease)
        if report is not None and not keep and not report.already_running and not leases.holders(settings.state_dir):
            down(settings)
