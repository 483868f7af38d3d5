"""``voiceplatform flow validate|run``: tools for flow designers.

One convention for both commands (docs/flow-language.md, "The command line"): everything a
designer reads goes to **stdout**, in the order it happened: problems and "ok" lines; the
transcript, with each step's error and failure events right after what that step said, then the
status, results and an error summary. Only click's own usage errors go to stderr. The exit code
says how it went:

  0  valid / the run ended (or waits for more input) with no error event
  1  the flow does not validate (nothing runs)
  2  a scripted input the session did not accept (the transcript up to it is printed first),
     or scripted inputs left over after the session ended
  3  the run ended in a failure (a failure event)
  4  the run went on but had error events (a missing prompt, a template error...)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from voiceplatform.exceptions import FlowError

if TYPE_CHECKING:
    from voiceplatform.flow.whatsapp_templates import TemplateCatalog
    from voiceplatform.simulator import Exchange


@click.group("flow")
def flow_group() -> None:
    """Validate and try out YAML flows."""


@flow_group.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option("--templates", "templates_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="A JSON file of WhatsApp templates (Graph API message_templates records): check the templates "
                   "the flows name against it.")
def validate_command(paths: tuple[Path, ...], strict: bool, templates_file: Path | None) -> None:
    """Check flow files. Prints file:line:col: message for each problem and an ok line for each
    valid file (all on stdout); exits 1 if any file has an error (or a warning, with --strict).
    With --templates, the WhatsApp templates the flows name must be in the file, APPROVED, in
    the language named, with as many parameters as given (flow-language.md, Validation)."""
    from voiceplatform.flow import analyse_flow
    from voiceplatform.flow.template_checks import check_whatsapp_templates

    catalog = _catalog(templates_file) if templates_file is not None else None
    failed = False
    for path in _expand(paths):
        flow, problems = analyse_flow(path)
        if flow is not None and catalog is not None:
            problems = sorted(set(problems) | set(check_whatsapp_templates(flow, catalog)))
        for problem in problems:
            click.echo(str(problem))
        errors = [p for p in problems if p.severity == "error" or strict]
        if errors or flow is None:
            failed = True
        else:
            channels = ", ".join(channel.value for channel in flow.definition.channels)
            click.echo(f"{path}: ok ({len(flow.nodes)} nodes; {channels})")
    sys.exit(1 if failed else 0)


def _catalog(path: Path) -> TemplateCatalog:
    """The templates of ``path`` (a list of message_templates records, or the API's
    ``{"data": [...]}``); an unreadable or malformed file is a usage error (exit 2)."""
    from voiceplatform.flow.whatsapp_templates import TemplateRecordError, catalog_from_graph

    try:
        return catalog_from_graph(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="--templates") from exc
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"{path} is not JSON: {exc}", param_hint="--templates") from exc
    except TemplateRecordError as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint="--templates") from exc


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
        click.echo(str(exc))
        sys.exit(EXIT_INVALID)
    contact = _pairs(contact_pairs, "--contact")
    facts = {k: {"true": True, "false": False}.get(v.lower(), v) for k, v in _pairs(fact_pairs, "--fact").items()}
    interactive = not inputs
    shown = 0

    def show_new(simulation_exchanges: list[Exchange]) -> None:
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
            for event in exchange.step.events:
                if event.kind in ("error", "failure"):
                    click.echo(_event_line(event))
        shown = len(simulation_exchanges)

    exchanges_ref: list[Exchange] = []

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
        show_new(exchanges_ref)  # the conversation up to the input that was refused, then why
        if not as_json and exchanges_ref:
            _summary(exchanges_ref[-1].step, exchanges_ref)
        click.echo(f"error: {exc}")
        sys.exit(EXIT_INPUT)
    show_new(simulation.exchanges)
    final = simulation.last
    if not as_json:
        _summary(final, simulation.exchanges)
    if simulation.unused:
        left = ", ".join(repr(raw) for raw in simulation.unused)
        click.echo(f"error: the session ended with {len(simulation.unused)} scripted input(s) unused: {left}")
        sys.exit(EXIT_INPUT)
    kinds = {event.kind for exchange in simulation.exchanges for event in exchange.step.events}
    if "failure" in kinds:
        sys.exit(EXIT_FAILED)
    if "error" in kinds:
        sys.exit(EXIT_ERRORS)


EXIT_INVALID, EXIT_INPUT, EXIT_FAILED, EXIT_ERRORS = 1, 2, 3, 4


def _event_line(event: Any) -> str:
    where = f" at {event.node}" if getattr(event, "node", None) else ""
    return f"{event.kind}: [{event.code}] {event.message}{where}"


def _summary(final: Any, exchanges: list[Any]) -> None:
    click.echo("")
    click.echo(f"status: {final.status.value}" + (f" ({final.state['end_reason']})" if final.state.get("end_reason") else ""))
    if final.wait:
        click.echo(f"waiting for: {final.wait['kind']} at {final.wait['node']}")
    results = {name: entry.get("value") for name, entry in final.state["results"].items()}
    click.echo(f"results: {json.dumps(results, ensure_ascii=False)}")
    if final.state.get("language"):
        click.echo(f"language: {final.state['language']}")
    if final.state.get("opted_out"):
        click.echo(f"opted out: {', '.join(final.state['opted_out'])}")
    problems = [e for x in exchanges for e in x.step.events if e.kind in ("error", "failure")]
    if problems:
        failures = sum(1 for e in problems if e.kind == "failure")
        click.echo(f"problems: {len(problems) - failures} error(s), {failures} failure(s) (shown where they happened)")


def _pairs(pairs: tuple[str, ...], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint=option)
        out[key.strip()] = value
    return out
