"""The bridge's core (encoding, decoding, receipts, statuses, reassembly) does no I/O, so the ESME
client, a benchmark or the campaign side can call it anywhere; and its public names are listed in
sms_bridge.__all__."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import sms_bridge

REPO = Path(__file__).resolve().parents[2]

CORE = ("data_coding", "delivery_status", "errors", "gsm7", "mo_messages", "reassembly", "receipts",
        "submit_encoding", "udh")


def test_importing_the_core_loads_no_io_library() -> None:
    imports = ";".join(f"import sms_bridge.{name}" for name in CORE)
    code = f"import sys, json;{imports};print(json.dumps(sorted(sys.modules)))"
    loaded = {name.split(".")[0] for name in json.loads(subprocess.check_output([sys.executable, "-c", code], cwd=REPO))}
    for library in ("socket", "ssl", "gevent", "sqlalchemy", "redis", "rq", "flask", "smpplib", "asyncio"):
        assert library not in loaded, f"importing the SMS bridge's core loaded {library}"


def test_all_matches_exports() -> None:
    exported = {name for name in dir(sms_bridge) if not name.startswith("_")}
    modules = {name for name in exported if type(getattr(sms_bridge, name)).__name__ == "module"}
    assert set(sms_bridge.__all__) == exported - modules
