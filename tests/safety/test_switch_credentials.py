"""Issue 10 row 16: no shipped switch credential is usable; generated ones are 0600 and shared by
the emulator and the driver; the AMI user has no "system" write."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from voiceplatform.exceptions import SwitchConnectionError
from voiceplatform.lab import asterisk_config
from voiceplatform.switches import credentials
from voiceplatform.switches.freeswitch.config import FreeSwitchConfig
from voiceplatform.testing.freeswitch import FreeSwitchEmulator

PROJECT = Path(__file__).resolve().parents[2]


def test_the_generated_esl_password_is_made_once_0600_and_env_wins(tmp_path: Path) -> None:
    path = tmp_path / "state" / "esl-password"
    first = credentials.esl_password({}, path)
    assert len(first) >= 32 and first not in credentials.WELL_KNOWN
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert credentials.esl_password({}, path) == first  # created once
    assert credentials.esl_password({"VOICEPLATFORM_ESL_PASSWORD": "mine-123"}, path) == "mine-123"


@pytest.mark.parametrize("variable", ["VOICEPLATFORM_ESL_PASSWORD", "VOICEPLATFORM_AMI_SECRET"])
@pytest.mark.parametrize("value", ["ClueCon", "change-me", "REPLACE-ME-with-a-long-random-password"])
def test_well_known_passwords_are_refused(variable: str, value: str, tmp_path: Path) -> None:
    with pytest.raises(SwitchConnectionError, match="well-known"):
        if variable == "VOICEPLATFORM_ESL_PASSWORD":
            credentials.esl_password({variable: value}, tmp_path / "p")
        else:
            credentials.ami_secret({variable: value})


def test_the_lab_ami_secret_is_generated_once(tmp_path: Path) -> None:
    secret = credentials.lab_ami_secret(tmp_path)
    assert credentials.lab_ami_secret(tmp_path) == secret and secret not in credentials.WELL_KNOWN
    assert stat.S_IMODE((tmp_path / "ami-secret").stat().st_mode) == 0o600


def test_the_emulator_and_the_driver_agree_with_nothing_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOICEPLATFORM_ESL_PASSWORD", raising=False)
    emulator = FreeSwitchEmulator()
    assert emulator.password == FreeSwitchConfig().esl_password == FreeSwitchConfig.from_env().esl_password
    assert emulator.password not in credentials.WELL_KNOWN


def test_shipped_configs_carry_no_usable_secret() -> None:
    manager = (PROJECT / "dialplans/asterisk/manager.conf").read_text()
    event_socket = (PROJECT / "dialplans/freeswitch/event_socket.conf.xml").read_text()
    assert not re.search(r"^\s*secret\s*=", manager, re.MULTILINE)
    assert "ClueCon" not in re.sub(r"<!--.*?-->", "", event_socket, flags=re.DOTALL)
    writes = re.findall(r"^\s*write\s*=\s*(.+)$", manager, re.MULTILINE)
    assert writes == ["originate"]


def test_the_lab_config_grants_no_system_command_or_config_write(tmp_path: Path) -> None:
    files = asterisk_config.render_local_files(asterisk_config.LocalValues(
        "127.0.0.1", 5038, "lab", "s3cret-generated", "127.0.0.1:4573", tmp_path, 5060))
    (write,) = re.findall(r"^write = (.+)$", files["manager_local.conf"], re.MULTILINE)
    assert set(write.split(",")) == {"originate", "reporting"}
    assert files["manager_secret.conf"].strip().endswith("secret = s3cret-generated")
