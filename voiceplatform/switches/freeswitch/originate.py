"""The ``originate`` command line: channel variables, dial string, and where the answered call
goes (straight to the worker's outbound socket, or to a dialplan extension)."""

from __future__ import annotations

import re

from voiceplatform.exceptions import SwitchCommandError
from voiceplatform.safety import switch_values

_NEEDS_QUOTES = re.compile(r"[,{}\[\]<>\s^|=]")
MAX_UUID_LENGTH = 36  # SWITCH_UUID_FORMATTED_LENGTH: origination_uuid cannot be longer


def channel_variables(variables: dict[str, str]) -> str:
    """``{a=1,b='x y'}``: values with separators are single-quoted. Names and values pass the one
    validator (:mod:`voiceplatform.safety.switch_values`: no quote, brace, control character or
    expansion in a value, plain names), else UnsafeValueError."""
    items = []
    for name, value in switch_values.variables(variables, "channel variable").items():
        items.append(f"{name}='{value}'" if _NEEDS_QUOTES.search(value) else f"{name}={value}")
    return "{" + ",".join(items) + "}"


def originate_variables(caller_id: str | None, variables: dict[str, str], timeout: float) -> dict[str, str]:
    """The channel variables of an originate: its timeout, the caller id (checked and split into
    ``origination_caller_id_number`` and ``_name``) and the caller's own variables."""
    channel_vars = {"originate_timeout": str(int(timeout)), "ignore_early_media": "true", **variables}
    if caller_id:
        checked = switch_values.caller_id(caller_id)
        channel_vars["origination_caller_id_number"] = checked.number
        if checked.name:
            channel_vars["origination_caller_id_name"] = checked.name
    return channel_vars


def originate_command(call_id: str, dial_string: str, variables: dict[str, str], socket_address: str,
                      extension: str | None = None) -> str:
    """``originate {vars}<dial> '&socket(host:port async full)'`` (or ``<exten> XML <ctx>``).

    ``origination_uuid`` makes the call id the channel's Unique-ID, so every event of the call
    names it; the answered call's outbound socket carries it too.
    """
    if len(call_id) > MAX_UUID_LENGTH or not re.match(r"^[A-Za-z0-9-]+$", call_id):
        raise SwitchCommandError(f"call id {call_id!r} cannot be a FreeSWITCH uuid (36 chars, [A-Za-z0-9-])")
    switch_values.dial_target(dial_string, "dial string")
    head = channel_variables({**variables, "origination_uuid": call_id, "vp_call_id": call_id,
                              "vp_socket_address": socket_address})
    target = extension or f"'&socket({socket_address} async full)'"
    return f"originate {head}{dial_string} {target}"
