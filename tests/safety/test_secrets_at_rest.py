"""Webhook signing secrets encrypted at rest (issue 10, row 16): the database holds only AES-GCM
ciphertext, the platform still signs with the secret, the key file is made 0600, the migration
encrypts existing rows (and its downgrade decrypts them)."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from alembic import command
from flask.testing import FlaskClient
from flask import Flask
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Tenants, app, client, tenants  # noqa: F401 (fixtures)
from tests.webhooks.conftest import Receiver
from voiceplatform.db import alembic_config, session_factory
from voiceplatform.exceptions import SecretsAtRestError
from voiceplatform.models import WebhookSubscription
from voiceplatform.safety import secrets_at_rest
from voiceplatform.safety.secrets_at_rest import KEY_ENV, KEY_FILE_ENV, data_key, decrypt, encrypt
from voiceplatform.testing.postgres import fresh_database
from voiceplatform.webhooks import deliver_due

PURPOSE = "webhook_subscriptions.secret"


@pytest.fixture(autouse=True)
def own_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test its own data key file, and no key from the environment."""
    monkeypatch.delenv(KEY_ENV, raising=False)
    path = tmp_path / "state" / "data-key"
    monkeypatch.setenv(KEY_FILE_ENV, str(path))
    return path


def raw_secrets(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT secret_encrypted FROM webhook_subscriptions ORDER BY id")).scalars())


def test_the_key_file_is_made_once_0600(own_key_file: Path) -> None:
    assert not own_key_file.exists()
    key = data_key()
    assert len(key) == 32 and stat.S_IMODE(own_key_file.stat().st_mode) == 0o600
    assert data_key() == key and base64.b64decode(own_key_file.read_text()) == key


def test_the_environment_key_wins_and_must_be_32_bytes(own_key_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = os.urandom(32)
    monkeypatch.setenv(KEY_ENV, base64.b64encode(key).decode())
    assert data_key() == key and not own_key_file.exists()
    for bad in ("not base64!", base64.b64encode(b"short").decode()):
        monkeypatch.setenv(KEY_ENV, bad)
        with pytest.raises(SecretsAtRestError, match=KEY_ENV):
            data_key()


def test_sealed_values_need_the_same_key_and_the_same_column() -> None:
    sealed = encrypt("whsec_abc", PURPOSE)
    assert sealed.startswith("v1:") and "whsec_abc" not in sealed and sealed != encrypt("whsec_abc", PURPOSE)
    assert decrypt(sealed, PURPOSE) == "whsec_abc"
    with pytest.raises(SecretsAtRestError, match="data key"):
        decrypt(sealed, PURPOSE, key=os.urandom(32))
    with pytest.raises(SecretsAtRestError):
        decrypt(sealed, "accounts.other_secret")
    with pytest.raises(SecretsAtRestError, match="not encrypted"):
        decrypt("whsec_abc", PURPOSE)
    longest = "\U0001F511" * 200  # the column holds the longest secret in the widest UTF-8
    assert len(encrypt(longest, PURPOSE)) <= secrets_at_rest.ciphertext_length(200)


def test_the_database_holds_ciphertext_and_deliveries_still_verify(
        app: Flask, client: FlaskClient, tenants: Tenants, allow_local_outbound: None) -> None:
    sessions: sessionmaker[Session] = app.extensions["vp_sessions"]
    engine = sessions.kw["bind"]
    receiver = Receiver(secret="a-customer-chosen-secret-0123")
    receiver.server.start()
    try:
        response = client.post("/webhooks", json={"url": receiver.url, "events": ["*"], "secret": receiver.secret},
                               headers=tenants.auth("acme"))
        assert response.status_code == 201 and response.get_json()["secret"] == receiver.secret
        made = response.get_json()["id"]
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT secret_encrypted FROM webhook_subscriptions WHERE id = :id"),
                                        {"id": made}).scalar_one()
        assert receiver.secret not in stored and stored.startswith("v1:")
        with sessions() as session:
            assert session.get(WebhookSubscription, made).secret == receiver.secret  # type: ignore[union-attr]
        assert client.post(f"/webhooks/{made}/ping", headers=tenants.auth("acme")).status_code == 202
        deliver_due(sessions)
        pings = [request for request in receiver.requests if request["json"]["event"] == "ping"]
        assert pings and all(request["signed"] for request in pings)  # signed with the decrypted secret
        listed = client.get("/webhooks?per_page=500", headers=tenants.auth("acme")).get_json()["items"]
        assert all("secret" not in row and "secret_encrypted" not in row for row in listed)
    finally:
        receiver.server.stop()


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_migration_encrypts_existing_secrets_and_the_downgrade_decrypts(tmp_path: Path, dialect: str) -> None:
    if dialect == "postgresql":
        with fresh_database() as url:
            migrate_and_back(url)
    else:
        migrate_and_back(f"sqlite:///{tmp_path / 'migrate.db'}")


def migrate_and_back(url: str) -> None:
    config = alembic_config(url)
    command.upgrade(config, "0006")
    engine = create_engine(url)
    with engine.begin() as connection:
        account = connection.execute(text(
            "INSERT INTO accounts (name, balance, currency, created_at) "
            "VALUES ('acme', 0, 'USD', '2026-01-01 00:00:00+00:00') RETURNING id")).scalar_one()
        for name in ("one", "two"):
            connection.execute(text(
                "INSERT INTO webhook_subscriptions (account_id, url, secret, events, active, created_at) VALUES "
                "(:account, 'https://hooks.example.com/a', :secret, '[]', true, '2026-01-01 00:00:00+00:00')"),
                {"account": account, "secret": f"clear-secret-number-{name}"})
    command.upgrade(config, "0007")
    stored = raw_secrets(engine)
    assert len(stored) == 2 and all(value.startswith("v1:") and "clear-secret" not in value for value in stored)
    assert [decrypt(value, PURPOSE) for value in stored] == ["clear-secret-number-one", "clear-secret-number-two"]
    with session_factory(engine)() as session:
        assert [row.secret for row in session.query(WebhookSubscription).order_by(WebhookSubscription.id)] == [
            "clear-secret-number-one", "clear-secret-number-two"]
    command.downgrade(config, "0006")
    with engine.connect() as connection:
        assert list(connection.execute(text("SELECT secret FROM webhook_subscriptions ORDER BY id")).scalars()) == [
            "clear-secret-number-one", "clear-secret-number-two"]
    engine.dispose()
