"""How the worker reaches an Asterisk: AMI credentials, where FastAGI listens, and the dial-string
template of the trunk."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from voiceplatform.switches.credentials import ami_secret

LAB_DIAL_TEMPLATE = "Local/{number}@customers"


@dataclass(frozen=True)
class AsteriskConfig:
    ami_host: str
    ami_port: int
    ami_username: str
    ami_secret: str
    media_dir: Path
    agi_host: str = "127.0.0.1"
    agi_port: int = 0  # 0: any free port; each call tells the dialplan where (VP_AGI_ADDRESS)
    agi_advertise_host: str = "127.0.0.1"  # the address Asterisk connects to
    dial_template: str = LAB_DIAL_TEMPLATE  # "PJSIP/{number}@trunk-example" in production
    transfer_template: str = LAB_DIAL_TEMPLATE
    outbound_context: str = "voiceplatform-outbound"
    account: str = "default"
    originate_timeout: float = 30.0
    run_amd: bool = True
    # Each session first checks, over AGI, that the channel's VP_CALL_ID is the call it was handed
    # (a correlation check that costs one round trip). Diagnostics may repeat it to measure
    # AGI round trips under load (bench/asterisk_calls.py).
    correlation_checks: int = 1

    @classmethod
    def from_lab(cls, **overrides: object) -> AsteriskConfig:
        """The running lab's AMI (read from its state file), with the lab trunk: Local callees,
        or ``VOICEPLATFORM_DIAL_TEMPLATE`` / ``VOICEPLATFORM_TRANSFER_TEMPLATE`` when set; an
        explicit override wins over both."""
        from voiceplatform.lab import LabSettings
        from voiceplatform.lab.control import running_state
        from voiceplatform.exceptions import LabError

        settings = LabSettings.from_env()
        state = running_state(settings)
        if state is None:
            raise LabError("the Asterisk lab is not running: start it with `voiceplatform lab up`")
        values: dict[str, object] = {
            "ami_host": state.ami_host, "ami_port": state.ami_port, "ami_username": state.ami_username,
            "ami_secret": state.ami_secret, "media_dir": Path(state.media_dir),
        }
        # The lab's scripted Local callees unless the environment names another trunk (for
        # example the lab's SIP carrier, voiceplatform.lab.asterisk_config.LAB_SIP_DIAL_TEMPLATE).
        for field, variable in (("dial_template", "VOICEPLATFORM_DIAL_TEMPLATE"),
                                ("transfer_template", "VOICEPLATFORM_TRANSFER_TEMPLATE")):
            if os.environ.get(variable):
                values[field] = os.environ[variable]
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls) -> AsteriskConfig:
        """Production settings from VOICEPLATFORM_AMI_* and friends."""
        env = os.environ
        return cls(
            ami_host=env.get("VOICEPLATFORM_AMI_HOST", "127.0.0.1"),
            ami_port=int(env.get("VOICEPLATFORM_AMI_PORT", "5038")),
            ami_username=env["VOICEPLATFORM_AMI_USERNAME"],
            ami_secret=ami_secret(env),  # else the lab's generated secret (.state/lab/ami-secret)
            media_dir=Path(env.get("VOICEPLATFORM_MEDIA_DIR", "media")).resolve(),
            agi_host=env.get("VOICEPLATFORM_AGI_HOST", "127.0.0.1"),
            agi_port=int(env.get("VOICEPLATFORM_AGI_PORT", "4573")),
            agi_advertise_host=env.get("VOICEPLATFORM_AGI_ADVERTISE", "127.0.0.1"),
            dial_template=env.get("VOICEPLATFORM_DIAL_TEMPLATE", "PJSIP/{number}@trunk"),
            transfer_template=env.get("VOICEPLATFORM_TRANSFER_TEMPLATE", "PJSIP/{number}@trunk"),
        )
