"""The engine's public names are re-exported from voiceplatform.flow, and __all__ lists them."""

from __future__ import annotations

import voiceplatform.flow as flow


def test_all_matches_exports() -> None:
    exported = {name for name in dir(flow) if not name.startswith("_") and not hasattr(getattr(flow, name), "__path__")}
    modules = {name for name in exported if type(getattr(flow, name)).__name__ == "module"}
    assert set(flow.__all__) == exported - modules
