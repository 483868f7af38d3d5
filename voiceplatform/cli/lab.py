"""``voiceplatform lab up | down | status``: the real Asterisk the project starts itself."""

from __future__ import annotations

import click

from voiceplatform.exceptions import LabError
from voiceplatform.lab import LabSettings, LabState, down, status, up


def _describe(state: LabState) -> list[str]:
    return [
        f"  version : {state.version}",
        f"  pid     : {state.pid}",
        f"  AMI     : {state.ami_host}:{state.ami_port} (user {state.ami_username})",
        f"  FastAGI : the dialplan calls agi://{state.agi_address}/flow",
        f"  root    : {state.root}",
        f"  media   : {state.media_dir}",
        f"  log     : {state.log_file}",
    ]


@click.group("lab")
def lab_group() -> None:
    """Run a real Asterisk 22 (Debian sid, in a cached chroot) with dialplans/asterisk."""


@lab_group.command("up")
@click.option(
    "--agi",
    "agi_address",
    default=None,
    metavar="HOST:PORT",
    help="Where the platform's FastAGI server listens (default 127.0.0.1:4573, "
    "or $VOICEPLATFORM_AGI_ADDRESS).",
)
def up_command(agi_address: str | None) -> None:
    """Start the lab (building the chroot on first use); report it if it already runs."""
    try:
        report = up(LabSettings.from_env(agi_address=agi_address))
    except LabError as exc:
        raise click.ClickException(str(exc)) from exc
    if report.already_running:
        note = " (dialplans/asterisk changed: installed and reloaded)" if report.reloaded else ""
        click.echo(f"lab already running{note}")
    elif report.build and report.build.built:
        click.echo(
            f"lab up in {report.seconds:.1f} s (chroot built from {report.build.mirror} "
            f"in {report.build.seconds:.1f} s)"
        )
    else:
        click.echo(f"lab up in {report.seconds:.1f} s (cached chroot)")
    click.echo("\n".join(_describe(report.state)))


@lab_group.command("down")
@click.option("--force", is_flag=True, help="Stop it even while a test session uses it.")
def down_command(force: bool) -> None:
    """Stop the lab's Asterisk by its pid and unmount what the lab mounted."""
    try:
        report = down(LabSettings.from_env(), force=force)
    except LabError as exc:
        raise click.ClickException(str(exc)) from exc
    if not report.stopped and not report.unmounted:
        click.echo("lab not running")
        return
    for line in report.stopped:
        click.echo(f"stopped Asterisk {line}")
    for point in report.unmounted:
        click.echo(f"unmounted {point}")
    click.echo("lab down")


@lab_group.command("status")
def status_command() -> None:
    """Say whether the lab runs, with its pid, version and ports. Exit code 3 if it does not."""
    try:
        report = status(LabSettings.from_env())
    except LabError as exc:
        raise click.ClickException(str(exc)) from exc
    if report.running and report.state:
        click.echo("lab running")
        click.echo("\n".join(_describe(report.state)))
        return
    if report.stale and report.state:
        click.echo(f"lab not running (Asterisk pid {report.state.pid} is gone: it crashed or "
                   "was killed; `voiceplatform lab down` or `up` cleans up)")
    else:
        click.echo("lab not running")
    click.get_current_context().exit(3)
