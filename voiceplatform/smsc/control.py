"""``up``, ``down``, ``status`` and ``repair`` of the smsc: the steps, in order, with their
clean-ups.

``up`` installs Jasmin if needed, then starts, each on loopback and free ports: the RabbitMQ side
(a vhost and user of its own on the machine's broker, or a private node), a private redis-server,
the handset network, and Jasmin, provisioned through jCli and bound to the handset network. The
state file is rewritten after each start, so a failure half-way stops exactly what was started.
``down`` stops every process by its pid and removes the vhost it made on a shared broker.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field, replace

from voiceplatform.exceptions import SmscError
from voiceplatform.lab import leases, ports
from voiceplatform.lab.locking import exclusive_lock
from voiceplatform.lab.polling import poll
from voiceplatform.smsc import (
    defaults,
    dlr_patch,
    handsets,
    health,
    jasmin_config,
    jasmin_process,
    processes,
    provisioning,
    rabbitmq,
    rabbitmq_node,
    redis_server,
)
from voiceplatform.smsc import state as state_file
from voiceplatform.smsc.install import InstallReport, ensure_jasmin
from voiceplatform.smsc.settings import SmscSettings
from voiceplatform.smsc.state import HandsetState, RabbitState, SmscState


@dataclass(frozen=True)
class UpReport:
    state: SmscState
    already_running: bool
    install: InstallReport | None
    seconds: float
    repairs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DownReport:
    stopped: list[str] = field(default_factory=list)
    had_state: bool = False


@dataclass(frozen=True)
class StatusReport:
    state: SmscState | None
    health: dict[str, health.Health]

    @property
    def running(self) -> bool:
        return self.state is not None and any(processes.is_running(r) for r in self.state.processes())

    @property
    def healthy(self) -> bool:
        return bool(self.health) and all(h.healthy for h in self.health.values())


def _instance_tag(settings: SmscSettings) -> str:
    """Names this instance's vhost and user on a shared broker, so two instances coexist."""
    return hashlib.sha256(str(settings.state_dir).encode()).hexdigest()[:8]


def _free_port() -> int:
    return ports.free_tcp_port(defaults.HOST)


def _new_state(settings: SmscSettings, rabbit: RabbitState) -> SmscState:
    jasmin_ports = jasmin_config.JasminPorts(
        smpp=_free_port(), jcli=_free_port(), http_api=_free_port(), router_pb=_free_port(),
        client_manager_pb=_free_port(), smpp_server_pb=_free_port())
    return SmscState(
        host=defaults.HOST,
        state_dir=str(settings.state_dir),
        venv=str(settings.venv_dir),
        jasmin_version=defaults.JASMIN_VERSION,
        patch=dlr_patch.PATCH_ID,
        started_at=time.time(),
        jasmin_ports=jasmin_ports,
        jcli_password=secrets.token_hex(8),
        esme_username=defaults.ESME_USERNAME,
        esme_password=secrets.token_hex(4),  # SMPP passwords hold at most 8 characters
        redis_port=_free_port(),
        rabbitmq=rabbit,
        handsets=HandsetState(
            smpp_port=_free_port(), control_port=_free_port(),
            system_id=defaults.UPSTREAM_SYSTEM_ID, password=secrets.token_hex(4),
            records=str(settings.handset_records)),
        jasmin_log=str(settings.jasmin_log),
    )


# ---- RabbitMQ ----

def _choose_broker(settings: SmscSettings) -> rabbitmq.Broker | None:
    """The machine's broker, or None when the smsc must run its own node."""
    if settings.rabbitmq_mode == "private":
        return None
    shared = rabbitmq.shared_broker()
    if shared is None and settings.rabbitmq_mode == "shared":
        raise SmscError(f"{defaults.RABBITMQ_ENV}=shared, but no RabbitMQ answers on "
                        f"{defaults.SHARED_AMQP_HOST}:{defaults.SHARED_AMQP_PORT} (or rabbitmqctl "
                        "cannot reach it: it needs root, or the rabbitmq user)")
    return shared


def _start_rabbit(settings: SmscSettings, previous: RabbitState | None = None) -> RabbitState:
    tag = _instance_tag(settings)
    vhost = username = f"voiceplatform-smsc-{tag}"
    password = previous.password if previous else secrets.token_hex(12)
    if previous is None:
        shared = _choose_broker(settings)
    elif previous.kind == "shared":
        shared = rabbitmq.Broker("shared", previous.host, previous.port, (defaults.RABBITMQCTL,))
    else:
        shared = None
    if shared is not None:
        rabbitmq.ensure_account(shared, vhost, username, password)
        return RabbitState("shared", shared.host, shared.port, vhost, username, password)
    node = rabbitmq_node.start(settings.rabbitmq_dir,
                               port=previous.port if previous else None,
                               dist_port=previous.dist_port if previous else None)
    broker = rabbitmq_node.broker(settings.rabbitmq_dir, node.name, node.port)
    rabbitmq.ensure_account(broker, vhost, username, password)
    return RabbitState("private", defaults.HOST, node.port, vhost, username, password,
                       node=node.name, dist_port=node.dist_port, process=node.process,
                       epmd=node.epmd if previous is None else previous.epmd)


def _stop_rabbit(settings: SmscSettings, rabbit: RabbitState) -> list[str]:
    if rabbit.kind == "private" and rabbit.process is not None:
        node = rabbitmq_node.NodeState(rabbit.node, rabbit.port, rabbit.dist_port, rabbit.process,
                                       rabbit.epmd)
        return rabbitmq_node.stop(settings.rabbitmq_dir, node)
    if rabbit.kind == "shared" and rabbitmq.amqp_answers(rabbit.host, rabbit.port):
        broker = rabbitmq.Broker("shared", rabbit.host, rabbit.port, (defaults.RABBITMQCTL,))
        try:
            rabbitmq.delete_account(broker, rabbit.vhost, rabbit.username)
        except SmscError as exc:
            return [f"vhost {rabbit.vhost}: not removed ({exc})"]
        return [f"vhost {rabbit.vhost}: removed from the shared broker"]
    return []


# ---- the other parts ----

def _start_redis(settings: SmscSettings, state: SmscState, fresh: bool) -> SmscState:
    record = redis_server.start(settings.redis_dir, state.redis_port, fresh=fresh)
    state = replace(state, redis=record)
    state_file.save(settings.state_file, state)

    def ready() -> bool | None:
        if not processes.is_running(record):
            raise SmscError(f"redis-server exited while starting; see {settings.redis_dir / 'redis.log'}")
        return True if redis_server.answers(state.redis_port) else None

    if not poll(ready, defaults.START_TIMEOUT):
        raise SmscError(f"redis-server on port {state.redis_port} did not answer PING")
    return state


def _start_handsets(settings: SmscSettings, state: SmscState) -> SmscState:
    record = handsets.start(settings, state.handsets)
    state = replace(state, handsets=replace(state.handsets, process=record))
    state_file.save(settings.state_file, state)
    handsets.wait_ready(settings, state.handsets, record)
    return state


def _start_jasmin(settings: SmscSettings, state: SmscState) -> SmscState:
    rabbit = state.rabbitmq
    jasmin_config.write(jasmin_config.JasminConfig(
        ports=state.jasmin_ports, amqp_host=rabbit.host, amqp_port=rabbit.port,
        amqp_vhost=rabbit.vhost, amqp_username=rabbit.username, amqp_password=rabbit.password,
        redis_port=state.redis_port, jcli_password=state.jcli_password,
        pb_password=secrets.token_hex(8)), settings.jasmin_root)
    record = jasmin_process.start(settings)
    state = replace(state, jasmin=record)
    state_file.save(settings.state_file, state)
    jasmin_process.wait_ready(settings, record, state.jasmin_ports.jcli, state.jcli_password)
    plan = provisioning.Plan(
        esme_username=state.esme_username, esme_password=state.esme_password,
        upstream_host=defaults.HOST, upstream_port=state.handsets.smpp_port,
        upstream_system_id=state.handsets.system_id, upstream_password=state.handsets.password)
    with jasmin_process.jcli(state.jasmin_ports.jcli, state.jcli_password) as jcli:
        provisioning.provision(jcli, plan)  # the user last: the ESME binds once all is in place
    return state


def _stop_all(settings: SmscSettings, saved: SmscState | None) -> list[str]:
    if saved is None:
        return []
    stopped = []
    for record in (saved.jasmin, saved.handsets.process, saved.redis):
        if record is not None:
            stopped.append(f"{record.name} pid {record.pid}: {processes.stop(record)}")
    stopped.extend(_stop_rabbit(settings, saved.rabbitmq))
    state_file.remove(settings.state_file)
    return stopped


# ---- the commands ----

def up(settings: SmscSettings) -> UpReport:
    """Start the smsc, or report (and repair) the one already running. Safe to call twice."""
    started = time.monotonic()
    with exclusive_lock(settings.lock_file):
        current = state_file.load(settings.state_file)
        if current is not None and current.jasmin is not None and any(
                processes.is_running(r) for r in current.processes()):
            repairs = _repair(settings, current)
            return UpReport(state_file.load(settings.state_file) or current, True, None,
                            time.monotonic() - started, repairs)
        _stop_all(settings, current)
        install = ensure_jasmin(settings.venv_dir)
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        state: SmscState | None = None
        try:
            state = _new_state(settings, _start_rabbit(settings))
            state_file.save(settings.state_file, state)
            state = _start_redis(settings, state, fresh=True)
            state = _start_handsets(settings, state)
            state = _start_jasmin(settings, state)
        except BaseException:
            _stop_all(settings, state_file.load(settings.state_file) or state)
            raise
        return UpReport(state, False, install, time.monotonic() - started)


def down(settings: SmscSettings, force: bool = False) -> DownReport:
    """Stop every process of the smsc by its pid, and remove its vhost. Safe to call twice.

    Refuses while another process (a test session) holds a lease on it, unless ``force``."""
    users = leases.holders(settings.state_dir)
    if users and not force:
        raise SmscError(f"the smsc is in use by process {', '.join(map(str, users))} (a test "
                        "session?); wait for it, or force it down (`voiceplatform smsc down --force`)")
    with exclusive_lock(settings.lock_file):
        saved = state_file.load(settings.state_file)
        return DownReport(stopped=_stop_all(settings, saved), had_state=saved is not None)


def status(settings: SmscSettings) -> StatusReport:
    saved = state_file.load(settings.state_file)
    if saved is None:
        return StatusReport(None, {})
    return StatusReport(saved, health.check_all(settings, saved))


def repair(settings: SmscSettings) -> list[str]:
    """Restart whatever is not healthy; what was done, one line each (empty: all was well)."""
    with exclusive_lock(settings.lock_file):
        saved = state_file.load(settings.state_file)
        if saved is None:
            raise SmscError("the smsc is not running: `voiceplatform smsc up`")
        return _repair(settings, saved)


def _repair(settings: SmscSettings, state: SmscState) -> list[str]:
    actions: list[str] = []
    rabbit = state.rabbitmq
    if rabbit.process is not None and not processes.is_running(rabbit.process):
        state = replace(state, rabbitmq=_start_rabbit(settings, previous=rabbit))
        state_file.save(settings.state_file, state)
        actions.append(f"restarted the private RabbitMQ node on port {rabbit.port}")
    if not health.redis(state).healthy:
        processes.stop(state.redis)
        state = _start_redis(settings, state, fresh=False)
        actions.append(f"restarted redis-server on port {state.redis_port}")
    if not health.handsets(state).healthy:
        processes.stop(state.handsets.process)
        state = _start_handsets(settings, state)
        actions.append(f"restarted the handset network on port {state.handsets.smpp_port}")
    jasmin_health = health.jasmin(state)
    rabbit_health = health.rabbit(settings, state)
    if not jasmin_health.healthy or not rabbit_health.healthy:
        why = jasmin_health.detail if not jasmin_health.healthy else rabbit_health.detail
        processes.stop(state.jasmin)
        state = _start_jasmin(settings, state)
        actions.append(f"restarted Jasmin ({why})")
    return actions


def restart_private_rabbitmq(settings: SmscSettings) -> None:
    """Stop and start the smsc's own RabbitMQ node on the same ports (a broker restart, for
    fault tests). Jasmin is left as a real broker restart leaves it: without consumers."""
    with exclusive_lock(settings.lock_file):
        saved = state_file.load(settings.state_file)
        if saved is None or saved.rabbitmq.kind != "private":
            raise SmscError("the smsc does not run its own RabbitMQ node "
                            f"(set {defaults.RABBITMQ_ENV}=private before `up`)")
        rabbit = saved.rabbitmq
        _stop_rabbit(settings, replace(rabbit, epmd=None))
        saved = replace(saved, rabbitmq=_start_rabbit(settings, previous=rabbit))
        state_file.save(settings.state_file, saved)
