"""Webhook fixtures: a session factory on a clean webhook schema (SQLite and PostgreSQL, from the
shared ``engine`` fixture), accounts, subscriptions, and ``Receiver``: a real local HTTP endpoint
that checks each request's signature the way a customer would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from gevent.pywsgi import WSGIServer
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.db import session_factory
from voiceplatform.models import Account, WebhookDelivery, WebhookSubscription
from voiceplatform.webhooks import verify

SECRET = "whsec_test_0123456789abcdef"


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """Sessions on a database where no webhook subscription or delivery is left from other tests
    (deliver_due works on every due delivery in the database)."""
    factory = session_factory(engine)
    with factory.begin() as session:
        session.execute(delete(WebhookDelivery))
        session.execute(delete(WebhookSubscription))
    return factory


def new_account(sessions: sessionmaker[Session], name: str = "acme", parent_id: int | None = None) -> int:
    with sessions.begin() as session:
        account = Account(name=name, parent_id=parent_id)
        session.add(account)
        session.flush()
        return account.id


def subscribe(sessions: sessionmaker[Session], account_id: int, events: list[str], *, url: str = "https://hooks.example.com/vp",
              active: bool = True, secret: str = SECRET) -> int:
    with sessions.begin() as session:
        row = WebhookSubscription(account_id=account_id, url=url, secret=secret, events=events, active=active)
        session.add(row)
        session.flush()
        return row.id


class Receiver:
    """A customer's endpoint on a free local port. Answers with the next of ``statuses`` (the last
    one repeats); a request whose signature does not verify gets 401 instead."""

    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self.statuses: list[int] = [200]
        self.verify_at: datetime | None = None  # the clock to verify against (deliver_due's injected now)
        self.requests: list[dict[str, Any]] = []
        self.server = WSGIServer(("127.0.0.1", 0), self._app, log=None)

    def _app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items() if key.startswith("HTTP_")}
        headers["Content-Type"] = environ.get("CONTENT_TYPE", "")
        now = self.verify_at.timestamp() if self.verify_at else None
        signed = verify(self.secret, headers.get("X-Voiceplatform-Signature"), body, now=now)
        self.requests.append({"method": environ["REQUEST_METHOD"], "path": environ["PATH_INFO"], "headers": headers,
                              "body": body, "json": json.loads(body), "signed": signed})
        status = (self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]) if signed else 401
        extra = [("Location", self.url)] if 300 <= status < 400 else []
        start_response(f"{status} Status", [("Content-Type", "text/plain"), *extra])
        return [b"ok"]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks"


@pytest.fixture
def receiver(allow_local_outbound: None) -> Iterator[Receiver]:
    """A started Receiver, with outbound HTTP to 127.0.0.1 permitted for the test."""
    endpoint = Receiver()
    endpoint.server.start()
    yield endpoint
    endpoint.server.stop()
