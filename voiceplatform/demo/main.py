"""The main job behind ``voiceplatform demo`` (and ``scripts/demo.sh``): start the Asterisk lab, the
SMS gateway (a real Jasmin and the scripted handset network: ``voiceplatform.demo.sms_gateway``,
else the dev channel), the WhatsApp Cloud API contract server standing in for Meta
(``voiceplatform.demo.whatsapp_meta``), the demo's stand-in CRM and the embedded server, then the
SMS bridge and the WhatsApp bridge; run the demo campaign over HTTP (``voiceplatform.demo.campaign``)
and, beside it, the journey that goes from a call to SMS to WhatsApp in one session, and back to
a call (``voiceplatform.demo.journey``); print both and a supervisor's sign-in, and stop what it
started (the bridges, the contract server; the lab and the gateway only if the demo started them,
unless ``keep_lab``), on Ctrl-C and SIGTERM too."""

from __future__ import annotations

import os
import signal
import socket
import sys

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from voiceplatform.demo.sms_gateway import DemoSms
    from voiceplatform.demo.whatsapp_meta import DemoWhatsApp


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
    from voiceplatform.demo.sms_gateway import demo_sms
    from voiceplatform.demo.whatsapp_meta import demo_whatsapp

    code = 1
    try:
        click.echo("lab        starting the Asterisk lab (the first start builds its chroot: a minute or two)")
        with lab_for_this_job(LabSettings.from_env(), keep=keep_lab) as lab:
            click.echo(f"lab        Asterisk {lab.state.version} running (pid {lab.state.pid})")
            with demo_sms(click.echo, keep=keep_lab) as sms, demo_whatsapp(click.echo, sms.our_number) as whatsapp:
                code = _run_with_server(port, serve, sms, whatsapp)
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


def _run_with_server(port: int, serve: bool | None, sms: DemoSms, whatsapp: DemoWhatsApp) -> int:
    import gevent

    from voiceplatform.client.http import ApiClient
    from voiceplatform.db import database_url
    from voiceplatform.demo.callback_desk import CallbackDesk
    from voiceplatform.demo.campaign import run_campaign_demo
    from voiceplatform.demo.journey import FLOW_NAME, run_journey_beside
    from voiceplatform.demo.whatsapp_meta import with_channel
    from voiceplatform.exceptions import VoicePlatformError
    from voiceplatform.processes.bootstrap import demo_supervisor
    from voiceplatform.processes.server import start_server
    from voiceplatform.safety.outbound_http import ALLOW_ENV
    from voiceplatform.settings import paths

    os.environ.setdefault("VOICEPLATFORM_PLAIN_HTTP", "1")  # served on http://127.0.0.1: no Secure cookie, no HSTS
    desk = CallbackDesk(FLOW_NAME).start()
    messaging = with_channel({**sms.environment(), **whatsapp.environment()})
    os.environ.update(messaging)  # the dialler queues the journey's SMS and WhatsApp messages for the bridges
    os.environ[ALLOW_ENV] = ",".join(filter(None, [os.environ.get(ALLOW_ENV), desk.address]))  # the flow's webhook
    running = start_server("127.0.0.1", port if _free(port) else 0)
    click.echo(f"api        {running.url} (API and dialler in this process; SQLite in .state/)")
    code = 1
    try:
        with sms.bridge(database_url(), env=messaging), \
                whatsapp.bridge(database_url(), paths().state_dir, env=messaging) as whatsapp_bridge:
            if sms.smsc is not None:
                click.echo(f"sms        the SMS bridge (python -m sms_bridge) bound to Jasmin as {sms.smsc.esme_username}")
            click.echo(f"whatsapp   the WhatsApp bridge (python -m whatsapp_bridge, pid {whatsapp_bridge.pid}) sends "
                       f"through the contract server; its webhooks at {whatsapp_bridge.webhook_url}")
            client = ApiClient(running.url, running.token, timeout=30)
            desk.client = client
            code = run_journey_beside(client, running.url, running.token, sms, whatsapp, desk, running.sessions,
                                      lambda: run_campaign_demo(client, running.url, running.token,
                                                                        sessions=running.sessions))
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
        desk.stop()
    return code


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0
