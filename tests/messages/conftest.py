"""Messages API fixtures: the API app on SQLite and PostgreSQL (tests/api/conftest), and
``shop``: a factory of fresh accounts (a master and, if asked, a sub-account), each with a
token per role, a dev number and a balance, so that every test counts only its own messages."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select

from tests.api.conftest import app, client  # noqa: F401  (fixtures)
from voiceplatform.models import Account, ApiToken, DevMessage, Role
from voiceplatform.models.messages import ApiMessage
from voiceplatform.models.rate_limits import RateLimitHit

_numbers = itertools.count(3000)
_saudi = itertools.count(10_000)


def us_number() -> str:
    return f"+1202555{next(_numbers) % 10_000:04d}"


def saudi_number() -> str:
    return f"+9665012{next(_saudi) % 100_000:05d}"


@dataclass
class Shop:
    """One test's account: ``id``, tokens by role, its dev number, and helpers."""

    app: Flask
    id: int
    name: str
    tokens: dict[str, str] = field(default_factory=dict)
    number: str = ""

    def auth(self, role: str = "operator") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def basic(self, role: str = "operator", user: str | None = None) -> dict[str, str]:
        pair = f"{self.id if user is None else user}:{self.tokens[role]}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}

    def balance(self) -> Decimal:
        with self.app.extensions["vp_sessions"]() as db:
            account = db.get(Account, self.id)
            assert account is not None
            return Decimal(account.balance)

    def set_balance(self, value: str) -> None:
        with self.app.extensions["vp_sessions"].begin() as db:
            account = db.get(Account, self.id)
            assert account is not None
            account.balance = Decimal(value)

    def outbox(self) -> list[DevMessage]:
        with self.app.extensions["vp_sessions"]() as db:
            return list(db.scalars(select(DevMessage).where(DevMessage.account_id == self.id).order_by(DevMessage.id)))

    def stored(self) -> int:
        with self.app.extensions["vp_sessions"]() as db:
            return db.scalar(select(func.count()).select_from(ApiMessage).where(ApiMessage.account_id == self.id)) or 0


def _account(app: Flask, name: str, balance: str, parent_id: int | None) -> Shop:
    with app.extensions["vp_sessions"].begin() as db:
        account = Account(name=name, balance=Decimal(balance), parent_id=parent_id)
        db.add(account)
        db.flush()
        made = Shop(app, account.id, name)
        for role in Role:
            row, secret = ApiToken.issue(account, role, name=f"{name}-{role.value}")
            db.add(row)
            made.tokens[role.value] = secret
    return made


@pytest.fixture
def shop(app: Flask) -> Callable[..., Shop]:  # noqa: F811
    """``shop(balance="10", parent=None, number=True)``: a fresh account with a dev number."""
    counter = itertools.count(1)

    def make(balance: str = "10", parent: Shop | None = None, number: bool = True) -> Shop:
        made = _account(app, f"shop-{next(_numbers)}-{next(counter)}", balance, parent.id if parent else None)
        if number:
            made.number = us_number()
            created = app.test_client().post("/numbers", json={"number": made.number, "channels": ["dev"]},
                                             headers=made.auth("admin"))
            assert created.status_code == 201, created.get_json()
        return made

    return make


@pytest.fixture(autouse=True)
def no_rate_limit_hits(app: Flask) -> Iterator[None]:  # noqa: F811
    """Each test starts with no request counted against a rate limit."""
    with app.extensions["vp_sessions"].begin() as db:
        db.execute(delete(RateLimitHit))
    yield


def send(client: FlaskClient, who: Shop, **body: Any) -> Any:  # noqa: F811
    return client.post("/messages", json=body, headers=who.auth())
