"""The layout's arrows stay true: the import contracts in ``.importlinter`` (engine purity, switches
that know no storage and no lab, campaigns below the dialler, the bridges on top, the API and the
web UI independent) hold for the whole tree. Beside tests/flow/test_purity.py, which also forbids
the engine I/O libraries. The arrows themselves are described in docs/architecture.md."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONTRACTS = REPO / ".importlinter"
#: What the engine may import of the platform: its limits, its errors, and pure text measures.
ENGINE_MAY_IMPORT = {"flow", "limits", "exceptions", "text"}


def test_the_import_contracts_hold() -> None:
    code = ("from importlinter.cli import lint_imports;"
            f"raise SystemExit(lint_imports(config_filename={str(CONTRACTS)!r}, no_cache=True, no_logo=True))")
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_the_engine_contract_names_every_other_top_level_module() -> None:
    """A new top-level module must be named in the engine's forbidden list, or the engine could
    import it unnoticed."""
    config = configparser.ConfigParser()
    config.read(CONTRACTS)
    forbidden = {line.strip() for line in config["importlinter:contract:engine-purity"]["forbidden_modules"].split()}
    package = REPO / "voiceplatform"
    top_level = {path.stem for path in package.glob("*.py") if path.stem != "__init__"}
    top_level |= {path.name for path in package.iterdir() if (path / "__init__.py").is_file()}
    expected = {f"voiceplatform.{name}" for name in top_level - ENGINE_MAY_IMPORT} | {"sms_bridge", "whatsapp_bridge"}
    assert forbidden == expected, f"missing: {sorted(expected - forbidden)}, stale: {sorted(forbidden - expected)}"
