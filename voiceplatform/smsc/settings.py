"""Where the smsc keeps things, read from the environment once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from voiceplatform.exceptions import SmscError
from voiceplatform.settings import paths
from voiceplatform.smsc import defaults


@dataclass(frozen=True)
class SmscSettings:
    state_dir: Path
    venv_dir: Path
    rabbitmq_mode: str = "auto"

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def lock_file(self) -> Path:
        return self.state_dir / "smsc.lock"

    @property
    def jasmin_root(self) -> Path:
        """Jasmin's ROOT_PATH: etc/jasmin/jasmin.cfg, its store, var/log/jasmin."""
        return self.state_dir / "jasmin"

    @property
    def jasmin_log(self) -> Path:
        return self.state_dir / "jasmind.out"

    @property
    def redis_dir(self) -> Path:
        return self.state_dir / "redis"

    @property
    def rabbitmq_dir(self) -> Path:
        """A private RabbitMQ node's folder (used only when the smsc runs its own)."""
        return self.state_dir / "rabbitmq"

    @property
    def handset_dir(self) -> Path:
        return self.state_dir / "handsets"

    @property
    def handset_records(self) -> Path:
        return self.handset_dir / "records.jsonl"

    @property
    def jasmin_python(self) -> Path:
        return self.venv_dir / "bin" / "python"

    @classmethod
    def from_env(cls) -> SmscSettings:
        state = os.environ.get(defaults.STATE_DIR_ENV)
        venv = os.environ.get(defaults.VENV_ENV)
        mode = os.environ.get(defaults.RABBITMQ_ENV) or "auto"
        if mode not in defaults.RABBITMQ_MODES:
            raise SmscError(f"{defaults.RABBITMQ_ENV}={mode!r}: use one of "
                            f"{', '.join(defaults.RABBITMQ_MODES)}")
        return cls(
            state_dir=Path(state).resolve() if state else paths().state_dir / defaults.STATE_SUBDIR,
            venv_dir=Path(venv).resolve() if venv else paths().home / defaults.VENV_SUBDIR,
            rabbitmq_mode=mode,
        )
