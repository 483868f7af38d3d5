"""What the engine asks a driver to do. Drivers turn these into protocol actions.

Voice drivers get Say, Play, Gather, Record, Transfer and Hangup. Messaging bridges get Send (a
message, with buttons or a list on WhatsApp, or a WhatsApp template). Every channel may get Send
for another channel (an SMS sent from inside a call) and HttpRequest (the driver makes the call and
resumes the session with ``Input.http_response``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, ClassVar

_EMPTY: tuple[Any, ...] = (None, (), [], {})  # fields left out of to_dict
_LEAVES = frozenset({str, int, float, bool, type(None)})


@dataclass(frozen=True, slots=True)
class Output:
    kind: ClassVar[str] = "output"

    def to_dict(self) -> dict[str, Any]:
        """``kind``, then every field that is set (not None, not empty), nested values as
        :func:`dataclasses.asdict` gives them (the same dict: written out, as asdict's recursive
        copy was most of what a ``send`` cost the runtime)."""
        out: dict[str, Any] = {"kind": self.kind}
        for name in _names(type(self)):
            value = getattr(self, name)
            if type(value) in _LEAVES:
                if value is not None:
                    out[name] = value
            elif value not in _EMPTY:
                out[name] = _plain(value)
        return out


_NAMES: dict[Any, tuple[str, ...]] = {}


def _names(kind: Any) -> tuple[str, ...]:
    """A dataclass's field names, in order (worked out once per class)."""
    found = _NAMES.get(kind)
    if found is None:
        found = _NAMES[kind] = tuple(item.name for item in fields(kind))
    return found


def _plain(value: Any) -> Any:
    """``value`` as :func:`dataclasses.asdict` copies a field's value."""
    kind = type(value)
    if kind in _LEAVES:
        return value
    if is_dataclass(value) and not isinstance(value, type):
        return {name: _plain(getattr(value, name)) for name in _names(kind)}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a named tuple
        return kind(*[_plain(item) for item in value])
    if isinstance(value, (list, tuple)):
        return kind(_plain(item) for item in value)
    if isinstance(value, dict):
        return kind((_plain(key), _plain(item)) for key, item in value.items())
    return copy.deepcopy(value)


@dataclass(frozen=True, slots=True)
class Say(Output):
    kind: ClassVar[str] = "say"
    text: str
    language: str = "en"
    barge_in: bool = False
    prompt_id: str | None = None


@dataclass(frozen=True, slots=True)
class Play(Output):
    kind: ClassVar[str] = "play"
    audio: str
    barge_in: bool = False
    text: str | None = None  # what the audio says, for transcripts


@dataclass(frozen=True, slots=True)
class ChoiceOption:
    key: str
    label: str
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Gather(Output):
    """Collect input on a call. ``prompts`` are played first; with ``barge_in`` the first key or
    word stops them. The driver answers with digits, speech, or no_input."""

    kind: ClassVar[str] = "gather"
    modes: tuple[str, ...]
    prompts: tuple[Say | Play, ...] = ()
    choices: tuple[ChoiceOption, ...] = ()
    speech_phrases: tuple[str, ...] = ()
    max_digits: int | None = None
    min_digits: int = 1
    finish_on_key: str | None = None
    timeout: float = 5.0
    barge_in: bool = True
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class Record(Output):
    kind: ClassVar[str] = "record"
    max_seconds: int = 60
    beep: bool = True
    silence_timeout: float = 3.0
    finish_on_key: str | None = "#"
    transcribe: bool = False


@dataclass(frozen=True, slots=True)
class Button:
    id: str
    title: str


@dataclass(frozen=True, slots=True)
class Send(Output):
    """A message on a messaging channel. ``to`` None means the session's contact.

    ``template`` (WhatsApp) is what to send outside the contact's 24-hour window instead of the
    free-form ``text`` / ``buttons`` / ``list_rows`` / ``media``: ``{"name", "language",
    "params": [str, ...], "quick_replies": [choice key, ...]}`` (``quick_replies`` only when the
    flow maps the template's buttons: key ``i`` is the payload of quick-reply button ``i``). A
    Send with a template and no text is always the template. The bridge chooses at send time."""

    kind: ClassVar[str] = "send"
    channel: str
    text: str = ""
    to: str | None = None
    buttons: tuple[Button, ...] = ()
    list_button: str | None = None
    list_rows: tuple[Button, ...] = ()
    template: dict[str, Any] | None = None
    media: str | None = None
    # The session's language when sent (the engine sets it): the messaging side knows the text is
    # Arabic, say, without guessing; the SMS encoding (GSM-7 or UCS-2) follows the characters
    # (voiceplatform.text.sms_segments), so Arabic text always goes as UCS-2.
    language: str | None = None


@dataclass(frozen=True, slots=True)
class HttpRequest(Output):
    kind: ClassVar[str] = "http_request"
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class Transfer(Output):
    kind: ClassVar[str] = "transfer"
    target: str
    target_kind: str  # "number" | "sip" | "queue"
    timeout: float = 30.0
    caller_id: str | None = None


@dataclass(frozen=True, slots=True)
class Hangup(Output):
    kind: ClassVar[str] = "hangup"
    reason: str = "normal"


@dataclass(frozen=True, slots=True)
class OptOut(Output):
    """The contact asked to stop hearing from us on ``channels`` (``sms``, ``whatsapp``,
    ``voice``, or ``all``). The engine only says so; the runtime writes it on the contact's record
    (``voiceplatform.contacts.opt_out``), the dialler then skips the contact and the bridges drop
    messages to those channels."""

    kind: ClassVar[str] = "opt_out"
    channels: tuple[str, ...]
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class SwitchChannel(Output):
    """The journey moves to another channel: a voice driver ends its call and hands the state to
    the bridge of ``channel``, which sends the messages that follow."""

    kind: ClassVar[str] = "switch_channel"
    channel: str
    previous: str
