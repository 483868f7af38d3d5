"""Test doubles shipped with voiceplatform (importing this package starts nothing).

- :mod:`voiceplatform.testing.freeswitch`: a wire-faithful FreeSWITCH Event Socket emulator.
"""
