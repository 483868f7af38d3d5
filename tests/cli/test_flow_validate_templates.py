"""``voiceplatform flow validate --templates FILE.json``: the WhatsApp templates a flow names,
checked offline against Graph API ``message_templates`` records, at the flow's file:line:col."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from voiceplatform.cli import main

REPO = Path(__file__).resolve().parents[2]
REMINDER = REPO / "ivr_flows" / "whatsapp_appointment_reminder.yaml"


def _record(name: str, body: str, status: str = "APPROVED", buttons: tuple[str, ...] = ()) -> dict[str, object]:
    components: list[dict[str, object]] = [{"type": "BODY", "text": body}]
    if buttons:
        components.append({"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": text} for text in buttons]})
    return {"name": name, "language": "en", "status": status, "category": "UTILITY", "components": components}


def _validate(tmp_path: Path, document: object, *flows: Path) -> tuple[int, list[str]]:
    templates = tmp_path / "templates.json"
    templates.write_text(json.dumps(document), encoding="utf-8")
    result = CliRunner().invoke(main, ["flow", "validate", "--templates", str(templates),
                                       *(str(flow) for flow in flows or (REMINDER,))])
    return result.exit_code, result.output.splitlines()


def test_a_flow_whose_templates_are_approved_is_ok(tmp_path: Path) -> None:
    document = {"data": [_record("appointment_reminder", "Hi {{1}}, {{2}} at {{3}}?", buttons=("Confirm", "Cancel")),
                         _record("appointment_confirmed", "See you on {{1}} at {{2}}.")]}
    code, lines = _validate(tmp_path, document)
    assert code == 0, lines
    assert lines == [f"{REMINDER}: ok (5 nodes; whatsapp)"]


def test_template_problems_are_printed_at_the_flows_position_and_exit_one(tmp_path: Path) -> None:
    document = [_record("appointment_reminder", "Hi {{1}}, {{2}} at {{3}}?", status="PAUSED", buttons=("Confirm", "Cancel")),
                _record("appointment_confirmed", "See you soon.")]
    code, lines = _validate(tmp_path, document)
    assert code == 1
    assert lines == [
        f"{REMINDER}:21:13: node 'remind': WhatsApp template 'appointment_reminder' (en) is PAUSED: only APPROVED "
        "templates can be sent",
        f"{REMINDER}:39:15: node 'confirmed': WhatsApp template 'appointment_confirmed' (en) takes 0 body parameters; "
        "the node gives 2",
    ]


def test_without_templates_the_flow_is_checked_as_before() -> None:
    result = CliRunner().invoke(main, ["flow", "validate", str(REMINDER)])
    assert result.exit_code == 0 and "ok (5 nodes" in result.output


def test_a_bad_templates_file_is_a_usage_error(tmp_path: Path) -> None:
    for document, says in (("{not json", "is not JSON"), (json.dumps([{"language": "en"}]), "template 1 has no name")):
        templates = tmp_path / "t.json"
        templates.write_text(document, encoding="utf-8")
        result = CliRunner().invoke(main, ["flow", "validate", "--templates", str(templates), str(REMINDER)])
        assert result.exit_code == 2 and says in result.output, result.output
