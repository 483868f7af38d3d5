"""Server-side sessions (issue 10, row 9): logout and a password change revoke them, so a saved
cookie replayed afterwards signs nobody in; idle timeout and absolute lifetime on a moving clock;
only the id's hash is stored (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.web.conftest import Clock, client_from, csrf_of, sign_in, try_login
from tests.web.seed import PASSWORD, Seeded, email
from voiceplatform.cli import main
from voiceplatform.models import AuditEvent, WebSession
from voiceplatform.web.session_store import hash_id

COOKIE = "vp_session"


def _cookie(client: FlaskClient) -> str:
    found = client.get_cookie(COOKIE)
    assert found is not None
    return found.value


def _replay(app: Flask, value: str) -> FlaskClient:
    thief = app.test_client()
    thief.set_cookie(COOKIE, value)
    return thief


def test_a_cookie_replayed_after_logout_signs_nobody_in(app: Flask, seeded: Seeded) -> None:
    client = sign_in(app.test_client(), "acme", "supervisor")
    saved = _cookie(client)
    assert _replay(app, saved).get("/recordings").status_code == 200  # a copy works while the session lives
    assert client.post("/logout", data={"csrf_token": csrf_of(client)}).status_code == 302
    thief = _replay(app, saved)
    page = thief.get("/recordings")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    with thief.session_transaction() as session:
        token = session["csrf"]
    recording = seeded.recordings["acme-survey"]
    assert thief.post(f"/recordings/{recording}/listen-url", headers={"X-CSRF-Token": token}).status_code == 401


def test_only_the_hash_of_the_session_id_is_stored(app: Flask, seeded: Seeded) -> None:
    client = sign_in(app.test_client(), "acme", "admin")
    with client.session_transaction() as session:
        token = session["sid"]
        assert set(session) == {"sid", "csrf"}  # the cookie carries the id and the CSRF token, nothing else
    with app.extensions["vp_sessions"]() as session:
        rows = session.scalars(select(WebSession)).all()
        assert token not in {row.token_hash for row in rows}
        mine = [row for row in rows if row.token_hash == hash_id(token)]
        assert len(mine) == 1 and mine[0].revoked_at is None and mine[0].ip == "127.0.0.1"


def test_signing_in_again_revokes_the_session_before(app: Flask, seeded: Seeded) -> None:
    client = sign_in(app.test_client(), "acme", "supervisor")
    before = _cookie(client)
    sign_in(client, "acme", "supervisor")
    assert _cookie(client) != before
    assert _replay(app, before).get("/recordings").status_code == 302


def test_a_password_change_ends_every_session_of_that_person(app: Flask, seeded: Seeded) -> None:
    target = email("globex", "supervisor")
    laptop, phone = sign_in(app.test_client(), "globex", "supervisor"), sign_in(app.test_client(), "globex", "supervisor")
    other_person = sign_in(app.test_client(), "globex", "admin")
    form = {"password": "wrong", "new_password": "a new long password", "new_password_again": "a new long password"}
    assert laptop.post("/password", data={**form, "csrf_token": csrf_of(laptop)}).status_code == 400
    assert laptop.post("/password", data={**form, "password": PASSWORD, "new_password_again": "typo",
                                          "csrf_token": csrf_of(laptop)}).status_code == 400
    assert laptop.post("/password", data={**form, "password": PASSWORD, "new_password": "short", "new_password_again": "short",
                                          "csrf_token": csrf_of(laptop)}).status_code == 400
    old_cookie = _cookie(laptop)
    changed = laptop.post("/password", data={**form, "password": PASSWORD, "csrf_token": csrf_of(laptop)})
    assert changed.status_code == 302
    assert laptop.get("/recordings").status_code == 200  # this browser is signed in afresh
    assert phone.get("/recordings").status_code == 302
    assert _replay(app, old_cookie).get("/recordings").status_code == 302
    assert other_person.get("/recordings").status_code == 200
    fresh = client_from(app, "127.0.0.1")
    assert try_login(fresh, target, PASSWORD).status_code == 401
    assert try_login(fresh, target, "a new long password").status_code == 302
    with app.extensions["vp_sessions"]() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "password.change")).one()
    assert event.details["sessions_ended"] == 2 and event.details["by"] == "self"


def test_the_command_line_sets_a_password_and_ends_sessions(app: Flask, seeded: Seeded, monkeypatch: Any) -> None:
    target = email("acme-eu", "admin")
    signed_in = sign_in(app.test_client(), "acme-eu", "admin")
    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"])
    runner = CliRunner()
    missing = runner.invoke(main, ["users", "set-password", "nobody@x.test", "--password-stdin"], input="long enough pass\n")
    assert missing.exit_code == 1 and "no user" in missing.output
    short = runner.invoke(main, ["users", "set-password", target, "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least 8" in short.output
    assert signed_in.get("/recordings").status_code == 200  # a refused change ends nothing
    done = runner.invoke(main, ["users", "set-password", target.upper(), "--password-stdin"], input="another long pass\n")
    assert done.exit_code == 0 and "1 session(s) signed out" in done.output, done.output
    assert signed_in.get("/recordings").status_code == 302
    fresh = client_from(app, "127.0.0.1")
    assert try_login(fresh, target, "another long pass").status_code == 302


def test_a_session_ends_when_idle(app: Flask, seeded: Seeded, clock: Clock) -> None:
    idle = float(app.config["WEB_SESSION_IDLE_MINUTES"])
    client = sign_in(app.test_client(), "acme", "supervisor")
    for _ in range(3):  # activity keeps it alive past the idle time
        clock.advance(minutes=idle - 1)
        assert client.get("/recordings").status_code == 200
    clock.advance(minutes=idle + 1)
    assert client.get("/recordings").status_code == 302


def test_a_session_ends_after_its_lifetime_however_busy(app: Flask, seeded: Seeded, clock: Clock) -> None:
    hours, idle = float(app.config["WEB_SESSION_HOURS"]), float(app.config["WEB_SESSION_IDLE_MINUTES"])
    client = sign_in(app.test_client(), "acme", "supervisor")
    step = idle / 2
    elapsed = 0.0
    while elapsed + step < hours * 60:
        clock.advance(minutes=step)
        elapsed += step
        assert client.get("/recordings").status_code == 200
    clock.advance(minutes=hours * 60 - elapsed + 1)
    assert client.get("/recordings").status_code == 302


def test_session_settings_come_from_the_environment(monkeypatch: Any) -> None:
    import pytest

    from voiceplatform.web.session_store import resolve_settings

    config: dict[str, Any] = {}
    monkeypatch.setenv("VOICEPLATFORM_WEB_SESSION_HOURS", "2")
    resolve_settings(config)
    assert config == {"WEB_SESSION_HOURS": 2.0, "WEB_SESSION_IDLE_MINUTES": 60.0}
    assert resolve_settings(overridden := {"WEB_SESSION_HOURS": 5}) is None and overridden["WEB_SESSION_HOURS"] == 5.0
    for bad in ("0", "soon", "-1"):
        monkeypatch.setenv("VOICEPLATFORM_WEB_SESSION_IDLE_MINUTES", bad)
        with pytest.raises(ValueError, match="WEB_SESSION_IDLE_MINUTES"):
            resolve_settings({})
