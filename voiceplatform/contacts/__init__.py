"""Contacts: streamed import from CSV or Excel, with a report of every bad row."""
