#!/usr/bin/env bash
# Sets up (if needed) and runs the main job: the demo journey.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/voiceplatform demo "$@"
