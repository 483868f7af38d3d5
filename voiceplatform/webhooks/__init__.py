"""Customer webhooks for call and campaign events.

- ``events``: the event names and ``emit`` (queue deliveries inside the caller's transaction).
- ``signing``: the ``X-VoicePlatform-Signature`` header (``sign`` / ``verify``).
- ``delivery``: ``deliver_due`` (the worker's periodic send, with retries and backoff) and
  ``redeliver`` (a manual retry).

See docs/webhooks.md for what customers receive.
"""

from voiceplatform.webhooks.delivery import (
    MAX_ATTEMPTS, AlreadyPending, DeliveryReport, PostError, backoff, deliver_due, http_post, redeliver,
)
from voiceplatform.webhooks.events import ALL, EVENTS, KNOWN_EVENTS, PING, UnknownEventError, emit, queue_ping, wants
from voiceplatform.webhooks.signing import sign, verify

__all__ = [
    "ALL", "EVENTS", "KNOWN_EVENTS", "MAX_ATTEMPTS", "PING", "AlreadyPending", "DeliveryReport", "PostError",
    "UnknownEventError", "backoff", "deliver_due", "emit", "http_post", "queue_ping", "redeliver", "sign", "verify",
    "wants",
]
