"""The bridge's core (builders, rendering, webhook parsing, signatures, statuses, the window,
pricing, identity, errors) does no I/O: the sender, the webhook route, a benchmark or the campaign
side can call it anywhere. Only graph_client talks HTTP.

The modules that read the engine's types (``Send``, ``Input``) load what the engine loads: the
engine is pure by contract (.importlinter), but pydantic pulls in the standard library's
``socket`` module through importlib.metadata (never a connection). So those are held to "nothing
beyond what ``import voiceplatform.flow`` loads", the others to no socket at all."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

STANDALONE = ("errors", "identity", "messages", "pricing", "signature", "statuses", "window")
ON_THE_ENGINE = ("rendering", "webhook_payloads")
IO_LIBRARIES = ("socket", "ssl", "gevent", "sqlalchemy", "redis", "rq", "flask", "httpx", "httpcore", "asyncio",
                "requests", "urllib3")


def loaded_by(statements: str) -> set[str]:
    code = f"import sys, json;{statements};print(json.dumps(sorted(sys.modules)))"
    return set(json.loads(subprocess.check_output([sys.executable, "-c", code], cwd=REPO)))


def roots(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_the_standalone_core_loads_no_io_library() -> None:
    loaded = roots(loaded_by(";".join(f"import whatsapp_bridge.{name}" for name in STANDALONE)))
    for library in IO_LIBRARIES:
        assert library not in loaded, f"importing the WhatsApp bridge's core loaded {library}"


def test_the_modules_on_the_engine_load_nothing_the_engine_does_not() -> None:
    engine = loaded_by("import voiceplatform.flow")
    loaded = loaded_by(";".join(f"import whatsapp_bridge.{name}" for name in (*STANDALONE, *ON_THE_ENGINE)))
    extra = {name for name in loaded - engine if not name.startswith("whatsapp_bridge")}
    assert not extra & set(IO_LIBRARIES), extra
    for library in IO_LIBRARIES:
        if library != "socket":
            assert library not in roots(loaded), f"importing the WhatsApp bridge's core loaded {library}"


def test_the_graph_client_is_the_one_that_talks_http() -> None:
    assert "httpx" in roots(loaded_by("import whatsapp_bridge.graph_client"))
