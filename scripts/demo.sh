#!/usr/bin/env bash
# Sets up (if needed) and runs the main job: a demo campaign through the API against the Asterisk lab,
# and beside it a journey in one session from a call to SMS (through the real Jasmin) to WhatsApp
# (through the WhatsApp bridge and the project's WhatsApp Cloud API contract server, standing in
# for Meta), and back to a call. Without Jasmin (it could not be installed here) the demo's SMS go
# on the dev channel.
set -euo pipefail
cd "$(dirname "$0")/.."
VOICEPLATFORM_JASMIN_OPTIONAL=1 bash scripts/setup.sh
exec .venv/bin/voiceplatform demo "$@"
