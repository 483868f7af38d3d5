"""Jasmin's configuration file, written for one private instance.

The wheel ships no configuration, and every listener defaults to 0.0.0.0 and a fixed port, so
``jasmin.cfg`` names each listener on loopback at a port chosen free, the private vhost and
Redis, a generated jCli password (Jasmin keeps its md5, hex-encoded), and short retry delays for
refused submits. Logs go under ``ROOT_PATH/var/log/jasmin``, the jCli store under
``ROOT_PATH/etc/jasmin/store``: both inside the instance's folder.
"""

from __future__ import annotations

import configparser
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from voiceplatform.smsc import defaults


@dataclass(frozen=True)
class JasminPorts:
    smpp: int  # the platform's ESME binds here
    jcli: int
    http_api: int
    router_pb: int
    client_manager_pb: int
    smpp_server_pb: int


@dataclass(frozen=True)
class JasminConfig:
    ports: JasminPorts
    amqp_host: str
    amqp_port: int
    amqp_vhost: str
    amqp_username: str
    amqp_password: str
    redis_port: int
    jcli_password: str
    pb_password: str


def _md5_hex(password: str) -> str:
    return hashlib.md5(password.encode("ascii")).hexdigest()


def config_path(root: Path) -> Path:
    return root / "etc" / "jasmin" / "jasmin.cfg"


def render(config: JasminConfig, root: Path) -> configparser.RawConfigParser:
    host = defaults.HOST
    ports = config.ports
    pb_password = _md5_hex(config.pb_password)
    retry = {"count": defaults.RETRY_COUNT, "delay": defaults.RETRY_DELAY_SECONDS}
    sections: dict[str, dict[str, object]] = {
        "smpp-server": {"id": "smpps_01", "bind": host, "port": ports.smpp},
        "smpp-server-pb": {"bind": host, "port": ports.smpp_server_pb, "admin_password": pb_password},
        "client-management": {"bind": host, "port": ports.client_manager_pb,
                              "admin_password": pb_password,
                              "store_path": root / "etc" / "jasmin" / "store"},
        "router": {"bind": host, "port": ports.router_pb, "admin_password": pb_password,
                   "store_path": root / "etc" / "jasmin" / "store"},
        "http-api": {"bind": host, "port": ports.http_api},
        "jcli": {"bind": host, "port": ports.jcli, "authentication": "True",
                 "admin_username": defaults.JCLI_USERNAME,
                 "admin_password": _md5_hex(config.jcli_password)},
        "amqp-broker": {"host": config.amqp_host, "port": config.amqp_port,
                        "vhost": config.amqp_vhost, "username": config.amqp_username,
                        "password": config.amqp_password,
                        "connection_loss_retry": "True", "connection_failure_retry": "True",
                        "connection_loss_retry_delay": 2, "connection_failure_retry_delay": 2},
        "redis-client": {"host": host, "port": config.redis_port},
        "sm-listener": {"submit_error_retrial": repr({
            "ESME_RSYSERR": {"count": 2, "delay": defaults.RETRY_DELAY_SECONDS},
            "ESME_RTHROTTLED": retry,
            "ESME_RMSGQFUL": retry,
        }), "submit_retrial_delay_smppc_not_ready": 2},
        "dlr": {"dlr_lookup_retry_delay": 1, "dlr_lookup_max_retries": 5},
        "deliversm-thrower": {"retry_delay": 2, "max_retries": 5},
        "dlr-thrower": {"retry_delay": 2, "max_retries": 5},
    }
    parser = configparser.RawConfigParser()
    for section, options in sections.items():
        parser[section] = {name: str(value) for name, value in options.items()}
    return parser


def write(config: JasminConfig, root: Path) -> Path:
    """Write ``root/etc/jasmin/jasmin.cfg`` (0600: it names the broker's password)."""
    path = config_path(root)
    for folder in (path.parent / "store", root / "var" / "log" / "jasmin"):
        folder.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    with open(temp, "w", encoding="utf-8") as handle:
        os.chmod(temp, 0o600)
        render(config, root).write(handle)
    os.replace(temp, path)
    return path
