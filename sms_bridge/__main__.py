"""``python -m sms_bridge``: the SMS bridge's process. It binds to the SMSC of
``VOICEPLATFORM_SMPP_URL``, sends the messages the ``sms`` driver queued (in this process, the API
or the campaign workers: every process that should send by SMPP sets
``VOICEPLATFORM_CHANNELS=sms_bridge.driver:register``), applies delivery receipts, and routes
messages from handsets to their sessions. SIGTERM or SIGINT: it stops claiming, waits for the
answers in flight, writes them and unbinds. Settings: docs/sms-bridge.md.

    VOICEPLATFORM_SMPP_URL=smpp://platform:secret@127.0.0.1:2775?binds=2 python -m sms_bridge
"""

from __future__ import annotations

import argparse
import logging
import signal

from voiceplatform.processes.runtime import use_gevent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sms_bridge", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None, help="default: DATABASE_URL, else the embedded SQLite")
    parser.add_argument("--stop-timeout", type=float, default=30.0, help="seconds to wait for answers in flight")
    args = parser.parse_args(argv)
    use_gevent()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    import gevent
    from gevent.event import Event

    from voiceplatform.db import make_engine, session_factory, upgrade

    from sms_bridge.bridge import SmsBridge
    from sms_bridge.config import BridgeSettings

    try:
        settings = BridgeSettings.from_env()
    except ValueError as exc:
        parser.error(str(exc))
    if settings.route is None:
        parser.error("VOICEPLATFORM_SMPP_URL is not set: smpp://system_id:password@host:port")
    upgrade(args.database_url)
    sessions = session_factory(make_engine(args.database_url))
    stop = Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    gevent.signal_handler(signal.SIGINT, stop.set)
    bridge = SmsBridge(sessions, settings).start()
    stop.wait()
    bridge.stop(args.stop_timeout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
