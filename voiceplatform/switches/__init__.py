"""Telephone switches: Asterisk (AMI + FastAGI) and FreeSWITCH (ESL) adapters, and what they
share: the call-control interface, outcome mapping, call records, recordings and the voice runner
that drives the flow engine on a live call."""
