"""Where the lab keeps things, read from the environment once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from voiceplatform.exceptions import LabError
from voiceplatform.lab import defaults
from voiceplatform.settings import paths


def find_project_dir(start: Path | None = None) -> Path:
    """The project checkout: the nearest directory holding ``dialplans/asterisk``.

    Looks upwards from ``start`` (default: the current directory), then from this package's own
    location, which covers an editable install run from anywhere.
    """
    candidates = [start or Path.cwd(), Path(__file__).resolve().parent]
    for base in candidates:
        for directory in (base.resolve(), *base.resolve().parents):
            if (directory / defaults.CONFIG_SUBDIR).is_dir():
                return directory
    raise LabError(
        f"cannot find the project directory (one holding {defaults.CONFIG_SUBDIR}); "
        "run from inside the voiceplatform checkout"
    )


@dataclass(frozen=True)
class LabSettings:
    """Everything the lab needs to know about this machine and project."""

    project_dir: Path
    root: Path
    state_dir: Path
    agi_address: str
    mirror: str | None

    @property
    def config_dir(self) -> Path:
        return self.project_dir / defaults.CONFIG_SUBDIR

    @property
    def media_dir(self) -> Path:
        """The instance's media folder (voiceplatform.settings), where the web UI reads recordings."""
        return paths().media_dir

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "asterisk.log"

    @property
    def lock_file(self) -> Path:
        return self.state_dir / "lab.lock"

    @classmethod
    def from_env(
        cls, project_dir: Path | None = None, agi_address: str | None = None
    ) -> LabSettings:
        project = (project_dir or find_project_dir()).resolve()
        root = Path(os.environ.get(defaults.ROOT_ENV) or defaults.DEFAULT_ROOT)
        state = os.environ.get(defaults.STATE_DIR_ENV)
        return cls(
            project_dir=project,
            root=root.resolve(),
            state_dir=Path(state).resolve() if state else paths().state_dir / defaults.STATE_SUBDIR,
            agi_address=agi_address
            or os.environ.get(defaults.AGI_ADDRESS_ENV)
            or defaults.DEFAULT_AGI_ADDRESS,
            mirror=os.environ.get(defaults.MIRROR_ENV) or None,
        )
