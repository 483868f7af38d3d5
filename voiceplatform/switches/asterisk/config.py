"""How the worker reaches an Asterisk: AMI credentials, where FastAGI listens, and the dial-string
template of the trunk. The running lab's configuration is built by ``voiceplatform.lab.switch_config``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from voiceplatform.settings import Paths
from voiceplatform.switches.credentials import ami_secret

#: The default trunk: Local channels into the ``customers`` context (the lab's scripted callees).
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
    def from_env(cls, ami_secret_fallback: Callable[[], str] | None = None) -> AsteriskConfig:
        """Production settings from VOICEPLATFORM_AMI_* and friends. With no
        ``VOICEPLATFORM_AMI_SECRET``, ``ami_secret_fallback`` supplies one (the composition root
        passes the lab's generated secret: ``voiceplatform.lab.switch_config``)."""
        env = os.environ
        return cls(
            ami_host=env.get("VOICEPLATFORM_AMI_HOST", "127.0.0.1"),
            ami_port=int(env.get("VOICEPLATFORM_AMI_PORT", "5038")),
            ami_username=env["VOICEPLATFORM_AMI_USERNAME"],
            ami_secret=ami_secret(env, ami_secret_fallback),
            media_dir=Paths.from_env(env).media_dir,  # VOICEPLATFORM_MEDIA_DIR, else the instance's media/
            agi_host=env.get("VOICEPLATFORM_AGI_HOST", "127.0.0.1"),
            agi_port=int(env.get("VOICEPLATFORM_AGI_PORT", "4573")),
            agi_advertise_host=env.get("VOICEPLATFORM_AGI_ADVERTISE", "127.0.0.1"),
            dial_template=env.get("VOICEPLATFORM_DIAL_TEMPLATE", "PJSIP/{number}@trunk"),
            transfer_template=env.get("VOICEPLATFORM_TRANSFER_TEMPLATE", "PJSIP/{number}@trunk"),
        )
