"""What the engine asks a driver to do. Drivers turn these into protocol actions.

Voice drivers get Say, Play, Gather, Record, Transfer and Hangup. Messaging bridges get Send (a
message, with buttons or a list on WhatsApp, or a WhatsApp template). Every channel may get Send
for another channel (an SMS sent from inside a call) and HttpRequest (the driver makes the call and
resumes the session with ``Input.http_response``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class Output:
    kind: ClassVar[str] = "output"

    def to_dict(self) -> dict[str, Any]:
        raw = asdict(self)
        return {"kind": self.kind, **{k: v for k, v in raw.items() if v not in (None, (), [], {})}}


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
    """A message on a messaging channel. ``to`` None means the session's contact."""

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
