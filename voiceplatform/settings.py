"""Where the platform keeps its files: one instance folder (as Flask's ``instance_path``), so no
module needs to know where the checkout is and an installed wheel works anywhere.

The instance folder ("home") is, in this order:

1. ``$VOICEPLATFORM_HOME``;
2. the source checkout the package runs from (an editable install or a clone: the package's parent
   holds ``setup.cfg`` and ``ivr_flows/``), so ``bash scripts/demo.sh`` and the tests keep using
   the clone's ``.state/`` and ``media/`` as before;
3. else the current directory (an installed wheel run from where its operator works).

Inside it::

    .state/            database (SQLite), API token, web signing key, data key, ESL password, lab state
    media/             recordings/ and tts-cache/ (``$VOICEPLATFORM_MEDIA_DIR`` moves it)
    ivr_flows/         flows; prompts of flows posted to the API resolve as for files here
    prompts/           prompt catalogues

Modules that keep a default path as a constant (``KEY_FILE``, ``TOKEN_FILE``...) read it when they
are imported, so a process sets ``VOICEPLATFORM_HOME`` before it starts, not midway. The flow engine
never reads this: it is given its roots (``voiceplatform.flow.paths`` stays pure).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

HOME_ENV = "VOICEPLATFORM_HOME"
MEDIA_ENV = "VOICEPLATFORM_MEDIA_DIR"
PACKAGE_DIR = Path(__file__).resolve().parent


def source_checkout() -> Path | None:
    """The clone this package runs from, or None when it is installed (a wheel in site-packages)."""
    root = PACKAGE_DIR.parent
    return root if (root / "setup.cfg").is_file() and (root / "ivr_flows").is_dir() else None


@dataclass(frozen=True)
class Paths:
    home: Path
    media_dir: Path

    @property
    def state_dir(self) -> Path:
        return self.home / ".state"

    @property
    def database_file(self) -> Path:
        return self.state_dir / "voiceplatform.db"

    @property
    def token_file(self) -> Path:
        """The embedded server's admin token, which the command line reads."""
        return self.state_dir / "api-token"

    @property
    def recordings_dir(self) -> Path:
        return self.media_dir / "recordings"

    @property
    def tts_cache_dir(self) -> Path:
        return self.media_dir / "tts-cache"

    @property
    def flows_dir(self) -> Path:
        return self.home / "ivr_flows"

    @property
    def prompts_dir(self) -> Path:
        return self.home / "prompts"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Paths:
        env = os.environ if environ is None else environ
        configured = env.get(HOME_ENV)
        home = Path(configured).expanduser().resolve() if configured else (source_checkout() or Path.cwd().resolve())
        media = env.get(MEDIA_ENV)
        return cls(home=home, media_dir=Path(media).expanduser().resolve() if media else home / "media")


def paths() -> Paths:
    """The instance's paths, from the environment now."""
    return Paths.from_env()
