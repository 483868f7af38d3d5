"""The fault tests' gateway: an smsc of their own (Jasmin, a **private** RabbitMQ node, a private
Redis, the handset network), never the session's ``smsc`` that other tests share: these tests
kill and restart its parts, and a second ESME bound to a shared Jasmin would take some of their
receipts. Started once for the package; each test finds it healthy and leaves it healthy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from voiceplatform.smsc import SmscSettings, down, repair, status, up


@pytest.fixture(scope="package")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmscSettings]:
    settings = SmscSettings(state_dir=tmp_path_factory.mktemp("fault-smsc"),
                            venv_dir=SmscSettings.from_env().venv_dir, rabbitmq_mode="private")
    try:
        up(settings)
        yield settings
    finally:
        down(settings, force=True)


@pytest.fixture
def healthy_gateway(gateway: SmscSettings) -> Iterator[SmscSettings]:
    """The gateway, healthy before the test, and repaired after it (a failed test may have left
    a part down)."""
    checked = status(gateway)
    assert checked.healthy, checked.health
    yield gateway
    repair(gateway)
