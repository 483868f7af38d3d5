"""One pure renderer per channel (voiceplatform/flow/render), each reading its channel's limits:
the renderers alone, a WhatsApp renderer given other limits, SMS wording per language, the gather
node rendering through whatever limits the session's channel was given, and the channel contract
declaring the same limits objects the renderers read."""

from __future__ import annotations

from typing import Any

import pytest

from tests.flow.helpers import NOW, flow_from
from voiceplatform.channels.contract import Capabilities
from voiceplatform.channels.dev.driver import DevChannel
from voiceplatform.flow import Channel, Input, resume, start
from voiceplatform.flow.menu import Menu, MenuItem
from voiceplatform.flow.outputs import Gather, Play, Say, Send
from voiceplatform.flow.phrases import builtin_phrase
from voiceplatform.flow.render import (
    SMS_LIMITS,
    VOICE_LIMITS,
    WHATSAPP_LIMITS,
    ChannelLimits,
    Listening,
    Question,
    Utterance,
    renderer_for,
    standard_limits,
)
from voiceplatform.flow.render.sms import SmsRenderer
from voiceplatform.flow.render.voice import VoiceRenderer
from voiceplatform.flow.render.whatsapp import MORE_ID, WhatsAppRenderer

SMALL = ChannelLimits(buttons=2, list_rows=5, button_title_chars=10, row_title_chars=10, list_button_chars=10,
                      media=True)


def phrases_in(language: str) -> Any:
    def phrases(phrase_id: str, /, **fields: str) -> str:
        return builtin_phrase(language, phrase_id).format(**fields)
    return phrases


def menu_of(*labels: str) -> Menu:
    return Menu.of([MenuItem(str(n), label) for n, label in enumerate(labels, start=1)])


def question(menu: Menu, text: str = "Pick one", *, language: str = "en", audio: str | None = None,
             before: str | None = None, page: int = 0, modes: tuple[str, ...] = ("dtmf",)) -> Question:
    return Question(Utterance(text, audio, language, barge_in=True), menu,
                    Listening(modes, None, 1, None, 5.0, 1), before, True, page)


# ---- each renderer alone -----------------------------------------------------------------------


def test_voice_reads_the_choices_out_in_the_modes_the_gather_listens_for() -> None:
    voice = VoiceRenderer()
    both = voice.ask(question(menu_of("Pay now", "Agent"), modes=("dtmf", "speech"), before="Sorry."), phrases_in("en"))
    assert isinstance(both, Gather)
    assert [p.text for p in both.prompts] == [
        "Sorry.", "Pick one For Pay now, press 1 or say Pay now. For Agent, press 2 or say Agent."]
    assert both.max_digits == 1 and both.speech_phrases == ("Pay now", "Agent") and both.attempt == 1
    keys = voice.ask(question(menu_of("Pay now")), phrases_in("ar"))
    assert isinstance(keys, Gather) and keys.prompts[-1].text == "Pick one Pay now، اضغط 1." and not keys.speech_phrases
    assert voice.say(Utterance("Hello", "hello.wav", "en")) == Play("hello.wav", False, "Hello")
    # a voice line that declares no media says the transcript instead of playing the file
    assert VoiceRenderer(ChannelLimits()).say(Utterance("Hello", "hello.wav", "en")) == Say("Hello", "en")
    assert not voice.turns_page(MORE_ID, menu_of(*"abcdefghijk"), 0)


def test_sms_lists_the_choices_as_text_and_carries_no_media() -> None:
    sms = SmsRenderer()
    out = sms.ask(question(menu_of("Pay now", "Agent"), audio="q.wav"), phrases_in("en"))
    assert out == Send("sms", 'Pick one\nReply 1 or "Pay now"\nReply 2 or "Agent"', language="en")
    assert sms.say(Utterance("", "only-audio.wav", "en")) is None  # nothing SMS can carry
    assert sms.say(Utterance("Hi", "hi.wav", "en")) == Send("sms", "Hi", language="en")
    unannounced = Question(Utterance("Pick one", None, "en"), menu_of("A"), Listening(("dtmf",), None, 1, None, 5, 1),
                           announce=False)
    assert sms.ask(unannounced, phrases_in("en")).text == "Pick one"
    assert not sms.turns_page(MORE_ID, menu_of(*"abcdefghijk"), 0)


@pytest.mark.parametrize("language, lines", [
    ("en", ['Reply 1 or "Pay now"', 'Reply 2 or "Talk to us"']),
    ("ar", ["أرسل 1 أو «Pay now»", "أرسل 2 أو «Talk to us»"]),
])
def test_sms_wording_is_the_session_language(language: str, lines: list[str]) -> None:
    out = SmsRenderer().ask(question(menu_of("Pay now", "Talk to us"), "", language=language), phrases_in(language))
    assert out.text.split("\n") == lines and out.language == language


def test_whatsapp_standard_limits_buttons_list_pages_and_titles() -> None:
    whatsapp = WhatsAppRenderer()
    three = whatsapp.ask(question(menu_of("A very long first option title", "B", "C"), audio="q.wav"), phrases_in("en"))
    assert [b.title for b in three.buttons] == ["A very long first o…", "B", "C"] and three.media is None
    assert len(three.buttons[0].title) == WHATSAPP_LIMITS.button_title_chars
    four = whatsapp.ask(question(menu_of("A", "B", "C", "D")), phrases_in("ar"))
    assert four.list_button == "اختر" and [r.id for r in four.list_rows] == ["1", "2", "3", "4"] and not four.buttons
    eleven = menu_of(*(f"Option {n}" for n in range(1, 12)))
    first = whatsapp.ask(question(eleven), phrases_in("en"))
    assert [r.id for r in first.list_rows] == [str(n) for n in range(1, 10)] + [MORE_ID]
    assert whatsapp.turns_page(MORE_ID, eleven, 0) and not whatsapp.turns_page(MORE_ID, eleven, 1)
    assert [r.id for r in whatsapp.ask(question(eleven, page=1), phrases_in("en")).list_rows] == ["10", "11"]
    plain = whatsapp.ask(question(Menu.of([]), "Hello", audio="hello.ogg"), phrases_in("en"))
    assert plain == Send("whatsapp", "Hello", media="hello.ogg", language="en")


def test_whatsapp_given_other_limits_renders_accordingly() -> None:
    small = WhatsAppRenderer(SMALL)
    two = small.ask(question(menu_of("Pay the full amount", "Agent")), phrases_in("en"))
    assert [b.title for b in two.buttons] == ["Pay the f…", "Agent"]  # 2 buttons, 10-character titles
    three = small.ask(question(menu_of("A", "B", "C")), phrases_in("en"))
    assert not three.buttons and [r.id for r in three.list_rows] == ["1", "2", "3"]  # past 2 buttons: a list
    seven = menu_of(*(f"Choice number {n}" for n in range(1, 8)))
    first = small.ask(question(seven), phrases_in("en"))
    assert [r.id for r in first.list_rows] == ["1", "2", "3", "4", MORE_ID]  # 5 rows: 4 and "More"
    assert [r.title for r in first.list_rows] == ["Choice nu…"] * 4 + ["More opti…"]
    assert small.turns_page(MORE_ID, seven, 0) and not small.turns_page(MORE_ID, seven, 1)
    second = small.ask(question(seven, page=1), phrases_in("en"))
    assert [r.id for r in second.list_rows] == ["5", "6", "7"]
    long_button = WhatsAppRenderer(SMALL).ask(question(seven), lambda pid, **f: "Choose the option that suits you")
    assert long_button.list_button == "Choose th…"


def test_whatsapp_with_neither_buttons_nor_lists_lists_the_choices_as_text() -> None:
    bare = WhatsAppRenderer(ChannelLimits(media=True))
    out = bare.ask(question(menu_of("Yes", "No"), audio="q.ogg"), phrases_in("en"))
    assert out == Send("whatsapp", 'Pick one\nReply 1 or "Yes"\nReply 2 or "No"', media="q.ogg", language="en")
    assert not bare.turns_page(MORE_ID, menu_of(*"abcdefghijk"), 0)


def test_limits_refuse_values_no_channel_has() -> None:
    with pytest.raises(ValueError, match="list_rows"):
        ChannelLimits(list_rows=1)
    with pytest.raises(ValueError, match="buttons"):
        ChannelLimits(buttons=-1)
    assert WHATSAPP_LIMITS.list_page_rows == 9 and SMALL.list_page_rows == 4
    assert SMS_LIMITS.segment_chars_gsm7 == 160 and SMS_LIMITS.segment_chars_ucs2 == 70 and not SMS_LIMITS.media


def test_the_lookup_gives_each_channel_its_renderer_with_standard_or_given_limits() -> None:
    for channel in Channel:
        assert renderer_for(channel).channel is channel and renderer_for(channel).limits is standard_limits(channel)
    assert renderer_for(Channel.WHATSAPP, SMALL).limits is SMALL
    assert renderer_for(Channel.VOICE).limits is VOICE_LIMITS


# ---- the gather node renders through the session channel's limits ------------------------------


def _menu_flow(count: int, channels: str = "[whatsapp]") -> Any:
    choices = ", ".join(f'{{key: "{i}", label: "Appointment slot {i}"}}' for i in range(1, count + 1))
    return flow_from(f"""
        spec_version: 1
        name: many
        channels: {channels}
        start: ask
        nodes:
          - {{id: ask, type: gather, text: Pick one, choices: [{choices}]}}
    """)


def test_the_gather_node_renders_with_the_limits_the_driver_gives() -> None:
    limits = {Channel.WHATSAPP: SMALL}
    standard = start(_menu_flow(3), {}, "whatsapp", now=NOW).outputs[-1]
    assert len(standard.buttons) == 3 and standard.buttons[0].title == "Appointment slot 1"
    small = start(_menu_flow(3), {}, "whatsapp", now=NOW, channel_limits=limits).outputs[-1]
    assert not small.buttons and [r.title for r in small.list_rows] == ["Appointme…"] * 3
    flow = _menu_flow(7)
    first = start(flow, {}, "whatsapp", now=NOW, channel_limits=limits)
    assert [r.id for r in first.outputs[-1].list_rows] == ["1", "2", "3", "4", MORE_ID]
    second = resume(flow, first.state, Input.text(MORE_ID), now=NOW, channel_limits=limits)
    assert [r.id for r in second.outputs[-1].list_rows] == ["5", "6", "7"] and second.state["attempt"] == 0
    assert second.state["wait"]["page"] == 1
    picked = resume(flow, second.state, Input.text("2"), now=NOW, channel_limits=limits)
    assert picked.state["results"]["ask"]["value"] == "2"
    # the state is the same JSON whatever the limits: no limits are stored in it
    assert set(first.state) == set(start(flow, {}, "whatsapp", now=NOW).state)


def test_limits_follow_the_channel_a_session_switches_to() -> None:
    flow = flow_from("""
        spec_version: 1
        name: hop
        channels: [voice]
        start: hello
        nodes:
          - {id: hello, type: say, text: Hello, next: move}
          - {id: move, type: switch_channel, channel: whatsapp, next: ask}
          - {id: ask, type: gather, text: Pick one, choices: [{key: a, label: Alpha}, {key: b, label: Beta}, {key: c, label: Gamma}]}
    """)
    step = start(flow, {}, "voice", now=NOW, channel_limits={Channel.WHATSAPP: SMALL})
    sent = step.outputs[-1]
    assert isinstance(sent, Send) and sent.channel == "whatsapp" and [r.id for r in sent.list_rows] == ["a", "b", "c"]


def test_sms_menu_wording_through_the_engine_in_arabic_and_from_the_catalogue(tmp_path: Any) -> None:
    arabic = flow_from("""
        spec_version: 1
        name: ar
        language: ar
        channels: [sms]
        start: ask
        nodes:
          - {id: ask, type: gather, text: اختر, choices: [{key: 1, label: ادفع الآن}, {key: 2, label: موظف}]}
    """)
    sent = start(arabic, {}, "sms", now=NOW).outputs[-1]
    assert sent.text == "اختر\nأرسل 1 أو «ادفع الآن»\nأرسل 2 أو «موظف»" and sent.language == "ar"
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "en.yaml").write_text('system.reply_or: "Text {key} for {label}"\n')
    custom = flow_from("""
        spec_version: 1
        name: custom
        prompts: prompts
        channels: [sms]
        start: ask
        nodes:
          - {id: ask, type: gather, text: Pick, choices: [{key: 1, label: Pay}]}
    """, base_dir=tmp_path)
    assert start(custom, {}, "sms", now=NOW).outputs[-1].text == "Pick\nText 1 for Pay"


# ---- the channel contract declares the renderers' limits ---------------------------------------


def test_capabilities_default_to_the_standard_limits_of_the_channel_they_render_as() -> None:
    voice = Capabilities(name="voice", renders_as=Channel.VOICE, live=True)
    assert voice.limits is VOICE_LIMITS and voice.stands_in_for == frozenset()
    bridge = Capabilities(name="whatsapp", renders_as=Channel.WHATSAPP, live=False, limits=SMALL)
    assert bridge.limits is SMALL
    for channel in (Channel.SMS, Channel.WHATSAPP):
        dev = DevChannel(channel).capabilities
        assert dev.limits is renderer_for(channel).limits is standard_limits(channel)
