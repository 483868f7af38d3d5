"""The lab: a real Asterisk 22 that the project starts itself, in a cached Debian sid chroot.

    from voiceplatform.lab import LabSettings, up, down, status
    report = up(LabSettings.from_env())      # builds the chroot on first use
    report.state.ami_port                    # where AMI listens

The configuration it loads is the production configuration in ``dialplans/asterisk``.
"""

from voiceplatform.lab.control import DownReport, StatusReport, UpReport, down, status, up
from voiceplatform.lab.settings import LabSettings
from voiceplatform.lab.state import LabState

__all__ = [
    "DownReport",
    "LabSettings",
    "LabState",
    "StatusReport",
    "UpReport",
    "down",
    "status",
    "up",
]
