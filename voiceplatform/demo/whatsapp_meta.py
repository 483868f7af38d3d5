"""The demo's WhatsApp: the project's WhatsApp Cloud API contract server
(:mod:`voiceplatform.testing.whatsapp_cloud`) standing in for Meta, which cannot be reached from
here, and the WhatsApp bridge (``python -m whatsapp_bridge``) as its own process, talking to it
as it would to Meta's Graph API, for the length of the demo.

- :func:`demo_whatsapp` starts the contract server on loopback (in this process, on its gevent
  hub), adds the approved template the journey's flow falls back on outside the 24-hour window
  (:data:`TEMPLATE`), and gives a :class:`DemoWhatsApp`; the server stops when the block ends;
- :meth:`DemoWhatsApp.environment` is what every process that makes WhatsApp messages needs (the
  embedded server, the SMS bridge: a reply by SMS can switch the session to WhatsApp): the
  bridge's driver in ``VOICEPLATFORM_CHANNELS`` and our number in
  ``VOICEPLATFORM_WHATSAPP_NUMBERS``;
- :meth:`DemoWhatsApp.bridge` runs ``python -m whatsapp_bridge`` on the server's database until
  the block ends (SIGTERM; SIGKILL if it does not stop), and tells the contract server the
  bridge's webhook URL once it listens (Meta's app settings, in production);
- :meth:`DemoWhatsApp.tap` is the customer tapping a quick-reply button on their phone: the
  contract server's control endpoint sends the signed webhook Meta would.

Our WhatsApp business number is the demo account's SMS number, as one number carries both in
many businesses; it is the contract server's seed number (:data:`SEED_NUMBER_ID`). Nothing here
imports the bridge (nothing in voiceplatform may): the demo runs it as a deployment does.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voiceplatform.testing.whatsapp_bridge_process import WhatsAppBridgeProcess, WhatsAppBridgeProcessError
from voiceplatform.testing.whatsapp_cloud import SEED_NUMBER_ID, WhatsAppCloudServer

CHANNELS_ENV = "VOICEPLATFORM_CHANNELS"
CHANNEL_HOOK = "whatsapp_bridge.driver:register"
#: The approved template of the journey's WhatsApp question (ivr_flows/missed_call_sms_whatsapp.yaml).
TEMPLATE = "meter_visit_follow_up"
TEMPLATE_LANGUAGE = "en"
TEMPLATE_COMPONENTS: list[dict[str, Any]] = [
    {"type": "BODY", "text": "Hi {{1}}, Acme Energy here about your meter visit {{2}}. "
                             "Shall we call you back, or keep the visit as planned?"},
    {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Call me back"},
                                    {"type": "QUICK_REPLY", "text": "Keep my visit"}]},
]


def with_channel(environment: Mapping[str, str], hook: str = CHANNEL_HOOK) -> dict[str, str]:
    """``environment`` with ``hook`` added to its ``VOICEPLATFORM_CHANNELS`` (kept once)."""
    hooks = [entry for entry in environment.get(CHANNELS_ENV, "").split(",") if entry.strip()]
    return {**environment, CHANNELS_ENV: ",".join(hooks + ([hook] if hook not in hooks else []))}


@dataclass(frozen=True)
class DemoWhatsApp:
    """The contract server the demo started, and how the platform reaches it."""

    cloud: WhatsAppCloudServer
    our_number: str
    verify_token: str

    @property
    def phone_number_id(self) -> str:
        return SEED_NUMBER_ID

    def environment(self) -> dict[str, str]:
        """The settings of every process that makes WhatsApp messages (with the driver's hook to
        add to ``VOICEPLATFORM_CHANNELS``: :func:`with_channel`)."""
        return {"VOICEPLATFORM_WHATSAPP_NUMBERS": f"{self.phone_number_id}={self.our_number}"}

    def bridge_environment(self) -> dict[str, str]:
        """The bridge process's own settings: the contract server as its Graph API."""
        return {**self.environment(), "VOICEPLATFORM_WHATSAPP_GRAPH_URL": self.cloud.graph_url,
                "VOICEPLATFORM_WHATSAPP_TOKEN": self.cloud.token,
                "VOICEPLATFORM_WHATSAPP_APP_SECRET": self.cloud.app_secret,
                "VOICEPLATFORM_WHATSAPP_VERIFY_TOKEN": self.verify_token}

    @contextmanager
    def bridge(self, database_url: str, work: Path, env: Mapping[str, str] | None = None) -> Iterator[WhatsAppBridgeProcess]:
        """``python -m whatsapp_bridge`` on ``database_url`` for the block (its log in ``work``),
        its webhook URL given to the contract server; stopped (SIGTERM, then SIGKILL) at the end."""
        work.mkdir(parents=True, exist_ok=True)
        process = WhatsAppBridgeProcess(work, database_url, name="demo-whatsapp-bridge",
                                        env={**(env or {}), **self.bridge_environment()})
        try:
            url = process.webhook_url
            self.cloud.account.webhooks.url = url  # the app's callback URL, as set in Meta's app settings
            yield process
        finally:
            self.cloud.account.webhooks.url = None
            try:
                process.stop()
            except WhatsAppBridgeProcessError:
                pass  # it was killed: nothing outlives the demo
            finally:
                process.kill()

    def sent_to(self, phone: str) -> list[dict[str, Any]]:
        """What the contract server accepted for ``phone`` (E.164), in order, marks-read aside."""
        digits = phone.lstrip("+")
        return [entry for entry in self.cloud.client.sent()
                if entry.get("recipient") == digits and entry.get("kind") != "mark_read"]

    def tap(self, phone: str, payload: str, title: str) -> dict[str, Any]:
        """``phone``'s user taps the quick-reply button ``title`` (its payload ``payload``)."""
        return self.cloud.client.inject("quick_reply", user=phone.lstrip("+"), payload=payload, text=title)


@contextmanager
def demo_whatsapp(say: Callable[[str], None], our_number: str) -> Iterator[DemoWhatsApp]:
    """The contract server for the block, with the journey's template approved on it."""
    with WhatsAppCloudServer(app_secret=secrets.token_urlsafe(24), token=secrets.token_urlsafe(24)) as cloud:
        cloud.client.add_template(TEMPLATE, TEMPLATE_LANGUAGE, "UTILITY", "APPROVED", TEMPLATE_COMPONENTS)
        say(f"whatsapp   Meta cannot be reached from here: the project's WhatsApp Cloud API contract server "
            f"(voiceplatform.testing.whatsapp_cloud) stands in for it at {cloud.url}, with our number "
            f"{our_number} and the approved template {TEMPLATE!r}")
        yield DemoWhatsApp(cloud, our_number, secrets.token_urlsafe(16))
