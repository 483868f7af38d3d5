"""``voiceplatform serve`` (the API, plus the dialler in the embedded mode) and
``voiceplatform worker`` (a gevent dialling worker on rq)."""

from __future__ import annotations

import logging
import os

import click


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True)
@click.option("--no-dialer", is_flag=True, help="Serve the API only (embedded mode otherwise dials too).")
@click.option("--switch", type=click.Choice(["asterisk", "freeswitch"]), default=None,
              help="The switch to dial on (default: VOICEPLATFORM_SWITCH, else asterisk).")
def serve_command(host: str, port: int, no_dialer: bool, switch: str | None) -> None:
    """Serve the HTTP API.

    With no REDIS_URL, this one process also dials (the embedded mode: SQLite in .state/ unless
    DATABASE_URL says otherwise, the running lab's Asterisk unless VOICEPLATFORM_AMI_* say
    otherwise). With REDIS_URL, start `voiceplatform worker` processes to dial. An admin token
    for the default account is written to .state/api-token on first start.
    """
    from voiceplatform.processes.runtime import use_gevent

    use_gevent()
    import gevent

    from voiceplatform.exceptions import VoicePlatformError
    from voiceplatform.processes.server import start_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        running = start_server(host, port, with_dialer=not no_dialer, switch=switch)
    except VoicePlatformError as exc:
        raise click.ClickException(str(exc)) from exc
    mode = "API + dialler (embedded)" if running.dialer else ("API; workers dial" if os.environ.get("REDIS_URL") else "API only")
    click.echo(f"serving {running.url} ({mode}); token in .state/api-token")
    _transport_notice()
    try:
        gevent.wait()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()


def _transport_notice() -> None:
    """Say loudly when cookies go without ``Secure`` and no HSTS is sent (plain-HTTP mode), and
    how to get that mode when the server is reached over http:// for development."""
    from voiceplatform.web.transport import ENV, plain_http

    if plain_http({}):
        click.secho(f"WARNING: plain-HTTP mode ({ENV}=1): the web UI's session cookie is sent without Secure and no "
                    "Strict-Transport-Security header is sent. Use it for development on loopback only; in production "
                    f"serve behind TLS and unset {ENV}.", fg="yellow", err=True)
    else:
        click.echo(f"web UI: Secure cookies and HSTS (HTTPS expected in front); for development over plain http:// "
                   f"set {ENV}=1")


@click.command("worker")
@click.option("--redis-url", envvar="REDIS_URL", default="redis://127.0.0.1:6379/0", show_default=True)
@click.option("--switch", type=click.Choice(["asterisk", "freeswitch", "none"]), default=None,
              help="The switch to dial on (default VOICEPLATFORM_SWITCH, else asterisk); none: no switch, "
                   "the worker runs messaging campaigns and stored sessions only.")
@click.option("--capacity", type=int, default=None, help="Calls the switch takes at once, across all workers "
              "(default VOICEPLATFORM_SWITCH_CAPACITY, else 100).")
@click.option("--name", default=None, help="This worker's name (default host-pid-random).")
def worker_command(redis_url: str, switch: str | None, capacity: int | None, name: str | None) -> None:
    """Run campaigns (calls; SMS and WhatsApp sessions) and jobs from Redis (rq), until SIGTERM or
    Ctrl-C (calls in progress finish)."""
    from voiceplatform.processes.runtime import use_gevent

    use_gevent()
    from voiceplatform.exceptions import VoicePlatformError
    from voiceplatform.processes.worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        raise SystemExit(run_worker(redis_url=redis_url, switch=switch, capacity=capacity, name=name))
    except VoicePlatformError as exc:
        raise click.ClickException(str(exc)) from exc
