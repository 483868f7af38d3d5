"""The main job behind ``voiceplatform demo`` (and ``scripts/demo.sh``): start the Asterisk lab and
the embedded server, run the demo campaign over HTTP (``voiceplatform.demo.campaign``), print a
supervisor's sign-in, and stop what it started (the lab only if the demo started it, unless
``keep_lab``), on Ctrl-C and SIGTERM too."""

from __future__ import annotations

import os
import signal
import socket
import sys

import click


def run_lab_demo(*, port: int, serve: bool | None, keep_lab: bool) -> int:
    """Returns the exit code: 0 when every contact reached its expected outcome."""
    from voiceplatform.processes.runtime import use_gevent

    use_gevent()
    import logging

    from voiceplatform.exceptions import VoicePlatformError
    from voiceplatform.lab import LabSettings
    from voiceplatform.lab.session import lab_for_this_job

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    signal.signal(signal.SIGTERM, _interrupt)  # so the clean-ups below run on `kill` too
    code = 1
    try:
        click.echo("lab        starting the Asterisk lab (the first start builds its chroot: a minute or two)")
        with lab_for_this_job(LabSettings.from_env(), keep=keep_lab) as lab:
            click.echo(f"lab        Asterisk {lab.state.version} running (pid {lab.state.pid})")
            code = _run_with_server(port, serve)
            if lab.already_running:
                click.echo("lab        left running: it was running before the demo started")
            elif keep_lab:
                click.echo("lab        left running (--keep-lab); stop it with `voiceplatform lab down`")
            else:
                click.echo("lab        stopping the Asterisk the demo started (keep it with --keep-lab)")
    except KeyboardInterrupt:
        pass
    except VoicePlatformError as exc:
        raise click.ClickException(str(exc)) from exc
    return code


def _run_with_server(port: int, serve: bool | None) -> int:
    import gevent

    from voiceplatform.client.http import ApiClient
    from voiceplatform.demo.campaign import run_campaign_demo
    from voiceplatform.exceptions import VoicePlatformError
    from voiceplatform.processes.bootstrap import demo_supervisor
    from voiceplatform.processes.server import start_server

    os.environ.setdefault("VOICEPLATFORM_PLAIN_HTTP", "1")  # served on http://127.0.0.1: no Secure cookie, no HSTS
    running = start_server("127.0.0.1", port if _free(port) else 0)
    click.echo(f"api        {running.url} (API and dialler in this process; SQLite in .state/)")
    code = 1
    try:
        code = run_campaign_demo(ApiClient(running.url, running.token, timeout=30), running.url, running.token)
        email, password = demo_supervisor(running.sessions)
        click.echo(f"review     {running.url}/recordings   sign in as {email} / {password}")
        keep = sys.stdout.isatty() if serve is None else serve
        if keep:
            click.echo(f"\nserving {running.url} until Ctrl-C")
            gevent.wait()
    except KeyboardInterrupt:
        click.echo("\ninterrupted")
    except VoicePlatformError as exc:
        click.echo(f"error: {exc}", err=True)
    finally:
        running.stop()
    return code


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0
