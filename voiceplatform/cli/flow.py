"""``voiceplatform flow validate|run``: tools for flow designers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from voiceplatform.exceptions import FlowError


@click.group("flow")
def flow_group() -> None:
    """Validate and try out YAML flows."""


@flow_group.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
def validate_command(paths: tuple[Path, ...], strict: bool) -> None:
    """Check flow files. Prints file:line:col: message for each problem; exits 1 if any."""
    from voiceplatform.flow import analyse_flow

    failed = False
    for path in _expand(paths):
        flow, problems = analyse_flow(path)
        for problem in problems:
            click.echo(str(problem))
        errors = [p for p in problems if p.severity == "error" or strict]
        if errors or flow is None:
            failed = True
        else:
            channels = ", ".join(channel.value for channel in flow.definition.channels)
            click.echo(f"{path}: ok ({len(flow.nodes)} nodes; {channels})", err=True)
    sys.exit(1 if failed else 0)


def _expand(paths: tuple[Path, ...]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted([*path.glob("*.yaml"), *path.glob("*.yml")]))
        else:
            found.append(path)
    return found


@flow_group.command("run")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--channel", type=click.Choice(["voice", "sms", "whatsapp"]), default="voice", show_default=True)
@click.option("--contact", "contact_pairs", multiple=True, metavar="KEY=VALUE", help="A contact field (repeat).")
@click.option("--input", "inputs", multiple=True, metavar="X", help="A scripted input (repeat); see below.")
@click.option("--fact", "fact_pairs", multiple=True, metavar="KEY=VALUE", help="A channel fact at the start (answered=false, amd=machine).")
@click.option("--json", "as_json", is_flag=True, help="Print every step as JSON instead of a transcript.")
def run_command(
    path: Path,
    channel: str,
    contact_pairs: tuple[str, ...],
    inputs: tuple[str, ...],
    fact_pairs: tuple[str, ...],
    as_json: bool,
) -> None:
    """Step through a flow and print the conversation.

    With no --input, asks for each answer at the terminal. Inputs: digits (1, 123#), words (a
    message, or speech on a call), an empty line for silence, or digits:1, text:hi, speech:yes@0.8,
    recording:12[:words], timeout, hangup, http:200[:BODY], transfer:busy, answered, no-answer,
    machine. Webhooks get a stub 200 reply unless the next input is http:...
    """
    from voiceplatform.flow import load_flow
    from voiceplatform.flow.transcript import input_line, output_lines
    from voiceplatform.simulator import simulate

    try:
        flow = load_flow(path)
    except FlowError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    contact = _pairs(contact_pairs, "--contact")
    facts = {k: {"true": True, "false": False}.get(v.lower(), v) for k, v in _pairs(fact_pairs, "--fact").items()}
    interactive = not inputs
    shown = 0

    def show_new(simulation_exchanges: list) -> None:  # type: ignore[type-arg]
        nonlocal shown
        for exchange in simulation_exchanges[shown:]:
            if as_json:
                given = exchange.given.to_dict() if exchange.given else None
                click.echo(json.dumps({"input": given, **exchange.step.to_dict()}, default=list))
                continue
            if exchange.given is not None:
                click.echo(input_line(exchange.given))
            for output in exchange.step.outputs:
                for line in output_lines(output):
                    click.echo(line)
        shown = len(simulation_exchanges)

    exchanges_ref: list = []  # type: ignore[type-arg]

    def ask(step) -> str | None:  # type: ignore[no-untyped-def]
        show_new(exchanges_ref)
        wait = step.wait or {}
        try:
            return click.prompt(f"[{step.channel} · waiting for {wait.get('kind')}] you", default="", show_default=False)
        except (EOFError, click.Abort):
            return None

    try:
        simulation = simulate(flow, contact, channel, inputs, facts=facts or None,
                              ask=ask if interactive else None, _exchanges=exchanges_ref)
    except FlowError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    show_new(simulation.exchanges)
    final = simulation.last
    if not as_json:
        click.echo("")
        click.echo(f"status: {final.status.value}" + (f" ({final.state['end_reason']})" if final.state.get("end_reason") else ""))
        if final.wait:
            click.echo(f"waiting for: {final.wait['kind']} at {final.wait['node']}")
        results = {name: entry.get("value") for name, entry in final.state["results"].items()}
        click.echo(f"results: {json.dumps(results, ensure_ascii=False)}")
        errors = [e for x in simulation.exchanges for e in x.step.events if e.kind in ("error", "failure")]
        for event in errors:
            click.echo(f"{event.kind}: [{event.code}] {event.message}")


def _pairs(pairs: tuple[str, ...], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint=option)
        out[key.strip()] = value
    return out
