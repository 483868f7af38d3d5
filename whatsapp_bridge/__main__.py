"""``python -m whatsapp_bridge``: the WhatsApp bridge's process. It sends the messages the
``whatsapp`` driver queued (in this process, the API or the campaign workers: every process that
should send by WhatsApp sets ``VOICEPLATFORM_CHANNELS=whatsapp_bridge.driver:register``)
through the Graph API, serves the Cloud API's webhook (``/whatsapp/webhook``), and applies what
it brings: users' messages to their sessions, statuses to the messages. SIGTERM or SIGINT: it
stops taking webhooks, finishes the inbox's round, waits for the sends in flight and writes
their answers. Settings: docs/whatsapp-bridge.md.

    VOICEPLATFORM_WHATSAPP_TOKEN=... VOICEPLATFORM_WHATSAPP_APP_SECRET=... \\
    VOICEPLATFORM_WHATSAPP_VERIFY_TOKEN=... VOICEPLATFORM_WHATSAPP_NUMBERS=106540352242922=+15550001111 \\
    python -m whatsapp_bridge
"""

from __future__ import annotations

import argparse
import logging
import signal

from voiceplatform.processes.runtime import use_gevent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m whatsapp_bridge", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None, help="default: DATABASE_URL, else the embedded SQLite")
    parser.add_argument("--stop-timeout", type=float, default=30.0, help="seconds to wait for sends in flight")
    args = parser.parse_args(argv)
    use_gevent()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    import gevent
    from gevent.event import Event

    from voiceplatform.db import make_engine, session_factory, upgrade

    from whatsapp_bridge.bridge import WhatsAppBridge
    from whatsapp_bridge.config import APP_SECRET_ENV, NUMBERS_ENV, TOKEN_ENV, WhatsAppSettings

    try:
        settings = WhatsAppSettings.from_env()
        settings.listen_address()
    except ValueError as exc:
        parser.error(str(exc))
    for value, name in ((settings.token, TOKEN_ENV), (settings.app_secret, APP_SECRET_ENV)):
        if not value:
            parser.error(f"{name} is not set")
    if not settings.numbers:
        parser.error(f"{NUMBERS_ENV} is not set: phone_number_id=+E164[:tier],...")
    upgrade(args.database_url)
    sessions = session_factory(make_engine(args.database_url))
    stop = Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    gevent.signal_handler(signal.SIGINT, stop.set)
    bridge = WhatsAppBridge(sessions, settings).start()
    print(f"whatsapp bridge webhooks at {bridge.webhook_url}", flush=True)
    stop.wait()
    bridge.stop(args.stop_timeout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
