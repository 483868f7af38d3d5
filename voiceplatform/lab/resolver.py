"""The lab's Asterisk resolves names through a loopback address nobody serves.

Nothing the lab's Asterisk does needs DNS: its peers are on 127.0.0.1. A look-up means a
setting is missing (PJSIP without ``media_address`` looks up the host's own name for each
call's SDP, which stalled calls in 5 s steps on a slow resolver). Pointing the chroot's
``/etc/resolv.conf`` at :data:`LAB_RESOLVER` makes any look-up fail at once (ICMP port
unreachable) instead of waiting on the machine's resolver, and lets a test count such queries:
only the lab sends packets to that address (tests/switches/test_sip_calls.py).
"""

from __future__ import annotations

from pathlib import Path

from voiceplatform.exceptions import LabError

LAB_RESOLVER = "127.0.0.153"
RESOLV_CONF = Path("etc/resolv.conf")


def text() -> str:
    return (f"# Written by `voiceplatform lab up` (voiceplatform/lab/resolver.py): the lab's Asterisk\n"
            f"# needs no DNS; a look-up here is a missing setting, counted by the SIP tests.\n"
            f"nameserver {LAB_RESOLVER}\noptions timeout:1 attempts:1\n")


def install(root: Path) -> None:
    path = root / RESOLV_CONF
    try:
        if path.is_symlink():
            path.unlink()
        path.write_text(text(), encoding="utf-8")
    except OSError as exc:
        raise LabError(f"cannot write {path}: {exc}") from exc


def installed(root: Path) -> bool:
    try:
        return (root / RESOLV_CONF).read_text(encoding="utf-8") == text()
    except OSError:
        return False
