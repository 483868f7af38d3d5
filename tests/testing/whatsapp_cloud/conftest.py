"""Shared helpers for the contract server's tests (the ``whatsapp_cloud`` and ``whatsapp_webhooks``
fixtures come from voiceplatform.testing.whatsapp_cloud_fixture, registered in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from voiceplatform.testing.whatsapp_cloud import WhatsAppCloudServer


@pytest.fixture
def quiet_cloud() -> Iterator[WhatsAppCloudServer]:
    """A server with no webhook receiver and no automatic statuses (rules and validation tests)."""
    with WhatsAppCloudServer() as server:
        server.client.settings(auto_statuses=False)
        yield server

