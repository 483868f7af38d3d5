"""The SMS gateway the project starts itself: a real Jasmin (pinned, patched, in its own
virtualenv), its own RabbitMQ vhost, a private redis-server, and the scripted handset network
behind it, as ``voiceplatform lab`` does for Asterisk.

    from voiceplatform.smsc import SmscSettings, up, down, status
    report = up(SmscSettings.from_env())      # installs Jasmin on first use
    report.state.smpp_address                 # where the platform's ESME binds
    report.state.esme_username, report.state.esme_password

The embedded default needs none of this: without a configured SMSC, SMS runs on the ``dev``
channel. Details: docs/smsc.md.
"""

from voiceplatform.smsc.control import DownReport, StatusReport, UpReport, down, repair, status, up
from voiceplatform.smsc.settings import SmscSettings
from voiceplatform.smsc.state import SmscState

__all__ = [
    "DownReport",
    "SmscSettings",
    "SmscState",
    "StatusReport",
    "UpReport",
    "down",
    "repair",
    "status",
    "up",
]
