"""Warnings that know the channel, each at file:line:col (voiceplatform/flow/channel_checks.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from click.testing import CliRunner

from voiceplatform.cli import main
from voiceplatform.flow import analyse_flow


def warnings_of(tmp_path: Path, text: str, prompts: dict[str, str] | None = None) -> list[str]:
    path = tmp_path / "flows" / "f.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    for language, entries in (prompts or {}).items():
        (tmp_path / "prompts").mkdir(exist_ok=True)
        (tmp_path / "prompts" / f"{language}.yaml").write_text(entries, encoding="utf-8")
    flow, problems = analyse_flow(path)
    assert flow is not None, problems
    assert all(p.severity == "warning" for p in problems), problems
    return [str(problem).replace(str(path), "f.yaml") for problem in problems]


def test_sms_segments_gsm7_and_ucs2_per_language(tmp_path: Path) -> None:
    found = warnings_of(tmp_path, """
        spec_version: 1
        name: f
        languages: [ar]
        channels: [sms]
        start: a
        nodes:
          - {id: a, type: say, prompt: reminder, next: b}
          - {id: b, type: say, text: "%s", next: c}
          - {id: c, type: say, text: "Hi {{ contact.first_name }} %s"}
    """ % ("x" * 170, "y" * 160), {
        "en": "reminder: " + "Your payment is due. " * 5 + "\n",  # 104: one GSM-7 segment
        "ar": "reminder: " + "دفعتك مستحقة. " * 6 + "\n",  # 83: two UCS-2 segments
    })
    assert found == [
        "f.yaml:7:32: warning: node 'a': the SMS (ar) is 83 UCS-2 characters, sent as 2 segments of 67",
        "f.yaml:8:30: warning: node 'b': the SMS (ar) is 170 GSM-7 characters, sent as 2 segments of 153",
        "f.yaml:8:30: warning: node 'b': the SMS (en) is 170 GSM-7 characters, sent as 2 segments of 153",
        "f.yaml:9:30: warning: node 'c': the SMS (ar) is at least 164 GSM-7 characters, sent as 2 segments of 153",
        "f.yaml:9:30: warning: node 'c': the SMS (en) is at least 164 GSM-7 characters, sent as 2 segments of 153",
    ]


def test_a_stray_character_that_forces_ucs2_is_named(tmp_path: Path) -> None:
    found = warnings_of(tmp_path, """
        spec_version: 1
        name: f
        channels: [voice]
        start: a
        nodes:
          - {id: a, type: send, channel: sms, text: "We’ll call you back tomorrow morning, between nine and eleven o’clock, about your order."}
    """)
    assert found == [
        "f.yaml:6:45: warning: node 'a': the SMS (en) is 88 UCS-2 characters, sent as 2 segments of 67; "
        "'’' is not in GSM-7 and makes the whole message UCS-2"
    ]


def test_sms_menu_lines_count_with_rendered_labels(tmp_path: Path) -> None:
    found = warnings_of(tmp_path, """
        spec_version: 1
        name: f
        languages: [ar]
        channels: [sms]
        vars: {labels: {en: {yes: "Yes"}, ar: {yes: "نعم، أؤكد حضوري للموعد المحدد"}}}
        start: a
        nodes:
          - id: a
            type: gather
            text: "{{ 'هل ستحضر موعدك؟' if session.language == 'ar' else 'Will you come?' }}"
            choices: [{key: "1", label: "{{ vars.labels[session.language].yes }}"}, {key: "2", label: "لا"}]
    """)
    assert found == ["f.yaml:10:11: warning: node 'a': the SMS (ar) is 72 UCS-2 characters, sent as 2 segments of 67"]


def test_whatsapp_list_of_eleven_and_long_list_button(tmp_path: Path) -> None:
    choices = ", ".join(f'{{key: "{n}", label: "{n}"}}' for n in range(11))
    found = warnings_of(tmp_path, f"""
        spec_version: 1
        name: f
        channels: [whatsapp]
        start: nps
        nodes:
          - {{id: nps, type: gather, text: "How likely are you to recommend us?", choices: [{choices}], next: five}}
          - id: five
            type: gather
            text: Pick one
            choices: [{{key: a, label: A}}, {{key: b, label: B}}, {{key: c, label: C}}, {{key: d, label: D}}]
    """, {"en": "system.list_button: Choose the option that suits you best\n"})
    assert found == [
        "f.yaml:6:83: warning: node 'nps': 11 choices, but a WhatsApp list holds 10 rows, so it is sent in pages of "
        '9 rows and a "More" row; split it so that every choice shows at once (an 11-point 0-10 scale as 0-5 then '
        "6-10, or a first question that narrows it down)",
        "f.yaml:10:14: warning: node 'five': the list button text 'Choose the option that suits you best' (en, "
        "system.list_button) is longer than WhatsApp's 20 characters and will be shortened",
    ]


def test_free_form_whatsapp_straight_after_a_template(tmp_path: Path) -> None:
    found = warnings_of(tmp_path, """
        spec_version: 1
        name: f
        channels: [voice, whatsapp]
        start: tpl
        nodes:
          - {id: tpl, type: send, channel: whatsapp, template: {name: delivery_update}, next: note}
          - {id: note, type: set, vars: {sent: "yes"}, next: menu}
          - {id: menu, type: gather, text: "When should we deliver?", choices: [{key: "1", label: Today}]}
    """)
    assert found == [
        "f.yaml:8:22: warning: node 'menu': a free-form WhatsApp message straight after the template of node 'tpl', "
        "before the contact has replied; WhatsApp delivers free-form messages only within 24 hours of the "
        "contact's last message: put quick-reply buttons in the template and wait for the reply first",
    ]


def test_waiting_for_the_reply_after_a_template_is_fine(tmp_path: Path) -> None:
    assert warnings_of(tmp_path, """
        spec_version: 1
        name: f
        channels: [whatsapp]
        start: tpl
        nodes:
          - {id: tpl, type: send, template: {name: delivery_update}, next: reply}
          - {id: reply, type: wait, next: menu}
          - {id: menu, type: gather, text: "When should we deliver?", choices: [{key: "1", label: Today}]}
    """) == []


def test_duplicate_labels_and_keys_ambiguous_on_a_keypad(tmp_path: Path) -> None:
    found = warnings_of(tmp_path, """
        spec_version: 1
        name: f
        channels: [voice]
        start: menu
        nodes:
          - id: menu
            type: gather
            text: Pick
            choices:
              - {key: "1", label: Billing}
              - {key: "10", label: Other, synonyms: [billing]}
              - {key: "2", label: other}
    """)
    assert found == [
        "f.yaml:11:15: warning: node 'menu': key '10' begins with key '1'; a caller who presses 1 waits for another "
        "digit. Add finish_on_key: \"#\" (and say \"then hash\"), or use keys of one digit",
        "f.yaml:11:46: warning: node 'menu': 'billing' also answers choice '1'; a reply 'billing' matches choice '1', "
        "never choice '10'",
        "f.yaml:12:27: warning: node 'menu': 'other' also answers choice '10'; a reply 'other' matches choice '10', "
        "never choice '2'",
    ]


def test_finish_on_key_makes_keys_unambiguous(tmp_path: Path) -> None:
    assert warnings_of(tmp_path, """
        spec_version: 1
        name: f
        channels: [voice]
        start: menu
        nodes:
          - {id: menu, type: gather, text: Pick, finish_on_key: "#", choices: [{key: "1", label: A}, {key: "10", label: B}]}
    """) == []


def test_strict_validate_fails_on_channel_warnings(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text('spec_version: 1\nname: f\nchannels: [sms]\nstart: a\nnodes:\n  - {id: a, type: say, text: "' + "z" * 200 + '"}\n')
    runner = CliRunner()
    assert runner.invoke(main, ["flow", "validate", str(path)]).exit_code == 0
    strict = runner.invoke(main, ["flow", "validate", "--strict", str(path)])
    assert strict.exit_code == 1 and "sent as 2 segments of 153" in strict.output


def test_the_bilingual_example_warns_about_its_arabic_sms_only() -> None:
    from tests.flow.helpers import REPO

    path = REPO / "ivr_flows" / "collections_bilingual.yaml"
    _flow, problems = analyse_flow(path)
    assert [(p.severity, p.message) for p in problems] == [
        ("warning", "node 'greeting': the SMS (ar) is at least 72 UCS-2 characters, sent as 2 segments of 67"),
        ("warning", "node 'menu': the SMS (ar) is 95 UCS-2 characters, sent as 2 segments of 67"),
    ]
