"""What the WhatsApp runtime's tests share: the API app's database (SQLite and PostgreSQL, two
tenants: tests/api/conftest.py), a messaging runtime whose registry has the ``whatsapp`` driver,
a published button flow, our WhatsApp numbers (each with its own phone number id), sessions
started on ``whatsapp``, a scripted Graph API, signed webhook bodies, and reading the outbox."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Mapping, TypeVar

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Tenants
from voiceplatform.lab.polling import poll
from voiceplatform.models import FlowSession, FlowVersion, Number
from voiceplatform.models.whatsapp import WhatsAppMessage, WhatsAppWindow
from voiceplatform.sessions.runtime import MessagingRuntime

from whatsapp_bridge.bridge import messaging_runtime
from whatsapp_bridge.config import BusinessNumber, WhatsAppSettings
from whatsapp_bridge.graph_client import SendResult
from whatsapp_bridge.signature import sign

T = TypeVar("T")
APP_SECRET = "runtime-test-app-secret"
VERIFY_TOKEN = "runtime-test-verify-token"

BUTTONS = """
spec_version: 1
name: {name}
language: en
channels: [whatsapp]
start: ask
nodes:
  - id: ask
    type: gather
    text: "Will you come?"
    store: answer
    choices:
      - {{key: "yes", label: "Yes", next: thanks}}
      - {{key: "no", label: "No", next: thanks}}
    template:
      name: order_update
      language: en_US
      params: ["a", "b"]
      quick_replies: ["yes", "no"]
  - id: thanks
    type: say
    text: "Thanks: {{{{ results.answer }}}}"
"""

_numbers = itertools.count(100)
_flows = itertools.count(1)
_wamids = itertools.count(1)


def our_number() -> BusinessNumber:
    n = next(_numbers)
    return BusinessNumber(f"7000000000{n:04d}", f"+1202666{n:04d}", 80)


class World:
    def __init__(self, app: Flask, client: FlaskClient, tenants: Tenants, numbers: int = 2) -> None:
        self.app, self.client, self.tenants = app, client, tenants
        self.sessions: sessionmaker[Session] = app.extensions["vp_sessions"]
        self.ours = [our_number() for _ in range(numbers)]
        self.settings = WhatsAppSettings(app_secret=APP_SECRET, verify_token=VERIFY_TOKEN, token="t",
                                         numbers=tuple(self.ours), rates={"marketing": "0.25", "utility": "0.02"},
                                         retry_delay=1.0)
        self.messaging: MessagingRuntime = messaging_runtime(self.sessions, self.settings)
        with self.sessions.begin() as db:  # what earlier tests of the module left queued is not this test's
            db.execute(update(WhatsAppMessage).where(WhatsAppMessage.send_state.in_(("queued", "sending")))
                       .values(send_state="failed"))

    def with_settings(self, **changes: Any) -> World:
        self.settings = replace(self.settings, **changes)
        self.messaging = messaging_runtime(self.sessions, self.settings)
        return self

    def publish(self, tenant: str = "acme") -> tuple[str, int]:
        """A new button flow for the tenant: (its name, its version's id)."""
        auth = self.tenants.auth(tenant)
        name = f"buttons_{next(_flows)}"
        created = self.client.post("/flows", json={"yaml": BUTTONS.format(name=name)}, headers=auth)
        assert created.status_code in (200, 201), created.get_json()
        body = created.get_json()
        published = self.client.post(f"/flows/{body['name']}/versions/{body['version']}/publish", headers=auth)
        assert published.status_code == 200, published.get_json()
        with self.sessions() as db:
            version = db.scalars(select(FlowVersion).where(FlowVersion.account_id == self.tenants.ids[tenant],
                                                           FlowVersion.name == name)).one()
            return name, version.id

    def register(self, number: BusinessNumber, tenant: str = "acme", flow: str | None = None) -> None:
        body: dict[str, Any] = {"number": number.number, "channels": ["whatsapp"],
                                "flow": {"name": flow} if flow else None}
        response = self.client.post("/numbers", json=body, headers=self.tenants.auth(tenant))
        assert response.status_code == 201, response.get_json()

    def start(self, contact: str, ours: BusinessNumber, version_id: int, tenant: str = "acme") -> str:
        with self.sessions() as db:
            number = db.scalars(select(Number).where(Number.number == ours.number)).one()
        result = self.messaging.runner.start(account_id=self.tenants.ids[tenant], flow_version_id=version_id,
                                             channel="whatsapp", address=contact, our_address=ours.number,
                                             number_id=number.id)
        return result.session_id

    def messages(self, **equal: Any) -> list[WhatsAppMessage]:
        with self.sessions() as db:
            query = select(WhatsAppMessage).order_by(WhatsAppMessage.id)
            for name, value in equal.items():
                query = query.where(getattr(WhatsAppMessage, name) == value)
            return list(db.scalars(query))

    def session(self, session_id: str) -> FlowSession:
        with self.sessions() as db:
            row = db.get(FlowSession, session_id)
            assert row is not None
            return row

    def open_window(self, number: BusinessNumber, contact: str, at: datetime) -> None:
        with self.sessions.begin() as db:
            db.merge(WhatsAppWindow(phone_number_id=number.phone_number_id, contact=contact, last_inbound_at=at,
                                    updated_at=at))


# ---- the Graph API, scripted -------------------------------------------------------------------------


@dataclass
class ScriptedGraph:
    """Answers each send with the next scripted answer (an exception to raise, or None: accept),
    accepting once the script is used up; keeps every payload it was sent."""

    script: list[BaseException | None] = field(default_factory=list)
    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    wamids: list[str] = field(default_factory=list)
    given: list[str] = field(default_factory=list)  # the wamids to answer with, in order (then made up)

    def send(self, phone_number_id: str, payload: Mapping[str, Any]) -> SendResult:
        self.sent.append((phone_number_id, dict(payload)))
        answer = self.script.pop(0) if self.script else None
        if answer is not None:
            raise answer
        wamid = self.given.pop(0) if self.given else f"wamid.TEST{next(_wamids):08d}"
        self.wamids.append(wamid)
        return SendResult(wamid)


# ---- webhook bodies ----------------------------------------------------------------------------------


def envelope(number: BusinessNumber, *, messages: list[dict[str, Any]] | None = None,
             statuses: list[dict[str, Any]] | None = None,
             contacts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {"messaging_product": "whatsapp",
                             "metadata": {"display_phone_number": number.number[1:],
                                          "phone_number_id": number.phone_number_id}}
    if contacts is not None:
        value["contacts"] = contacts
    if messages is not None:
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}]}


def text_message(wa_id: str, text: str, wamid: str, at: int = 1_750_000_000) -> dict[str, Any]:
    return {"from": wa_id, "id": wamid, "timestamp": str(at), "type": "text", "text": {"body": text}}


def button_reply(wa_id: str, button_id: str, title: str, wamid: str, at: int = 1_750_000_000) -> dict[str, Any]:
    return {"from": wa_id, "id": wamid, "timestamp": str(at), "type": "interactive",
            "interactive": {"type": "button_reply", "button_reply": {"id": button_id, "title": title}}}


def status(wamid: str, name: str, *, at: int = 1_750_000_000, pricing: dict[str, Any] | None = None,
           errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": wamid, "status": name, "timestamp": str(at), "recipient_id": "15551234567"}
    if pricing is not None:
        body["pricing"] = pricing
    if errors is not None:
        body["errors"] = errors
    return body


def signed(body: Mapping[str, Any], secret: str = APP_SECRET) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return raw, {"X-Hub-Signature-256": sign(secret, raw), "Content-Type": "application/json"}


def wait_for(check: Callable[[], T | None], timeout: float = 15.0, what: str = "the condition") -> T:
    found = poll(check, timeout)
    assert found is not None, f"{what} did not happen within {timeout} s"
    return found
