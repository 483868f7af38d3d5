"""Every constant of the lab, in one place."""

from __future__ import annotations

from pathlib import Path

#: Where the Debian sid chroot with Asterisk is cached (outside any work tree), unless
#: ``VOICEPLATFORM_LAB_ROOT`` says otherwise.
DEFAULT_ROOT = Path("/var/cache/voiceplatform/asterisk-sid")
ROOT_ENV = "VOICEPLATFORM_LAB_ROOT"

#: The state directory (pid, ports, log) inside the instance's ``.state/`` (voiceplatform.settings),
#: unless ``VOICEPLATFORM_LAB_STATE_DIR`` says otherwise. ``.state/`` is ignored by git.
STATE_SUBDIR = Path("lab")
STATE_DIR_ENV = "VOICEPLATFORM_LAB_STATE_DIR"

#: A Debian mirror URI to use instead of the one the machine's apt sources name.
MIRROR_ENV = "VOICEPLATFORM_LAB_MIRROR"

#: host:port where the platform's FastAGI server listens, as the dialplan sees it.
DEFAULT_AGI_ADDRESS = "127.0.0.1:4573"
AGI_ADDRESS_ENV = "VOICEPLATFORM_AGI_ADDRESS"

#: The Debian suite that has Asterisk 22, and what the chroot holds.
SUITE = "sid"
PACKAGES: tuple[str, ...] = ("asterisk", "asterisk-modules", "asterisk-core-sounds-en-gsm")

#: A file inside the chroot that says it was built completely, and with what.
MARKER = Path("etc/voiceplatform-lab.json")

#: Where the configuration kept in the project lives, relative to the project.
CONFIG_SUBDIR = Path("dialplans/asterisk")
#: Where Asterisk reads its configuration, inside the chroot.
ASTERISK_ETC = Path("etc/asterisk")
#: The Debian defaults are moved here, once, for reference.
ASTERISK_ETC_DIST = Path("etc/asterisk.dist")
#: Where the lab's spoken phrases go, inside the chroot: Playback(voiceplatform-lab/yes).
SOUNDS_SUBDIR = Path("usr/share/asterisk/sounds/voiceplatform-lab")

#: AMI listens here; the port is picked free at each start.
AMI_HOST = "127.0.0.1"
AMI_USERNAME = "lab"

#: How long ``up`` waits for AMI to answer a login, and ``down`` for Asterisk to exit.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
KILL_TIMEOUT = 5.0

#: Polling with backoff: first delay, growth factor and largest delay, in seconds.
POLL_FIRST = 0.02
POLL_FACTOR = 1.5
POLL_MAX = 0.5

#: How long debootstrap may take before the build is abandoned.
BUILD_TIMEOUT = 1800.0

#: Phrases the scripted callees play, spoken by espeak-ng at 8 kHz.
PHRASES: dict[str, str] = {
    "hello": "Hello?",
    "yes": "Yes.",
    "machine-greeting": (
        "Hi, you have reached the voicemail of Alex Morgan. I can't take your call right now. "
        "Please leave your name, your number and a short message after the tone, "
        "and I will call you back as soon as I can. Thank you."
    ),
    # What the callees that comment say into a recording (a survey's comment), after their key.
    "comment-unhappy": (
        "The engineer came two hours late and nobody told me. "
        "Please send me a message next time before you come."
    ),
    "comment-happy": (
        "The engineer was friendly and fixed the meter in ten minutes. "
        "Thank you for the quick service."
    ),
}
