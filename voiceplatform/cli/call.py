"""``voiceplatform call``: place one real call running a flow, and print what happened."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from voiceplatform.settings import paths

DEFAULT_FLOW = paths().flows_dir / "payment_reminder.yaml"  # the instance folder's (voiceplatform.settings)


@click.command("call")
@click.option("--to", "number", required=True, help="The number to call (with the lab trunk: a scripted callee, e.g. answer-press-1).")
@click.option("--flow", "flow_path", type=click.Path(path_type=Path, exists=True), default=DEFAULT_FLOW, show_default=True)
@click.option("--contact", "contact_pairs", multiple=True, metavar="KEY=VALUE", help="A contact field (repeat).")
@click.option("--switch", type=click.Choice(["asterisk", "freeswitch"]), default="asterisk", show_default=True)
@click.option("--caller-id", default=None)
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds to ring before giving up.")
@click.option("--json", "as_json", is_flag=True, help="Print the call record as JSON.")
def call_command(number: str, flow_path: Path, contact_pairs: tuple[str, ...], switch: str,
                 caller_id: str | None, timeout: float, as_json: bool) -> None:
    """Place one call and print its transcript and outcome.

    Uses the Asterisk given by VOICEPLATFORM_AMI_USERNAME / _SECRET / _HOST / _PORT when set,
    else the running lab (`voiceplatform lab up`) and its trunk of scripted callees.
    With --switch freeswitch: the FreeSWITCH given by VOICEPLATFORM_ESL_HOST / _PORT / _PASSWORD
    (dial string VOICEPLATFORM_ESL_DIAL_TEMPLATE; try it with the emulator,
    `python -m voiceplatform.testing.freeswitch`).
    """
    from voiceplatform.processes.runtime import use_gevent

    use_gevent()
    from voiceplatform.exceptions import VoicePlatformError
    from voiceplatform.flow import load_flow
    from voiceplatform.dialer.switch import make_driver

    contact = {}
    for pair in contact_pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--contact")
        contact[key] = value
    try:
        flow = load_flow(flow_path)
        driver = make_driver(switch)
        with driver:
            record = driver.place_call(flow, number, contact, caller_id=caller_id, timeout=timeout).wait(timeout + 3600)
    except VoicePlatformError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    data = record.to_dict()
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    for line in data["transcript"]:
        click.echo(line)
    click.echo("")
    click.echo(f"outcome: {data['outcome']}   cause: {data['cause']}   amd: {data['amd']}   billable: {data['billable_seconds']}s")
    click.echo(f"path: {' → '.join(data['path'])}")
    click.echo(f"results: {json.dumps(data['results'])}")
    for recording in data["recordings"]:
        click.echo(f"recording: {recording['path']} ({recording['duration']}s, sha256 {recording['sha256'][:12]}…)")
    for error in data["errors"]:
        click.echo(f"error: {error}")
