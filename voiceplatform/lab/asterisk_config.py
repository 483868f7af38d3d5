"""Install the project's Asterisk configuration (dialplans/asterisk) into the chroot.

The files in dialplans/asterisk are production configuration, with literal values a user can
copy as they are. Each one that has site-specific values reads an optional ``*_local.conf``
(``#tryinclude``) whose settings replace its own. The lab writes those local files: its AMI
port and user, its FastAGI address and media directory, and a SIP port on loopback.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from voiceplatform.exceptions import LabError
from voiceplatform.lab import defaults


@dataclass(frozen=True)
class LocalValues:
    """The values the lab sets for one start."""

    ami_host: str
    ami_port: int
    ami_username: str
    ami_secret: str
    agi_address: str
    media_dir: Path
    sip_port: int


def render_local_files(values: LocalValues) -> dict[str, str]:
    """The ``*_local.conf`` files for ``values``, by file name."""
    note = "; Written by `voiceplatform lab up` for this start. Do not edit.\n"
    return {
        "manager_local.conf": (
            f"{note}port = {values.ami_port}\nbindaddr = {values.ami_host}\n\n"
            f"[{values.ami_username}]\nsecret = {values.ami_secret}\n"
            "deny = 0.0.0.0/0.0.0.0\npermit = 127.0.0.1/255.255.255.255\n"
            # the worker's rights (originate) and the lab's probes' (reporting: CoreSettings,
            # ShowDialPlan); no system, command or config write (reloads go through the CLI)
            "read = all\nwrite = originate,reporting\n"
        ),
        # the shipped [voiceplatform] user's secret (manager.conf has none of its own)
        "manager_secret.conf": f"{note}secret = {values.ami_secret}\n",
        "extensions_globals_local.conf": (
            f"{note}VOICEPLATFORM_AGI_ADDRESS = {values.agi_address}\n"
            f"VOICEPLATFORM_MEDIA_DIR = {values.media_dir}\n"
        ),
        "pjsip_transport_local.conf": f"{note}bind = 127.0.0.1:{values.sip_port}\n",
        "pjsip_local.conf": note + LAB_TRUNKS,
    }


#: The lab's trunks to sipp "carriers" on loopback (see docs/sip-outcomes.md). A test dials
#: ``PJSIP/lab-carrier/sip:<port>@127.0.0.1:<port>``: the number is the port of the sipp that
#: answers, since each sipp gets a fresh port. media_address and bind_rtp_to_media_address keep
#: Asterisk from looking up its own host name for each call's SDP (DNS queries otherwise).
LAB_TRUNKS = """
[lab-carrier](trunk-endpoint)
media_address = 127.0.0.1
bind_rtp_to_media_address = yes
from_domain = 127.0.0.1
; auto: RFC 4733 when the callee's SDP offers telephone-event, else tones detected in the
; audio (the in-band callee). A production trunk keeps rfc4733 unless its carrier sends tones.
dtmf_mode = auto

; sipp calling in (UAC) from loopback is the lab carrier.
[lab-carrier-identify]
type = identify
endpoint = lab-carrier
match = 127.0.0.1
"""

#: The dial template for the lab carrier: the number is the port of the sipp that answers.
LAB_SIP_DIAL_TEMPLATE = "PJSIP/lab-carrier/sip:{number}@127.0.0.1:{number}"


def digest(config_dir: Path) -> str:
    """A hash of the project's configuration files (names and contents)."""
    sha = hashlib.sha256()
    for source in sorted(config_dir.glob("*.conf")):
        sha.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    return sha.hexdigest()


def install(root: Path, config_dir: Path, values: LocalValues) -> list[str]:
    """Replace ROOT/etc/asterisk with the project's files plus the lab's local files.

    The Debian defaults are kept once in ROOT/etc/asterisk.dist, for reference. Returns the
    names of the files installed.
    """
    etc = root / defaults.ASTERISK_ETC
    dist = root / defaults.ASTERISK_ETC_DIST
    sources = sorted(config_dir.glob("*.conf"))
    if not sources:
        raise LabError(f"no Asterisk configuration (*.conf) in {config_dir}")
    try:
        if etc.exists() and not dist.exists():
            etc.rename(dist)
        if etc.exists():
            shutil.rmtree(etc)
        etc.mkdir(parents=True)
        for source in sources:
            shutil.copyfile(source, etc / source.name)
        for name, text in render_local_files(values).items():
            descriptor = os.open(etc / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # secrets
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
    except OSError as exc:
        raise LabError(f"cannot install Asterisk configuration into {etc}: {exc}") from exc
    return sorted(p.name for p in etc.iterdir())
