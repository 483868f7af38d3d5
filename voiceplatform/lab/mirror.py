"""The Debian mirror this machine's apt already uses, read from its sources files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from voiceplatform.exceptions import LabError

APT_DIR = Path("/etc/apt")
#: Suites of the Debian archive proper (a codename is accepted too, see ``find_mirror``).
_ARCHIVE_SUITES = {"stable", "testing", "unstable", "sid", "oldstable", "oldoldstable"}


@dataclass(frozen=True)
class AptSource:
    """One ``deb`` entry: where, which suites, which components."""

    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]


def parse_list(text: str) -> list[AptSource]:
    """Entries of a one-line-style ``.list`` file."""
    sources = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        line = re.sub(r"\[[^\]]*\]", " ", line[4:])  # drop [arch=... signed-by=...]
        fields = line.split()
        if len(fields) >= 2:
            sources.append(AptSource(fields[0], (fields[1],), tuple(fields[2:])))
    return sources


def parse_sources(text: str) -> list[AptSource]:
    """Entries of a deb822-style ``.sources`` file."""
    sources = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = None
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0].isspace() and key:
                fields[key] += " " + line.strip()
                continue
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            sources.append(
                AptSource(uri, tuple(fields.get("suites", "").split()),
                          tuple(fields.get("components", "").split()))
            )
    return sources


def read_apt_sources(apt_dir: Path = APT_DIR) -> list[AptSource]:
    """Every ``deb`` entry in sources.list and sources.list.d/*.list|*.sources, in apt's order."""
    files = [apt_dir / "sources.list"]
    parts = apt_dir / "sources.list.d"
    if parts.is_dir():
        files += sorted(p for p in parts.iterdir() if p.suffix in (".list", ".sources"))
    sources: list[AptSource] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise LabError(f"cannot read apt sources {path}: {exc}") from exc
        sources += parse_sources(text) if path.suffix == ".sources" else parse_list(text)
    return sources


def os_codename(os_release: Path = Path("/etc/os-release")) -> str | None:
    try:
        text = os_release.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LabError(f"cannot read {os_release}: {exc}") from exc
    match = re.search(r"^VERSION_CODENAME=\"?([^\"\n]*)\"?$", text, re.MULTILINE)
    return match.group(1) if match else None


def find_mirror(sources: list[AptSource], codename: str | None) -> str:
    """The URI of the first entry that is the Debian archive itself.

    That is an entry for the system's own codename (or a Debian suite name such as ``stable``),
    with the ``main`` component. Security, updates and backports suites, and third-party
    repositories (which use their own suite names), are skipped: they do not carry sid.
    """
    wanted = _ARCHIVE_SUITES | ({codename} if codename else set())
    for source in sources:
        if not source.uri.startswith(("http://", "https://", "file:")):
            continue
        if "main" in source.components and wanted.intersection(source.suites):
            return source.uri.rstrip("/")
    raise LabError(
        "no Debian archive mirror found in the apt sources (/etc/apt/sources.list, "
        "/etc/apt/sources.list.d/); set VOICEPLATFORM_LAB_MIRROR to a Debian mirror URI"
    )


def machine_mirror(apt_dir: Path = APT_DIR) -> str:
    """The Debian mirror URI the machine's apt sources use."""
    return find_mirror(read_apt_sources(apt_dir), os_codename())
