"""The smsc's pieces without a running gateway: Jasmin's configuration, the #1236 patch, the
install marker, jCli's screen noise, the connector table, broker detection and settings."""

from __future__ import annotations

import configparser
import hashlib
import json
import socket
from pathlib import Path

import pytest

from voiceplatform.exceptions import SmscError
from voiceplatform.lab import ports
from voiceplatform.smsc import defaults, dlr_patch, install, jasmin_config, rabbitmq
from voiceplatform.smsc.jcli import clean
from voiceplatform.smsc.provisioning import session_state
from voiceplatform.smsc.settings import SmscSettings

PORTS = jasmin_config.JasminPorts(smpp=30001, jcli=30002, http_api=30003, router_pb=30004,
                                  client_manager_pb=30005, smpp_server_pb=30006)
CONFIG = jasmin_config.JasminConfig(
    ports=PORTS, amqp_host="127.0.0.1", amqp_port=5672, amqp_vhost="v", amqp_username="u",
    amqp_password="p", redis_port=30007, jcli_password="jpw", pb_password="pbpw")


def test_every_jasmin_listener_is_on_loopback_at_its_own_port(tmp_path: Path) -> None:
    path = jasmin_config.write(CONFIG, tmp_path)
    parsed = configparser.RawConfigParser()
    parsed.read(path)
    listeners = {s: parsed[s] for s in parsed.sections() if "bind" in parsed[s]}
    assert set(listeners) == {"smpp-server", "smpp-server-pb", "client-management", "router",
                              "http-api", "jcli"}
    assert {section["bind"] for section in listeners.values()} == {"127.0.0.1"}
    assert sorted(int(section["port"]) for section in listeners.values()) == list(range(30001, 30007))
    assert parsed["jcli"]["admin_password"] == hashlib.md5(b"jpw").hexdigest()
    assert parsed["amqp-broker"]["vhost"] == "v" and parsed["redis-client"]["port"] == "30007"
    assert str(tmp_path) in parsed["router"]["store_path"]
    assert (path.stat().st_mode & 0o777) == 0o600


def test_refused_submits_are_retried_quickly(tmp_path: Path) -> None:
    parsed = jasmin_config.render(CONFIG, tmp_path)
    retrial = eval(parsed["sm-listener"]["submit_error_retrial"], {})  # Jasmin reads it so too
    assert retrial["ESME_RTHROTTLED"] == {"count": defaults.RETRY_COUNT, "delay": defaults.RETRY_DELAY_SECONDS}
    assert retrial["ESME_RMSGQFUL"]["delay"] == defaults.RETRY_DELAY_SECONDS


BROKEN = '''            # Send DLR to DLRLookup
            if r.response.status == CommandStatus.ESME_ROK:
                dlr = DLR(pdu_type=_pdu.response.id, msgid=msgid, status=_pdu.response.status,
                          smpp_msgid=_pdu.response.params['message_id'])
            else:
                dlr = DLR(pdu_type=_pdu.response.id, msgid=msgid, status=_pdu.response.status)
'''


def _site(tmp_path: Path, text: str) -> Path:
    target = tmp_path / dlr_patch.TARGET
    target.parent.mkdir(parents=True)
    target.write_text("header\n" + text + "footer\n")
    (target.parent / "__pycache__").mkdir()
    (target.parent / "__pycache__" / "listeners.cpython-311.pyc").write_bytes(b"stale")
    return tmp_path


def test_the_dlr_patch_fixes_the_two_statements_once(tmp_path: Path) -> None:
    site = _site(tmp_path, BROKEN)
    assert not dlr_patch.is_applied(site)
    assert dlr_patch.apply(site) is True
    patched = (site / dlr_patch.TARGET).read_text()
    assert "_pdu.response" not in patched and patched.count("r.response") == 6
    assert patched.startswith("header\n") and patched.endswith("footer\n")
    assert not list((site / dlr_patch.TARGET).parent.glob("__pycache__/*.pyc"))
    assert dlr_patch.is_applied(site)
    assert dlr_patch.apply(site) is False  # twice is fine


def test_the_dlr_patch_refuses_code_it_does_not_know(tmp_path: Path) -> None:
    site = _site(tmp_path, "dlr = DLR(pdu_type=something_else)\n")
    with pytest.raises(SmscError, match="is it Jasmin 0.11.1"):
        dlr_patch.apply(site)


def test_an_install_is_ready_only_with_its_marker(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    assert not install.is_ready(venv)  # interrupted: no marker
    marker = venv / defaults.VENV_MARKER
    marker.write_text(json.dumps({"requirements": ["jasmin==0.10"], "patch": dlr_patch.PATCH_ID}))
    assert not install.is_ready(venv)  # built for another pin
    marker.write_text(json.dumps({"requirements": list(defaults.JASMIN_REQUIREMENTS),
                                  "patch": dlr_patch.PATCH_ID}))
    assert install.is_ready(venv)
    assert "setuptools<81" in defaults.JASMIN_REQUIREMENTS and "jasmin==0.11.1" in defaults.JASMIN_REQUIREMENTS


def test_jcli_screen_noise_is_removed() -> None:
    raw = (b'\xff\xfd"\xff\xfd\x1f\xff\xfd\x03\xff\xfb\x01\x1bc\x1b[4hAuthentication required.'
           b"\r\r\r\n\r\r\r\ngroup -l\r\r\r\nTotal Groups: 0\r\r\r\njcli : ")
    assert clean(raw) == "Authentication required.\n\ngroup -l\nTotal Groups: 0\njcli : "


class _Screen:
    def __init__(self, output: str) -> None:
        self.output = output

    def command(self, line: str) -> str:
        assert line == "smppccm -l"
        return self.output


def test_the_connector_state_is_read_from_its_table() -> None:
    table = ("#Connector id                        Service Session          Starts Stops\n"
             "#handsets                            started BOUND_TRX        1      0    \n"
             "#other                               stopped NONE             0      0    \n"
             "Total connectors: 2")
    assert session_state(_Screen(table), "handsets") == "BOUND_TRX"  # type: ignore[arg-type]
    assert session_state(_Screen(table), "other") == "NONE"  # type: ignore[arg-type]
    assert session_state(_Screen(table), "missing") is None  # type: ignore[arg-type]


def test_amqp_detection_needs_a_broker_that_answers() -> None:
    free = ports.free_tcp_port()
    assert not rabbitmq.amqp_answers("127.0.0.1", free)
    with socket.socket() as silent:  # listens, says nothing
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        assert not rabbitmq.amqp_answers("127.0.0.1", silent.getsockname()[1], timeout=0.5)


def test_a_wrong_rabbitmq_mode_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(defaults.RABBITMQ_ENV, "sometimes")
    with pytest.raises(SmscError, match="use one of auto, shared, private"):
        SmscSettings.from_env()
    monkeypatch.setenv(defaults.RABBITMQ_ENV, "private")
    monkeypatch.setenv(defaults.STATE_DIR_ENV, "/srv/smsc")
    settings = SmscSettings.from_env()
    assert settings.rabbitmq_mode == "private" and settings.jasmin_root == Path("/srv/smsc/jasmin")


def test_with_no_broker_on_5672_auto_runs_its_own_and_shared_refuses(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from voiceplatform.smsc import control

    monkeypatch.setattr(defaults, "SHARED_AMQP_PORT", ports.free_tcp_port())  # a machine without one
    assert rabbitmq.shared_broker() is None
    assert control._choose_broker(SmscSettings(tmp_path, tmp_path, "auto")) is None  # -> a private node
    assert control._choose_broker(SmscSettings(tmp_path, tmp_path, "private")) is None
    with pytest.raises(SmscError, match="no RabbitMQ answers"):
        control._choose_broker(SmscSettings(tmp_path, tmp_path, "shared"))


def test_with_no_rabbitmq_installed_the_private_node_says_what_to_do(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from voiceplatform.smsc import rabbitmq_node

    monkeypatch.setattr(defaults, "RABBITMQ_BIN_DIR", tmp_path / "nowhere")
    assert not rabbitmq_node.installed()
    with pytest.raises(SmscError, match="scripts/setup.sh"):
        rabbitmq_node.start(tmp_path / "node")


def test_the_machines_broker_is_found_when_it_runs() -> None:
    if not rabbitmq.amqp_answers(defaults.SHARED_AMQP_HOST, defaults.SHARED_AMQP_PORT):
        pytest.skip("no RabbitMQ on 127.0.0.1:5672 on this machine (the smsc then runs its own node)")
    broker = rabbitmq.shared_broker()
    if broker is None:
        pytest.skip("RabbitMQ answers on 5672 but rabbitmqctl cannot reach it (not root?)")
    assert (broker.kind, broker.port) == ("shared", defaults.SHARED_AMQP_PORT)
