"""The runtime around the pure engine for stored sessions: the store (load, lock, save, history),
the shared runner (start, resume exactly once, what every channel does alike), the inbound
router, opt-out words and the expiry sweeper. See docs/sessions.md."""
