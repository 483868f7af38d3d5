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
        "--contact", "appointment_date=3 May", "--contact", "appointment_time=10:00", "--contact", "appointment_id=7",
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


# ---- one output convention, exit codes, the transcript before an error (issue 12 items 4, 12)

FAILING = """\
spec_version: 1
name: failing
channels: [sms]
start: hello
nodes:
  - {id: hello, type: say, text: "Hello there", next: ask}
  - {id: ask, type: gather, text: "Pick one", choices: [{key: "1", label: Go, next: deep}]}
  - {id: deep, type: subflow, flow: self.yaml}
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_validate_prints_problems_and_ok_lines_on_stdout(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "voiceplatform"), "flow", "validate", str(FLOWS / "payment_reminder.yaml")],
        capture_output=True, text=True,
    )
    assert done.returncode == 0
    assert "payment_reminder.yaml: ok (" in done.stdout
    assert done.stderr == ""


def test_a_refused_input_prints_the_transcript_up_to_it_then_the_error_and_exits_2() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "voiceplatform"), "flow", "run", str(FLOWS / "payment_reminder.yaml"),
         "--channel", "voice", "--contact", "first_name=Ann", "--contact", "amount=$5", "--contact", "due_date=Monday",
         "--contact", "account_id=X", "--contact", "phone=+15550100", "--input", "recording:3"],
        capture_output=True, text=True,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    hello = next(i for i, line in enumerate(lines) if line.startswith("bot (say): Hello Ann"))
    error = next(i for i, line in enumerate(lines) if line.startswith("error: scripted input 1 ('recording:3') was not accepted"))
    assert hello < error  # the conversation so far comes first, then why it stopped
    assert "status: waiting" in lines and "waiting for: gather at menu" in lines
    assert done.stderr == ""


def test_inputs_left_over_after_the_end_exit_2() -> None:
    result = CliRunner().invoke(main, [
        "flow", "run", str(FLOWS / "payment_reminder.yaml"), "--channel", "sms",
        "--contact", "first_name=Ann", "--contact", "amount=$5", "--contact", "due_date=Monday",
        "--contact", "account_id=X", "--input", "2", "--input", "extra",
    ])
    assert result.exit_code == 2, result.output
    assert "status: completed (hangup)" in result.output
    assert "error: the session ended with 1 scripted input(s) unused: 'extra'" in result.output


def test_a_failure_is_printed_where_it_happened_and_exits_3(tmp_path: Path) -> None:
    flow = _write(tmp_path, "self.yaml", FAILING.replace("name: failing", "name: self_loop"))
    # Each "1" enters the flow again as its own subflow, until the depth limit (10) fails the run.
    result = CliRunner().invoke(main, ["flow", "run", str(flow), "--channel", "sms", *["--input", "1"] * 11])
    assert result.exit_code == 3, result.output
    lines = result.output.splitlines()
    assert lines[0] == "bot (sms): Hello there"
    failure = next(i for i, line in enumerate(lines) if line.startswith("failure: [subflow_too_deep]"))
    last_input = max(i for i, line in enumerate(lines) if line == "contact: 1")
    assert last_input < failure < lines.index("status: failed (subflow_too_deep)")
    assert "problems: 0 error(s), 1 failure(s) (shown where they happened)" in lines


def test_error_events_are_shown_inline_and_exit_4(tmp_path: Path) -> None:
    flow = _write(tmp_path, "errs.yaml", """\
spec_version: 1
name: errs
channels: [sms]
start: hello
nodes:
  - {id: hello, type: say, text: "Hi {{ contact.first_name }}", next: bye}
  - {id: bye, type: say, text: "Bye"}
""")
    result = CliRunner().invoke(main, ["flow", "run", str(flow), "--channel", "sms"])
    assert result.exit_code == 4, result.output
    lines = result.output.splitlines()
    # Events are printed after the outputs of the step they belong to (before the next input).
    assert lines[:3] == [
        "bot (sms): Hi",
        "bot (sms): Bye",
        "error: [undefined_variable] undefined in template: first_name at hello",
    ]
    assert "status: completed (end)" in lines


def test_a_clean_run_exits_0_with_nothing_on_stderr() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "voiceplatform"), "flow", "run", str(FLOWS / "payment_reminder.yaml"),
         "--channel", "sms", "--contact", "first_name=Ann", "--contact", "amount=$5", "--contact", "due_date=Monday",
         "--contact", "account_id=X", "--input", "2"],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "status: completed (hangup)" in done.stdout and done.stderr == ""
