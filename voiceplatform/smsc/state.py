"""The state file of a running smsc: what ``status``, ``down``, ``repair`` and the tests read.

It is written after each process starts, so an ``up`` that fails half-way (or is killed) leaves
a record of exactly what to stop. It holds passwords: 0600.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from voiceplatform.exceptions import SmscError
from voiceplatform.smsc.jasmin_config import JasminPorts
from voiceplatform.smsc.processes import ProcessRecord


@dataclass(frozen=True)
class RabbitState:
    kind: str  # "shared" (the machine's broker) or "private" (the smsc's own node)
    host: str
    port: int
    vhost: str
    username: str
    password: str
    node: str = ""  # a private node's name
    dist_port: int = 0
    process: ProcessRecord | None = None
    epmd: ProcessRecord | None = None


@dataclass(frozen=True)
class HandsetState:
    smpp_port: int
    control_port: int
    system_id: str
    password: str
    records: str
    process: ProcessRecord | None = None

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.control_port}"


@dataclass(frozen=True)
class SmscState:
    host: str
    state_dir: str
    venv: str
    jasmin_version: str
    patch: str
    started_at: float
    jasmin_ports: JasminPorts
    jcli_password: str
    esme_username: str
    esme_password: str
    redis_port: int
    rabbitmq: RabbitState
    handsets: HandsetState
    jasmin: ProcessRecord | None = None
    redis: ProcessRecord | None = None
    jasmin_log: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def smpp_address(self) -> tuple[str, int]:
        """Where the platform's ESME binds (Jasmin's SMPP server)."""
        return self.host, self.jasmin_ports.smpp

    def processes(self) -> list[ProcessRecord]:
        """Every process this smsc started, in the order to stop them."""
        found = [self.jasmin, self.handsets.process, self.redis, self.rabbitmq.process,
                 self.rabbitmq.epmd]
        return [record for record in found if record is not None]


def _record(data: Any) -> ProcessRecord | None:
    return ProcessRecord(**data) if data else None


def from_dict(data: dict[str, Any]) -> SmscState:
    rabbit = dict(data["rabbitmq"])
    rabbit["process"], rabbit["epmd"] = _record(rabbit.get("process")), _record(rabbit.get("epmd"))
    handsets = dict(data["handsets"])
    handsets["process"] = _record(handsets.get("process"))
    return SmscState(**{
        **data,
        "jasmin_ports": JasminPorts(**data["jasmin_ports"]),
        "rabbitmq": RabbitState(**rabbit),
        "handsets": HandsetState(**handsets),
        "jasmin": _record(data.get("jasmin")),
        "redis": _record(data.get("redis")),
    })


def save(path: Path, state: SmscState) -> None:
    """Write ``state`` atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    try:
        with open(temp, "w", encoding="utf-8") as handle:
            os.chmod(temp, 0o600)
            handle.write(json.dumps(asdict(state), indent=2) + "\n")
        os.replace(temp, path)
    except OSError as exc:
        raise SmscError(f"cannot write smsc state {path}: {exc}") from exc


def load(path: Path) -> SmscState | None:
    try:
        return from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise SmscError(f"unreadable smsc state {path} ({exc}); stop what it started by hand "
                        "and delete it") from exc


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)
