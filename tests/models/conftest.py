"""The database fixtures (database_url, engine) are in tests/conftest.py, shared by every package."""
