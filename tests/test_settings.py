"""One instance folder for every file the platform writes (voiceplatform.settings): the checkout
when run from it, ``VOICEPLATFORM_HOME`` when set, else the current directory, so an installed
package works outside any checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from voiceplatform import settings
from voiceplatform.settings import Paths

REPO = Path(__file__).resolve().parents[1]


def test_run_from_the_checkout_the_instance_is_the_checkout() -> None:
    found = Paths.from_env({})
    assert settings.source_checkout() == REPO
    assert found.home == REPO
    assert found.state_dir == REPO / ".state" and found.database_file == REPO / ".state" / "voiceplatform.db"
    assert found.media_dir == REPO / "media" and found.recordings_dir == REPO / "media" / "recordings"
    assert found.tts_cache_dir == REPO / "media" / "tts-cache"
    assert found.flows_dir == REPO / "ivr_flows" and found.prompts_dir == REPO / "prompts"


def test_voiceplatform_home_and_media_dir_win(tmp_path: Path) -> None:
    found = Paths.from_env({"VOICEPLATFORM_HOME": str(tmp_path / "home"),
                            "VOICEPLATFORM_MEDIA_DIR": str(tmp_path / "elsewhere")})
    assert found.home == tmp_path / "home"
    assert found.token_file == tmp_path / "home" / ".state" / "api-token"
    assert found.media_dir == tmp_path / "elsewhere" and found.recordings_dir == tmp_path / "elsewhere" / "recordings"
    assert Paths.from_env({"VOICEPLATFORM_HOME": str(tmp_path)}).media_dir == tmp_path / "media"


def test_installed_outside_a_checkout_the_instance_is_the_current_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "source_checkout", lambda: None)
    monkeypatch.chdir(tmp_path)
    assert Paths.from_env({}).home == tmp_path.resolve()


def test_a_copy_of_the_package_outside_the_checkout_keeps_its_files_in_the_instance(tmp_path: Path) -> None:
    """As an installed wheel: the package alone (no setup.cfg, no ivr_flows/ beside it), run from a
    working directory. The database, the token file and the media land there, nothing in the
    package's folder, and ``VOICEPLATFORM_HOME`` moves them all."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "voiceplatform", site / "voiceplatform", ignore=shutil.ignore_patterns("__pycache__"))
    work = tmp_path / "work"
    work.mkdir()
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("VOICEPLATFORM_HOME", "VOICEPLATFORM_MEDIA_DIR", "DATABASE_URL")}
    environment["PYTHONPATH"] = str(site)
    probe = ("import json, voiceplatform.settings as s, voiceplatform.db as d, voiceplatform.client.http as c;"
             "print(json.dumps([str(s.source_checkout()), str(s.paths().home), d.database_url(), str(c.TOKEN_FILE),"
             " str(s.paths().media_dir)]))")
    shown = json.loads(subprocess.check_output([sys.executable, "-c", probe], cwd=work, env=environment, text=True))
    assert shown == ["None", str(work), f"sqlite:///{work / '.state' / 'voiceplatform.db'}",
                     str(work / ".state" / "api-token"), str(work / "media")]
    subprocess.run([sys.executable, "-m", "voiceplatform", "db", "upgrade"], cwd=work, env=environment,
                   check=True, capture_output=True)
    assert (work / ".state" / "voiceplatform.db").is_file()
    assert not (site / ".state").exists()

    home = tmp_path / "home"
    moved = subprocess.check_output([sys.executable, "-c", probe], cwd=work,
                                    env={**environment, "VOICEPLATFORM_HOME": str(home)}, text=True)
    assert json.loads(moved)[1:3] == [str(home), f"sqlite:///{home / '.state' / 'voiceplatform.db'}"]
