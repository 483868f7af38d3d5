"""The demo journey: the payment reminder run through the simulator on each channel, and once
across channels (an unanswered call that carries on over SMS). Later issues replace the
simulator with real calls through the Asterisk lab."""

from __future__ import annotations


import click

from voiceplatform.flow import load_flow
from voiceplatform.flow.transcript import input_line, output_lines
from voiceplatform.settings import paths
from voiceplatform.simulator import Simulation, simulate

FLOWS = paths().flows_dir

DEMO_CONTACT = {
    "first_name": "Amira",
    "amount": "$120.50",
    "due_date": "1 December",
    "account_id": "AC-1042",
    "phone": "+15555550100",
}

SCENARIOS = [
    ("Call answered, caller presses 1 to pay", "voice", ["1"], None),
    ("Call answered, caller says 'agent' after a wrong key", "voice", ["7", "agent"], None),
    ("Call not answered: the journey moves to SMS", "voice", ["pay"], {"answered": False}),
    ("SMS: customer replies 'speak to an agent'", "sms", ["speak to an agent"], None),
    ("WhatsApp: customer taps the 'Pay now' button", "whatsapp", ["1"], None),
]


def run_demo() -> int:
    flow = load_flow(FLOWS / "payment_reminder.yaml")
    click.echo(f"voiceplatform demo: flow {flow.name!r} ({len(flow.nodes)} nodes), contact {DEMO_CONTACT['first_name']}")
    summary = []
    for title, channel, inputs, facts in SCENARIOS:
        click.echo("")
        click.secho(f"== {title} ({channel})", bold=True)
        simulation = simulate(flow, DEMO_CONTACT, channel, inputs, facts=facts)
        _print_transcript(simulation)
        final = simulation.last
        results = {name: entry.get("value") for name, entry in final.state["results"].items()}
        summary.append((title, final.state["channel"], final.status.value, results))
    click.echo("")
    click.secho("== Summary", bold=True)
    width = max(len(row[0]) for row in summary)
    for title, channel, status, results in summary:
        click.echo(f"{title:<{width}}  {channel:<8}  {status:<11}  {results}")
    failed = [row for row in summary if row[2] == "failed"]
    return 1 if failed else 0


def _print_transcript(simulation: Simulation) -> None:
    for exchange in simulation.exchanges:
        if exchange.given is not None:
            click.echo("  " + input_line(exchange.given))
        for output in exchange.step.outputs:
            for line in output_lines(output):
                click.echo("  " + line)
