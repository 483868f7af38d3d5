"""Helpers for flow tests: build flows from YAML text, with a fixed clock."""

from __future__ import annotations

import textwrap
from datetime import datetime, timezone
from pathlib import Path

from voiceplatform.flow import Flow, load_flow_text

NOW = datetime(2026, 1, 5, 9, 30, tzinfo=timezone.utc)
REPO = Path(__file__).resolve().parents[2]


def flow_from(yaml_text: str, base_dir: Path | None = None, file: str = "test.yaml") -> Flow:
    return load_flow_text(textwrap.dedent(yaml_text), file=file, base_dir=base_dir or REPO / "ivr_flows")


def texts(step) -> list[str]:  # type: ignore[no-untyped-def]
    """What the contact hears or reads in a step, in order."""
    out = []
    for output in step.outputs:
        if output.kind == "gather":
            out.extend(prompt.text for prompt in output.prompts)
        elif output.kind in ("say", "send"):
            out.append(output.text)
        elif output.kind == "play":
            out.append(output.text or output.audio)
    return out
