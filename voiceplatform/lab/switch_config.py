"""The lab's knowledge of how the platform reaches its Asterisk, kept here so that
``voiceplatform.switches`` knows nothing of the lab (an import-linter contract,
tests/test_architecture.py): the running lab's AMI and media folder, its trunk of scripted Local
callees, and the AMI secret the lab generated when none is configured."""

from __future__ import annotations

import os
from pathlib import Path

from voiceplatform.exceptions import LabError
from voiceplatform.switches.asterisk.config import LAB_DIAL_TEMPLATE, AsteriskConfig
from voiceplatform.switches.credentials import lab_ami_secret

__all__ = ["LAB_DIAL_TEMPLATE", "lab_asterisk_config", "lab_generated_ami_secret"]


def lab_asterisk_config(**overrides: object) -> AsteriskConfig:
    """The running lab's AMI (read from its state file), with the lab trunk: Local callees, or
    ``VOICEPLATFORM_DIAL_TEMPLATE`` / ``VOICEPLATFORM_TRANSFER_TEMPLATE`` when set; an explicit
    override wins over both."""
    from voiceplatform.lab import LabSettings
    from voiceplatform.lab.control import running_state

    settings = LabSettings.from_env()
    state = running_state(settings)
    if state is None:
        raise LabError("the Asterisk lab is not running: start it with `voiceplatform lab up`")
    values: dict[str, object] = {
        "ami_host": state.ami_host, "ami_port": state.ami_port, "ami_username": state.ami_username,
        "ami_secret": state.ami_secret, "media_dir": Path(state.media_dir),
    }
    # The lab's scripted Local callees unless the environment names another trunk (for example
    # the lab's SIP carrier, voiceplatform.lab.asterisk_config.LAB_SIP_DIAL_TEMPLATE).
    for field, variable in (("dial_template", "VOICEPLATFORM_DIAL_TEMPLATE"),
                            ("transfer_template", "VOICEPLATFORM_TRANSFER_TEMPLATE")):
        if os.environ.get(variable):
            values[field] = os.environ[variable]
    values.update(overrides)
    return AsteriskConfig(**values)  # type: ignore[arg-type]  # keyword overrides of the dataclass's fields


def lab_generated_ami_secret() -> str:
    """The AMI secret the lab generated once into its state folder (``<lab state>/ami-secret``)."""
    from voiceplatform.lab.settings import LabSettings

    return lab_ami_secret(LabSettings.from_env().state_dir)
