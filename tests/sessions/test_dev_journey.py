"""The dev channel through the HTTP API, and the runtime behind it: a journey start → outbox →
POST /dev/inbound → completion; concurrent replies; a re-published flow; expiry with two
sweepers; a reply to an ended session; unsolicited messages; opt-out words; tenant isolation
and the off switch. SQLite and PostgreSQL (the app fixture)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import gevent
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.sessions.conftest import FLOW, Tenants
from voiceplatform.app import create_app
from voiceplatform.channels.dev.routes import messaging
from voiceplatform.exceptions import SessionConflictError
from voiceplatform.models import Contact, FlowSession, SessionEvent, UnsolicitedMessage, WebhookDelivery
from voiceplatform.models.base import utcnow
from voiceplatform.sessions import store, sweeper

_numbers = itertools.count(100)


def _fresh() -> str:
    return f"+1202555{next(_numbers):04d}"


def _publish(client: FlaskClient, tenants: Tenants, tenant: str, yaml: str = FLOW) -> None:
    auth = tenants.auth(tenant)
    created = client.post("/flows", json={"yaml": yaml}, headers=auth)
    assert created.status_code in (200, 201), created.get_json()
    body = created.get_json()
    published = client.post(f"/flows/{body['name']}/versions/{body['version']}/publish", headers=auth)
    assert published.status_code == 200, published.get_json()


def _number(client: FlaskClient, tenants: Tenants, tenant: str, flow: str | None = None) -> str:
    number = _fresh()
    body: dict[str, Any] = {"number": number, "channels": ["dev"], "flow": {"name": flow} if flow else None}
    response = client.post("/numbers", json=body, headers=tenants.auth(tenant))
    assert response.status_code == 201, response.get_json()
    return number


def _start(client: FlaskClient, tenants: Tenants, tenant: str = "acme") -> tuple[str, str, str]:
    _publish(client, tenants, tenant)
    ours, contact = _number(client, tenants, tenant), _fresh()
    started = client.post("/dev/sessions", json={"flow": {"name": "two_questions"}, "to": contact, "from": ours},
                          headers=tenants.auth(tenant))
    assert started.status_code == 201, started.get_json()
    return started.get_json()["session_id"], ours, contact


def _reply(client: FlaskClient, tenants: Tenants, ours: str, contact: str, text: str, tenant: str = "acme",
           **extra: Any) -> Any:
    return client.post("/dev/inbound", json={"from": contact, "to": ours, "text": text, **extra},
                       headers=tenants.auth(tenant))


def _outbox(client: FlaskClient, tenants: Tenants, session_id: str, tenant: str = "acme") -> list[str]:
    response = client.get(f"/dev/outbox?session_id={session_id}", headers=tenants.auth(tenant))
    assert response.status_code == 200
    return [item["text"] for item in response.get_json()["items"]]


def _row(app: Flask, session_id: str) -> FlowSession:
    with app.extensions["vp_sessions"]() as db:
        row = db.get(FlowSession, session_id)
        assert row is not None
        return row


def _inputs(app: Flask, session_id: str) -> list[dict[str, Any]]:
    with app.extensions["vp_sessions"]() as db:
        return [e.payload for e in store.history(db, session_id) if e.kind == "input"]


def test_a_journey_runs_start_outbox_inbound_completion(app: Flask, client: FlaskClient, tenants: Tenants) -> None:
    session_id, ours, contact = _start(client, tenants)
    assert _outbox(client, tenants, session_id) == ["First answer?"]
    assert _row(app, session_id).status == "waiting" and _row(app, session_id).wait_expires_at is not None
    assert _reply(client, tenants, ours, contact, "red").get_json()["outcome"] == "resumed"
    assert _reply(client, tenants, ours, contact, "blue").get_json() == {
        "outcome": "resumed", "session_id": session_id, "unsolicited_id": None}
    row = _row(app, session_id)
    assert row.status == "completed" and row.ended_at is not None
    assert row.state["results"]["first"]["value"] == "red" and row.state["results"]["second"]["value"] == "blue"
    assert _outbox(client, tenants, session_id)[:2] == ["First answer?", "Second answer?"]
    with app.extensions["vp_sessions"]() as db:
        seqs = [e.seq for e in store.history(db, session_id)]
        assert seqs == list(range(1, len(seqs) + 1))
    # the same provider message id twice is applied once
    assert _reply(client, tenants, ours, contact, "again", message_id="m-1").get_json()["outcome"] == "unsolicited"
    assert _reply(client, tenants, ours, contact, "again", message_id="m-1").get_json()["outcome"] == "duplicate"


def test_two_replies_at_once_are_both_applied_in_order_once(app: Flask, client: FlaskClient, tenants: Tenants) -> None:
    session_id, ours, contact = _start(client, tenants)
    router = messaging_of(app).router
    from voiceplatform.channels.contract import InboundMessage
    from voiceplatform.flow import Input

    replies = [gevent.spawn(router.receive, InboundMessage("dev", contact, ours, Input.text(text)))
               for text in ("one", "two")]
    gevent.joinall(replies, raise_error=True)
    assert sorted(r.value.outcome for r in replies) == ["resumed", "resumed"]
    row = _row(app, session_id)
    assert row.status == "completed"
    texts = [p["value"] for p in _inputs(app, session_id)]
    assert texts == ["one", "two"]  # in the order received, each once
    assert row.state["results"]["first"]["value"] == "one" and row.state["results"]["second"]["value"] == "two"


def messaging_of(app: Flask) -> Any:
    with app.app_context():
        return messaging()


def test_a_stale_row_version_is_refused(app: Flask, client: FlaskClient, tenants: Tenants) -> None:
    session_id, _, _ = _start(client, tenants)
    factory = app.extensions["vp_sessions"]
    with factory() as first, factory() as second:
        a, b = first.get(FlowSession, session_id), second.get(FlowSession, session_id)
        assert a is not None and b is not None
        a.end_reason = "first"
        first.commit()
        b.end_reason = "second"
        with pytest.raises(SessionConflictError):
            store.flush(second)


def test_a_reply_after_republishing_resumes_on_the_pinned_version(app: Flask, client: FlaskClient,
                                                                  tenants: Tenants) -> None:
    session_id, ours, contact = _start(client, tenants)
    pinned = _row(app, session_id).flow_version_id
    _publish(client, tenants, "acme", FLOW.replace("Second answer?", "A NEW second question?"))
    _reply(client, tenants, ours, contact, "red")
    assert _outbox(client, tenants, session_id)[-1] == "Second answer?"
    assert _row(app, session_id).flow_version_id == pinned


def test_an_expiry_is_applied_once_with_two_sweepers_racing(app: Flask, client: FlaskClient, tenants: Tenants) -> None:
    started = [_start(client, tenants) for _ in range(3)]
    runner = messaging_of(app).runner
    later = utcnow() + timedelta(minutes=5)
    sweeps = [gevent.spawn(sweeper.sweep, runner, now=later) for _ in range(2)]
    gevent.joinall(sweeps, raise_error=True)
    assert sum(s.value for s in sweeps) >= 3
    for session_id, _, _ in started:
        assert [p["kind"] for p in _inputs(app, session_id)] == ["timeout"]
        row = _row(app, session_id)
        assert row.status == "completed" and row.end_reason is not None
    assert sweeper.sweep(runner, now=later) == 0


def test_a_sweep_that_dies_midway_loses_nothing(app: Flask, client: FlaskClient, tenants: Tenants,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    session_id, _, _ = _start(client, tenants)
    runner = messaging_of(app).runner
    later = utcnow() + timedelta(minutes=5)

    def crash(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("worker killed")

    with monkeypatch.context() as patch:
        patch.setattr(runner, "resume_in", crash)
        with pytest.raises(RuntimeError):
            sweeper.sweep(runner, now=later)
    assert _row(app, session_id).status == "waiting"
    assert sweeper.sweep(runner, now=later) >= 1
    assert [p["kind"] for p in _inputs(app, session_id)] == ["timeout"]


def test_a_reply_to_an_ended_session_is_kept_as_unsolicited_with_a_webhook(app: Flask, client: FlaskClient,
                                                                           tenants: Tenants) -> None:
    auth = tenants.auth("acme")
    hook = client.post("/webhooks", json={"url": "https://hooks.example.com/x", "events": ["message.received"]},
                       headers=auth)
    assert hook.status_code == 201, hook.get_json()
    session_id, ours, contact = _start(client, tenants)
    _reply(client, tenants, ours, contact, "a")
    _reply(client, tenants, ours, contact, "b")
    assert _row(app, session_id).status == "completed"
    late = _reply(client, tenants, ours, contact, "anyone there?").get_json()
    assert late["outcome"] == "unsolicited" and late["unsolicited_id"]
    with app.extensions["vp_sessions"]() as db:
        kept = db.get(UnsolicitedMessage, late["unsolicited_id"])
        assert kept is not None and kept.input["value"] == "anyone there?" and kept.address == contact
        payloads = [d.payload for d in db.scalars(select(WebhookDelivery).where(WebhookDelivery.event == "message.received"))]
        assert any(p["message_id"] == kept.id and p["text"] == "anyone there?" for p in payloads)


def test_a_message_to_a_number_with_a_flow_starts_it(app: Flask, client: FlaskClient, tenants: Tenants) -> None:
    _publish(client, tenants, "acme")
    ours, contact = _number(client, tenants, "acme", flow="two_questions"), _fresh()
    started = _reply(client, tenants, ours, contact, "hello").get_json()
    assert started["outcome"] == "started"
    assert _outbox(client, tenants, started["session_id"]) == ["First answer?"]
    assert _inputs(app, started["session_id"])[0]["trigger"] is True


@pytest.mark.parametrize(("word", "language"), [("STOP", "en"), ("Unsubscribe!", "en"), ("إلغاء", "ar"),
                                                ("الغاء الاشتراك", "ar"), ("توقف", "ar")])
def test_opt_out_words_end_sessions_and_confirm_in_the_script(app: Flask, client: FlaskClient, tenants: Tenants,
                                                              word: str, language: str) -> None:
    session_id, ours, contact = _start(client, tenants)
    assert _reply(client, tenants, ours, contact, word).get_json()["outcome"] == "opted_out"
    row = _row(app, session_id)
    assert row.status == "completed" and row.end_reason == "opted_out"
    assert "results" not in row.state or "first" not in row.state["results"]  # no flow saw it
    sent = client.get(f"/dev/outbox?to={contact.replace('+', '%2B')}", headers=tenants.auth("acme")).get_json()["items"]
    confirmation = sent[-1]
    assert confirmation["session_id"] is None
    assert ("تم" in confirmation["text"]) is (language == "ar")
    with app.extensions["vp_sessions"]() as db:
        person = db.scalars(select(Contact).where(Contact.phone == contact)).one()
        assert "sms" not in person.channels  # the dev channel renders as SMS: opted out of sms


def test_dev_routes_need_a_token_and_keep_tenants_apart(app: Flask, client: FlaskClient, tenants: Tenants) -> None:
    session_id, ours, contact = _start(client, tenants)
    assert client.post("/dev/inbound", json={"from": contact, "to": ours, "text": "x"}).status_code == 401
    assert client.get("/dev/outbox").status_code == 401
    assert _reply(client, tenants, ours, contact, "x", tenant="globex").status_code == 404
    assert _outbox(client, tenants, session_id, tenant="globex") == []
    assert _reply(client, tenants, ours, contact, 5).status_code == 400  # type: ignore[arg-type]
    assert _row(app, session_id).status == "waiting"  # nothing of globex's reached it


def test_the_dev_channel_can_be_switched_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("VOICEPLATFORM_DEV_CHANNEL", "0")
    off = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'off.db'}", "TESTING": True})
    rules = {rule.rule for rule in off.url_map.iter_rules()}
    assert not any(rule.startswith("/dev/") for rule in rules)
    assert off.test_client().post("/dev/inbound", json={}).status_code == 404
    from voiceplatform.sessions.runtime import default_channels

    assert default_channels().names() == []
