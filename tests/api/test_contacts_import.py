"""POST /contacts/import (issue 10, rows 6, 7 and 12), on SQLite and PostgreSQL: 413 before any
contact for an upload over max_upload_bytes (with or without Content-Length) and for an .xlsx
zip bomb; 422 with row and byte offset for a late bad byte, leaving nothing; a re-sent file or a
retried Idempotency-Key answered with the first import's report, never a second list; 409 for a
list name taken by other content unless append=true; rejected rows with row and column."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.api.conftest import Tenants, error_code
from tests.contacts.xlsx_bombs import bomb
from voiceplatform import limits
from voiceplatform.models import Contact, ContactList, ContactListMember


def upload(client: FlaskClient, tenants: Tenants, data: bytes, name: str = "people.csv", headers: dict[str, str] | None = None,
           **fields: str):  # type: ignore[no-untyped-def]
    return client.post("/contacts/import", headers={**tenants.auth("acme", "operator"), **(headers or {})},
                       content_type="multipart/form-data", data={"file": (io.BytesIO(data), name), **fields})


def csv_of(start: int, count: int, extra: str = "") -> bytes:
    return ("phone,first_name\n" + "".join(f"+1202556{start + i:04d},N{i}\n" for i in range(count)) + extra).encode()


def lists_named(app: Flask, tenants: Tenants, name: str) -> list[int]:
    with app.extensions["vp_sessions"]() as session:
        return list(session.scalars(select(ContactList.id).where(ContactList.account_id == tenants.ids["acme"],
                                                                 ContactList.name == name)))


def contacts_from(app: Flask, tenants: Tenants, start: int, count: int) -> int:
    phones = [f"+1202556{start + i:04d}" for i in range(count)]
    with app.extensions["vp_sessions"]() as session:
        return session.scalar(select(func.count()).select_from(Contact).where(Contact.account_id == tenants.ids["acme"],
                                                                              Contact.phone.in_(phones))) or 0


@pytest.fixture
def small_uploads(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setenv("VOICEPLATFORM_LIMIT_MAX_UPLOAD_BYTES", "4096")
    limits.reload()
    yield 4096
    monkeypatch.delenv("VOICEPLATFORM_LIMIT_MAX_UPLOAD_BYTES")
    limits.reload()


def test_an_upload_over_the_limit_is_413_before_any_contact(app: Flask, client: FlaskClient, tenants: Tenants,
                                                             small_uploads: int) -> None:
    data = csv_of(0, 300)  # ~7 KB
    assert len(data) > small_uploads
    sized = upload(client, tenants, data, list=f"big-{uuid.uuid4().hex[:6]}")
    assert sized.status_code == 413 and error_code(sized) == "request_entity_too_large"
    body, boundary = _multipart(data)  # the same without a Content-Length (chunked): counted as it is read
    chunked = client.post("/contacts/import", headers={**tenants.auth("acme", "operator"), "Transfer-Encoding": "chunked"},
                          content_type=f"multipart/form-data; boundary={boundary}", input_stream=io.BytesIO(body),
                          environ_overrides={"wsgi.input_terminated": True})
    assert chunked.status_code == 413, chunked.get_json()
    assert contacts_from(app, tenants, 0, 300) == 0


def _multipart(data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"people.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, boundary


def test_an_xlsx_bomb_is_413(app: Flask, client: FlaskClient, tenants: Tenants, tmp_path: Path) -> None:
    path = bomb(tmp_path / "bomb.xlsx")
    response = upload(client, tenants, path.read_bytes(), "bomb.xlsx", list="bomb")
    assert response.status_code == 413 and error_code(response) == "archive_too_large"
    assert "at most 104,857,600 are accepted" in response.get_json()["error"]["message"]
    assert lists_named(app, tenants, "bomb") == []


def test_a_late_bad_byte_is_422_with_its_row_and_offset_and_leaves_nothing(app: Flask, client: FlaskClient,
                                                                        tenants: Tenants) -> None:
    good = csv_of(1000, 2500)
    offset = good.index(b"N2400")  # row 2402
    response = upload(client, tenants, good[:offset] + b"\xff" + good[offset + 1:], list="late byte")
    assert response.status_code == 422 and error_code(response) == "unreadable_file"
    assert response.get_json()["error"]["details"] == {"row": 2402, "byte_offset": offset}
    assert response.get_json()["error"]["message"] == f"row 2402: the file is not UTF-8 text: invalid start byte at byte {offset:,}"
    assert contacts_from(app, tenants, 1000, 2500) == 0 and lists_named(app, tenants, "late byte") == []


def test_the_same_file_sent_again_gives_the_same_list(app: Flask, client: FlaskClient, tenants: Tenants) -> None:
    data = csv_of(4000, 3, extra="bad,Bob\n")
    first = upload(client, tenants, data, list="resent")
    second = upload(client, tenants, data, list="resent")
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in first.headers and second.headers["Idempotent-Replayed"] == "true"
    assert second.get_json() == {**first.get_json(), "replayed": True}
    [error] = first.get_json()["errors"]
    assert (error["row"], error["column"], error["value"]) == (5, 1, "bad") and "is not a phone number" in error["message"]
    assert lists_named(app, tenants, "resent") == [first.get_json()["list_id"]]


def test_an_idempotency_key_replays_and_refuses_another_body(app: Flask, client: FlaskClient, tenants: Tenants) -> None:
    key = {"Idempotency-Key": f"import-{uuid.uuid4().hex}"}
    first = upload(client, tenants, csv_of(5000, 2), headers=key, list="keyed")
    again = upload(client, tenants, csv_of(5000, 2), headers=key, list="keyed")
    assert first.status_code == again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["import_id"] == first.get_json()["import_id"]
    other = upload(client, tenants, csv_of(5000, 3), headers=key, list="keyed")
    assert other.status_code == 422 and error_code(other) == "idempotency_key_reused"
    assert lists_named(app, tenants, "keyed") == [first.get_json()["list_id"]]
    used = {"Idempotency-Key": f"dnc-{uuid.uuid4().hex}"}  # one namespace with every other POST
    assert client.post("/dnc", json={"phone": "+12025569999"}, headers={**tenants.auth("acme"), **used}).status_code == 201
    reused = upload(client, tenants, csv_of(5100, 1), headers=used)
    assert reused.status_code == 422 and error_code(reused) == "idempotency_key_reused"


def test_a_taken_list_name_is_409_unless_appending(app: Flask, client: FlaskClient, tenants: Tenants) -> None:
    first = upload(client, tenants, csv_of(6000, 2), list="taken")
    assert first.status_code == 201
    taken = upload(client, tenants, csv_of(6002, 2), list="taken")
    assert taken.status_code == 409 and error_code(taken) == "list_exists"
    assert contacts_from(app, tenants, 6002, 2) == 0
    appended = upload(client, tenants, csv_of(6002, 2), list="taken", append="true")
    assert appended.status_code == 201 and appended.get_json()["list_id"] == first.get_json()["list_id"]
    with app.extensions["vp_sessions"]() as session:
        members = session.scalar(select(func.count()).select_from(ContactListMember)
                                 .where(ContactListMember.list_id == first.get_json()["list_id"]))
    assert members == 4 and lists_named(app, tenants, "taken") == [first.get_json()["list_id"]]


def test_csv_nonsense_is_reported_with_row_and_column(client: FlaskClient, tenants: Tenants) -> None:
    duplicate = upload(client, tenants, b"phone,name,NAME\n+12025567000,a,b\n")
    assert duplicate.status_code == 422 and duplicate.get_json()["error"]["details"] == {"row": 1, "column": 3}
    report = upload(client, tenants, b"phone,name,\n+12025567001,a\x00b,\n+12025567002,c,stray\n+12025567003,d,\n").get_json()
    assert (report["created"], report["error_count"]) == (1, 2)
    assert [(e["row"], e["column"], e["message"]) for e in report["errors"]] == [
        (2, 2, "column 2: contains a NUL character"), (3, 3, "column 3: a value under a column with no header")]


@pytest.mark.parametrize("fields, field", [
    ({"list": "a\x00b"}, "list"), ({"list": "x" * 201}, "list"), ({"region": "ZZ"}, "region"),
    ({"region": "U\x00"}, "region"), ({"phone_column": "p\x00"}, "phone_column"),
])
def test_bad_import_options_are_422_naming_the_field(client: FlaskClient, tenants: Tenants, fields: dict[str, str],
                                                     field: str) -> None:
    response = upload(client, tenants, csv_of(8000, 1), **fields)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["details"] == {"field": field}
