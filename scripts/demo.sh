#!/usr/bin/env bash
# Sets up (if needed) and runs the main job: a demo campaign through the API against the Asterisk lab.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/voiceplatform demo "$@"
