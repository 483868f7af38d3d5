"""hypothesis over the API bodies: for every operation that takes a JSON body (read from the
OpenAPI document, so a new route is fuzzed without a line here), bodies generated from its schema
(at its edges, and loosely with hostile leaves) and arbitrary hostile JSON (lone surrogates, integers past 64 bits, deep nesting, long
strings, NaN) never get a 5xx, on SQLite and PostgreSQL. Prints the number of generated cases.

In-process (the Flask test client), so also the operations the schemathesis run leaves out
(``DELETE /tokens/{id}``, ``POST /tokens/{id}/regenerate``), with tokens made for the purpose.
Bounded: EXAMPLES per operation and database, no deadline (the machine is shared), no shrinking
database.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voiceplatform.app import create_app
from voiceplatform.api.openapi import DOCUMENT
from voiceplatform.models import Account, ApiToken, Role
from voiceplatform.testing.postgres import fresh_database

EXAMPLES = 60
CASES: Counter[str] = Counter()

SURROGATES = st.sampled_from(["\ud800", "\udfff", "a\udbff", "\udc00z"])
HUGE_INTS = st.sampled_from([2**31, 2**63, -(2**63) - 1, 2**64, 10**30, 0, -1])
LONG_STRINGS = st.sampled_from([201, 2001, 65_537, 400_000]).map(lambda n: "x" * n)
TEXT = st.one_of(st.text(max_size=30), SURROGATES, LONG_STRINGS)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), HUGE_INTS, st.floats(allow_nan=False, allow_infinity=False), TEXT)
ANY_JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(TEXT, inner, max_size=4)), max_leaves=12)


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """The body shapes the document describes (the subset of JSON Schema it uses), with hostile
    values mixed into every leaf."""
    if "enum" in schema:
        return st.one_of(st.sampled_from(schema["enum"]), TEXT)
    kinds = schema.get("type")
    if isinstance(kinds, list):
        return st.one_of(*(from_schema({**schema, "type": kind}) for kind in kinds))
    if kinds == "object":
        properties = {name: from_schema(sub) for name, sub in schema.get("properties", {}).items()}
        required = [name for name in schema.get("required", []) if name in properties]
        optional = {name: strategy for name, strategy in properties.items() if name not in required}
        extra = st.just({}) if schema.get("additionalProperties") is False else st.dictionaries(TEXT, ANY_JSON, max_size=2)
        return st.tuples(st.fixed_dictionaries({name: properties[name] for name in required}, optional=optional),
                         extra).map(lambda pair: {**pair[1], **pair[0]})
    if kinds == "array":
        return st.lists(from_schema(schema.get("items", {})), max_size=5)
    if kinds == "integer":  # the bounds and one past them, the database's INTEGER edges, and anything
        low, high = schema.get("minimum", 1), schema.get("maximum", 2**31 - 1)
        edges = st.sampled_from([low - 1, low, high, high + 1, 2**31 - 1, 2**31, 2**63 - 1, 2**63])
        return st.one_of(edges, st.integers(low, high), HUGE_INTS)
    if kinds == "number":
        return st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(), HUGE_INTS)
    if kinds == "string":
        plausible = st.just(schema.get("example", "2027-01-01T00:00:00Z"))  # a valid phone gets a body past its first check
        return st.one_of(plausible, st.text(max_size=schema.get("maxLength", 40) + 1), TEXT, plausible)
    if kinds == "boolean":
        return st.one_of(st.booleans(), SCALARS)
    return ANY_JSON


def edges(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Bodies with every property present and each value plausible or at an edge (a bound, one
    past it, a database limit, a column length and one more): these get past a route's first
    checks and reach the deep ones (the flow lookup, the database)."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kinds = schema.get("type")
    if isinstance(kinds, list):
        return st.one_of(*(edges({**schema, "type": kind}) for kind in kinds))
    if kinds == "object":
        return st.fixed_dictionaries({name: edges(sub) for name, sub in schema.get("properties", {}).items()})
    if kinds == "array":
        return st.lists(edges(schema.get("items", {})), min_size=1, max_size=3)
    if kinds == "integer":
        low, high = schema.get("minimum", 1), schema.get("maximum", 2**31 - 1)
        return st.sampled_from([low, high, high + 1, 2**31, 2**63 - 1])
    if kinds == "number":
        low, high = schema.get("minimum", 0), schema.get("maximum", 1e6)
        return st.sampled_from([low, high, high * 10, 1e300])
    if kinds == "string":
        example = schema.get("example", "2027-01-01T00:00:00Z" if schema.get("format") == "date-time" else "fuzz")
        longest = schema.get("maxLength", 200)
        return st.sampled_from([example] * 4 + ["x" * longest, "x" * (longest + 1), "é" * 5000])
    if kinds == "boolean":
        return st.booleans()
    return st.one_of(st.just({}), ANY_JSON)


def nested(depth: int) -> bytes:
    return b'{"a": ' + b"[" * depth + b"]" * depth + b"}"


RAW = st.one_of(st.integers(1, 3000).map(nested), st.just(b'{"n": NaN}'), st.just(b'{"n": 1e999}'),
                st.binary(max_size=64), st.just(b'{"x": "\\ud800"}'), st.just(b"[" * 50_000))


def json_operations() -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for path, methods in DOCUMENT["paths"].items():
        for method, operation in methods.items():
            if method in ("post", "patch", "put", "delete"):
                content = operation.get("requestBody", {}).get("content", {})
                if "multipart/form-data" in content:
                    continue
                out.append((method.upper(), path, content.get("application/json", {}).get("schema", {})))
    return out


OPERATIONS = json_operations()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    if request.param == "sqlite":
        yield create_app({"DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}", "TESTING": True})
        return
    with fresh_database() as url:
        application = create_app({"DATABASE_URL": url, "TESTING": True})
        yield application
        application.extensions["vp_engine"].dispose()


@pytest.fixture(scope="module")
def admin(app: Flask) -> dict[str, str]:
    with app.extensions["vp_sessions"].begin() as session:
        account = Account(name="fuzz")
        session.add(account)
        row, secret = ApiToken.issue(account, Role.ADMIN, name="fuzz")
        session.add(row)
        spare = [ApiToken.issue(account, Role.OPERATOR, name=f"spare {n}")[0] for n in range(3)]
        session.add_all(spare)  # ids for the token routes to revoke and regenerate
    return {"Authorization": f"Bearer {secret}"}


def concrete(path: str) -> str:
    """Path parameters: a small id that may exist (tokens 2-4 are the spares), a name, a phone."""
    return re.sub(r"\{[a-z_]*id\}", "2", path).replace("{name}", "fuzz").replace("{version}", "1").replace("{phone}", "+12025550100")


def assert_no_server_error(client: FlaskClient, method: str, path: str, raw: bytes, headers: dict[str, str]) -> None:
    response = client.open(concrete(path), method=method, data=raw, content_type="application/json", headers=headers)
    assert response.status_code < 500, (method, path, raw[:300], response.get_data()[:300])
    assert response.status_code == 204 or response.is_json, (method, path, response.get_data()[:300])
    CASES[f"{method} {path}"] += 1


@pytest.mark.parametrize(("method", "path", "schema"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_generated_bodies_never_get_a_server_error(app: Flask, admin: dict[str, str], method: str, path: str,
                                                   schema: dict[str, Any]) -> None:
    client = app.test_client()
    shaped = from_schema(schema).map(lambda body: json.dumps(body).encode())
    edged = edges(schema).map(lambda body: json.dumps(body).encode())
    bodies = st.one_of(edged, edged, shaped, ANY_JSON.map(lambda body: json.dumps(body).encode()), RAW)

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(raw=bodies)
    def run(raw: bytes) -> None:
        assert_no_server_error(client, method, path, raw, admin)

    run()


def test_print_the_number_of_generated_cases(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs last in this module: the figure for the closing note."""
    total = sum(CASES.values())
    with capsys.disabled():
        print(f"\nhypothesis over the API bodies: {total} generated cases over {len(CASES)} operations, 0 server errors")
    assert total >= EXAMPLES * len(OPERATIONS) // 2
