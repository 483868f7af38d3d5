"""Calls coming in on the accounts' own numbers: normalising numbers (``addresses``) and the
database side of routing a call (``router``: number → account → flow, the caller as a contact,
the call's row written before it is answered). The switch drivers see only the
:class:`~voiceplatform.switches.inbound.InboundRouter` protocol; the dialler's composition
(``voiceplatform.dialer.process``) hands them a :class:`~voiceplatform.inbound.router.DatabaseInboundRouter`.
See docs/inbound-calls.md."""
