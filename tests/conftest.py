"""Test-suite set-up. The platform's workers run under gevent's monkey-patching, and so do the
tests: it is applied here, before any test module is imported."""

from gevent import monkey

monkey.patch_all()

import pytest  # noqa: E402

pytest_plugins = ["voiceplatform.testing.lab_fixture"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Rewrite the expected part of golden files from what the engine does now.",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
