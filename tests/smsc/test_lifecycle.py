"""``up`` from nothing, ``status``, ``down`` leaving nothing behind, two instances side by side,
and the repair path, each on an smsc instance of the test's own (its own state folder; the
Jasmin virtualenv is the shared, cached one)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.smsc.esme import TestEsme
from voiceplatform.lab import ports
from voiceplatform.lab import process as lab_process
from voiceplatform.lab.polling import poll
from voiceplatform.smsc import SmscSettings, SmscState, down, health, rabbitmq, repair, status, up
from voiceplatform.smsc.control import restart_private_rabbitmq
from voiceplatform.smsc.handset_network.numbers import HANDSET_NUMBERS
from voiceplatform.smsc.rabbitmq import Broker

pytestmark = pytest.mark.integration


def _settings(folder: Path, mode: str = "auto") -> SmscSettings:
    return SmscSettings(state_dir=folder, venv_dir=SmscSettings.from_env().venv_dir, rabbitmq_mode=mode)


@contextmanager
def own_smsc(folder: Path, mode: str = "auto") -> Iterator[SmscSettings]:
    settings = _settings(folder, mode)
    try:
        up(settings)
        yield settings
    finally:
        down(settings, force=True)


def _ports(state: SmscState) -> list[int]:
    jasmin = state.jasmin_ports
    found = [jasmin.smpp, jasmin.jcli, jasmin.http_api, jasmin.router_pb,
             jasmin.client_manager_pb, jasmin.smpp_server_pb, state.redis_port,
             state.handsets.smpp_port, state.handsets.control_port]
    if state.rabbitmq.kind == "private":
        found += [state.rabbitmq.port, state.rabbitmq.dist_port]
    return found


def _vhosts(state: SmscState) -> list[str]:
    broker = Broker("shared", state.rabbitmq.host, state.rabbitmq.port, ("rabbitmqctl",))
    return broker.run("list_vhosts", "name").split()


def test_up_from_nothing_is_healthy_and_down_leaves_nothing(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "a")
    report = up(settings)
    try:
        assert not report.already_running
        checked = status(settings)
        assert checked.healthy, checked.health
        state = report.state
        assert up(settings).already_running  # a second up reports the running one
    finally:
        down_report = down(settings)
    pids = [record.pid for record in state.processes()]
    assert len(pids) >= 3 and len(down_report.stopped) >= 3
    assert [pid for pid in pids if lab_process.is_alive(pid)] == []
    assert [port for port in _ports(state) if not ports.tcp_port_is_free("127.0.0.1", port)] == []
    if state.rabbitmq.kind == "shared":
        assert state.rabbitmq.vhost not in _vhosts(state)
    assert not settings.state_file.exists()
    assert status(settings).state is None
    assert down(settings).stopped == []  # twice is fine


def test_two_instances_run_side_by_side(tmp_path: Path) -> None:
    """Jasmin's hard-coded /tmp lock files are gone: each instance locks in its own folder."""
    with own_smsc(tmp_path / "one") as one, own_smsc(tmp_path / "two") as two:
        assert status(one).healthy and status(two).healthy
        first, second = status(one).state, status(two).state
        assert first is not None and second is not None
        assert first.rabbitmq.vhost != second.rabbitmq.vhost
        assert first.jasmin_ports.smpp != second.jasmin_ports.smpp
        for settings, state in ((one, first), (two, second)):
            assert state.jasmin is not None
            lock = (settings.state_dir / "jasmind.lock").read_text().strip()
            assert lock == str(state.jasmin.pid)  # each Jasmin holds its own folder's lock


def _wait_unhealthy_rabbit(settings: SmscSettings) -> health.Health:
    def check() -> health.Health | None:
        state = status(settings).state
        assert state is not None
        found = health.rabbit(settings, state)
        return None if found.healthy else found

    found = poll(check, 30)
    assert found is not None, "the queues kept their consumers"
    return found


def _submit_and_receive(settings: SmscSettings) -> None:
    state = status(settings).state
    assert state is not None
    esme = TestEsme.once_bound(*state.smpp_address, state.esme_username, state.esme_password)
    try:
        message_id = esme.submit(HANDSET_NUMBERS["delivered"], "after the repair")
        assert esme.wait_receipt(message_id).stat == "DELIVRD"
    finally:
        esme.close()


def test_a_dropped_broker_connection_is_detected_and_jasmin_restarted(tmp_path: Path) -> None:
    """What a RabbitMQ restart does to Jasmin, without restarting the machine's broker: its
    connections are closed; Jasmin reconnects, but nothing consumes its queues any more."""
    with own_smsc(tmp_path / "repair") as settings:
        before = status(settings).state
        assert before is not None and before.jasmin is not None
        broker = health.broker_of(settings, before)
        assert rabbitmq.close_connections(broker, before.rabbitmq.vhost, "simulated broker restart") >= 1
        found = _wait_unhealthy_rabbit(settings)
        assert "no consumer on" in found.detail
        assert not status(settings).healthy
        actions = repair(settings)
        assert any("restarted Jasmin" in action for action in actions), actions
        after = status(settings)
        assert after.healthy, after.health
        assert after.state is not None and after.state.jasmin is not None
        assert after.state.jasmin.pid != before.jasmin.pid
        assert after.state.jasmin_ports == before.jasmin_ports  # the ESME reconnects where it was
        _submit_and_receive(settings)
        assert repair(settings) == []  # healthy: nothing to do


def test_a_private_broker_restart_is_repaired(tmp_path: Path) -> None:
    """With its own RabbitMQ node the smsc can restart the broker for real."""
    with own_smsc(tmp_path / "private", mode="private") as settings:
        state = status(settings).state
        assert state is not None and state.rabbitmq.kind == "private"
        restart_private_rabbitmq(settings)
        _wait_unhealthy_rabbit(settings)
        actions = repair(settings)
        assert any("restarted Jasmin" in action for action in actions), actions
        assert status(settings).healthy
        _submit_and_receive(settings)
