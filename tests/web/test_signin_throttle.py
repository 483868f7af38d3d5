"""Sign-in throttling (issue 10, row 8): failures counted per e-mail and per IP address in the
database, a lockout that refuses even the right password, its end, and an admin's unlock from the
command line and from the web UI (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from typing import Any

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from tests.web.conftest import Clock, client_from, csrf_of, try_login
from tests.web.seed import PASSWORD, Seeded, email
from voiceplatform.cli import main
from voiceplatform.limits import current
from voiceplatform.models import AuditEvent, SigninLockout

WRONG = "Wrong e-mail or password."
LATER = "try again later"


def _events(app: Flask, action: str) -> list[AuditEvent]:
    with app.extensions["vp_sessions"]() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _fail(client: Any, address: str, times: int) -> list[int]:
    return [try_login(client, address, "not the password").status_code for _ in range(times)]


def test_an_account_is_locked_after_its_failures_and_refuses_the_right_password(app: Flask, seeded: Seeded,
                                                                               clock: Clock) -> None:
    limit = current().max_signin_failures_per_user
    target = email("acme", "supervisor")
    client = client_from(app, "10.8.0.1")
    assert _fail(client, target, limit) == [401] * (limit - 1) + [429]  # the last failure starts the lockout
    clock.advance(seconds=1)
    locked = try_login(client, target, PASSWORD)
    html = locked.get_data(as_text=True)
    assert locked.status_code == 429 and WRONG in html and LATER in html
    assert 0 < int(locked.headers["Retry-After"]) <= current().signin_lockout_seconds
    with client.session_transaction() as session:
        assert "sid" not in session
    assert client.get("/recordings").status_code == 302
    other_address = client_from(app, "10.8.0.2")  # the account is locked wherever the attempt comes from
    assert try_login(other_address, target, PASSWORD).status_code == 429
    locked_events = [event for event in _events(app, "login.locked") if event.details["key"] == target]
    assert len(locked_events) == 1 and locked_events[0].details["scope"] == "user"
    assert locked_events[0].account_id == seeded.accounts["acme"]


def test_an_unknown_address_gets_the_same_answers_as_a_real_one(app: Flask, seeded: Seeded, clock: Clock) -> None:
    limit = current().max_signin_failures_per_user
    real, unknown = client_from(app, "10.8.1.1"), client_from(app, "10.8.1.2")
    real_codes, unknown_codes = _fail(real, email("acme-eu", "designer"), limit), _fail(unknown, "nobody@acme.test", limit)
    assert real_codes == unknown_codes == [401] * (limit - 1) + [429]
    answers = [try_login(client, who, PASSWORD) for client, who in ((real, email("acme-eu", "designer")),
                                                                    (unknown, "nobody@acme.test"))]
    alerts = [re.findall(r'role="alert">([^<]*)<', answer.get_data(as_text=True)) for answer in answers]
    assert answers[0].status_code == answers[1].status_code == 429 and alerts[0] == alerts[1] and len(alerts[0]) == 1
    assert answers[0].headers["Retry-After"] == answers[1].headers["Retry-After"]


def test_lockouts_are_kept_in_the_database(app: Flask, seeded: Seeded, clock: Clock) -> None:
    """Another app on the same database (another worker process, or after a restart) refuses too."""
    from tests.web.conftest import make_app

    limit = current().max_signin_failures_per_user
    target = email("acme", "operator")
    _fail(client_from(app, "10.8.2.1"), target, limit)
    sibling = make_app(app.config["DATABASE_URL"], app.config["MEDIA_DIR"], WEB_CLOCK=clock)
    try:
        assert try_login(client_from(sibling, "10.8.2.2"), target, PASSWORD).status_code == 429
    finally:
        sibling.extensions["vp_engine"].dispose()


def test_one_address_is_throttled_across_accounts(app: Flask, seeded: Seeded, clock: Clock) -> None:
    per_user, per_ip = current().max_signin_failures_per_user, current().max_signin_failures_per_ip
    attacker = client_from(app, "10.8.3.1")
    codes: list[int] = []
    for index in range(per_ip):  # never more than per_user - 1 on one address: no account is locked
        codes.append(_fail(attacker, f"guess{index // (per_user - 1)}@acme.test", 1)[0])
    assert codes == [401] * (per_ip - 1) + [429]
    refused = try_login(attacker, email("globex", "admin"), PASSWORD)
    assert refused.status_code == 429 and LATER in refused.get_data(as_text=True)
    assert try_login(client_from(app, "10.8.3.2"), email("globex", "admin"), PASSWORD).status_code == 302


def test_a_lockout_ends_after_its_time_and_failures_then_count_afresh(app: Flask, seeded: Seeded, clock: Clock) -> None:
    limits = current()
    target = email("globex", "supervisor")
    client = client_from(app, "10.8.4.1")
    _fail(client, target, limits.max_signin_failures_per_user)
    clock.advance(seconds=limits.signin_lockout_seconds - 1)
    assert try_login(client, target, PASSWORD).status_code == 429
    clock.advance(seconds=2)
    assert _fail(client, target, 1) == [401]  # the failures that made the lockout are spent
    assert try_login(client, target, PASSWORD).status_code == 302
    clock.advance(seconds=1)
    fresh = client_from(app, "10.8.4.1")  # a right password forgets the failures before it
    assert _fail(fresh, target, limits.max_signin_failures_per_user - 1) == [401] * (limits.max_signin_failures_per_user - 1)


def test_failures_outside_the_window_do_not_count(app: Flask, seeded: Seeded, clock: Clock) -> None:
    limits = current()
    target = email("globex", "operator")
    client = client_from(app, "10.8.5.1")
    _fail(client, target, limits.max_signin_failures_per_user - 1)
    clock.advance(seconds=limits.signin_failure_window_seconds + 1)
    assert _fail(client, target, limits.max_signin_failures_per_user - 1) == [401] * (limits.max_signin_failures_per_user - 1)


def test_the_command_line_clears_a_lockout(app: Flask, seeded: Seeded, clock: Clock, monkeypatch: Any) -> None:
    target = email("globex", "designer")
    client = client_from(app, "10.8.6.1")
    _fail(client, target, current().max_signin_failures_per_user)
    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"])
    runner = CliRunner()
    assert runner.invoke(main, ["users", "unlock"]).exit_code == 2  # nothing to unlock named
    done = runner.invoke(main, ["users", "unlock", target.upper()])
    assert done.exit_code == 0 and f"{target}: cleared 1 lockout(s)" in done.output, done.output
    assert try_login(client, target, PASSWORD).status_code == 302
    unlocked = [event for event in _events(app, "login.unlocked") if event.details["key"] == target]
    assert unlocked and unlocked[-1].details["by"] == "command line" and unlocked[-1].user_id is None
    again = runner.invoke(main, ["users", "unlock", target])
    assert again.exit_code == 0 and "was not locked out" in again.output


def test_the_command_line_clears_an_address(app: Flask, seeded: Seeded, clock: Clock, monkeypatch: Any) -> None:
    attacker = client_from(app, "10.8.7.1")
    per_user = current().max_signin_failures_per_user
    for index in range(current().max_signin_failures_per_ip):
        _fail(attacker, f"other{index // (per_user - 1)}@acme.test", 1)
    assert try_login(attacker, email("acme-eu", "admin"), PASSWORD).status_code == 429
    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"])
    done = CliRunner().invoke(main, ["users", "unlock", "--ip", "10.8.7.1"])
    assert done.exit_code == 0 and "10.8.7.1: cleared 1 lockout(s)" in done.output, done.output
    assert try_login(attacker, email("acme-eu", "admin"), PASSWORD).status_code == 302


def test_an_admin_clears_a_lockout_of_their_accounts(app: Flask, seeded: Seeded, clock: Clock) -> None:
    target = email("acme-eu", "supervisor")  # acme-eu is a sub-account of acme
    locked = client_from(app, "10.8.8.1")
    _fail(locked, target, current().max_signin_failures_per_user)
    with app.extensions["vp_sessions"]() as session:
        lockout = session.scalars(select(SigninLockout).where(SigninLockout.key == target)).one()

    outsider = client_from(app, "10.8.8.2")
    assert try_login(outsider, email("globex", "admin"), PASSWORD).status_code == 302
    assert target not in outsider.get("/lockouts").get_data(as_text=True)
    assert outsider.post(f"/lockouts/{lockout.id}/clear", data={"csrf_token": csrf_of(outsider)}).status_code == 404
    designer = client_from(app, "10.8.8.3")
    assert try_login(designer, email("acme", "designer"), PASSWORD).status_code == 302
    assert designer.get("/lockouts").status_code == 403  # admins only

    admin = client_from(app, "10.8.8.4")
    assert try_login(admin, email("acme", "admin"), PASSWORD).status_code == 302
    page = admin.get("/lockouts")
    assert page.status_code == 200 and f'data-lockout="{lockout.id}"' in page.get_data(as_text=True)
    assert admin.post(f"/lockouts/{lockout.id}/clear").status_code == 400  # no CSRF token
    assert try_login(locked, target, PASSWORD).status_code == 429
    cleared = admin.post(f"/lockouts/{lockout.id}/clear", data={"csrf_token": csrf_of(admin)})
    assert cleared.status_code == 302
    assert f'data-lockout="{lockout.id}"' not in admin.get("/lockouts").get_data(as_text=True)
    assert try_login(locked, target, PASSWORD).status_code == 302
    event = [event for event in _events(app, "login.unlocked") if event.details["key"] == target][-1]
    assert event.details["by"] == email("acme", "admin") and event.user_id is not None
    assert event.account_id == seeded.accounts["acme"]
