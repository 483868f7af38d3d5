"""A local WhatsApp Business Cloud API contract server that behaves like Meta's.

    from voiceplatform.testing.whatsapp_cloud import WebhookReceiver, WhatsAppCloudServer

    with WebhookReceiver() as receiver, WhatsAppCloudServer(webhook_url=receiver.url) as wa:
        wa.client.inject_text("15551234567", "hi")          # opens the 24 h window
        wa.client.send_text(SEED_NUMBER_ID, "15551234567", "hello")

Run alone: ``python -m voiceplatform.testing.whatsapp_cloud --port 0 --webhook-url ... --app-secret
... --token ...``. What is emulated and what is not: docs/whatsapp-contract-server.md.
"""

from voiceplatform.testing.whatsapp_cloud.account import AccountSettings, CloudAccount
from voiceplatform.testing.whatsapp_cloud.client import ControlCallError, WhatsAppCloudClient
from voiceplatform.testing.whatsapp_cloud.clock import ControllableClock
from voiceplatform.testing.whatsapp_cloud.receiver import ReceivedWebhook, WebhookReceiver
from voiceplatform.testing.whatsapp_cloud.registry import (
    LAYLA,
    SEED_NUMBER_ID,
    SEED_UPGRADED_NUMBER_ID,
    SEED_WABA_ID,
    UNDELIVERABLE,
    USERNAME_ONLY_BSUID,
    ZOE,
)
from voiceplatform.testing.whatsapp_cloud.server import WhatsAppCloudServer
from voiceplatform.testing.whatsapp_cloud.webhooks import DeliverySettings

__all__ = [
    "AccountSettings", "CloudAccount", "ControlCallError", "ControllableClock", "DeliverySettings",
    "ReceivedWebhook", "WebhookReceiver", "WhatsAppCloudClient", "WhatsAppCloudServer",
    "LAYLA", "SEED_NUMBER_ID", "SEED_UPGRADED_NUMBER_ID", "SEED_WABA_ID", "UNDELIVERABLE",
    "USERNAME_ONLY_BSUID", "ZOE",
]
