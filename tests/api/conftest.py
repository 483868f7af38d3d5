"""API fixtures: an app on a fresh database (SQLite and PostgreSQL), two tenants (acme, a master
account with a sub-account acme-eu; and globex), and a token for each role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from voiceplatform.app import create_app
from voiceplatform.models import Account, ApiToken, Role
from voiceplatform.testing.postgres import fresh_database


@dataclass
class Tenants:
    ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)  # (tenant, role) -> secret

    def auth(self, tenant: str, role: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[(tenant, role)]}"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    if request.param == "sqlite":
        yield create_app({"DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('api') / 'api.db'}", "TESTING": True})
        return
    with fresh_database() as url:
        application = create_app({"DATABASE_URL": url, "TESTING": True})
        yield application
        application.extensions["vp_engine"].dispose()


@pytest.fixture(scope="module")
def tenants(app: Flask) -> Tenants:
    seeded = Tenants()
    with app.extensions["vp_sessions"].begin() as session:
        acme = Account(name="acme")
        accounts = {"acme": acme, "acme-eu": Account(name="acme-eu", parent=acme), "globex": Account(name="globex")}
        session.add_all(accounts.values())
        session.flush()
        for name, account in accounts.items():
            seeded.ids[name] = account.id
            for role in Role:
                row, secret = ApiToken.issue(account, role, name=f"{name}-{role.value}")
                session.add(row)
                seeded.tokens[(name, role.value)] = secret
    return seeded


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def error_code(response: Any) -> str:
    assert response.is_json, response.data
    return response.get_json()["error"]["code"]
