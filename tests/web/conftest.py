"""Web UI fixtures: the app (the API's, with the web UI) on a fresh SQLite and PostgreSQL
database, seeded tenants, people and recordings, and a client that signs in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.web.seed import PASSWORD, Seeded, email, seed
from voiceplatform.app import create_app
from voiceplatform.testing.postgres import fresh_database

SECRET = "web-tests-secret"


def make_app(url: str, media_dir: Path, **config: object) -> Flask:
    """The app on plain http:// (the test client and the browser test), as development is: say so."""
    return create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": SECRET, "MEDIA_DIR": str(media_dir),
                       "PLAIN_HTTP": True, **config})


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    media = tmp_path_factory.mktemp("web") / "media"
    media.mkdir()
    if request.param == "sqlite":
        yield make_app(f"sqlite:///{media.parent / 'web.db'}", media)
        return
    with fresh_database() as url:
        application = make_app(url, media)
        yield application
        application.extensions["vp_engine"].dispose()


@pytest.fixture(scope="module")
def seeded(app: Flask) -> Seeded:
    return seed(app.extensions["vp_sessions"], Path(app.config["MEDIA_DIR"]))


def csrf_of(client: FlaskClient) -> str:
    with client.session_transaction() as session:
        return str(session["csrf"])


def sign_in(client: FlaskClient, tenant: str, role: str, password: str = PASSWORD) -> FlaskClient:
    client.get("/login")
    response = client.post("/login", data={"email": email(tenant, role), "password": password, "csrf_token": csrf_of(client)})
    assert response.status_code == 302, response.data
    return client


@pytest.fixture
def supervisor(app: Flask, seeded: Seeded) -> FlaskClient:
    return sign_in(app.test_client(), "acme", "supervisor")


def media_links(html: str) -> dict[str, str]:
    """The signed listen and download URLs a recording page carries."""
    listen = re.search(r'<audio id="player"[^>]*src="([^"]+)"', html)
    download = re.search(r'<a id="download" href="([^"]+)"', html)
    assert listen and download, html
    return {"listen": listen.group(1).replace("&amp;", "&"), "download": download.group(1).replace("&amp;", "&")}


@dataclass
class Clock:
    """A clock the test moves by hand (the app's ``WEB_CLOCK``): lockouts and sessions end
    without sleeping."""

    at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Clock:
    moving = Clock()
    monkeypatch.setitem(app.config, "WEB_CLOCK", moving)
    return moving


def client_from(app: Flask, ip: str) -> FlaskClient:
    """A test client whose requests come from ``ip`` (the sign-in throttle counts per address)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    client.get("/login")
    return client


def try_login(client: FlaskClient, address: str, password: str) -> TestResponse:
    return client.post("/login", data={"email": address, "password": password, "csrf_token": csrf_of(client)})
