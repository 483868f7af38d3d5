"""The demo's journey across channels, one session on three of them: a call on the lab, the SMS
after it through the real Jasmin, WhatsApp through the WhatsApp bridge and the contract server
standing in for Meta, and the call back (``ivr_flows/missed_call_sms_whatsapp.yaml``).

1. over HTTP: publish the flow (its ``vars.crm_url`` pointed at the demo's stand-in CRM,
   :mod:`voiceplatform.demo.callback_desk`), give the account its number (SMS and WhatsApp),
   import one contact and start a campaign that calls it. The contact is a line of the lab that
   misses a call and picks up the next one (``call-me-back``: +1 202 555 8xxx), a number the
   handset network answers "1" to any SMS;
2. the call rings out (no-answer): the flow's ``on.no_answer`` switches the same session to SMS,
   which offers to carry on over WhatsApp; the message goes through the SMS bridge and Jasmin to
   the handset network, which delivers it and replies "1"; the reply comes back through Jasmin
   and the bridge into the waiting session, which switches to WhatsApp: its question goes out
   through the WhatsApp bridge to the contract server as the approved template (the contact never
   wrote to us: outside the 24-hour window); the demo taps its "Call me back" button there, as the
   customer would on their phone (:mod:`voiceplatform.demo.whatsapp_meta`); the signed webhook
   comes back through the WhatsApp bridge into the same session, whose webhook asks the CRM for
   the call back; the CRM asks the API (``POST /calls``, the same flow); the session says
   "we are calling you now" on WhatsApp (free-form: the tap opened the window); the call back is
   answered and the contact presses 1;
3. :func:`print_journey` shows it from what the platform, the gateway and the contract server
   recorded: the calls, the session's transcript on the three channels, the SMS's and the
   WhatsApp messages' statuses, the handset network's records, what Meta's stand-in accepted.

"Back" is a new call placed through the API, not the same session returning to voice: the engine
can wait for a call (``switch_channel`` to voice) but nothing in the platform places one for a
stored session yet (docs/sessions.md), so the customer's system does, as it would in production.
On the dev channel (no Jasmin here) the SMS waits in the dev outbox and the demo sends the reply
itself (``POST /dev/inbound``), saying so; the WhatsApp part always runs on the contract server.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gevent
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.client.http import ApiClientError
from voiceplatform.demo.callback_desk import CallbackDesk, CallbackRequest
from voiceplatform.demo.campaign import upload
from voiceplatform.demo.sms_gateway import DemoSms
from voiceplatform.demo.whatsapp_meta import TEMPLATE, DemoWhatsApp
from voiceplatform.exceptions import VoicePlatformError
from voiceplatform.lab.numbers import numbers_like
from voiceplatform.models.sms import SmsMessage
from voiceplatform.models.whatsapp import WhatsAppMessage
from voiceplatform.settings import paths
from voiceplatform.smsc.handset_network import numbers as handset_numbers

FLOW_NAME = "missed_call_sms_whatsapp"
FLOW_FILE = paths().flows_dir / f"{FLOW_NAME}.yaml"
CRM_LINE = 'vars: {crm_url: "https://crm.example.com"}'  # the flow's default, pointed at the demo's desk
FIRST_NAME = "Grace"
VISIT = "tomorrow at 10:00"
REPLY = "1"  # what the handset network's reply-1 numbers answer (carry on over WhatsApp), and what the demo types on dev
TAP = ("1", "Call me back")  # the WhatsApp template's quick-reply button the demo taps: its payload and title
SETTINGS = {"calls_per_second": 1, "max_concurrent": 1, "ring_seconds": 12, "window": {"start": "00:00", "end": "24:00"},
            "retries": {"no-answer": {"retries": 0}}}
TIMEOUT_SECONDS = 180
DONE = "done: voice, then SMS, then WhatsApp, in one session; then a call back"
Say = Callable[[str], None]


def echo(text: str = "") -> None:
    print(text, file=sys.stdout, flush=True)


def run_journey_beside(client: Any, base_url: str, token: str, sms: DemoSms, whatsapp: DemoWhatsApp,
                       desk: CallbackDesk, sessions: sessionmaker[Session] | None, beside: Callable[[], int],
                       say: Say = echo) -> int:
    """Start the journey, run ``beside`` (the demo campaign: the journey follows meanwhile), then
    print the journey; 0 when ``beside`` gave 0 and the journey went all the way."""
    journey = start_journey(client, base_url, token, sms, desk, say)
    follower = gevent.spawn(follow_journey, client, journey, sms, whatsapp, desk, sessions)
    try:
        code = beside()
        try:
            journey = follower.get()
        except VoicePlatformError as exc:
            journey.problem = f"{type(exc).__name__}: {exc}"
    finally:
        follower.kill()
    say("")
    print_journey(journey, sms, say)
    return 0 if code == 0 and journey.complete else 1


@dataclass
class Journey:
    """What the demo started and what it saw of it so far."""

    phone: str
    campaign_id: int
    handsets_from: int = 0  # the handset network's first record of this journey
    call: dict[str, Any] = field(default_factory=dict)  # the first call, once it ended
    session: dict[str, Any] = field(default_factory=dict)  # its session, once it ended
    callback: CallbackRequest | None = None
    call_back: dict[str, Any] = field(default_factory=dict)  # the call back, once it ended
    sms: list[SmsMessage] = field(default_factory=list)  # the bridge's rows (through Jasmin)
    handset_records: list[dict[str, Any]] = field(default_factory=list)
    replied_by_demo: bool = False
    whatsapp: list[WhatsAppMessage] = field(default_factory=list)  # the WhatsApp bridge's rows
    meta_accepted: list[dict[str, Any]] = field(default_factory=list)  # what the contract server accepted
    tapped: dict[str, Any] = field(default_factory=dict)  # the tap the demo made there
    problem: str = ""

    def result(self, name: str) -> Any:
        return ((self.session.get("results") or {}).get(name) or {}).get("value")

    @property
    def asked_back(self) -> bool:
        """The session chose WhatsApp by SMS and asked for the call back there."""
        return self.result("whatsapp") == REPLY and self.result("callback") == TAP[0]

    @property
    def complete(self) -> bool:
        return (self.call.get("outcome") == "no-answer" and self.asked_back and self.session.get("status") == "completed"
                and self.session.get("channel") == "whatsapp"
                and self.call_back.get("outcome") == "answered" and (self.call_back.get("results") or {}).get("visit") == "1")


def journey_phone() -> str:
    """A line of the lab that misses a call then answers the call back, which the handset network
    answers "1" to an SMS; a new one each run (a line remembers its missed call ten minutes)."""
    phone = numbers_like("call-me-back", 1, offset=random.randrange(1000))[0]
    assert handset_numbers.script_for(phone).name == "reply-1", phone
    return phone


def flow_yaml(crm_url: str) -> str:
    text = FLOW_FILE.read_text()
    if CRM_LINE not in text:
        raise VoicePlatformError(f"{FLOW_FILE}: the line {CRM_LINE!r} the demo points at its CRM is missing")
    return text.replace(CRM_LINE, f'vars: {{crm_url: "{crm_url}"}}')


def start_journey(client: Any, base_url: str, token: str, sms: DemoSms, desk: CallbackDesk, say: Say) -> Journey:
    """Publish the flow, give the account its number, and start the campaign of one contact."""
    flow = client.post("/flows", {"yaml": flow_yaml(desk.url)})
    client.post(f"/flows/{flow['name']}/versions/{flow['version']}/publish")
    _our_number(client, sms.our_number)
    phone = journey_phone()
    csv = f"phone,first_name,visit_time,timezone\n{phone},{FIRST_NAME},{VISIT},UTC\n".encode()
    report = upload(base_url, token, "/contacts/import", {"list": f"journey {time.strftime('%H:%M:%S')}"},
                    "journey.csv", csv)
    campaign = client.post("/campaigns", {"name": "Demo: a missed call, SMS, WhatsApp and the call back", "flow": {"name": FLOW_NAME},
                                          "contact_list_id": report["list_id"], "settings": SETTINGS, "start": True})
    handsets = sms.handsets
    say(f"journey    campaign {campaign['id']}: call {FIRST_NAME} at {phone} ({FLOW_NAME} version {flow['version']}); "
        f"unanswered, by SMS through {'Jasmin' if handsets else 'the dev channel'} from {sms.our_number}, "
        f"then WhatsApp through the bridge and Meta's stand-in, a call back through the CRM at {desk.url}")
    return Journey(phone, int(campaign["id"]), handsets.position() if handsets else 0)


def _our_number(client: Any, number: str) -> None:
    """The account's number, on the SMS bridge's transport, the dev channel's and WhatsApp."""
    wanted = ["sms", "dev", "whatsapp"]
    try:
        client.post("/numbers", {"number": number, "channels": wanted})
        return
    except ApiClientError as exc:
        if exc.code != "number_taken":
            raise
    for row in client.get("/numbers", per_page=100)["items"]:
        if row["number"] == number and sorted(row["channels"]) != sorted(wanted):
            client.patch(f"/numbers/{row['id']}", {"channels": wanted})


def follow_journey(client: Any, journey: Journey, sms: DemoSms, whatsapp: DemoWhatsApp, desk: CallbackDesk,
                   sessions: sessionmaker[Session] | None = None, clock: Callable[[], float] = time.monotonic,
                   timeout: float = TIMEOUT_SECONDS) -> Journey:
    """Wait for each part of the journey in turn (the demo's reply on the dev channel, its tap on
    the contract server); sets ``journey.problem`` to the part that did not happen in time."""
    deadline = clock() + timeout

    def wait(what: str, check: Callable[[], bool]) -> bool:
        while not check():
            if clock() > deadline:
                journey.problem = f"{what} did not happen within {timeout:g} s"
                return False
            time.sleep(0.5)
        return True

    def first_call_ended() -> bool:
        calls = client.get("/calls", campaign_id=journey.campaign_id)["items"]
        journey.call = calls[0] if calls and calls[0]["outcome"] else {}
        return bool(journey.call)

    if not wait("the first call", first_call_ended):
        return journey
    session_id = journey.call["id"]  # a call's session has the call's id
    if sms.via == "dev" and not wait("the SMS in the dev outbox", lambda: _reply_on_dev(client, journey, sms)):
        return journey
    if not wait("the WhatsApp template at Meta's stand-in", lambda: _tap_on_whatsapp(journey, whatsapp)):
        return journey

    def callback_asked() -> bool:
        journey.callback = desk.request_for(session_id)
        return journey.callback is not None

    if not wait("the reply and the CRM's call back", callback_asked):
        return journey
    assert journey.callback is not None
    if journey.callback.call_id is None:
        journey.problem = f"the CRM could not place the call back: {journey.callback.error}"
        return journey
    call_back_id = journey.callback.call_id

    def call_back_ended() -> bool:
        journey.call_back = client.get(f"/calls/{call_back_id}")
        return bool(journey.call_back.get("outcome") and journey.call_back.get("ended_at"))

    def session_ended() -> bool:
        journey.session = client.get(f"/sessions/{session_id}")
        return journey.session.get("status") != "active" and journey.session.get("status") != "waiting"

    if not (wait("the call back", call_back_ended) and wait("the end of the session", session_ended)):
        return journey
    if sessions is not None:
        with sessions() as db:
            journey.sms = list(db.scalars(select(SmsMessage).where(SmsMessage.session_id == session_id)
                                          .order_by(SmsMessage.id)))
            journey.whatsapp = list(db.scalars(select(WhatsAppMessage).where(WhatsAppMessage.session_id == session_id)
                                               .order_by(WhatsAppMessage.id)))
    journey.meta_accepted = whatsapp.sent_to(journey.phone)
    if sms.handsets is not None:
        digits = journey.phone.lstrip("+")
        journey.handset_records = [record for record in sms.handsets.messages(after=journey.handsets_from)
                                   if digits in (str(record.get("destination")), str(record.get("source")))]
    if not journey.complete:
        journey.problem = "the journey did not go as scripted"
    return journey


def _reply_on_dev(client: Any, journey: Journey, sms: DemoSms) -> bool:
    """On the dev channel: once the SMS is in the outbox, reply as the handset would."""
    if not client.get("/dev/outbox", to=journey.phone)["items"]:
        return False
    client.post("/dev/inbound", {"from": journey.phone, "to": sms.our_number, "text": REPLY})
    journey.replied_by_demo = True
    return True


def _tap_on_whatsapp(journey: Journey, whatsapp: DemoWhatsApp) -> bool:
    """Once the session's template reached Meta's stand-in, tap its "Call me back" button there,
    as the customer would on their phone."""
    if not any(entry.get("kind") == "template" for entry in whatsapp.sent_to(journey.phone)):
        return False
    journey.tapped = whatsapp.tap(journey.phone, *TAP)
    return True


def print_journey(journey: Journey, sms: DemoSms, say: Say) -> None:
    via = "through Jasmin" if sms.via == "jasmin" else "on the dev channel"
    say(f"journey    {FIRST_NAME} at {journey.phone}: a call, SMS {via}, WhatsApp, the call back; "
        f"one session: {journey.call.get('id', '?')}")
    call = journey.call
    if call:
        say(f"  voice    call {call['id'][:12]}: {call['outcome']} ({call['cause'] or 'rang out'}); the flow's "
            "on.no_answer carries the same session on by SMS")
    for line in journey.session.get("transcript") or []:
        if not line["line"].startswith("system: facts"):
            say(f"  session  {_one_line(line['line'])}")
    for message in journey.sms:
        say(f"  sms      the bridge's message {message.id}, {message.sender} to {message.destination}: "
            f"{message.parts} part(s) {message.send_state}, status {message.status or 'none yet'}")
    if journey.handset_records:
        seen = ", ".join(_record(record) for record in journey.handset_records if record["kind"] != "deliver_sm_resp")
        say(f"  handsets {seen}")
    if journey.replied_by_demo:
        say(f"  sms      the demo replied {REPLY!r} as the handset (the dev channel has no handset network)")
    for row in journey.whatsapp:
        say(f"  whatsapp the bridge's message {row.id}, {row.our_number} to {row.recipient}: "
            f"{row.message_type or '?'} {row.send_state}, status {row.status or 'none yet'}")
    accepted = ", ".join(_accepted(entry) for entry in journey.meta_accepted)
    if accepted:
        say(f"  meta     the contract server (standing in for Meta) accepted: {accepted}")
    if journey.tapped:
        say(f"  meta     the demo tapped {TAP[1]!r} there as the customer (a signed webhook to the bridge)")
    if journey.callback is not None:
        placed = f"call {journey.callback.call_id[:12]}" if journey.callback.call_id else f"refused: {journey.callback.error}"
        say(f"  crm      the flow's webhook asked for a call back to {journey.callback.phone}: POST /calls, {placed}")
    back = journey.call_back
    if back:
        say(f"  voice    call {back['id'][:12]}: {back['outcome']}, answers {back.get('results') or {}}, "
            f"{float(back.get('billable_seconds') or 0):.0f} s billed")
        for line in back.get("transcript") or []:
            say(f"  voice    {_one_line(str(line))}")
    say(f"journey    {DONE if journey.complete else 'NOT complete: ' + journey.problem}")


def _one_line(text: str) -> str:
    return text.replace("\n", " / ")


def _record(record: dict[str, Any]) -> str:
    kind = record["kind"]
    if kind == "submit_sm":
        return f"submit_sm from {record.get('system_id')} ({record.get('status')})"
    if kind == "receipt":
        return f"receipt {record.get('stat')}"
    if kind == "mo":
        return f"reply {record.get('text')!r}"
    return str(kind)


def _accepted(entry: dict[str, Any]) -> str:
    body = entry.get("body") or {}
    if entry.get("kind") == "template":
        return f"template {body.get('template', {}).get('name', TEMPLATE)!r}"
    if entry.get("kind") == "text":
        return f"text {str(body.get('text', {}).get('body', ''))!r}"
    return str(entry.get("kind"))
