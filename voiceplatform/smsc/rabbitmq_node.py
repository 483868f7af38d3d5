"""A private RabbitMQ node, for a machine whose own broker is absent (or when
``VOICEPLATFORM_SMSC_RABBITMQ=private``): Debian's rabbitmq-server package run from the smsc's
folder, with its own node name, Erlang cookie, data, logs, and ports on 127.0.0.1.

The node registers with the machine's epmd (Erlang's port mapper, shared by every node); when
no epmd runs yet, the node starts one, and ``stop`` stops that one too.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from voiceplatform.exceptions import SmscError
from voiceplatform.lab import ports
from voiceplatform.lab import process as lab_process
from voiceplatform.lab.polling import poll
from voiceplatform.smsc import defaults, processes
from voiceplatform.smsc.processes import ProcessRecord
from voiceplatform.smsc.rabbitmq import Broker, amqp_answers

EPMD_PORT = 4369


@dataclass(frozen=True)
class NodeState:
    name: str
    port: int
    dist_port: int
    process: ProcessRecord
    epmd: ProcessRecord | None  # an epmd this node started (None: it was running already)


def node_name(folder: Path) -> str:
    return f"vpsmsc{hashlib.sha256(str(folder).encode()).hexdigest()[:8]}@localhost"


def installed() -> bool:
    return (defaults.RABBITMQ_BIN_DIR / "rabbitmq-server").exists()


def _env(folder: Path) -> dict[str, str]:
    """What both the node and its rabbitmqctl need: the cookie in HOME, no machine-wide env file."""
    return {
        "HOME": str(folder),
        "RABBITMQ_CONF_ENV_FILE": str(folder / "rabbitmq-env.conf"),
        "ERL_EPMD_ADDRESS": defaults.HOST,
        "ERL_FLAGS": "-kernel inet_dist_use_interface {127,0,0,1}",
    }


def broker(folder: Path, name: str, port: int) -> Broker:
    return Broker("private", defaults.HOST, port,
                  (str(defaults.RABBITMQ_BIN_DIR / "rabbitmqctl"), "-n", name), _env(folder))


def start(folder: Path, port: int | None = None, dist_port: int | None = None) -> NodeState:
    """Start the node (on the given ports, for a restart) and wait until it accepts AMQP."""
    if not installed():
        raise SmscError("RabbitMQ is not installed and none answers on 127.0.0.1:5672: run "
                        "scripts/setup.sh (it installs Debian's rabbitmq-server), or start one")
    folder.mkdir(parents=True, exist_ok=True)
    name = node_name(folder)
    port = port or ports.free_tcp_port(defaults.HOST)
    dist_port = dist_port or ports.free_tcp_port(defaults.HOST)
    (folder / "rabbitmq-env.conf").write_text("", encoding="utf-8")
    (folder / "enabled_plugins").write_text("[].\n", encoding="utf-8")
    (folder / "rabbitmq.conf").write_text(
        f"listeners.tcp.default = {defaults.HOST}:{port}\n", encoding="utf-8")
    epmd_was_running = not ports.tcp_port_is_free(defaults.HOST, EPMD_PORT)
    env = processes.clean_environment(
        **_env(folder),
        RABBITMQ_NODENAME=name,
        RABBITMQ_NODE_IP_ADDRESS=defaults.HOST,
        RABBITMQ_NODE_PORT=str(port),
        RABBITMQ_DIST_PORT=str(dist_port),
        RABBITMQ_MNESIA_BASE=str(folder / "mnesia"),
        RABBITMQ_LOG_BASE=str(folder / "log"),
        RABBITMQ_CONFIG_FILE=str(folder / "rabbitmq"),
        RABBITMQ_ADVANCED_CONFIG_FILE=str(folder / "advanced.config"),
        RABBITMQ_ENABLED_PLUGINS_FILE=str(folder / "enabled_plugins"),
        RABBITMQ_PID_FILE=str(folder / "rabbitmq.pid"),
    )
    record = processes.spawn("rabbitmq-server", [str(defaults.RABBITMQ_BIN_DIR / "rabbitmq-server")],
                             folder / "rabbitmq-server.out", env, cwd=folder)

    def ready() -> bool | None:
        if not processes.is_running(record):
            raise SmscError(f"the private RabbitMQ node exited while starting; see {folder / 'log'} "
                            f"and {folder / 'rabbitmq-server.out'}")
        return True if amqp_answers(defaults.HOST, port) else None

    if not poll(ready, defaults.START_TIMEOUT):
        processes.stop(record)
        raise SmscError(f"the private RabbitMQ node did not accept AMQP on {defaults.HOST}:{port} "
                        f"within {defaults.START_TIMEOUT:.0f} s")
    epmd = None if epmd_was_running else _find_epmd()
    return NodeState(name, port, dist_port, record, epmd)


def _find_epmd() -> ProcessRecord | None:
    """The epmd daemon the node just started: the process whose executable is epmd."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            exe = Path(os.readlink(entry / "exe"))
        except OSError:
            continue
        if exe.name == "epmd":
            pid = int(entry.name)
            return ProcessRecord(pid, lab_process.start_time(pid) or 0, "epmd")
    return None


def stop(folder: Path, state: NodeState) -> list[str]:
    """Stop the node (rabbitmqctl stop, then its process by pid) and an epmd it started."""
    outcomes = []
    if processes.is_running(state.process):
        try:
            broker(folder, state.name, state.port).run("stop", timeout=30)
        except SmscError:
            pass  # stopped by pid below
        if poll(lambda: True if not processes.is_running(state.process) else None, defaults.STOP_TIMEOUT):
            outcomes.append(f"rabbitmq-server pid {state.process.pid}: stopped (rabbitmqctl stop)")
    if not outcomes:
        outcomes.append(f"rabbitmq-server pid {state.process.pid}: {processes.stop(state.process)}")
    beam = _beam_pid(folder, state.name)
    if beam is not None:
        outcomes.append(f"beam pid {beam}: {lab_process.stop(beam)}")
    if state.epmd is not None:
        outcomes.append(f"epmd pid {state.epmd.pid}: {processes.stop(state.epmd)}")
    return outcomes


def _beam_pid(folder: Path, name: str) -> int | None:
    """The node's Erlang VM, if it still runs (its pid file, checked against its command line)."""
    try:
        pid = int((folder / "rabbitmq.pid").read_text().strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if name.encode() in command and lab_process.is_alive(pid) else None
