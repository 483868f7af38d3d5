"""``voiceplatform smsc up | down | status | repair | install``: the real SMS gateway (Jasmin,
its RabbitMQ vhost, a private Redis) and the scripted handset network behind it."""

from __future__ import annotations

import click

from voiceplatform.exceptions import SmscError
from voiceplatform.smsc import SmscSettings, SmscState, down, repair, status, up
from voiceplatform.smsc.install import ensure_jasmin


def _describe(state: SmscState) -> list[str]:
    rabbit = state.rabbitmq
    lines = [
        f"  Jasmin   : {state.jasmin_version} (patched: {state.patch}), pid "
        f"{state.jasmin.pid if state.jasmin else '-'}",
        f"  SMPP     : {state.host}:{state.jasmin_ports.smpp} "
        f"(system_id {state.esme_username}, password {state.esme_password})",
        f"  jCli     : {state.host}:{state.jasmin_ports.jcli} (the password is in the state file)",
        f"  RabbitMQ : {rabbit.kind} broker {rabbit.host}:{rabbit.port}, vhost {rabbit.vhost}",
        f"  Redis    : {state.host}:{state.redis_port}",
        f"  handsets : SMPP {state.host}:{state.handsets.smpp_port}, control "
        f"{state.handsets.control_url}, records {state.handsets.records}",
        f"  state    : {state.state_dir}",
    ]
    return lines


@click.group("smsc")
def smsc_group() -> None:
    """Run a real Jasmin SMS gateway with a scripted handset network behind it."""


@smsc_group.command("install")
def install_command() -> None:
    """Install Jasmin (pinned, patched) in its own virtualenv; nothing if it is there."""
    try:
        report = ensure_jasmin(SmscSettings.from_env().venv_dir)
    except SmscError as exc:
        raise click.ClickException(str(exc)) from exc
    verb = f"installed in {report.seconds:.1f} s" if report.built else "already installed"
    click.echo(f"Jasmin {report.version} {verb}: {report.venv}")


@smsc_group.command("up")
def up_command() -> None:
    """Start the gateway (installing Jasmin on first use); repair it if it already runs."""
    try:
        report = up(SmscSettings.from_env())
    except SmscError as exc:
        raise click.ClickException(str(exc)) from exc
    if report.already_running:
        click.echo("smsc already running" + (": " + "; ".join(report.repairs) if report.repairs else ""))
    else:
        built = f" (Jasmin installed in {report.install.seconds:.1f} s)" if report.install and report.install.built else ""
        click.echo(f"smsc up in {report.seconds:.1f} s{built}")
    click.echo("\n".join(_describe(report.state)))


@smsc_group.command("down")
@click.option("--force", is_flag=True, help="Stop it even while a test session uses it.")
def down_command(force: bool) -> None:
    """Stop every process of the gateway by its pid, and remove its vhost."""
    try:
        report = down(SmscSettings.from_env(), force=force)
    except SmscError as exc:
        raise click.ClickException(str(exc)) from exc
    if not report.had_state:
        click.echo("smsc not running")
        return
    for line in report.stopped:
        click.echo(f"stopped {line}")
    click.echo("smsc down")


@smsc_group.command("status")
def status_command() -> None:
    """Say which parts are healthy. Exit code 3 if it is not running, 4 if a part is unhealthy."""
    try:
        report = status(SmscSettings.from_env())
    except SmscError as exc:
        raise click.ClickException(str(exc)) from exc
    if report.state is None:
        click.echo("smsc not running")
        click.get_current_context().exit(3)
        return
    click.echo("smsc healthy" if report.healthy else "smsc unhealthy (`voiceplatform smsc repair`)")
    for part in report.health.values():
        click.echo(f"  {part.name:<9}: {'ok  ' if part.healthy else 'FAIL'} {part.detail}")
    if not report.healthy:
        click.get_current_context().exit(4)


@smsc_group.command("repair")
def repair_command() -> None:
    """Restart whatever part is not healthy (Jasmin when its queues lost their consumers)."""
    try:
        actions = repair(SmscSettings.from_env())
    except SmscError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("\n".join(actions) if actions else "all healthy: nothing to do")
