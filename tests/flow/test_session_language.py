"""A session language that changes mid-flow, Arabic as a first-class language (issue 12 item 8,
item 11 and the session-language need): catalogue, built-in phrases, the language Say and Send
carry, Arabic-Indic digits, and subflows speaking the session's language."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from tests.flow.helpers import NOW, REPO, texts
from voiceplatform.flow import Input, analyse_flow, load_flow, resume, start
from voiceplatform.flow.matching import ChoiceIndex, ascii_digits, normalise
from voiceplatform.flow.phrases import SYSTEM_PHRASES

BILINGUAL = REPO / "ivr_flows" / "collections_bilingual.yaml"
CONTACT = {"first_name": "Noura", "amount": "1,250 SAR", "due_date": "1 December", "account_id": "AC-1"}


def write(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return tmp_path / next(iter(files))


def problems(path: Path) -> list[str]:
    _flow, found = analyse_flow(path)
    return [str(problem).replace(str(path.parent) + "/", "") for problem in found]


# ---- switching language mid-flow -------------------------------------------------------------


def test_pressing_2_switches_prompts_phrases_and_the_language_outputs_carry() -> None:
    flow = load_flow(BILINGUAL)
    step = start(flow, CONTACT, "voice", now=NOW)
    assert [(o.language) for o in step.outputs[:2]] == ["en", "ar"]  # the bilingual offer
    assert step.state["language"] == "en"
    step = resume(flow, step.state, Input.digits("2"), now=NOW)
    assert step.state["language"] == "ar"
    assert any(e.kind == "language_changed" and e.to_dict() == {"kind": "language_changed", "language": "ar", "previous": "en"}
               for e in step.events)
    say, gather = step.outputs
    assert say.language == "ar" and say.text.startswith("مرحبًا Noura، معك بنك أكمي.")
    assert all(prompt.language == "ar" for prompt in gather.prompts)
    assert "ادفع الآن، اضغط 1 أو قل ادفع الآن." in gather.prompts[0].text  # Arabic phrase, Arabic label
    step = resume(flow, step.state, Input.digits("7"), now=NOW)  # no match: the Arabic built-in phrase
    assert step.outputs[0].prompts[0].text == SYSTEM_PHRASES["ar"]["system.no_match"] == "عذرًا، لم أفهم ذلك."
    step = resume(flow, step.state, Input.digits("1"), now=NOW)
    sms = step.outputs[0]
    assert (sms.kind, sms.channel, sms.language) == ("send", "sms", "ar") and sms.text.startswith("بنك أكمي:")


def test_messages_carry_the_session_language_on_sms() -> None:
    flow = load_flow(BILINGUAL)
    step = start(flow, CONTACT, "sms", now=NOW)
    assert step.outputs[0].language == "en"
    step = resume(flow, step.state, Input.text("عربي"), now=NOW)
    assert {o.language for o in step.outputs} == {"ar"}
    assert step.outputs[1].text.splitlines()[1] == "أرسل 1 أو «ادفع الآن»"


def test_the_contact_language_starts_the_session_in_it() -> None:
    flow = load_flow(BILINGUAL)
    assert start(flow, CONTACT, "sms", now=NOW, language="ar-SA").state["language"] == "ar"
    assert start(flow, CONTACT, "sms", now=NOW, language="fr").state["language"] == "en"


def test_a_templated_language_outside_the_flow_is_an_error_event(tmp_path: Path) -> None:
    path = write(tmp_path, {"f.yaml": """
        spec_version: 1
        name: f
        languages: [ar]
        channels: [sms]
        start: pick
        nodes:
          - {id: pick, type: gather, text: "en or ar?", next: switch}
          - {id: switch, type: set_language, language: "{{ results.pick }}", next: bye}
          - {id: bye, type: say, text: "{{ session.language }}"}
    """})
    flow = load_flow(path)
    step = resume(flow, start(flow, {}, "sms", now=NOW).state, Input.text("fr"), now=NOW)
    assert [e.code for e in step.events if e.kind == "error"] == ["unknown_language"]
    assert texts(step) == ["en"]
    step = resume(flow, start(flow, {}, "sms", now=NOW).state, Input.text("ar"), now=NOW)
    assert texts(step) == ["ar"]


def test_validate_refuses_a_literal_language_the_flow_does_not_list(tmp_path: Path) -> None:
    path = write(tmp_path, {"f.yaml": """
        spec_version: 1
        name: f
        channels: [sms]
        start: a
        nodes:
          - {id: a, type: set_language, language: ar, next: b}
          - {id: b, type: say, language: fr, text: Bonjour}
    """})
    assert problems(path) == [
        "f.yaml:6:43: node 'a': language 'ar' is not one of 'f''s languages (en); add it to languages:",
        "f.yaml:7:34: node 'b': language 'fr' is not one of 'f''s languages (en); add it to languages:",
    ]


# ---- item 11: a subflow with another language: ------------------------------------------------


SUBFLOW_FILES = {
    "flows/parent.yaml": """
        spec_version: 1
        name: parent
        language: en
        languages: [ar]
        channels: [sms]
        start: check
        nodes:
          - {id: check, type: subflow, flow: identity.yaml}
    """,
    "flows/identity.yaml": """
        spec_version: 1
        name: identity
        language: ar
        channels: [sms]
        start: ask
        nodes:
          - {id: ask, type: gather, prompt: id_question}
    """,
    "prompts/ar.yaml": "id_question: ما هو رقم هويتك؟\n",
}


def test_a_subflow_in_another_language_must_have_its_prompts_in_the_session_languages(tmp_path: Path) -> None:
    parent = write(tmp_path, SUBFLOW_FILES)
    assert problems(parent) == [
        "identity.yaml:7:37: node 'ask': prompt 'id_question' is missing from "
        f"{tmp_path}/prompts/en.yaml (a session of 'parent' can be in en, and a subflow speaks the session's language)"
    ]
    (tmp_path / "prompts" / "en.yaml").write_text("id_question: What is your ID number?\n")
    assert problems(parent) == []
    flow = load_flow(parent)
    assert texts(start(flow, {}, "sms", now=NOW)) == ["What is your ID number?"]  # the session's language
    assert texts(start(flow, {}, "sms", now=NOW, language="ar")) == ["ما هو رقم هويتك؟"]


# ---- item 8: Arabic-Indic digits and Arabic replies -------------------------------------------


@pytest.mark.parametrize("reply, expected", [
    ("٢", 1), ("۲", 1), ("2", 1), ("اثنين", 1), ("إثنين", 1), ("two", 1),
    ("نعم", 0), ("نَعَم", 0), ("١", 0), ("۹", None), ("لا", 1),
])
def test_arabic_replies_match_choices(reply: str, expected: int | None) -> None:
    index = ChoiceIndex.build([("1", "نعم", ()), ("2", "لا", ())])
    assert index.match(reply) == expected


def test_arabic_spelling_variants_fold() -> None:
    assert normalise("أربعة") == normalise("اربعه") == normalise("ﺃﺭﺑﻌﺔ")  # presentation forms too
    assert normalise("مستشفى") == normalise("مستشفي")
    assert normalise("جـــميل") == normalise("جميل")
    assert ascii_digits("٠٥٥١٢٣۴۵") == "05512345"


def test_arabic_indic_digits_pass_digit_validation_and_are_stored_as_ascii(tmp_path: Path) -> None:
    path = write(tmp_path, {"f.yaml": """
        spec_version: 1
        name: f
        channels: [voice, sms]
        start: dob
        nodes:
          - {id: dob, type: gather, text: "Your date of birth, 8 digits", validate: "[0-9]{8}", max_digits: 8, retries: 0, input: [dtmf, speech]}
    """})
    flow = load_flow(path)
    for channel, given in (("sms", Input.text("٢١١١١٩٦٢")), ("sms", Input.text("۲۱۱۱۱۹۶۲")), ("voice", Input.speech("٢١١١١٩٦٢", 0.9))):
        step = resume(flow, start(flow, {}, channel, now=NOW).state, given, now=NOW)
        entry = step.state["results"]["dob"]
        assert (entry["value"], entry["input"]) == ("21111962", given.value)
        assert step.state["status"] == "completed"


def test_every_builtin_phrase_has_an_arabic_version() -> None:
    assert set(SYSTEM_PHRASES["ar"]) == set(SYSTEM_PHRASES["en"])
    for phrase_id, text in SYSTEM_PHRASES["ar"].items():
        assert any("\u0600" <= ch <= "\u06ff" for ch in text), phrase_id


def test_the_arabic_catalogue_has_every_english_prompt_in_arabic() -> None:
    import yaml

    english = yaml.safe_load((REPO / "prompts" / "en.yaml").read_text())
    arabic = yaml.safe_load((REPO / "prompts" / "ar.yaml").read_text(encoding="utf-8"))
    assert set(arabic) == set(english)
    for prompt_id, text in arabic.items():
        letters = [ch for ch in re.sub(r"@\w+", "", text) if ch.isalpha()]
        arabic_letters = [ch for ch in letters if "\u0600" <= ch <= "\u06ff"]
        assert len(arabic_letters) > 0.6 * len(letters), prompt_id  # Arabic text, not a copy of the English
