"""The RabbitMQ side of the smsc: which broker, Jasmin's own vhost and user on it, and what its
queues look like (for health and repair). Everything goes through ``rabbitmqctl``, which every
RabbitMQ install has (the management plugin is not enabled on a stock Debian broker, and the
smsc does not change a shared broker's plugins).

A broker is either the machine's (``shared``: Debian's ``rabbitmqctl`` wrapper, which as root runs
as the rabbitmq user with that user's Erlang cookie) or the smsc's own node (``private``: the real
scripts under /usr/lib/rabbitmq/bin with ``-n NODE`` and the node's own cookie in its folder).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass, field

from voiceplatform.exceptions import SmscError
from voiceplatform.smsc import defaults

#: The AMQP 0-9-1 protocol header a client opens with.
AMQP_HEADER = b"AMQP\x00\x00\x09\x01"


@dataclass(frozen=True)
class Broker:
    kind: str  # "shared" or "private"
    host: str
    port: int
    ctl: tuple[str, ...]  # the rabbitmqctl command, with -n NODE for a private node
    ctl_env: dict[str, str] = field(default_factory=dict)  # HOME for the private node's cookie

    def run(self, *args: str, timeout: float = defaults.RABBITMQCTL_TIMEOUT) -> str:
        env = {**os.environ, **self.ctl_env}
        command = [*self.ctl, "-q", *args]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  env=env, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SmscError(f"`{' '.join(command)}` failed: {exc}") from exc
        if done.returncode != 0:
            raise SmscError(f"`{' '.join(command)}` exited with {done.returncode}: "
                            f"{(done.stderr or done.stdout).strip()}")
        return done.stdout


def amqp_answers(host: str, port: int, timeout: float = 2.0) -> bool:
    """True if an AMQP 0-9-1 broker answers on host:port (it sends Connection.Start, a method
    frame, in reply to the protocol header)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(AMQP_HEADER)
            reply = sock.recv(7)
    except OSError:
        return False
    return len(reply) == 7 and reply[0] == 1


def shared_broker() -> Broker | None:
    """The machine's broker, if one answers on 5672 and rabbitmqctl reaches it."""
    if not amqp_answers(defaults.SHARED_AMQP_HOST, defaults.SHARED_AMQP_PORT):
        return None
    ctl = shutil.which(defaults.RABBITMQCTL)
    if ctl is None:
        return None
    broker = Broker("shared", defaults.SHARED_AMQP_HOST, defaults.SHARED_AMQP_PORT, (ctl,))
    try:
        broker.run("status", timeout=20)
    except SmscError:
        return None
    return broker


def ensure_account(broker: Broker, vhost: str, username: str, password: str) -> None:
    """The vhost, and a user with every permission on it (and none elsewhere). Each rabbitmqctl
    call starts an Erlang VM (about a second), so existing ones are found by their errors."""
    broker.run("add_vhost", vhost)  # succeeds when it exists already
    try:
        broker.run("add_user", username, password)
    except SmscError as exc:
        if "already exists" not in str(exc):
            raise
        broker.run("change_password", username, password)
    broker.run("set_permissions", "-p", vhost, username, ".*", ".*", ".*")


def delete_account(broker: Broker, vhost: str, username: str) -> None:
    for command, name in (("delete_vhost", vhost), ("delete_user", username)):
        try:
            broker.run(command, name)
        except SmscError as exc:
            if "not exist" not in str(exc) and "no_such" not in str(exc):
                raise


def queues(broker: Broker, vhost: str) -> dict[str, int]:
    """Every queue of the vhost, with its number of consumers."""
    rows = json.loads(broker.run("list_queues", "-p", vhost, "name", "consumers",
                                 "--formatter", "json") or "[]")
    return {str(row["name"]): int(row["consumers"]) for row in rows}


def connections(broker: Broker, vhost: str) -> list[str]:
    """The Erlang pids of the connections open on the vhost."""
    # The table, not JSON: JSON shows pids as #PID<...>, which close_connection does not take.
    found = []
    for line in broker.run("list_connections", "pid", "vhost", "--no-table-headers").splitlines():
        pid, _, on = line.partition("\t")
        if on.strip() == vhost:
            found.append(pid.strip())
    return found


def close_connections(broker: Broker, vhost: str, reason: str) -> int:
    """Close every connection on the vhost (what a broker restart does to its clients)."""
    pids = connections(broker, vhost)
    for pid in pids:
        broker.run("close_connection", pid, reason)
    return len(pids)
