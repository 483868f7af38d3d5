"""HTTPS by default (issue 10, row 16): the session cookie is Secure, HttpOnly and SameSite=Lax and
every answer carries Strict-Transport-Security, unless plain-HTTP development is asked for
(``PLAIN_HTTP`` in the config, or ``VOICEPLATFORM_PLAIN_HTTP=1``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.web.conftest import SECRET
from voiceplatform.app import create_app
from voiceplatform.web.transport import ENV, plain_http


def _app(tmp_path: Path, **config: object) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'transport.db'}", "TESTING": True, "SECRET_KEY": SECRET,
                      "MEDIA_DIR": str(tmp_path), **config})
    yield app
    app.extensions["vp_engine"].dispose()


def _login_cookie(app: Flask) -> str:
    response = app.test_client().get("/login")  # the login form starts a session (its CSRF token)
    return response.headers["Set-Cookie"]


@pytest.fixture
def https_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.delenv(ENV, raising=False)
    yield from _app(tmp_path)


def test_by_default_the_cookie_is_secure_and_hsts_is_sent(https_app: Flask) -> None:
    cookie = _login_cookie(https_app)
    assert cookie.startswith("vp_session=")
    flags = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert "secure" in flags and "httponly" in flags and flags["samesite"] == "SameSite=Lax"
    client = https_app.test_client()
    for path in ("/login", "/health", "/nowhere"):  # the web UI, the API, an error
        assert client.get(path).headers.get("Strict-Transport-Security") == "max-age=31536000", path


@pytest.mark.parametrize("how", ["config", "environment"])
def test_plain_http_drops_secure_and_hsts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    if how == "config":
        monkeypatch.delenv(ENV, raising=False)
        apps = _app(tmp_path, PLAIN_HTTP=True)
    else:
        monkeypatch.setenv(ENV, "1")
        apps = _app(tmp_path)
    app = next(apps)
    cookie = _login_cookie(app)
    assert "Secure" not in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Strict-Transport-Security" not in app.test_client().get("/login").headers
    next(apps, None)


def test_the_setting_is_read_as_written() -> None:
    assert plain_http({}, {}) is False
    assert plain_http({}, {ENV: "1"}) is True and plain_http({}, {ENV: "yes"}) is True
    for off in ("", "0", "false", "off", "no"):
        assert plain_http({}, {ENV: off}) is False
    assert plain_http({"PLAIN_HTTP": False}, {ENV: "1"}) is False  # the app's config wins
    assert plain_http({"PLAIN_HTTP": "0"}, {}) is False and plain_http({"PLAIN_HTTP": "1"}, {}) is True


def test_hsts_max_age_is_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    app = next(_app(tmp_path, HSTS_SECONDS=600))
    assert app.test_client().get("/login").headers["Strict-Transport-Security"] == "max-age=600"
    app.extensions["vp_engine"].dispose()


def test_serve_warns_in_plain_http_mode(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from voiceplatform.cli.serve import _transport_notice

    monkeypatch.setenv(ENV, "1")
    _transport_notice()
    assert "WARNING: plain-HTTP mode" in capsys.readouterr().err
    monkeypatch.delenv(ENV)
    _transport_notice()
    captured = capsys.readouterr()
    assert "WARNING" not in captured.err and f"set {ENV}=1" in captured.out
