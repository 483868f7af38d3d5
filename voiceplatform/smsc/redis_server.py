"""Jasmin's private redis-server: its own port and folder, loopback only.

Jasmin ignores ``[redis-client] dbid`` unless a password is set, so its keys (``dlr:*``,
``queue-msgid:*``, ``longDeliverSm:*``, 24 h expiries) would land in db 0 of whatever Redis it
is given; a server of its own keeps them away from the platform's. It appends to an AOF in its
folder, so a restarted Redis still knows the receipts it was waiting for; ``up`` starts it empty.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import redis

from voiceplatform.exceptions import SmscError
from voiceplatform.smsc import defaults, processes
from voiceplatform.smsc.processes import ProcessRecord


def binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        raise SmscError("redis-server is not installed: run scripts/setup.sh "
                        "(Debian's redis-server package, scripts/debian-packages.txt)")
    return found


def start(folder: Path, port: int, fresh: bool = True) -> ProcessRecord:
    if fresh and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        binary(), "--port", str(port), "--bind", defaults.HOST, "--protected-mode", "yes",
        "--dir", str(folder), "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
        "--daemonize", "no", "--logfile", "",
    ]
    return processes.spawn("redis-server", command, folder / "redis.log",
                           processes.clean_environment(), cwd=folder)


def answers(port: int) -> bool:
    client = redis.Redis(host=defaults.HOST, port=port, socket_timeout=2.0,
                         socket_connect_timeout=2.0)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()
