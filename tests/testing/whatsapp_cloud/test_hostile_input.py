"""hypothesis over the messages endpoint (through Flask's test client, no sockets): arbitrary JSON,
and valid bodies with one field replaced by an arbitrary value, always get a 200 or Meta's 4xx
error shape, never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.testing.whatsapp_cloud.helpers import a_list, body_params, buttons, interactive, rows, template, text
from voiceplatform.testing.whatsapp_cloud import SEED_NUMBER_ID, ZOE, AccountSettings, CloudAccount
from voiceplatform.testing.whatsapp_cloud.app import create_app

TOKEN = "fuzz-token"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20)
VALID = [
    text(ZOE, "hi"),
    interactive(ZOE, buttons("Yes", "No")),
    interactive(ZOE, a_list([{"title": "S", "rows": rows(3)}])),
    template(ZOE, "order_update", components=body_params("Ann", "A1")),
    {"messaging_product": "whatsapp", "to": ZOE, "type": "document",
     "document": {"link": "https://example.com/a.pdf", "filename": "a.pdf", "caption": "c"}},
    {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.x"},
]


@pytest.fixture(scope="module")
def graph() -> Iterator[FlaskClient]:
    account = CloudAccount(webhook_url=None, app_secret="s", token=TOKEN, settings=AccountSettings(auto_statuses=False))
    account.set_tier(SEED_NUMBER_ID, 100_000)
    account.pairs.burst = 10**9
    account.inject({"from": ZOE, "text": "hi"})
    yield create_app(account).test_client()
    account.close()


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, prefix + (key,))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += paths(child, prefix + (i,))
    return found


def replaced(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(body))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


def post(graph: FlaskClient, raw: bytes) -> None:
    response = graph.post(f"/v23.0/{SEED_NUMBER_ID}/messages", data=raw,
                          headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    assert response.status_code in (200, 400), (response.status_code, raw[:300], response.data[:300])
    body = response.get_json()
    if response.status_code == 400:
        assert body["error"]["type"] == "OAuthException" and isinstance(body["error"]["code"], int)
        assert body["error"]["error_data"]["messaging_product"] == "whatsapp"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_values)
def test_arbitrary_json_never_500(graph: FlaskClient, value: Any) -> None:
    post(graph, json.dumps(value).encode())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_valid_bodies_with_one_field_replaced_never_500(graph: FlaskClient, data: st.DataObject) -> None:
    body = data.draw(st.sampled_from(VALID))
    path = data.draw(st.sampled_from(paths(body)))
    post(graph, json.dumps(replaced(body, path, data.draw(json_values))).encode())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_never_500(graph: FlaskClient, raw: bytes) -> None:
    post(graph, raw)
