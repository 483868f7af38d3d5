"""``python -m voiceplatform.testing.whatsapp_cloud --port 0 --webhook-url URL --app-secret S --token T``:
the contract server on its own. Prints the bound URL on the first line, serves until SIGTERM or
SIGINT."""

from voiceplatform.processes.runtime import use_gevent

use_gevent()  # as the platform's processes: monkey-patching, and full collections made rare

import argparse  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402

from voiceplatform.testing.whatsapp_cloud.server import WhatsAppCloudServer  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m voiceplatform.testing.whatsapp_cloud",
                                     description="A local WhatsApp Business Cloud API contract server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    parser.add_argument("--webhook-url", default=None, help="the app's webhook callback URL")
    parser.add_argument("--app-secret", required=True, help="the key of X-Hub-Signature-256")
    parser.add_argument("--token", required=True, help="the bearer token the Graph endpoints accept")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = WhatsAppCloudServer(webhook_url=args.webhook_url, app_secret=args.app_secret, token=args.token,
                                 host=args.host, port=args.port).start()
    print(server.url, flush=True)
    stop = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    gevent.signal_handler(signal.SIGINT, stop.set)
    try:
        stop.wait()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
