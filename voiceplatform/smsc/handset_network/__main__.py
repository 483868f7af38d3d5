"""``python -m voiceplatform.smsc.handset_network``: run the handset network until SIGTERM.

    python -m voiceplatform.smsc.handset_network --port 2776 --control-port 8081 \\
        --records handsets.jsonl [--receipt-seconds 0.1] [--slow-receipt-seconds 3]

The account a gateway binds with comes from ``$VOICEPLATFORM_HANDSET_CREDENTIALS``
(``system_id:password``; unset accepts any bind), so it is not on the command line.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
from pathlib import Path

import gevent
from gevent.event import Event
from gevent.pywsgi import WSGIServer

from voiceplatform.smsc.handset_network.control import ControlApp
from voiceplatform.smsc.handset_network.numbers import RECEIPT_SECONDS, SLOW_RECEIPT_SECONDS
from voiceplatform.smsc.handset_network.records import Recorder
from voiceplatform.smsc.handset_network.server import CREDENTIALS_ENV, HandsetNetwork


def _credentials() -> dict[str, str] | None:
    value = os.environ.get(CREDENTIALS_ENV)
    if not value:
        return None
    system_id, _, password = value.partition(":")
    return {system_id: password}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m voiceplatform.smsc.handset_network")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True, help="SMPP port")
    parser.add_argument("--control-port", type=int, required=True, help="HTTP control port")
    parser.add_argument("--records", type=Path, default=None, help="JSON-lines record file")
    parser.add_argument("--receipt-seconds", type=float, default=RECEIPT_SECONDS)
    parser.add_argument("--slow-receipt-seconds", type=float, default=SLOW_RECEIPT_SECONDS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    recorder = Recorder(args.records)
    network = HandsetNetwork(args.host, args.port, recorder, credentials=_credentials(),
                             receipt_seconds=args.receipt_seconds,
                             slow_receipt_seconds=args.slow_receipt_seconds)
    control = WSGIServer((args.host, args.control_port), ControlApp(network), log=None)
    stop = Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    gevent.signal_handler(signal.SIGINT, stop.set)
    network.start()
    control.start()
    logging.getLogger(__name__).info("handset network: SMPP on %s:%s, control on %s:%s",
                                     args.host, args.port, args.host, args.control_port)
    stop.wait()
    control.stop(timeout=1)
    network.stop()
    recorder.close()


if __name__ == "__main__":
    main()
