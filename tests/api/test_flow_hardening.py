"""Issue 10 on the flow routes: YAML bombs and oversized flows get 4xx cheaply, paths outside the
flow folders reveal nothing, and a flow name shared by a master account and its sub-account is
found deterministically (rows 2, 4, 11, 14), on SQLite and PostgreSQL."""

from __future__ import annotations

import tracemalloc
import uuid

import pytest
from flask.testing import FlaskClient

from tests.api.conftest import Tenants, error_code
from tests.flow.test_hardening import BILLION_LAUGHS


def test_billion_laughs_gets_422_with_bounded_memory(client: FlaskClient, tenants: Tenants) -> None:
    tracemalloc.start()
    try:
        response = client.post("/flows/validate", json={"yaml": BILLION_LAUGHS}, headers=tenants.auth("acme", "supervisor"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 422 and error_code(response) == "flow_over_limit"
    error = response.get_json()["error"]
    assert error["details"]["limit"] == "max_yaml_values"
    assert "VOICEPLATFORM_LIMIT_MAX_YAML_VALUES" in error["message"]
    assert error["details"]["problems"][0]["line"] > 1
    assert peak < 20_000_000


def test_a_flow_over_max_flow_bytes_gets_413(client: FlaskClient, tenants: Tenants) -> None:
    text = "spec_version: 1\n# " + "x" * 600_000 + "\n"
    for route in ("/flows/validate", "/flows"):
        response = client.post(route, json={"yaml": text}, headers=tenants.auth("acme", "designer"))
        assert response.status_code == 413 and error_code(response) in ("flow_over_limit", "body_too_large")


SUBFLOW = """spec_version: 1
name: probe
channels: [sms]
start: go
nodes:
  - {{id: go, type: subflow, flow: "{path}", next: done}}
  - {{id: done, type: hangup}}
"""


def _subflow_messages(client: FlaskClient, tenants: Tenants, path: str) -> list[str]:
    response = client.post("/flows/validate", json={"yaml": SUBFLOW.format(path=path)}, headers=tenants.auth("acme", "operator"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["valid"] is False
    return [p["text"] for p in body["problems"]]


@pytest.mark.parametrize("path", ["/etc/passwd", "../../etc/passwd", "/proc/self/environ", "/etc/shadow",
                                  "/etc/no-such-file", "../../../../../../../etc/hostname"])
def test_validate_does_not_reveal_files_outside_the_flow_folders(client: FlaskClient, tenants: Tenants, path: str) -> None:
    messages = _subflow_messages(client, tenants, path)
    assert messages == [f"flow.yaml:6:35: subflow {path!r} is outside the flow's folders (paths are relative to the flow file and stay inside its folder or its prompts folder)"]
    assert not any("root:" in m or "not found" in m or "PATH=" in m for m in messages)


def test_prompts_outside_the_folders_are_refused_alike(client: FlaskClient, tenants: Tenants) -> None:
    texts = []
    for path in ("/etc", "/no-such-dir"):
        flow = f"spec_version: 1\nname: p\nchannels: [sms]\nprompts: {path}\nstart: d\nnodes:\n  - {{id: d, type: hangup}}\n"
        body = client.post("/flows/validate", json={"yaml": flow}, headers=tenants.auth("acme")).get_json()
        texts.append([p["text"].replace(path, "<path>") for p in body["problems"]])
    assert texts[0] == texts[1] and "is outside the flow's folders" in texts[0][0]


def _create(client: FlaskClient, tenants: Tenants, tenant: str, name: str) -> int:
    text = f"spec_version: 1\nname: {name}\ndescription: from {tenant}\nchannels: [sms]\nstart: a\nnodes:\n  - {{id: a, type: say, text: hi}}\n"
    response = client.post("/flows", json={"yaml": text}, headers=tenants.auth(tenant, "designer"))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["version"] == 1
    return int(response.get_json()["id"])


def test_a_name_in_a_master_and_its_sub_account_is_found_deterministically(client: FlaskClient, tenants: Tenants) -> None:
    name = f"dup_{uuid.uuid4().hex[:8]}"
    # The sub-account's row first, so "the first row inserted" would be the wrong answer.
    sub_id = _create(client, tenants, "acme-eu", name)
    master_id = _create(client, tenants, "acme", name)
    for _ in range(3):
        as_master = client.get(f"/flows/{name}/versions/1", headers=tenants.auth("acme"))
        assert as_master.get_json()["id"] == master_id and "from acme\n" in as_master.get_json()["definition"]
        as_sub = client.get(f"/flows/{name}/versions/1", headers=tenants.auth("acme-eu"))
        assert as_sub.get_json()["id"] == sub_id
    published = client.post(f"/flows/{name}/versions/1/publish", headers=tenants.auth("acme", "designer"))
    assert published.get_json()["id"] == master_id
    listed = client.get(f"/flows/{name}/versions", headers=tenants.auth("acme")).get_json()["items"]
    assert [item["id"] for item in listed] == [master_id, sub_id]  # ties in account order (the master first)


def test_a_sub_accounts_flow_is_still_found_by_its_master(client: FlaskClient, tenants: Tenants) -> None:
    name = f"sub_only_{uuid.uuid4().hex[:8]}"
    sub_id = _create(client, tenants, "acme-eu", name)
    assert client.get(f"/flows/{name}/versions/1", headers=tenants.auth("acme")).get_json()["id"] == sub_id
    assert client.get(f"/flows/{name}/versions/1", headers=tenants.auth("globex")).status_code == 404
