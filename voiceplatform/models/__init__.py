"""The platform's data, as SQLAlchemy 2.0 models. SQLite (WAL) is the embedded default and
PostgreSQL the production database; the schema is created by Alembic migrations
(``voiceplatform db upgrade``)."""

from voiceplatform.models.accounts import Account, ApiToken, Role, User
from voiceplatform.models.base import Base
from voiceplatform.models.calls import Call, Recording
from voiceplatform.models.campaigns import Campaign, CampaignContact, CampaignContactStatus, CampaignMessage, CampaignStatus
from voiceplatform.models.contacts import Contact, ContactImport, ContactList, ContactListMember, DoNotCall
from voiceplatform.models.engagement import EngagementEvent, EngagementKind
from voiceplatform.models.flows import FlowStatus, FlowVersion
from voiceplatform.models.idempotency import IdempotencyKey
from voiceplatform.models.messages import ApiMessage, SenderId
from voiceplatform.models.numbers import Number, NumberChannel
from voiceplatform.models.rate_limits import RateLimitHit
from voiceplatform.models.review import AuditEvent, QaReview, QaRubricItem
from voiceplatform.models.sessions import (DevMessage, FlowSession, InboundReceipt, OptOutSettings, SessionEvent,
                                         UnsolicitedMessage)
from voiceplatform.models.signin import SigninFailure, SigninLockout, WebSession
from voiceplatform.models.sms import SmsHeldReceipt, SmsMessage, SmsPart
from voiceplatform.models.webhooks import WebhookDelivery, WebhookSubscription
from voiceplatform.models.whatsapp import (WhatsAppHeldStatus, WhatsAppMessage, WhatsAppStatusReceipt, WhatsAppTemplate,
                                          WhatsAppWamid, WhatsAppWebhookEvent, WhatsAppWindow)
from voiceplatform.models.lengths import install as _install_length_checks

_install_length_checks(Base)  # every String(n) column refuses longer strings (models/lengths.py)

__all__ = [
    "Account", "ApiToken", "AuditEvent", "Base", "Call", "Campaign", "CampaignContact", "CampaignContactStatus",
    "CampaignMessage", "CampaignStatus", "Contact", "ContactImport", "ContactList", "ContactListMember", "DoNotCall", "FlowStatus",
    "FlowVersion", "IdempotencyKey", "Number", "NumberChannel", "QaReview", "QaRubricItem", "Recording", "Role", "SigninFailure", "SigninLockout", "User", "WebSession",
    "WebhookDelivery", "WebhookSubscription",
    "DevMessage", "FlowSession", "InboundReceipt", "OptOutSettings", "SessionEvent", "UnsolicitedMessage",
    "EngagementEvent", "EngagementKind",
    "ApiMessage", "RateLimitHit", "SenderId",
    "SmsHeldReceipt", "SmsMessage", "SmsPart",
    "WhatsAppHeldStatus", "WhatsAppMessage", "WhatsAppStatusReceipt", "WhatsAppTemplate", "WhatsAppWamid",
    "WhatsAppWebhookEvent", "WhatsAppWindow",
]
