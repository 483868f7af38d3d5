"""Campaigns on any channel: settings (pacing, caps, calling and sending windows, retry rules),
fan-out of contacts, the decisions the dialer makes after each attempt, pricing and estimates,
delivery reports of messaging attempts (message_outcomes), progress, and the lifecycle."""
