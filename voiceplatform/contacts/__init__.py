"""Contacts: imports from CSV or Excel that are bounded, all or nothing and applied once, with a
report of every rejected row (voiceplatform.contacts.importer)."""
