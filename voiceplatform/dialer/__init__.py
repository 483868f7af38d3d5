"""The campaign dialer: switch capacity leases, campaign locks and the dispatch of calls."""
