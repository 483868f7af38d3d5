"""Test-suite set-up. The platform's workers run under gevent's monkey-patching, and so do the
tests: it is applied here, before any test module is imported."""

from gevent import monkey

monkey.patch_all()

from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402
from sqlalchemy import Engine  # noqa: E402

from tests import shards  # noqa: E402
from voiceplatform.db import make_engine, upgrade  # noqa: E402
from voiceplatform.testing.postgres import fresh_database  # noqa: E402

pytest_plugins = ["voiceplatform.testing.lab_fixture", "voiceplatform.testing.redis_fixture",
                  "voiceplatform.testing.smsc_fixture", "voiceplatform.testing.whatsapp_cloud_fixture"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Rewrite the expected part of golden files from what the engine does now.",
    )
    parser.addoption("--shard", default="", metavar="K/N",
                     help="Run shard K of N of the suite (tests/shards.py; scripts/run_shards.py runs them all).")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    shards.select(config, items)


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def allow_local_outbound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Permit outbound HTTP to 127.0.0.1 (the tests' local listeners). The production default
    refuses loopback (voiceplatform.safety.outbound_http); tests opt in through the same setting
    an on-premises operator would use."""
    monkeypatch.setenv("VOICEPLATFORM_OUTBOUND_ALLOW", "127.0.0.1")


# ---- databases: every model and store test runs on SQLite (WAL) and on PostgreSQL ----


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    with fresh_database() as url:
        yield url


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()
