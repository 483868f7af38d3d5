#!/usr/bin/env bash
# Sets up (if needed), type-checks (mypy, zero errors) and runs the whole test suite (import
# contracts included: tests/test_architecture.py). With no arguments the suite runs as
# VOICEPLATFORM_TEST_SHARDS (3) pytest processes side by side (scripts/run_shards.py,
# tests/shards.py); arguments are given to one pytest process as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The type-check gate (setup.cfg [mypy]): any error stops the run before the tests.
.venv/bin/python -m mypy
if [ "$#" -gt 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
exec .venv/bin/python scripts/run_shards.py
