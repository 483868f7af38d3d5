"""Guards that keep a broken flow from hanging a worker. Every constant is documented here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    #: Node transitions allowed in one call to start() or resume(). A flow that loops without
    #: waiting for input fails with the ``too_many_steps`` failure event when it reaches this.
    max_steps_per_resume: int = 250
    #: How deep subflows may nest (a flow that enters itself recursively fails at this depth).
    max_subflow_depth: int = 10
    #: How many results a session may hold; more are refused with an error event.
    max_results: int = 500


DEFAULT_LIMITS = Limits()

#: Seconds a messaging session waits for a reply when a node gives no ``reply_timeout``.
DEFAULT_REPLY_TIMEOUT = 24 * 3600.0
#: Seconds a voice gather waits for the first key or word when the node gives no ``timeout``.
DEFAULT_VOICE_TIMEOUT = 5.0
