"""Signed media URLs, the secret key's file, and media paths that must stay under the media root."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from voiceplatform.web import signing
from voiceplatform.web.media_files import read_chunks, recording_file
from voiceplatform.web.secret import derived_key, persisted_key, secret_key

KEY = derived_key("test-secret", "media-url")


def test_a_signed_url_verifies_until_it_expires() -> None:
    grant = signing.issue(KEY, 7, "listen", 3, now=1000, seconds=300)
    args = grant.query(KEY)
    assert signing.verify(KEY, 7, args, now=1299) == grant
    with pytest.raises(signing.Expired):
        signing.verify(KEY, 7, args, now=1300)


@pytest.mark.parametrize("field, value", [("p", "download"), ("e", "99999"), ("u", "4"), ("n", "other"), ("s", "0" * 64)])
def test_any_change_breaks_the_signature(field: str, value: str) -> None:
    args = signing.issue(KEY, 7, "listen", 3, now=1000).query(KEY)
    with pytest.raises(signing.BadSignature):
        signing.verify(KEY, 7, {**args, field: value}, now=1001)


def test_another_recording_or_key_or_missing_fields_are_refused() -> None:
    args = signing.issue(KEY, 7, "listen", 3, now=1000).query(KEY)
    with pytest.raises(signing.BadSignature):
        signing.verify(KEY, 8, args, now=1001)
    with pytest.raises(signing.BadSignature):
        signing.verify(derived_key("another-secret", "media-url"), 7, args, now=1001)
    with pytest.raises(signing.BadSignature):
        signing.verify(KEY, 7, {k: v for k, v in args.items() if k != "s"}, now=1001)
    with pytest.raises(signing.BadSignature):
        signing.verify(KEY, 7, {**args, "e": "soon"}, now=1001)
    with pytest.raises(ValueError):
        signing.issue(KEY, 7, "delete", 3, now=1000)


def test_keys_are_separate_per_purpose() -> None:
    assert derived_key("s", "media-url") != derived_key("s", "other") != derived_key("t", "media-url")


def test_the_secret_key_is_made_once_and_kept_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOICEPLATFORM_SECRET_KEY", raising=False)
    path = tmp_path / "state" / "secret-key"
    first = persisted_key(path)
    assert len(first) >= 40 and persisted_key(path) == first
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert secret_key({"SECRET_KEY_FILE": str(path)}) == first
    assert secret_key({"SECRET_KEY": "configured", "SECRET_KEY_FILE": str(path)}) == "configured"
    monkeypatch.setenv("VOICEPLATFORM_SECRET_KEY", "from-env")
    assert secret_key({"SECRET_KEY_FILE": str(path)}) == "from-env"
    assert [p.name for p in path.parent.iterdir()] == ["secret-key"]  # no scratch files left


def test_media_paths_must_resolve_under_the_recordings_folder(tmp_path: Path) -> None:
    root = tmp_path / "media"
    inside = root / "recordings" / "acme" / "2024" / "01" / "02" / "call.wav"
    inside.parent.mkdir(parents=True)
    inside.write_bytes(b"RIFF")
    secret = tmp_path / "secret.txt"
    secret.write_text("not audio")
    (root / "recordings" / "link.wav").symlink_to(secret)
    assert recording_file(str(inside), root) == inside.resolve()
    assert recording_file("acme/2024/01/02/call.wav", root) == inside.resolve()
    assert recording_file(str(root / "recordings" / "acme" / ".." / ".." / ".." / "secret.txt"), root) is None
    assert recording_file("../../secret.txt", root) is None
    assert recording_file(str(secret), root) is None
    assert recording_file("/etc/passwd", root) is None
    assert recording_file(str(root / "recordings" / "link.wav"), root) is None  # a link out of the folder
    assert recording_file(str(root / "recordings"), root) is None


def test_chunks_read_exactly_the_range(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(bytes(range(256)) * 1000)
    assert b"".join(read_chunks(path, 10, 100_000, chunk=4096)) == (bytes(range(256)) * 1000)[10:100_010]
    assert list(read_chunks(path, 0, 0)) == []
