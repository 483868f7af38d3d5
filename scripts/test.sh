#!/usr/bin/env bash
# Sets up (if needed), type-checks (mypy, zero errors) and runs the whole test suite (import
# contracts included: tests/test_architecture.py). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The type-check gate (setup.cfg [mypy]): any error stops the run before the tests.
.venv/bin/python -m mypy
exec .venv/bin/python -m pytest "$@"
