"""Is each part of the smsc healthy? One check per part, each saying why not.

- **jasmin**: its process runs, jCli accepts a login, and the connector to the handset network
  is BOUND_TRX;
- **rabbitmq**: the broker accepts AMQP, and every queue Jasmin consumes from has a consumer. A
  broker that restarted (or dropped Jasmin's connection) leaves Jasmin reconnected but with no
  consumers: submits are still answered ESME_ROK and then sit in the queue. That is the one
  failure a process check cannot see, and the one :func:`voiceplatform.smsc.control.repair`
  mends by restarting Jasmin;
- **redis**: its process runs and answers PING;
- **handsets**: the handset network's process runs and its control port answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from voiceplatform.exceptions import SmscError
from voiceplatform.smsc import defaults, jasmin_process, processes, provisioning, rabbitmq, redis_server
from voiceplatform.smsc import rabbitmq_node
from voiceplatform.smsc.handset_network.client import HandsetNetworkClient
from voiceplatform.smsc.rabbitmq import Broker
from voiceplatform.smsc.settings import SmscSettings
from voiceplatform.smsc.state import SmscState

#: The queues Jasmin consumes from once provisioned (the connector's submit queue is named after
#: the connector).
CONSUMED_QUEUES = (
    "DLRLookup-main",
    "dlr_thrower",
    "deliver_sm_thrower",
    "RouterPB_deliver_sm_all",
    "RouterPB_bill_request_submit_sm_resp_all",
    f"submit.sm.{defaults.CONNECTOR_ID}",
)
COMPONENTS = ("jasmin", "rabbitmq", "redis", "handsets")


@dataclass(frozen=True)
class Health:
    name: str
    healthy: bool
    detail: str


def broker_of(settings: SmscSettings, state: SmscState) -> Broker:
    rabbit = state.rabbitmq
    if rabbit.kind == "private":
        return rabbitmq_node.broker(settings.rabbitmq_dir, rabbit.node, rabbit.port)
    return Broker("shared", rabbit.host, rabbit.port, (defaults.RABBITMQCTL,))


def jasmin(state: SmscState) -> Health:
    if not processes.is_running(state.jasmin):
        return Health("jasmin", False, "jasmind is not running")
    assert state.jasmin is not None
    try:
        with jasmin_process.jcli(state.jasmin_ports.jcli, state.jcli_password) as jcli:
            session = provisioning.session_state(jcli, defaults.CONNECTOR_ID)
    except SmscError as exc:
        return Health("jasmin", False, f"jCli does not answer: {exc}")
    rss = processes.rss_kib(state.jasmin.pid)
    detail = (f"pid {state.jasmin.pid}, {(rss or 0) // 1024} MB RSS, SMPP on "
              f"{state.host}:{state.jasmin_ports.smpp}, connector {defaults.CONNECTOR_ID} {session}")
    return Health("jasmin", session == "BOUND_TRX", detail)


def missing_consumers(broker: Broker, vhost: str) -> list[str]:
    """The queues Jasmin should consume from that have no consumer (or do not exist)."""
    found = rabbitmq.queues(broker, vhost)
    return [name for name in CONSUMED_QUEUES if found.get(name, 0) < 1]


def rabbit(settings: SmscSettings, state: SmscState) -> Health:
    rabbit_state = state.rabbitmq
    where = f"{rabbit_state.kind} broker {rabbit_state.host}:{rabbit_state.port}, vhost {rabbit_state.vhost}"
    if rabbit_state.process is not None and not processes.is_running(rabbit_state.process):
        return Health("rabbitmq", False, f"{where}: the private node is not running")
    if not rabbitmq.amqp_answers(rabbit_state.host, rabbit_state.port):
        return Health("rabbitmq", False, f"{where}: no AMQP answer")
    try:
        missing = missing_consumers(broker_of(settings, state), rabbit_state.vhost)
    except SmscError as exc:
        return Health("rabbitmq", False, f"{where}: rabbitmqctl failed: {exc}")
    if missing:
        return Health("rabbitmq", False, f"{where}: no consumer on {', '.join(missing)} "
                      "(the broker restarted under Jasmin; `voiceplatform smsc repair` restarts it)")
    return Health("rabbitmq", True, f"{where}: every Jasmin queue has its consumer")


def redis(state: SmscState) -> Health:
    if not processes.is_running(state.redis):
        return Health("redis", False, f"redis-server (port {state.redis_port}) is not running")
    if not redis_server.answers(state.redis_port):
        return Health("redis", False, f"redis-server on port {state.redis_port} does not answer PING")
    assert state.redis is not None
    return Health("redis", True, f"pid {state.redis.pid}, port {state.redis_port}")


def handsets(state: SmscState) -> Health:
    handset_state = state.handsets
    if not processes.is_running(handset_state.process):
        return Health("handsets", False, "the handset network is not running")
    try:
        answer = HandsetNetworkClient(handset_state.control_url, timeout=2.0).health()
    except SmscError as exc:
        return Health("handsets", False, str(exc))
    binds = ", ".join(f"{b['system_id']} ({b['mode']})" for b in answer["binds"]) or "nobody"
    return Health("handsets", True, f"SMPP on {state.host}:{handset_state.smpp_port}, control "
                  f"{handset_state.control_url}, bound: {binds}, {answer['records']} records")


def check_all(settings: SmscSettings, state: SmscState) -> dict[str, Health]:
    return {
        "jasmin": jasmin(state),
        "rabbitmq": rabbit(settings, state),
        "redis": redis(state),
        "handsets": handsets(state),
    }
