"""Switch credentials when none is configured: generated once per installation, never a shipped
default (issue 10 row 16: the configs carried FreeSWITCH's well-known ``ClueCon`` and AMI
``change-me``).

- ESL (FreeSWITCH): ``VOICEPLATFORM_ESL_PASSWORD`` when set; else the password in
  ``.state/esl-password``, created on first use (random, mode 0600). The FreeSWITCH emulator reads
  the same file, so ``python -m voiceplatform.testing.freeswitch`` and ``voiceplatform call
  --switch freeswitch`` agree with nothing set. A real FreeSWITCH is given the password in its
  ``event_socket.conf.xml`` (the shipped one holds a placeholder it refuses to be used with).
- AMI (Asterisk): ``VOICEPLATFORM_AMI_SECRET`` when set; else the lab's secret, generated once into
  ``<lab state dir>/ami-secret`` (0600) and written into the configuration the lab runs.

Files are made by :func:`voiceplatform.safety.key_files.persisted_key` (atomic, 0600 from the
start, one winner when processes race).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Callable, Mapping

from voiceplatform.exceptions import SwitchConnectionError
from voiceplatform.safety.key_files import STATE_DIR, persisted_key

ESL_PASSWORD_ENV = "VOICEPLATFORM_ESL_PASSWORD"
AMI_SECRET_ENV = "VOICEPLATFORM_AMI_SECRET"
ESL_PASSWORD_FILE = STATE_DIR / "esl-password"
AMI_SECRET_NAME = "ami-secret"


#: Passwords anyone would try first: FreeSWITCH's default, the old shipped AMI secret, and the
#: placeholder in dialplans/freeswitch/event_socket.conf.xml. Configuring one is refused.
WELL_KNOWN = frozenset({"ClueCon", "change-me", "REPLACE-ME-with-a-long-random-password"})


def _configured(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value and value in WELL_KNOWN:
        raise SwitchConnectionError(
            f"{name} is a well-known default; set a long random password on the switch and here "
            "(or unset it to use the generated one)")
    return value or None


def _new_secret() -> str:
    # hex: no character that means anything in a config file, a command line or a protocol
    return secrets.token_hex(24)


def esl_password(environ: Mapping[str, str] | None = None, path: Path = ESL_PASSWORD_FILE) -> str:
    """The ESL password: ``$VOICEPLATFORM_ESL_PASSWORD``, else the generated one in ``path``."""
    env = os.environ if environ is None else environ
    return _configured(env, ESL_PASSWORD_ENV) or persisted_key(path, _new_secret)


def lab_ami_secret(state_dir: Path) -> str:
    """The lab's AMI secret, generated once into ``state_dir/ami-secret`` (0600)."""
    return persisted_key(state_dir / AMI_SECRET_NAME, _new_secret)


def ami_secret(environ: Mapping[str, str] | None = None, fallback: Callable[[], str] | None = None) -> str:
    """The AMI secret: ``$VOICEPLATFORM_AMI_SECRET``, else ``fallback()`` (the composition root passes
    the lab's generated secret, ``voiceplatform.lab.switch_config.lab_generated_ami_secret``)."""
    env = os.environ if environ is None else environ
    configured = _configured(env, AMI_SECRET_ENV)
    if configured:
        return configured
    if fallback is None:
        raise SwitchConnectionError(f"no AMI secret: set {AMI_SECRET_ENV}")
    return fallback()
