"""More upstream connectors on the benchmark's own Jasmin, for the scaling measure of
bench/sms.py: ``voiceplatform smsc up`` provisions one connector (``handsets``) behind a
DefaultRoute (voiceplatform.smsc.provisioning); this adds ``handsets2`` ... to the same handset
network, each bound as its own transceiver, and puts a RandomRoundrobinMTRoute over all of them
in front of the default route (a TransparentFilter matches every message), through jCli.

Only the benchmark's temporary smsc instance is changed; Jasmin keeps nothing across restarts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from voiceplatform.smsc import defaults, jasmin_process, provisioning
from voiceplatform.smsc.state import SmscState

FILTER = "everything"
ROUTE_ORDER = "10"


def connector_ids(count: int) -> list[str]:
    return [defaults.CONNECTOR_ID] + [f"{defaults.CONNECTOR_ID}{n}" for n in range(2, count + 1)]


def use_connectors(state: SmscState, count: int, present: int) -> int:
    """Make ``count`` connectors carry the MT traffic (``present`` exist already); gives ``count``."""
    ids = connector_ids(count)
    handsets = state.handsets
    with jasmin_process.jcli(state.jasmin_ports.jcli, state.jcli_password) as jcli:
        for cid in ids[present:]:
            jcli.add("smppccm -a", {
                "cid": cid, "host": defaults.HOST, "port": str(handsets.smpp_port),
                "username": handsets.system_id, "password": handsets.password, "bind": "transceiver",
                "submit_throughput": "0", "con_fail_delay": "1", "con_loss_delay": "1", "requeue_delay": "2"})
            jcli.command(f"smppccm -1 {cid}")
        for cid in ids[present:]:
            provisioning.wait_bound(jcli, cid)
        if count > 1 and FILTER not in jcli.command("filter -l"):  # a jCli session knows only its own filters
            jcli.add("filter -a", {"type": "TransparentFilter", "fid": FILTER})
        if present > 1:
            jcli.command(f"mtrouter -r {ROUTE_ORDER}")
        if count > 1:
            jcli.add("mtrouter -a", {"type": "RandomRoundrobinMTRoute", "order": ROUTE_ORDER, "filters": FILTER,
                                     "connectors": ";".join(f"smppc({cid})" for cid in ids), "rate": "0.00"})
    return count


@contextmanager
def connectors_stopped(state: SmscState, count: int) -> Iterator[None]:
    """Jasmin's connectors unbound from the handset network for a while: a handset's message
    (``POST /mo``) then goes to the one client bound straight, not to Jasmin in turn."""
    ids = connector_ids(count)
    with jasmin_process.jcli(state.jasmin_ports.jcli, state.jcli_password) as jcli:
        for cid in ids:
            jcli.command(f"smppccm -0 {cid}")
    try:
        yield
    finally:
        with jasmin_process.jcli(state.jasmin_ports.jcli, state.jcli_password) as jcli:
            for cid in ids:
                jcli.command(f"smppccm -1 {cid}")
            for cid in ids:
                provisioning.wait_bound(jcli, cid)
