"""The engine package does no I/O: it imports no network, database, job or web library."""

from __future__ import annotations

import ast
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.flow.helpers import REPO
from voiceplatform.flow import Input, load_flow, resume, start
from voiceplatform.simulator import parse_input

ENGINE = REPO / "voiceplatform" / "flow"
FORBIDDEN = ("gevent", "socket", "sqlalchemy", "redis", "rq", "flask", "asyncio", "urllib", "http",
             "requests", "httpx", "subprocess", "threading_io", "panoramisk", "greenswitch")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", sorted(ENGINE.rglob("*.py")), ids=lambda p: str(p.relative_to(ENGINE)))
def test_engine_module_imports_nothing_that_does_io(module: Path) -> None:
    bad = {name for name in _imports(module) if name.split(".")[0] in FORBIDDEN}
    assert not bad, f"{module} imports {bad}"


def test_importing_the_engine_loads_no_io_library() -> None:
    code = (
        "import sys, json, voiceplatform.flow, voiceplatform.flow.transcript;"
        "print(json.dumps(sorted(m for m in sys.modules)))"
    )
    loaded = set(json.loads(subprocess.check_output([sys.executable, "-c", code], cwd=REPO)))
    for library in ("gevent", "sqlalchemy", "redis", "rq", "flask", "panoramisk", "greenswitch", "asyncio"):
        assert library not in loaded, f"importing the engine loaded {library}"


def test_whole_journeys_run_with_sockets_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the engine opened a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    flow = load_flow(REPO / "ivr_flows" / "appointment_confirmation.yaml")
    step = start(flow, {"first_name": "A", "appointment_id": "9"}, "voice")
    step = resume(flow, step.state, parse_input("yes", step.wait, "voice"))
    assert step.wait and step.wait["kind"] == "http"  # the engine asks; the driver calls
    step = resume(flow, step.state, Input.http_response(200, '{"code": "X1"}'))
    assert step.ended and step.state["vars"]["confirmation_code"] == "X1"
