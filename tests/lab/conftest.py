"""The lab tests use the asterisk_lab fixture, registered project-wide in tests/conftest.py."""
