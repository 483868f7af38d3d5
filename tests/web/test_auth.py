"""Signing in and out, CSRF, roles and sessions of the web UI (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select, update

from tests.web.conftest import csrf_of, sign_in
from tests.web.seed import PASSWORD, Seeded, email
from voiceplatform.models import AuditEvent, User


def test_pages_send_strangers_to_the_login_page(app: Flask, seeded: Seeded) -> None:
    client = app.test_client()
    response = client.get("/recordings?flow=x")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=/recordings")
    assert client.get("/").headers["Location"].endswith("/recordings")
    login = client.get("/login")
    assert login.status_code == 200 and b'name="csrf_token"' in login.data
    assert login.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_a_wrong_password_or_unknown_person_is_refused(app: Flask, seeded: Seeded) -> None:
    client = app.test_client()
    client.get("/login")
    for who, password in ((email("acme", "supervisor"), "wrong password"), ("nobody@acme.test", PASSWORD)):
        response = client.post("/login", data={"email": who, "password": password, "csrf_token": csrf_of(client)})
        assert response.status_code == 401 and b"Wrong e-mail or password" in response.data
        with client.session_transaction() as session:
            assert "user_id" not in session
    assert client.get("/recordings").status_code == 302
    with app.extensions["vp_sessions"]() as session:
        failed = session.scalars(select(AuditEvent).where(AuditEvent.action == "login.failed")).all()
    assert len(failed) >= 1


def test_login_without_the_csrf_token_is_refused(app: Flask, seeded: Seeded) -> None:
    client = app.test_client()
    client.get("/login")
    response = client.post("/login", data={"email": email("acme", "supervisor"), "password": PASSWORD})
    assert response.status_code == 400 and response.mimetype == "text/html"
    response = client.post("/login", data={"email": email("acme", "supervisor"), "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 400
    fresh = app.test_client()  # no session at all: no token to match
    assert fresh.post("/login", data={"email": email("acme", "supervisor"), "password": PASSWORD, "csrf_token": "x"}).status_code == 400


def test_signing_in_sets_a_safe_cookie_and_a_new_session(app: Flask, seeded: Seeded) -> None:
    client = app.test_client()
    client.get("/login")
    before = csrf_of(client)
    response = client.post("/login", data={"email": email("acme", "supervisor").upper(), "password": PASSWORD,
                                           "csrf_token": before, "next": "/recordings?tag=x"})
    assert response.status_code == 302 and response.headers["Location"] == "/recordings?tag=x"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert csrf_of(client) != before  # a new token for the new session
    assert client.get("/recordings").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"])
def test_login_never_redirects_to_another_site(app: Flask, seeded: Seeded, target: str) -> None:
    client = app.test_client()
    client.get("/login")
    response = client.post("/login", data={"email": email("acme", "supervisor"), "password": PASSWORD,
                                           "csrf_token": csrf_of(client), "next": target})
    assert response.headers["Location"] == "/recordings"


def test_logout_needs_the_token_and_ends_the_session(app: Flask, seeded: Seeded) -> None:
    client = sign_in(app.test_client(), "acme", "supervisor")
    assert client.post("/logout").status_code == 400
    assert client.get("/recordings").status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf_of(client)}).status_code == 302
    assert client.get("/recordings").status_code == 302


@pytest.mark.parametrize("role, recordings, audit", [
    ("supervisor", 200, 403), ("admin", 200, 200), ("operator", 403, 403), ("designer", 403, 403)])
def test_roles(app: Flask, seeded: Seeded, role: str, recordings: int, audit: int) -> None:
    client = sign_in(app.test_client(), "acme", role)
    listing = client.get("/recordings")
    assert listing.status_code == recordings and listing.mimetype == "text/html"
    assert client.get(f"/recordings/{seeded.recordings['acme-survey']}").status_code == recordings
    assert client.get("/recordings.csv").status_code == recordings
    assert client.get("/audit").status_code == audit
    if recordings == 403:
        assert b"403" in listing.data and b"cannot use this page" in listing.data


def test_an_inactive_person_is_signed_out_and_cannot_sign_in(app: Flask, seeded: Seeded) -> None:
    client = sign_in(app.test_client(), "acme-eu", "supervisor")
    sessions = app.extensions["vp_sessions"]
    target = email("acme-eu", "supervisor")
    with sessions.begin() as session:
        session.execute(update(User).where(User.email == target).values(active=False))
    try:
        assert client.get("/recordings").status_code == 302
        fresh = app.test_client()
        fresh.get("/login")
        assert fresh.post("/login", data={"email": target, "password": PASSWORD, "csrf_token": csrf_of(fresh)}).status_code == 401
    finally:
        with sessions.begin() as session:
            session.execute(update(User).where(User.email == target).values(active=True))


def test_the_api_keeps_its_json_errors(app: Flask, seeded: Seeded) -> None:
    client = app.test_client()
    assert client.get("/nowhere").get_json()["error"]["code"] == "not_found"
    assert client.get("/calls").get_json()["error"]["code"] == "unauthorized"
    signed_in = sign_in(app.test_client(), "acme", "supervisor")
    page = signed_in.get("/recordings/999999")
    assert page.status_code == 404 and page.mimetype == "text/html" and b"Back to the recordings" in page.data
