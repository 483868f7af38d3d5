"""The personalised SMS API (brief 4.7), POST /messages/personalised, on SQLite and PostgreSQL: a CSV
(or .xlsx) and an @column template answered per recipient (good and bad rows, never one
dropped), Arabic personalisation in UCS-2 parts, the 3,000-recipient limit, the 30-a-minute
rate limit with Retry-After (across two app instances on one database), HTTP Basic, the
template's and the file's refusals, credit for the whole request."""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient

from voiceplatform import limits
from tests.api.conftest import error_code
from tests.messages.conftest import Shop, saudi_number, us_number
from voiceplatform.app import create_app
from voiceplatform.models import DoNotCall

PATH = "/messages/personalised"


def personalised(client: FlaskClient, who: Shop, csv: str, template: str, headers: dict[str, str] | None = None,
                 sender: str | None = None) -> Any:
    return client.post(PATH, json={"csv": csv, "template": template, **({"from": sender} if sender else {})},
                       headers=who.auth() if headers is None else headers)


def test_every_row_is_answered(app: Flask, client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop()
    sara, omar, blocked, no_name = saudi_number(), us_number(), us_number(), us_number()
    with app.extensions["vp_sessions"].begin() as db:
        db.add(DoNotCall(account_id=acme.id, phone=blocked))
    csv = (f"Mobile,Name,Code\n{sara},سارة,4411\n{omar},Omar,9001\nnot-a-number,Ann,1\n,,\n{blocked},Bo,7\n"
           f"{no_name},,5\n{omar},Omar again,9002\n")
    response = personalised(client, acme, csv, "مرحبا @Name، رمزك @code")
    assert response.status_code == 202, response.get_json()
    answer = response.get_json()
    assert (answer["accepted"], answer["refused"], answer["recipients_total"]) == (3, 4, 7)
    assert answer["phone_column"] == "mobile" and answer["from"] == acme.number
    rows = {r["row"]: r for r in answer["recipients"]}
    assert [r["row"] for r in answer["recipients"]] == [2, 3, 4, 5, 6, 7, 8]  # in the file's order
    assert [rows[n]["status"] for n in range(2, 9)] == ["accepted", "accepted", "refused", "refused", "refused",
                                                         "refused", "accepted"]
    assert [rows[n]["error"]["code"] for n in (4, 5, 6, 7)] == ["invalid_number", "blank_row", "do_not_call",
                                                                "missing_value"]
    assert "@Name" in rows[7]["error"]["message"] and rows[7]["to"] == no_name
    assert (rows[2]["to"], rows[2]["encoding"], rows[2]["parts"], rows[2]["country"]) == (sara, "ucs2", 1, "SA")
    assert rows[2]["warnings"] == ["sender_not_registered"]
    assert [w["country"] for w in answer["warnings"]] == ["SA"]
    texts = {m.to_address: m.text for m in acme.outbox() if m.to_address == sara}
    assert texts == {sara: "مرحبا سارة، رمزك 4411"}
    assert sorted(m.text for m in acme.outbox() if m.to_address == omar) == ["مرحبا Omar again، رمزك 9002",
                                                                              "مرحبا Omar، رمزك 9001"]
    listed = client.get(f"/messages?batch_id={answer['batch_id']}", headers=acme.auth()).get_json()
    assert listed["counts"]["messages"] == 3 and {m["interface"] for m in listed["items"]} == {"personalised"}
    assert sorted(m["row"] for m in listed["items"]) == [2, 3, 8]
    assert {rows[n]["message_id"] for n in (2, 3, 8)} == {m["id"] for m in listed["items"]}
    assert acme.balance() == Decimal("10") - Decimal(answer["cost"])


def test_arabic_personalisation_takes_ucs2_parts(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop()
    short, long_ = saudi_number(), saudi_number()
    csv = f"phone,name\n{short},سارة\n{long_},{'عبد الرحمن بن عبد العزيز ' * 3}\n"
    answer = personalised(client, acme, csv, "عميلنا العزيز @name، كشف حسابك لشهر نوفمبر جاهز الآن.").get_json()
    by_to = {r["to"]: r for r in answer["recipients"]}
    assert (by_to[short]["encoding"], by_to[short]["parts"]) == ("ucs2", 1)
    assert (by_to[long_]["encoding"], by_to[long_]["parts"]) == ("ucs2", 2)
    assert answer["parts"] == 3 and answer["cost"] == "0.0225"


def test_a_gsm_template_with_an_arabic_value_is_ucs2_for_that_row_only(client: FlaskClient,
                                                                       shop: Callable[..., Shop]) -> None:
    acme = shop()
    latin, arabic = us_number(), us_number()
    answer = personalised(client, acme, f"phone,name\n{latin},Sam\n{arabic},سارة\n", "Hello @name, see you at 5").get_json()
    assert {r["to"]: r["encoding"] for r in answer["recipients"]} == {latin: "gsm7", arabic: "ucs2"}


def test_a_multipart_csv_and_an_xlsx_upload(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop()
    first, second = us_number(), us_number()
    csv = f"name;number\nAnn;{first}\n".encode()
    upload = client.post(PATH, content_type="multipart/form-data", headers=acme.auth(),
                         data={"file": (io.BytesIO(b"\xef\xbb\xbf" + csv), "r.csv"), "template": "Hi @name"})
    assert upload.status_code == 202, upload.get_json()
    assert upload.get_json()["recipients"][0]["to"] == first and upload.get_json()["phone_column"] == "number"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["to", "name"])
    sheet.append([second, "Bob"])
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    xlsx = client.post(PATH, content_type="multipart/form-data", headers=acme.auth(),
                       data={"file": (data, "r.xlsx"), "template": "Hi @name"})
    assert xlsx.status_code == 202, xlsx.get_json()
    assert xlsx.get_json()["phone_column"] == "to"  # no phone-like name: the first column
    assert [m.text for m in acme.outbox()] == ["Hi Ann", "Hi Bob"]
    named = client.post(PATH, content_type="multipart/form-data", headers=acme.auth(),
                        data={"file": (io.BytesIO(f"name,alt\nCy,{us_number()}\n".encode()), "r.csv"),
                              "template": "Hi @name", "phone_column": "ALT"})
    assert named.status_code == 202 and named.get_json()["phone_column"] == "alt"
    missing = client.post(PATH, content_type="multipart/form-data", headers=acme.auth(), data={"template": "x"})
    assert missing.status_code == 400 and missing.get_json()["error"]["details"]["field"] == "file"


@pytest.mark.parametrize("csv, template, status, code, row_code", [
    ("phone,name\n+12025550100,A\n", "Hi @nickname", 422, "unknown_column", None),
    ("phone,name\n+12025550100,A\n", "Hi {{ results.x }}", 422, "template_error", None),
    ("phone,name\n+12025550100,A\n", "Hi {{ name", 422, "template_error", None),
    ("phone,name\n+12025550100,A\n", "", 422, "template_error", None),
    ("phone,name\n+12025550100,A\n", "x" * 5000, 422, "template_error", None),
    ("phone,name\n+12025550100,A\n", "{{ 9 ** (9 ** 9) }}", 422, "template_error", None),
    ("phone,name\n+12025550100,A\n", "{% for i in range(100000) %}x{% endfor %}", 422, "no_recipient_accepted",
     "template_error"),  # a limit only a render meets: each row's error
    ("phone,name\n+12025550100," + "A" * 900 + "\n", "@name @name", 422, "no_recipient_accepted", "too_long"),
    ("phone,name\n", "Hi @name", 422, "no_recipients", None),
    ("phone,phone\n+12025550100,+12025550101\n", "Hi", 422, "unreadable_file", None),
    ("phone,name\nnot-a-number,A\n", "Hi @name", 422, "no_recipient_accepted", "invalid_number"),
], ids=["unknown-column", "other-variables", "syntax", "empty", "too-long", "power", "loop", "too-many-parts",
        "no-rows", "repeated-column", "all-rows-bad"])
def test_what_a_request_refuses_as_a_whole(client: FlaskClient, shop: Callable[..., Shop], csv: str, template: str,
                                           status: int, code: str, row_code: str | None) -> None:
    acme = shop()
    response = personalised(client, acme, csv, template)
    assert response.status_code == status, response.get_json()
    assert error_code(response) == code
    if row_code is not None:
        [row] = response.get_json()["error"]["details"]["recipients"]
        assert (row["row"], row["status"], row["error"]["code"]) == (2, "refused", row_code)
    assert (acme.outbox(), acme.stored()) == ([], 0)


@pytest.mark.parametrize("body, field", [
    ({"template": "Hi"}, "csv"),
    ({"csv": "", "template": "Hi"}, "csv"),
    ({"csv": ["a"], "template": "Hi"}, "csv"),
    ({"csv": "phone\n+12025550100\n", "template": "Hi", "callback_url": "https://example.com"}, None),
    ({"csv": "phone\n+12025550100\n", "template": "Hi", "from": 5}, "from"),
    ({"csv": "phone\n+12025550100\n", "template": "Hi", "phone_column": 5}, "phone_column"),
    ({"csv": "phone\n+12025550100\n", "template": "Hi", "phone_column": "p" * 201}, "phone_column"),
    ({"csv": "phone\n+12025550100\n", "template": "Hi", "region": 5}, "region"),
])
def test_hostile_bodies_are_400(client: FlaskClient, shop: Callable[..., Shop], body: dict[str, Any],
                                field: str | None) -> None:
    acme = shop()
    response = client.post(PATH, json=body, headers=acme.auth())
    assert response.status_code in (400, 422), response.get_json()
    if field is not None:
        assert response.get_json()["error"]["details"]["field"] == field
    if "callback_url" in body:
        assert "webhooks" in response.get_json()["error"]["message"]
    assert acme.stored() == 0


def test_a_binary_file_is_refused_with_its_row(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop()
    response = client.post(PATH, content_type="multipart/form-data", headers=acme.auth(),
                           data={"file": (io.BytesIO(b"phone,name\n+12025550100,\xff\xfe\n"), "r.csv"), "template": "Hi @name"})
    assert response.status_code == 422 and error_code(response) == "unreadable_file"
    assert "row 2" in response.get_json()["error"]["message"]


def test_three_thousand_recipients_and_not_one_more(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop(balance="100")
    rows = "".join(f"+9665013{n:05d},Client {n}\n" for n in range(3000))
    over = personalised(client, acme, "phone,name\n" + rows + "+966501399999,Extra\n", "Dear @name, your bill is ready")
    assert over.status_code == 413 and error_code(over) == "too_many_recipients"
    assert "3,000" in over.get_json()["error"]["message"]
    assert (acme.stored(), acme.balance()) == (0, Decimal("100"))
    full = personalised(client, acme, "phone,name\n" + rows, "Dear @name, your bill is ready")
    assert full.status_code == 202, full.get_json()
    assert (full.get_json()["accepted"], full.get_json()["refused"]) == (3000, 0)
    assert acme.stored() == 3000 and len(acme.outbox()) == 3000
    assert acme.balance() == Decimal("100") - Decimal("0.0075") * 3000


def test_the_limit_is_configurable(client: FlaskClient, shop: Callable[..., Shop], monkeypatch: pytest.MonkeyPatch) -> None:
    acme = shop()
    monkeypatch.setenv("VOICEPLATFORM_LIMIT_MAX_PERSONALISED_RECIPIENTS", "2")
    limits.reload()
    try:
        two = "".join(f"{us_number()},x\n" for _ in range(2))
        assert personalised(client, acme, "phone,name\n" + two, "Hi @name").status_code == 202
        assert personalised(client, acme, "phone,name\n" + two + f"{us_number()},x\n", "Hi @name").status_code == 413
    finally:
        monkeypatch.delenv("VOICEPLATFORM_LIMIT_MAX_PERSONALISED_RECIPIENTS")
        limits.reload()


def test_thirty_requests_a_minute_then_429_with_retry_after(app: Flask, client: FlaskClient,
                                                            shop: Callable[..., Shop]) -> None:
    acme, globex = shop(), shop()
    other_instance = create_app({"DATABASE_URL": app.config["DATABASE_URL"], "TESTING": True, "MIGRATE_ON_START": False})
    try:
        for n in range(30):  # every request counts, whatever its answer; half through another app instance
            target = client if n % 2 else other_instance.test_client()
            answered = personalised(target, acme, f"phone\n{us_number()}\n", "Hi" if n % 3 else "{{ broken")
            assert answered.status_code in (202, 422), answered.get_json()
        for target in (client, other_instance.test_client()):
            limited = personalised(target, acme, f"phone\n{us_number()}\n", "Hi")
            assert limited.status_code == 429 and error_code(limited) == "rate_limited"
            assert 1 <= int(limited.headers["Retry-After"]) <= 60
            assert limited.get_json()["error"]["details"]["limit"] == 30
        assert personalised(client, globex, f"phone\n{us_number()}\n", "Hi").status_code == 202  # per account
        assert client.post("/messages", json={"to": us_number(), "text": "hi"}, headers=acme.auth()).status_code == 202
    finally:
        other_instance.extensions["vp_engine"].dispose()


def test_basic_authentication(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme, globex = shop(), shop()
    csv = f"phone\n{us_number()}\n"
    assert personalised(client, acme, csv, "Hi", headers=acme.basic()).status_code == 202
    for headers in (acme.basic(user=str(globex.id)), acme.basic(user="acme"), {"Authorization": "Basic !!!"},
                    {"Authorization": "Basic " + "YWJj"}, {"Authorization": "Basic"}, {}):
        response = personalised(client, acme, csv, "Hi", headers=headers)
        assert response.status_code == 401 and error_code(response) == "unauthorized", headers
    assert personalised(client, acme, csv, "Hi", headers=acme.basic("supervisor")).status_code == 403
    on_other_routes = client.post("/messages", json={"to": us_number(), "text": "hi"}, headers=acme.basic())
    assert on_other_routes.status_code == 401  # Basic is the personalised API's only


def test_the_whole_request_needs_credit(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop(balance="0.02")
    rows = "".join(f"{us_number()},x\n" for _ in range(3))  # 3 x 0.0075 = 0.0225
    response = personalised(client, acme, "phone,name\n" + rows, "Hi @name")
    assert response.status_code == 402 and error_code(response) == "insufficient_credit"
    assert (acme.outbox(), acme.stored(), acme.balance()) == ([], 0, Decimal("0.02"))


def test_a_registered_sender_id_and_a_foreign_one(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme, globex = shop(), shop()
    client.post("/senders", json={"sender": "GLOBEX", "countries": ["SA"]}, headers=globex.auth())
    client.post("/senders", json={"sender": "ACME", "countries": ["SA"]}, headers=acme.auth())
    csv = f"phone\n{saudi_number()}\n"
    refused = personalised(client, acme, csv, "Hi", sender="GLOBEX")
    assert refused.status_code == 400 and error_code(refused) == "sender_refused"
    own = personalised(client, acme, csv, "Hi", sender="ACME").get_json()
    assert own["from"] == "ACME" and own["warnings"] == [] and own["recipients"][0]["warnings"] == []


def test_an_idempotent_retry_sends_once(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop()
    body = {"csv": f"phone\n{us_number()}\n{us_number()}\n", "template": "Hi"}
    headers = {**acme.auth(), "Idempotency-Key": "batch-1"}
    first = client.post(PATH, json=body, headers=headers)
    again = client.post(PATH, json=body, headers=headers)
    assert first.status_code == again.status_code == 202 and again.get_json() == first.get_json()
    assert acme.stored() == 2
