"""Output.to_dict, written out by hand, gives exactly what the dataclasses.asdict version gave:
for every output type, with every field set, with only the defaults, and with nested values
(prompts, choices, buttons, templates) copied, not shared."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest

from voiceplatform.flow import outputs as out


def reference(output: out.Output) -> dict[str, Any]:
    """The former implementation."""
    raw = asdict(output)
    return {"kind": output.kind, **{k: v for k, v in raw.items() if v not in (None, (), [], {})}}


SAY = out.Say("Hello", language="ar", barge_in=True, prompt_id="greeting")
PLAY = out.Play("/media/a.wav", barge_in=True, text="what it says")
FULL: list[out.Output] = [
    SAY,
    PLAY,
    out.Gather(("dtmf", "speech"), prompts=(SAY, PLAY),
               choices=(out.ChoiceOption("1", "Yes", ("yeah", "sure")), out.ChoiceOption("2", "No")),
               speech_phrases=("yes", "no"), max_digits=4, min_digits=2, finish_on_key="#", timeout=7.5,
               barge_in=False, attempt=2),
    out.Record(max_seconds=30, beep=False, silence_timeout=1.5, finish_on_key=None, transcribe=True),
    out.Send("whatsapp", "Pick one", to="+15550001111", buttons=(out.Button("a", "A"), out.Button("b", "B")),
             list_button="Choose", list_rows=(out.Button("r1", "Row 1"),),
             template={"name": "offer", "components": [{"type": "body", "parameters": [{"text": "x"}]}]},
             media="https://example.com/a.png", language="en"),
    out.HttpRequest("POST", "https://hooks.example.com/x", headers={"X-Token": "t", "Accept": "*/*"},
                    body='{"a": 1}', timeout=3.0),
    out.Transfer("+15550002222", "number", timeout=20.0, caller_id="+15550003333"),
    out.Hangup("busy"),
    out.OptOut(("sms", "whatsapp"), reason="STOP"),
    out.SwitchChannel("sms", "voice"),
]
DEFAULTS: list[out.Output] = [
    out.Say(""), out.Play("x"), out.Gather(()), out.Record(), out.Send("sms"), out.HttpRequest("GET", "u"),
    out.Transfer("q", "queue"), out.Hangup(), out.OptOut(()), out.Output(),
]


@pytest.mark.parametrize("output", FULL + DEFAULTS, ids=lambda output: f"{output.kind}-{len(repr(output))}")
def test_to_dict_is_what_asdict_made(output: out.Output) -> None:
    made = output.to_dict()
    assert made == reference(output)
    assert list(made) == list(reference(output))  # the same keys in the same order
    assert repr(made) == repr(reference(output))  # tuples stay tuples, numbers keep their type


def test_every_output_type_is_covered() -> None:
    types = {type(output) for output in FULL}
    assert types == {kind for kind in vars(out).values()
                     if isinstance(kind, type) and issubclass(kind, out.Output) and kind is not out.Output}


def test_nested_values_are_copies() -> None:
    send = FULL[4]
    assert isinstance(send, out.Send) and send.template is not None
    made = send.to_dict()
    made["template"]["components"][0]["type"] = "changed"
    assert send.template["components"][0]["type"] == "body"
    request = FULL[5]
    assert isinstance(request, out.HttpRequest)
    assert request.to_dict()["headers"] is not request.headers
