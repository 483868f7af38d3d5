"""The lab's pure parts: no Asterisk, no root."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceplatform.exceptions import LabError
from voiceplatform.lab import asterisk_config
from voiceplatform.lab.mirror import find_mirror, parse_list, parse_sources, read_apt_sources
from voiceplatform.lab.mounts import _unescape

DEB822 = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
"""


def test_deb822_sources_give_the_archive_not_security() -> None:
    sources = parse_sources(DEB822)
    assert [s.uri for s in sources] == [
        "http://deb.debian.org/debian",
        "http://deb.debian.org/debian-security",
    ]
    assert find_mirror(sources, "bookworm") == "http://deb.debian.org/debian"


def test_one_line_sources_skip_options_and_third_party_suites() -> None:
    text = (
        "deb [arch=amd64 signed-by=/k.gpg] https://deb.nodesource.com/node_20.x nodistro main\n"
        "# deb http://commented.example/debian bookworm main\n"
        "deb-src http://src.example/debian bookworm main\n"
        "deb http://ftp.example.org/debian/ bookworm main contrib\n"
    )
    sources = parse_list(text)
    assert [s.uri for s in sources] == [
        "https://deb.nodesource.com/node_20.x",
        "http://ftp.example.org/debian/",
    ]
    assert find_mirror(sources, "bookworm") == "http://ftp.example.org/debian"


def test_disabled_stanza_and_no_archive_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "off.sources").write_text(
        "Types: deb\nURIs: http://x.example/debian\nSuites: bookworm\nComponents: main\n"
        "Enabled: no\n"
    )
    (tmp_path / "sources.list.d" / "ignored.list.disabled").write_text(
        "deb http://y.example/debian bookworm main\n"
    )
    assert read_apt_sources(tmp_path) == []
    with pytest.raises(LabError, match="VOICEPLATFORM_LAB_MIRROR"):
        find_mirror([], "bookworm")


def test_local_files_override_the_production_values() -> None:
    files = asterisk_config.render_local_files(
        asterisk_config.LocalValues(
            ami_host="127.0.0.1", ami_port=40001, ami_username="lab", ami_secret="s3",
            agi_address="127.0.0.1:4999", media_dir=Path("/srv/media"), sip_port=40002,
        )
    )
    assert "port = 40001" in files["manager_local.conf"]
    assert "[lab]\nsecret = s3" in files["manager_local.conf"]
    assert "VOICEPLATFORM_AGI_ADDRESS = 127.0.0.1:4999" in files["extensions_globals_local.conf"]
    assert "bind = 127.0.0.1:40002" in files["pjsip_transport_local.conf"]


def test_production_configs_include_every_local_file_the_lab_writes() -> None:
    config = Path(__file__).resolve().parents[2] / "dialplans/asterisk"
    text = "".join(p.read_text() for p in config.glob("*.conf"))
    for name in asterisk_config.render_local_files(
        asterisk_config.LocalValues("h", 1, "u", "s", "a:1", Path("/m"), 2)
    ):
        assert f'#tryinclude "{name}"' in text


def test_mountinfo_escapes_are_undone() -> None:
    assert _unescape(r"/srv/my\040media") == "/srv/my media"
