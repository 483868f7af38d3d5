"""Running a benchmark script in --quick mode as a subprocess, for the smoke tests: the script
must exit 0; they then read its stdout and its JSON report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_quick(script: str, out: Path, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, str(REPO / "bench" / script), "--quick", *extra, "--out", str(out)],
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done
