"""Runs jasmind inside Jasmin's own virtualenv; imports nothing of the platform.

    $JASMIN_VENV/bin/python jasmin_launcher.py --config ROOT/etc/jasmin/jasmin.cfg --lock FILE

What it changes against ``jasmind.py``'s own ``__main__``, and nothing else:

- **The lock file.** jasmind takes a lockfile at the hard-coded ``/tmp/jasmind``, so a machine
  could run one Jasmin. The launcher takes an ``flock`` on a file in the instance's folder
  instead; the kernel releases it when the process dies, so a killed Jasmin never leaves a stale
  lock behind (lockfile's link files do).
- **TCP_NODELAY on every socket.** Twisted leaves Nagle's algorithm on, and SMPP's small
  request/response PDUs then wait for delayed ACKs (about 40 ms each on loopback). Every TCP
  connection Twisted makes or accepts gets TCP_NODELAY (``VOICEPLATFORM_JASMIN_NODELAY=0``
  leaves it off, to measure the difference).
- **All services in one process:** the SMPP server, the DLR lookup, the DLR thrower and the
  deliver_sm thrower (the flags jasmind calls "not recommended" start them in-process instead of
  as the separate dlrd, dlrlookupd and deliversmd daemons, each with its own /tmp lock).
- **The AMQP spec** is the one the txamqp package ships, unless ``AMQP_BROKER_SPEC`` names one.

``ROOT_PATH`` (read by Jasmin at import) comes from the environment the manager sets.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import socket
import sys
from typing import Any


def _enable_nodelay() -> None:
    from twisted.internet import tcp

    original = tcp.Connection.__init__

    def init(self: Any, skt: socket.socket, protocol: Any, reactor: Any = None) -> None:
        original(self, skt, protocol, reactor)
        if skt.family in (socket.AF_INET, socket.AF_INET6):
            skt.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    tcp.Connection.__init__ = init


def _lock(path: str) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"another Jasmin holds {path}; exiting", file=sys.stderr)
        raise SystemExit(2)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd  # kept open: the lock lives as long as the process


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--lock", required=True)
    args = parser.parse_args()
    _lock(args.lock)
    if os.environ.get("VOICEPLATFORM_JASMIN_NODELAY", "1") != "0":
        _enable_nodelay()
    if "AMQP_BROKER_SPEC" not in os.environ:
        import txamqp

        os.environ["AMQP_BROKER_SPEC"] = os.path.join(
            os.path.dirname(txamqp.__file__), "specs", "standard", "amqp0-9-1.stripped.xml")

    from jasmin.bin.jasmind import JasminDaemon, Options
    from twisted.internet import reactor

    options = Options()
    options.parseOptions(["--config", args.config, "--enable-dlr-lookup",
                          "--enable-dlr-thrower", "--enable-deliver-thrower"])
    daemon = JasminDaemon(options)
    signal.signal(signal.SIGINT, daemon.sighandler_stop)
    signal.signal(signal.SIGTERM, daemon.sighandler_stop)
    daemon.start()
    reactor.run()


if __name__ == "__main__":
    main()
