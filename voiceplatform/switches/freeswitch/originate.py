"""The ``originate`` command line: channel variables, dial string, and where the answered call
goes (straight to the worker's outbound socket, or to a dialplan extension)."""

from __future__ import annotations

import re

from voiceplatform.exceptions import SwitchCommandError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NEEDS_QUOTES = re.compile(r"[,{}\[\]<>\s^|=]")
MAX_UUID_LENGTH = 36  # SWITCH_UUID_FORMATTED_LENGTH: origination_uuid cannot be longer


def channel_variables(variables: dict[str, str]) -> str:
    """``{a=1,b='x y'}``: values with separators are single-quoted; names must be plain."""
    items = []
    for name, raw in variables.items():
        value = str(raw)
        if not _NAME.match(name):
            raise SwitchCommandError(f"invalid channel variable name {name!r}")
        if "'" in value or "\n" in value or "\r" in value:
            raise SwitchCommandError(f"channel variable {name} holds a quote or a newline: {value!r}")
        items.append(f"{name}='{value}'" if _NEEDS_QUOTES.search(value) else f"{name}={value}")
    return "{" + ",".join(items) + "}"


def originate_command(call_id: str, dial_string: str, variables: dict[str, str], socket_address: str,
                      extension: str | None = None) -> str:
    """``originate {vars}<dial> '&socket(host:port async full)'`` (or ``<exten> XML <ctx>``).

    ``origination_uuid`` makes the call id the channel's Unique-ID, so every event of the call
    names it; the answered call's outbound socket carries it too.
    """
    if len(call_id) > MAX_UUID_LENGTH or not re.match(r"^[A-Za-z0-9-]+$", call_id):
        raise SwitchCommandError(f"call id {call_id!r} cannot be a FreeSWITCH uuid (36 chars, [A-Za-z0-9-])")
    if any(c in dial_string for c in " '\"\n"):
        raise SwitchCommandError(f"dial string {dial_string!r} holds a space or a quote")
    head = channel_variables({**variables, "origination_uuid": call_id, "vp_call_id": call_id,
                              "vp_socket_address": socket_address})
    target = extension or f"'&socket({socket_address} async full)'"
    return f"originate {head}{dial_string} {target}"
