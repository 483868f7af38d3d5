"""A job that uses the lab (the demo, a test session) stops what it started, and only that."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceplatform.lab import leases, session
from voiceplatform.lab.control import UpReport
from voiceplatform.lab.settings import LabSettings
from voiceplatform.lab.state import LabState


class _Lab:
    """Stands in for up/down (which need root and a chroot) and records what was asked."""

    def __init__(self, already_running: bool) -> None:
        self.already_running = already_running
        self.downs = 0

    def up(self, _settings: LabSettings) -> UpReport:
        state = LabState.__new__(LabState)  # contents unused by lab_for_this_job
        return UpReport(state, self.already_running, None, 0.0)

    def down(self, _settings: LabSettings) -> None:
        self.downs += 1


@pytest.fixture
def settings(tmp_path: Path) -> LabSettings:
    import dataclasses

    return dataclasses.replace(LabSettings.from_env(), state_dir=tmp_path / "lab-state")


def _use(monkeypatch: pytest.MonkeyPatch, lab: _Lab) -> None:
    monkeypatch.setattr(session, "up", lab.up)
    monkeypatch.setattr(session, "down", lab.down)


def test_a_lab_the_job_started_is_stopped_at_its_end(monkeypatch: pytest.MonkeyPatch, settings: LabSettings) -> None:
    lab = _Lab(already_running=False)
    _use(monkeypatch, lab)
    with session.lab_for_this_job(settings) as report:
        assert not report.already_running
        assert leases.holders(settings.state_dir, exclude_self=False)  # the job holds a lease meanwhile
    assert lab.downs == 1
    assert not leases.holders(settings.state_dir, exclude_self=False)


def test_it_is_stopped_even_when_the_job_fails(monkeypatch: pytest.MonkeyPatch, settings: LabSettings) -> None:
    lab = _Lab(already_running=False)
    _use(monkeypatch, lab)
    with pytest.raises(KeyboardInterrupt):
        with session.lab_for_this_job(settings):
            raise KeyboardInterrupt
    assert lab.downs == 1


def test_a_lab_that_was_already_running_keeps_running(monkeypatch: pytest.MonkeyPatch, settings: LabSettings) -> None:
    lab = _Lab(already_running=True)
    _use(monkeypatch, lab)
    with session.lab_for_this_job(settings):
        pass
    assert lab.downs == 0


def test_keep_leaves_it_running(monkeypatch: pytest.MonkeyPatch, settings: LabSettings) -> None:
    lab = _Lab(already_running=False)
    _use(monkeypatch, lab)
    with session.lab_for_this_job(settings, keep=True):
        pass
    assert lab.downs == 0
