"""``voiceplatform demo``: the main job, a demo campaign through the HTTP API against the lab, and
beside it a journey from a call to SMS through the real Jasmin and back to a call.
``--simulated`` runs the earlier demo: the journey in the simulator on every channel."""

from __future__ import annotations

import click


@click.command("demo")
@click.option("--simulated", is_flag=True, help="Run the journey in the simulator instead (no switch, no API).")
@click.option("--port", type=int, default=8080, show_default=True, help="The API's port (a free one if taken).")
@click.option("--serve/--no-serve", default=None,
              help="Keep serving the API after the campaign (default: when run in a terminal).")
@click.option("--keep-lab", is_flag=True,
              help="Leave the Asterisk lab and the SMS gateway running when the demo ends (stop them with "
                   "`voiceplatform lab down` and `voiceplatform smsc down`).")
def demo_command(simulated: bool, port: int, serve: bool | None, keep_lab: bool) -> None:
    """Start the Asterisk lab, the SMS gateway (Jasmin) and the embedded server, run a demo
    campaign over HTTP and print each contact's outcome, answers and recording; beside it, a
    journey from a missed call to SMS and back to a call. When it ends (or on Ctrl-C or SIGTERM)
    it stops the server and the SMS bridge, and the lab and the gateway too if the demo started
    them, unless --keep-lab."""
    if simulated:
        from voiceplatform.demo.simulated import run_demo

        raise SystemExit(run_demo())
    from voiceplatform.demo.main import run_lab_demo

    raise SystemExit(run_lab_demo(port=port, serve=serve, keep_lab=keep_lab))
