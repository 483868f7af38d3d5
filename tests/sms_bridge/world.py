"""What the SMS bridge's tests share: the API app's database (SQLite and PostgreSQL, two tenants:
tests/api/conftest.py), a messaging runtime whose registry has the ``sms`` driver, published
flows, our SMS numbers, sessions started on ``sms``, and reading the messages table back."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Tenants
from voiceplatform.lab.polling import poll
from voiceplatform.models import FlowVersion, Number
from voiceplatform.models.sms import SmsMessage, SmsPart
from voiceplatform.sessions.runtime import MessagingRuntime

from sms_bridge.bridge import messaging_runtime
from sms_bridge.config import BridgeSettings

TWO_QUESTIONS = (Path(__file__).parents[1] / "sessions" / "two_questions.yaml").read_text()
NOTICE = (Path(__file__).parents[1] / "campaigns" / "notice.yaml").read_text()
T = TypeVar("T")

_ours = itertools.count(9000)  # +1 202 555 9xxx: no script of the handset network's


def our_number() -> str:
    return f"+1202555{next(_ours):04d}"


class SmsWorld:
    def __init__(self, app: Flask, client: FlaskClient, tenants: Tenants, settings: BridgeSettings | None = None) -> None:
        self.app, self.client, self.tenants = app, client, tenants
        self.sessions: sessionmaker[Session] = app.extensions["vp_sessions"]
        self.settings = settings or BridgeSettings()
        self.messaging: MessagingRuntime = messaging_runtime(self.sessions, self.settings)

    def publish(self, yaml: str = TWO_QUESTIONS, tenant: str = "acme") -> int:
        """Publish ``yaml`` for the tenant (again: a new version); the version's id."""
        auth = self.tenants.auth(tenant)
        created = self.client.post("/flows", json={"yaml": yaml}, headers=auth)
        assert created.status_code in (200, 201), created.get_json()
        body = created.get_json()
        published = self.client.post(f"/flows/{body['name']}/versions/{body['version']}/publish", headers=auth)
        assert published.status_code == 200, published.get_json()
        with self.sessions() as db:
            version = db.scalars(select(FlowVersion).where(FlowVersion.account_id == self.tenants.ids[tenant],
                                                           FlowVersion.name == body["name"],
                                                           FlowVersion.version == body["version"])).one()
            return version.id

    def number(self, tenant: str = "acme", flow: str | None = None) -> str:
        """A new SMS number of ours for ``tenant`` (answering with ``flow``, if given)."""
        number = our_number()
        body: dict[str, Any] = {"number": number, "channels": ["sms"], "flow": {"name": flow} if flow else None}
        response = self.client.post("/numbers", json=body, headers=self.tenants.auth(tenant))
        assert response.status_code == 201, response.get_json()
        return number

    def start(self, contact: str, ours: str, version_id: int, tenant: str = "acme") -> str:
        """A session of the flow version with ``contact`` on ``sms``, speaking from ``ours``."""
        with self.sessions() as db:
            number = db.scalars(select(Number).where(Number.number == ours)).one()
        result = self.messaging.runner.start(account_id=self.tenants.ids[tenant], flow_version_id=version_id,
                                             channel="sms", address=contact, our_address=ours, number_id=number.id)
        return result.session_id

    def messages(self, **equal: Any) -> list[SmsMessage]:
        with self.sessions() as db:
            query = select(SmsMessage).order_by(SmsMessage.id)
            for name, value in equal.items():
                query = query.where(getattr(SmsMessage, name) == value)
            return list(db.scalars(query))

    def parts(self, message_id: int) -> list[SmsPart]:
        with self.sessions() as db:
            return list(db.scalars(select(SmsPart).where(SmsPart.message_id == message_id).order_by(SmsPart.seq)))


def wait_for(check: Callable[[], T | None], timeout: float = 15.0, what: str = "the condition") -> T:
    found = poll(check, timeout)
    assert found is not None, f"{what} did not happen within {timeout} s"
    return found
