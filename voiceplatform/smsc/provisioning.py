"""Jasmin's routing for the platform, through jCli: a group, an SMPP client connector to the
handset network (``submit_throughput 0``: unthrottled; Jasmin's default is 1 message/s), started;
a default MT route to the connector and a default MO route to the platform's user; a wait until
the connector is BOUND_TRX; and only then the user (the platform's ESME login).

The user comes last because an ESME binds as soon as it exists: a Jasmin restarted under a running
bridge (``smsc repair``) would otherwise take its first submits before the MT route was there and
refuse them for good (ESME_RINVDSTADR: "no route"), or queue them for the connector's retry delay.

Jasmin starts with an empty configuration each time (nothing persisted), so provisioning always
runs on a clean slate and is the one description of the gateway's routing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voiceplatform.exceptions import SmscError
from voiceplatform.lab.polling import poll
from voiceplatform.smsc import defaults
from voiceplatform.smsc.jcli import JCliClient


@dataclass(frozen=True)
class Plan:
    esme_username: str
    esme_password: str
    upstream_host: str
    upstream_port: int
    upstream_system_id: str
    upstream_password: str
    group: str = defaults.ESME_GROUP
    connector: str = defaults.CONNECTOR_ID


def provision(jcli: JCliClient, plan: Plan) -> None:
    jcli.add("group -a", {"gid": plan.group})
    jcli.add("smppccm -a", {
        "cid": plan.connector,
        "host": plan.upstream_host,
        "port": str(plan.upstream_port),
        "username": plan.upstream_system_id,
        "password": plan.upstream_password,
        "bind": "transceiver",
        "submit_throughput": "0",
        "con_fail_delay": "1",
        "con_loss_delay": "1",
        "requeue_delay": "2",
    })
    started = jcli.command(f"smppccm -1 {plan.connector}")
    if "Successfully started" not in started:
        raise SmscError(f"jCli could not start connector {plan.connector}: {started}")
    jcli.add("mtrouter -a", {"type": "DefaultRoute", "connector": f"smppc({plan.connector})",
                             "rate": "0.00"})
    jcli.add("morouter -a", {"type": "DefaultRoute", "connector": f"smpps({plan.esme_username})"})
    wait_bound(jcli, plan.connector)
    jcli.add("user -a", {"username": plan.esme_username, "password": plan.esme_password,
                         "gid": plan.group, "uid": plan.esme_username})


def session_state(jcli: JCliClient, connector: str) -> str | None:
    """The connector's session state as ``smppccm -l`` shows it (BOUND_TRX, ...), or None."""
    for line in jcli.command("smppccm -l").splitlines():
        columns = line.lstrip("#").split()
        if columns and columns[0] == connector:
            states = [c for c in columns if re.fullmatch(r"[A-Z_]+", c) and c not in ("started", "stopped")]
            return states[0] if states else None
    return None


def wait_bound(jcli: JCliClient, connector: str, timeout: float = defaults.BIND_TIMEOUT) -> None:
    def bound() -> bool | None:
        return True if session_state(jcli, connector) == "BOUND_TRX" else None

    if not poll(bound, timeout):
        raise SmscError(f"connector {connector} is not BOUND_TRX after {timeout:.0f} s "
                        f"(it is {session_state(jcli, connector)}); is the handset network up?")
