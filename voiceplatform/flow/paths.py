"""Which files a flow may name: subflows and prompt catalogues inside the flow's own folders.

A flow is written by a designer, but it is read by the server: a ``subflow:`` or ``prompts:``
path that could point anywhere would let a designer speak, text or probe any file the server can
read (``/etc/passwd``, ``/proc/self/environ``). So every path a flow names is confined to its
:class:`FlowFolders`:

- the *flows* folder: the folder of the flow being validated (for a flow file, its own folder and
  everything below it; for a flow posted through the API, the folder it resolves against), and
- the *prompts* folder: the catalogue folder found the usual way (``prompts/`` beside the flow or
  in one of its two parent folders), so ``prompts: ../prompts`` keeps working.

Absolute paths, ``..`` escapes, symlinks whose target leaves those folders, and paths that are
not regular files (folders for catalogues) are refused. The refusal is one message whatever the
path points to, checked before the file system is asked whether anything exists, so validation
reveals nothing about files outside the folders.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePath

OUTSIDE = "is outside the flow's folders (paths are relative to the flow file and stay inside its folder or its prompts folder)"


class PathRefused(Exception):
    """A flow names a path outside its folders; the message is the same for every such path."""


@dataclass(frozen=True, slots=True)
class FlowFolders:
    """The folders a flow's paths must stay in (both already resolved)."""

    flows: Path
    prompts: Path | None = None

    @classmethod
    def around(cls, flow_file: Path, prompts: Path | None) -> FlowFolders:
        return cls(flow_file.parent.resolve(), prompts.resolve() if prompts is not None else None)

    def confine(self, reference: str, relative_to: Path) -> Path:
        """The resolved path of ``reference`` (relative to the folder ``relative_to``), or
        PathRefused when it is absolute or resolves (following symlinks) outside the folders."""
        if not reference or "\x00" in reference or PurePath(reference).is_absolute() or reference.startswith("~"):
            raise PathRefused(OUTSIDE)
        if os.path.splitdrive(reference)[0]:
            raise PathRefused(OUTSIDE)
        resolved = Path(os.path.realpath(relative_to / reference))
        if not self.contains(resolved):
            raise PathRefused(OUTSIDE)
        return resolved

    def contains(self, resolved: Path) -> bool:
        return any(
            root is not None and (resolved == root or resolved.is_relative_to(root))
            for root in (self.flows, self.prompts)
        )


def is_regular_file(path: Path) -> bool:
    """True for a regular file (after symlinks), False for anything else or nothing at all."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def file_size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except (OSError, ValueError):
        return 0
