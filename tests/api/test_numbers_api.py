"""The numbers API on SQLite and PostgreSQL (create, list, read, change, delete; normalisation;
one owner per number on the installation; roles; tenant isolation with master and sub-accounts),
and the database router an inbound call goes through (number → account → flow, the caller as a
contact, the call's inbound row)."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.api.conftest import Tenants, error_code
from voiceplatform.inbound.router import DatabaseInboundRouter
from voiceplatform.models import Call, Contact, FlowVersion
from voiceplatform.switches.inbound import InboundCall, InboundRejection, InboundRoute, RejectCause

_numbers = itertools.count(5000)
REPO = Path(__file__).resolve().parents[2]
FLOW = (REPO / "ivr_flows" / "payment_reminder.yaml").read_text()


def fresh_number() -> str:
    return f"+1202555{next(_numbers):04d}"


def create(client: FlaskClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/numbers", json={"number": fresh_number(), **body}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def publish_flow(client: FlaskClient, tenants: Tenants, tenant: str, name: str, publish: bool = True) -> int:
    designer = tenants.auth(tenant, "designer")
    made = client.post("/flows", json={"yaml": FLOW.replace("name: payment_reminder", f"name: {name}")}, headers=designer)
    assert made.status_code == 201, made.get_json()
    version = made.get_json()["version"]
    if publish:
        assert client.post(f"/flows/{name}/versions/{version}/publish", headers=designer).status_code == 200
    return int(version)


def test_create_normalises_and_defaults_to_voice(client: FlaskClient, tenants: Tenants) -> None:
    admin = tenants.auth("acme")
    digits = fresh_number()[2:]  # national form, without the +1
    made = create(client, admin, number=f"({digits[:3]}) {digits[3:6]}-{digits[6:]}", flow={"name": "welcome"})
    assert made["number"] == f"+1{digits}" and made["kind"] == "phone"
    assert made["channels"] == ["voice"] and made["flow"] == {"name": "welcome", "version": None}
    assert made["account_id"] == tenants.ids["acme"] and made["channel_flows"] == {}
    assert client.get(f"/numbers/{made['id']}", headers=admin).get_json() == made
    named = create(client, admin, number="Inbound-IVR-" + uuid.uuid4().hex[:6], channels=["voice", "sms", "voice"])
    assert named["kind"] == "name" and named["number"].startswith("inbound-ivr-") and named["channels"] == ["sms", "voice"]


def test_a_number_has_one_owner_on_the_installation(client: FlaskClient, tenants: Tenants) -> None:
    made = create(client, tenants.auth("acme"))
    again = client.post("/numbers", json={"number": made["number"][2:]}, headers=tenants.auth("globex"))
    assert again.status_code == 409 and error_code(again) == "number_taken"


@pytest.mark.parametrize(("body", "code"), [
    ({"number": "not a number"}, "invalid_number"),
    ({"number": "+1 202"}, "invalid_number"),
    ({"number": "+1202555\r\n0100"}, "unsafe_value"),
    ({"number": "x" * 65}, "unsafe_value"),
    ({"channels": ["fax"]}, "unknown_channel"),
    ({"flow": {"version": 2}}, "bad_request"),
    ({"flow": {"name": "a", "version": 0}}, "bad_request"),
    ({"flow": {"name": "a", "extra": 1}}, "bad_request"),
    ({"channel_flows": {"sms": {"name": "a"}}}, "bad_request"),  # sms is not one of its channels
])
def test_bad_bodies_are_refused_naming_the_field(client: FlaskClient, tenants: Tenants, body: dict[str, Any], code: str) -> None:
    response = client.post("/numbers", json={"number": fresh_number(), **body}, headers=tenants.auth("acme"))
    assert response.status_code == 400 and error_code(response) == code, response.get_json()


def test_flow_name_longer_than_its_column_is_a_422(client: FlaskClient, tenants: Tenants) -> None:
    response = client.post("/numbers", json={"number": fresh_number(), "flow": {"name": "f" * 101}}, headers=tenants.auth("acme"))
    assert response.status_code == 422 and "flow_name" in str(response.get_json())


def test_change_channels_and_flows_then_delete(client: FlaskClient, tenants: Tenants) -> None:
    operator = tenants.auth("acme", "operator")
    made = create(client, operator, flow={"name": "ivr", "version": 3})
    changed = client.patch(f"/numbers/{made['id']}", headers=operator, json={
        "channels": ["voice", "whatsapp"], "channel_flows": {"whatsapp": {"name": "wa-bot"}}})
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert body["channels"] == ["voice", "whatsapp"] and body["flow"] == {"name": "ivr", "version": 3}
    assert body["channel_flows"] == {"whatsapp": {"name": "wa-bot", "version": None}}
    assert body["updated_at"] >= made["updated_at"]
    refused = client.patch(f"/numbers/{made['id']}", headers=operator, json={"number": "+12025550100"})
    assert refused.status_code == 400
    cleared = client.patch(f"/numbers/{made['id']}", headers=operator, json={"flow": None, "channels": ["sms"]}).get_json()
    assert cleared["flow"] is None and cleared["channels"] == ["sms"] and cleared["channel_flows"] == {}
    assert client.delete(f"/numbers/{made['id']}", headers=operator).status_code == 204
    assert client.get(f"/numbers/{made['id']}", headers=operator).status_code == 404


def test_roles(client: FlaskClient, tenants: Tenants) -> None:
    made = create(client, tenants.auth("acme"))
    supervisor, designer = tenants.auth("acme", "supervisor"), tenants.auth("acme", "designer")
    assert client.get(f"/numbers/{made['id']}", headers=supervisor).status_code == 200
    assert client.post("/numbers", json={"number": fresh_number()}, headers=supervisor).status_code == 403
    assert client.patch(f"/numbers/{made['id']}", json={"channels": []}, headers=supervisor).status_code == 403
    assert client.delete(f"/numbers/{made['id']}", headers=supervisor).status_code == 403
    assert client.get("/numbers", headers=designer).status_code == 403
    assert client.get("/numbers").status_code == 401


def test_tenant_isolation(client: FlaskClient, tenants: Tenants) -> None:
    acme, globex = tenants.auth("acme"), tenants.auth("globex")
    sub = create(client, acme, account_id=tenants.ids["acme-eu"])  # a master adds one for its sub-account
    assert sub["account_id"] == tenants.ids["acme-eu"]
    own = create(client, tenants.auth("acme-eu"))
    theirs = create(client, globex, channels=["sms"])
    listed = {row["id"] for row in client.get("/numbers?per_page=500", headers=acme).get_json()["items"]}
    assert {sub["id"], own["id"]} <= listed and theirs["id"] not in listed
    eu = {row["id"] for row in client.get("/numbers?per_page=500", headers=tenants.auth("acme-eu")).get_json()["items"]}
    assert sub["id"] in eu and own["id"] in eu and all(row_id not in eu for row_id in listed - eu - {sub["id"], own["id"]})
    sms = {row["id"] for row in client.get("/numbers?channel=sms&per_page=500", headers=globex).get_json()["items"]}
    assert theirs["id"] in sms
    for method in ("get", "patch", "delete"):
        response = getattr(client, method)(f"/numbers/{theirs['id']}", headers=acme, json={} if method == "patch" else None)
        assert response.status_code == 404, method
    child = client.post("/numbers", json={"number": fresh_number(), "account_id": tenants.ids["globex"]}, headers=acme)
    assert child.status_code == 404
    assert client.post("/numbers", json={"number": fresh_number(), "account_id": tenants.ids["acme"]},
                       headers=tenants.auth("acme-eu")).status_code == 404  # a sub-account cannot add for its master


def test_numbers_are_in_the_openapi_document(client: FlaskClient) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    assert set(paths["/numbers"]) == {"get", "post"} and set(paths["/numbers/{number_id}"]) == {"get", "patch", "delete"}


# ---- the router an inbound call goes through --------------------------------------------------

def _route(app: Flask, dialled: str, caller: str = "+12025550123") -> InboundRoute | InboundRejection:
    router = DatabaseInboundRouter(app.extensions["vp_sessions"])
    return router.route(InboundCall(uuid.uuid4().hex, dialled, caller, "asterisk"))


def test_router_rejects_with_a_cause_for_each_reason(app: Flask, client: FlaskClient, tenants: Tenants) -> None:
    admin = tenants.auth("globex")
    unknown = _route(app, fresh_number())
    assert isinstance(unknown, InboundRejection) and unknown.cause is RejectCause.UNKNOWN_NUMBER
    assert isinstance(_route(app, "not a\nnumber"), InboundRejection)
    sms_only = create(client, admin, channels=["sms"], flow={"name": "r-sms"})
    no_voice = _route(app, sms_only["number"])
    assert isinstance(no_voice, InboundRejection) and no_voice.cause is RejectCause.NOT_ANSWERED_HERE
    assert "no voice" in no_voice.reason
    no_flow = _route(app, create(client, admin)["number"])
    assert isinstance(no_flow, InboundRejection) and "no inbound flow" in no_flow.reason
    name = f"draft-{uuid.uuid4().hex[:6]}"
    publish_flow(client, tenants, "globex", name, publish=False)
    draft = _route(app, create(client, admin, flow={"name": name})["number"])
    assert isinstance(draft, InboundRejection) and draft.cause is RejectCause.NOT_ANSWERED_HERE and "not published" in draft.reason
    pinned_missing = _route(app, create(client, admin, flow={"name": name, "version": 9})["number"])
    assert isinstance(pinned_missing, InboundRejection) and "version 9" in pinned_missing.reason
    other_tenant = f"acme-only-{uuid.uuid4().hex[:6]}"
    publish_flow(client, tenants, "acme", other_tenant)  # another account's flow is never used
    foreign = _route(app, create(client, admin, flow={"name": other_tenant})["number"])
    assert isinstance(foreign, InboundRejection) and foreign.cause is RejectCause.NOT_ANSWERED_HERE
    with app.extensions["vp_sessions"]() as session:
        assert session.scalars(select(Call).where(Call.direction == "inbound", Call.account_id == tenants.ids["globex"])).first() is None


def test_router_runs_the_newest_published_or_the_pinned_version(app: Flask, client: FlaskClient, tenants: Tenants) -> None:
    admin = tenants.auth("acme")
    name = f"ivr-{uuid.uuid4().hex[:6]}"
    publish_flow(client, tenants, "acme", name)
    publish_flow(client, tenants, "acme", name)
    publish_flow(client, tenants, "acme", name, publish=False)  # v3, a draft: not used
    newest = create(client, admin, flow={"name": name})
    pinned = create(client, admin, flow={"name": "unused"}, channel_flows={"voice": {"name": name, "version": 1}})
    routed = _route(app, newest["number"])
    assert isinstance(routed, InboundRoute) and routed.account == "acme" and routed.flow.name == name
    routed_pinned = _route(app, pinned["number"])
    assert isinstance(routed_pinned, InboundRoute)
    with app.extensions["vp_sessions"]() as session:
        first = session.get(Call, routed.call_id)
        second = session.get(Call, routed_pinned.call_id)
        assert first is not None and second is not None
        assert session.get(FlowVersion, first.flow_version_id).version == 2  # type: ignore[union-attr]
        assert session.get(FlowVersion, second.flow_version_id).version == 1  # type: ignore[union-attr]


def test_router_makes_the_caller_a_contact_once_and_writes_an_inbound_call(app: Flask, client: FlaskClient, tenants: Tenants) -> None:
    name = f"hello-{uuid.uuid4().hex[:6]}"
    publish_flow(client, tenants, "acme-eu", name)
    number = create(client, tenants.auth("acme-eu"), flow={"name": name})
    caller = fresh_number()
    first = _route(app, number["number"][2:], caller=caller[2:])  # both as a carrier may send them: national
    assert isinstance(first, InboundRoute)
    assert first.dialled == number["number"] and first.caller == caller and first.contact["phone"] == caller
    with app.extensions["vp_sessions"].begin() as session:
        contacts = session.scalars(select(Contact).where(Contact.phone == caller)).all()
        assert [c.account_id for c in contacts] == [tenants.ids["acme-eu"]]
        contacts[0].attributes = {"first_name": "Ann"}
        row = session.get(Call, first.call_id)
        assert row is not None and (row.direction, row.caller, row.to, row.number_id) == ("inbound", caller, number["number"], number["id"])
        assert row.contact_id == contacts[0].id and row.account_id == tenants.ids["acme-eu"] and row.flow_name == name
    second = _route(app, number["number"], caller=caller)
    assert isinstance(second, InboundRoute) and second.contact["first_name"] == "Ann"  # recognised
    with app.extensions["vp_sessions"]() as session:
        assert len(session.scalars(select(Contact).where(Contact.phone == caller)).all()) == 1
    anonymous = _route(app, number["number"], caller="anonymous")
    assert isinstance(anonymous, InboundRoute) and anonymous.contact == {"phone": "anonymous"}
    with app.extensions["vp_sessions"]() as session:
        row = session.get(Call, anonymous.call_id)
        assert row is not None and row.contact_id is None and row.caller == "anonymous"
    detail = client.get(f"/calls/{first.call_id}", headers=tenants.auth("acme")).get_json()
    assert detail["direction"] == "inbound" and detail["caller"] == caller and detail["number_id"] == number["id"]
    inbound = client.get("/calls?direction=inbound&per_page=500", headers=tenants.auth("acme-eu")).get_json()["items"]
    assert {first.call_id, second.call_id} <= {c["id"] for c in inbound} and all(c["direction"] == "inbound" for c in inbound)
    assert client.get(f"/calls/{first.call_id}", headers=tenants.auth("globex")).status_code == 404


def test_router_failure_is_unavailable(app: Flask) -> None:
    from voiceplatform.switches.inbound import route_safely

    class Broken:
        def route(self, call: InboundCall) -> InboundRoute | InboundRejection:
            raise ConnectionError("database gone")

    answer = route_safely(Broken(), InboundCall("c", "+12025550100", "", "asterisk"))
    assert isinstance(answer, InboundRejection) and answer.cause is RejectCause.UNAVAILABLE and answer.cause.sip_status == 503


def test_two_calls_from_the_same_new_caller_make_one_contact(app: Flask, client: FlaskClient, tenants: Tenants,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Both routes look for the contact, find none, and insert it at the same moment: one insert
    wins, the other route is retried and finds the winner's contact. Both calls are answered."""
    from gevent.threadpool import ThreadPool

    name = f"race-{uuid.uuid4().hex[:6]}"
    publish_flow(client, tenants, "globex", name)
    number = create(client, tenants.auth("globex"), flow={"name": name})["number"]
    caller = fresh_number()
    import _thread

    both_looked = [0]
    guard = _thread.allocate_lock()
    original = DatabaseInboundRouter._contact
    seen_none: set[int] = set()

    def racing_contact(session: Any, account_id: int, phone: str) -> Contact:
        me = _thread.get_ident()
        found = session.scalars(select(Contact).where(Contact.account_id == account_id, Contact.phone == phone)).first()
        if found is None and me not in seen_none:
            seen_none.add(me)
            with guard:
                both_looked[0] += 1
            deadline = 200
            while both_looked[0] < 2 and deadline:  # both have looked before either inserts
                _thread_sleep(0.01)
                deadline -= 1
        return original(session, account_id, phone)

    monkeypatch.setattr(DatabaseInboundRouter, "_contact", staticmethod(racing_contact))
    pool = ThreadPool(2)
    try:
        futures = [pool.spawn(_route, app, number, caller) for _ in range(2)]
        answers = [future.get(timeout=60) for future in futures]
    finally:
        pool.kill()
    assert both_looked[0] == 2
    assert all(isinstance(answer, InboundRoute) for answer in answers), answers
    with app.extensions["vp_sessions"]() as session:
        contacts = session.scalars(select(Contact).where(Contact.phone == caller)).all()
        assert len(contacts) == 1
        rows = session.scalars(select(Call).where(Call.caller == caller)).all()
        assert {row.contact_id for row in rows} == {contacts[0].id} and len(rows) == 2


def _thread_sleep(seconds: float) -> None:
    """A native sleep (this runs in a real thread of a gevent thread pool)."""
    import gevent.monkey

    gevent.monkey.get_original("time", "sleep")(seconds)
