"""``voiceplatform smsc``: its commands, on an instance of the test's own."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceplatform.cli import main
from voiceplatform.smsc import defaults


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv(defaults.STATE_DIR_ENV, str(tmp_path / "smsc"))
    return CliRunner()


def test_status_and_down_of_an_smsc_that_does_not_run(runner: CliRunner) -> None:
    status = runner.invoke(main, ["smsc", "status"])
    assert status.exit_code == 3 and "smsc not running" in status.output
    down = runner.invoke(main, ["smsc", "down"])
    assert down.exit_code == 0 and "smsc not running" in down.output
    repair = runner.invoke(main, ["smsc", "repair"])
    assert repair.exit_code == 1 and "voiceplatform smsc up" in repair.output


@pytest.mark.integration
def test_up_status_down(runner: CliRunner) -> None:
    up = runner.invoke(main, ["smsc", "up"])
    try:
        assert up.exit_code == 0, up.output
        assert "smsc up in" in up.output and "patched: jookies/jasmin#1236" in up.output
        status = runner.invoke(main, ["smsc", "status"])
        assert status.exit_code == 0 and status.output.startswith("smsc healthy"), status.output
        for part in ("jasmin", "rabbitmq", "redis", "handsets"):
            assert f"{part:<9}: ok" in status.output
        again = runner.invoke(main, ["smsc", "up"])
        assert again.exit_code == 0 and "smsc already running" in again.output
    finally:
        down = runner.invoke(main, ["smsc", "down"])
    assert down.exit_code == 0 and "smsc down" in down.output
    assert "stopped jasmind pid" in down.output
    assert runner.invoke(main, ["smsc", "status"]).exit_code == 3
