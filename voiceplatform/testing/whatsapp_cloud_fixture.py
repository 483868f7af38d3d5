"""pytest plugin: the WhatsApp Cloud API contract server (:mod:`voiceplatform.testing.whatsapp_cloud`)
with a webhook receiver the test controls, both in-process on 127.0.0.1 port 0, per test.

Register it project-wide with, in ``tests/conftest.py``::

    pytest_plugins = ["voiceplatform.testing.whatsapp_cloud_fixture"]

``whatsapp_webhooks`` is the receiver (exact bytes, headers, programmable answers);
``whatsapp_cloud`` the server, posting signed webhooks to it (``.client`` for the control calls,
``.graph_url`` and ``.token`` for the code under test). Both stop after the test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from voiceplatform.testing.whatsapp_cloud import WebhookReceiver, WhatsAppCloudServer

APP_SECRET = "contract-test-app-secret"
ACCESS_TOKEN = "contract-test-access-token"


@pytest.fixture
def whatsapp_webhooks() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def whatsapp_cloud(whatsapp_webhooks: WebhookReceiver) -> Iterator[WhatsAppCloudServer]:
    with WhatsAppCloudServer(webhook_url=whatsapp_webhooks.url, app_secret=APP_SECRET, token=ACCESS_TOKEN) as server:
        yield server
