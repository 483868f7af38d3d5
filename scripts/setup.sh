#!/usr/bin/env bash
# Sets up a fresh machine (Debian 12, Python 3.11, root) for voiceplatform.
# Safe to run twice: every step checks what is already there.
#   - Debian packages listed in scripts/debian-packages.txt (installed only when missing)
#   - a virtualenv in .venv with the package installed editable, plus test extras
#   - Jasmin (the SMS gateway of `voiceplatform smsc`) in its own virtualenv, .venv-jasmin
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }

install_debian_packages() {
  local wanted missing=()
  wanted=$(grep -v '^\s*#' scripts/debian-packages.txt | tr -s ' \n' ' ')
  for pkg in $wanted; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "Debian packages present"
    return
  fi
  if [ "$(id -u)" -ne 0 ]; then
    log "missing Debian packages (${missing[*]}); run as root or install them" >&2
    exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_python_env() {
  local python=${PYTHON:-python3}
  if [ ! -x .venv/bin/python ]; then
    log "creating virtualenv .venv"
    "$python" -m venv .venv
  fi
  # Reinstall only when the dependency declaration changed.
  local stamp=.venv/.voiceplatform-deps
  local digest
  digest=$(cat setup.cfg pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ] && .venv/bin/python -c 'import voiceplatform' 2>/dev/null; then
    log "python environment up to date"
    return
  fi
  log "installing python dependencies"
  .venv/bin/python -m pip install -q --upgrade pip setuptools wheel
  .venv/bin/python -m pip install -q -e '.[test]'
  echo "$digest" > "$stamp"
}

# Jasmin for `voiceplatform smsc` (and its tests): pinned, patched, in .venv-jasmin; cached.
# VOICEPLATFORM_JASMIN_OPTIONAL=1 (scripts/demo.sh) goes on without it when it cannot be installed
# (no network): the demo then says so and sends its SMS on the dev channel.
install_jasmin() {
  if .venv/bin/voiceplatform smsc install 2>&1 | sed 's/^/[setup] /'; then
    return
  fi
  if [ "${VOICEPLATFORM_JASMIN_OPTIONAL:-}" = "1" ]; then
    log "Jasmin could not be installed (above): going on without it"
    return
  fi
  return 1
}

install_debian_packages
install_python_env
install_jasmin
log "ready"
