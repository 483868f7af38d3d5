"""``voiceplatform flow validate`` and ``voiceplatform flow run``, through the real entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from voiceplatform.cli import main

REPO = Path(__file__).resolve().parents[2]
FLOWS = REPO / "ivr_flows"


def test_validate_examples_exits_zero() -> None:
    result = CliRunner().invoke(main, ["flow", "validate", str(FLOWS)])
    assert result.exit_code == 0, result.output
    assert "payment_reminder.yaml: ok (" in result.output


def test_validate_broken_flow_prints_file_line_col_and_exits_one(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("spec_version: 1\nname: bad\nstart: a\nnodes:\n  - {id: a, type: say, text: hi, next: b}\n")
    good = FLOWS / "payment_reminder.yaml"
    result = CliRunner().invoke(main, ["flow", "validate", str(good), str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:5:40: node 'a': exit 'next' goes to unknown node 'b'" in result.output.splitlines()


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "voiceplatform"
    done = subprocess.run([str(script), "flow", "validate", str(FLOWS / "satisfaction_survey.yaml")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_run_with_scripted_inputs_prints_transcript() -> None:
    result = CliRunner().invoke(main, [
        "flow", "run", str(FLOWS / "payment_reminder.yaml"), "--channel", "sms",
        "--contact", "first_name=Ann", "--contact", "amount=$5", "--contact", "due_date=Monday",
        "--contact", "account_id=X", "--input", "2",
    ])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "bot (sms): Hello Ann, this is Acme Bank. This is a reminder that your payment of $5 is due on Monday." in lines
    assert "contact: 2" in lines
    assert "status: completed (hangup)" in lines
    assert 'results: {"choice": "2", "callback_requested": "yes"}' in lines


def test_run_interactive_reads_answers_from_the_terminal() -> None:
    result = CliRunner().invoke(
        main, ["flow", "run", str(FLOWS / "satisfaction_survey.yaml"), "--channel", "voice", "--contact", "first_name=Bo"],
        input="5\nwell done\n",
    )
    assert result.exit_code == 0, result.output
    assert "contact: pressed 5" in result.output
    assert "contact (recorded 1.8s): well done" in result.output
    assert "status: completed (hangup)" in result.output


def test_run_json_and_no_answer_fact() -> None:
    result = CliRunner().invoke(main, [
        "flow", "run", str(FLOWS / "appointment_confirmation.yaml"), "--fact", "answered=false", "--json", "--input", "no",
    ])
    assert result.exit_code == 0, result.output
    assert '"kind": "switch_channel"' in result.output and '"channel": "sms"' in result.output


def test_run_reports_a_broken_flow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("spec_version: 1\nname: bad\n")
    result = CliRunner().invoke(main, ["flow", "run", str(bad)])
    assert result.exit_code == 1 and f"{bad}:1:1:" in result.output


def test_demo_runs_every_scenario() -> None:
    result = CliRunner().invoke(main, ["demo", "--simulated"])
    assert result.exit_code == 0, result.output
    assert "Call not answered: the journey moves to SMS" in result.output
    assert "system: journey moves from voice to sms" in result.output
    assert result.output.count("completed") >= 5
