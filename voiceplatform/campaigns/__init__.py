"""Campaigns: settings (pacing, calling windows, retry rules), fan-out of contacts, and the
decisions the dialer makes after each call."""
