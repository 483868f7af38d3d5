"""Calls, seen from the side that composes them: ``outcomes`` (the one fixed set of call outcomes,
a neutral module that the switches, the dialler, campaigns and the web UI all import, and that
imports nothing) and ``store`` (the ``CallSink`` that persists a finished call's record as a
``calls`` row). The switches produce ``CallRecord``s and hand them to a sink they are given; they
never import ``store`` or the models (an import-linter contract, tests/test_architecture.py)."""
