"""``voiceplatform demo``: the main job. For now it runs the demo journey in the simulator."""

from __future__ import annotations

import click


@click.command("demo")
def demo_command() -> None:
    """Run the demo journey."""
    from voiceplatform.demo import run_demo

    raise SystemExit(run_demo())
