"""The parts of the demo's journey that need no lab and no gateway: the stand-in CRM (one call
back per session, hostile requests refused with a 4xx, the API's refusal passed on), the
journey's number (a lab line that misses a call then answers, which the handset network answers
"1"), the flow pointed at the CRM, the SMS part falling back to the dev channel when the
gateway cannot run here, and the WhatsApp part's stand-in for Meta (the contract server with the
flow's template approved, the settings the processes get, the customer's tap)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from voiceplatform.client.http import ApiClientError
from voiceplatform.demo import journey, sms_gateway, whatsapp_meta
from voiceplatform.demo.callback_desk import CallbackDesk
from voiceplatform.exceptions import SmscError
from voiceplatform.flow import load_flow_text
from voiceplatform.lab.numbers import RANGES
from voiceplatform.smsc.handset_network.numbers import script_for


class FakeApi:
    """POST /calls answers a new call id, or refuses as told."""

    def __init__(self, refuse: ApiClientError | None = None) -> None:
        self.refuse = refuse
        self.calls: list[dict[str, Any]] = []

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        assert path == "/calls"
        if self.refuse is not None:
            raise self.refuse
        self.calls.append(body)
        return {"id": f"call-{len(self.calls)}", "status": "queued"}


@pytest.fixture
def desk() -> Iterator[CallbackDesk]:
    running = CallbackDesk(journey.FLOW_NAME).start()
    yield running
    running.stop()


def post(desk: CallbackDesk, body: bytes, path: str = "/callbacks", method: str = "POST") -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(desk.url + path, data=body if method == "POST" else None, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def ask(phone: str, session: str) -> bytes:
    return json.dumps({"phone": phone, "first_name": "Grace", "session": session}).encode()


def test_the_crm_places_one_call_back_per_session_through_the_api(desk: CallbackDesk) -> None:
    api = FakeApi()
    desk.client = api  # type: ignore[assignment]
    assert post(desk, ask("+12025558001", "s-1")) == (200, {"call_id": "call-1"})
    assert post(desk, ask("+12025558001", "s-1")) == (200, {"call_id": "call-1"})  # the webhook again: same call
    assert post(desk, ask("+12025558002", "s-2")) == (200, {"call_id": "call-2"})
    assert api.calls == [{"to": "+12025558001", "flow": {"name": journey.FLOW_NAME}, "ring_seconds": 20},
                         {"to": "+12025558002", "flow": {"name": journey.FLOW_NAME}, "ring_seconds": 20}]
    assert [(r.phone, r.session, r.call_id) for r in desk.requests] == [("+12025558001", "s-1", "call-1"),
                                                                        ("+12025558002", "s-2", "call-2")]


def test_the_crm_passes_the_apis_refusal_on_and_refuses_what_is_not_a_callback(desk: CallbackDesk) -> None:
    assert post(desk, ask("+12025558001", "early"))[0] == 502  # the API is not up yet
    desk.client = FakeApi(ApiClientError(409, "do_not_call", "+12025558003 is on the do-not-call list"))  # type: ignore[assignment]
    status, body = post(desk, ask("+12025558003", "s-3"))
    assert status == 502 and "do-not-call" in body["error"]
    for hostile in (b"", b"not json", b"[1, 2]", json.dumps({"phone": 7, "session": "x"}).encode(),
                    json.dumps({"phone": "+1"}).encode()):
        assert post(desk, hostile)[0] == 400, hostile
    assert post(desk, b"{" + b" " * 5000 + b"}")[0] == 413
    assert post(desk, ask("+1", "x"), path="/admin")[0] == 404
    assert post(desk, b"", method="GET")[0] == 405


def test_the_journeys_number_misses_a_call_answers_the_next_and_replies_1_to_an_sms() -> None:
    for _ in range(20):
        phone = journey.journey_phone()
        line = int(phone[-4:])
        assert phone.startswith("+1202555") and RANGES["call-me-back"] <= line < RANGES["call-me-back"] + 1000
        assert script_for(phone).name == "reply-1"


def test_the_flow_is_pointed_at_the_demos_crm() -> None:
    text = journey.flow_yaml("http://127.0.0.1:4321")
    flow = load_flow_text(text, file=str(journey.FLOW_FILE), base_dir=journey.FLOW_FILE.parent)
    assert flow.definition.vars["crm_url"] == "http://127.0.0.1:4321"
    assert "crm.example.com" not in text and len(text.splitlines()) == len(journey.FLOW_FILE.read_text().splitlines())


def test_the_sms_part_falls_back_to_the_dev_channel_when_the_gateway_cannot_run(monkeypatch: pytest.MonkeyPatch) -> None:
    @contextmanager
    def no_gateway(*_: object, **__: object) -> Iterator[None]:
        raise SmscError("`pip install jasmin==0.11.1` exited with 1:\nno network")
        yield

    monkeypatch.setattr(sms_gateway, "smsc_for_this_job", no_gateway)
    said: list[str] = []
    with sms_gateway.demo_sms(said.append) as sms:
        assert (sms.via, sms.smsc, sms.handsets, sms.environment()) == ("dev", None, None, {})
    assert any("Jasmin cannot run on this machine (`pip install jasmin==0.11.1` exited with 1:)" in line
               and "dev channel" in line for line in said), said
    with sms.bridge("sqlite://") as process:
        assert process is None  # no bridge to run for the dev channel


def test_the_whatsapp_driver_is_added_to_the_channels_of_every_process_once() -> None:
    sms = {"VOICEPLATFORM_CHANNELS": "sms_bridge.driver:register", "VOICEPLATFORM_SMS_SENDER": "+12025559990"}
    both = whatsapp_meta.with_channel(sms)
    assert both["VOICEPLATFORM_CHANNELS"] == "sms_bridge.driver:register,whatsapp_bridge.driver:register"
    assert whatsapp_meta.with_channel(both) == both and both["VOICEPLATFORM_SMS_SENDER"] == "+12025559990"
    assert whatsapp_meta.with_channel({}) == {"VOICEPLATFORM_CHANNELS": "whatsapp_bridge.driver:register"}


def test_meta_stand_in_has_the_flows_template_and_takes_the_customers_tap() -> None:
    said: list[str] = []
    with whatsapp_meta.demo_whatsapp(said.append, sms_gateway.OUR_NUMBER) as whatsapp:
        assert "stands in for it" in said[0] and whatsapp.cloud.url in said[0]
        flow = load_flow_text(journey.flow_yaml("http://127.0.0.1:4321"), file=str(journey.FLOW_FILE),
                              base_dir=journey.FLOW_FILE.parent)
        asked = next(node for node in flow.definition.nodes if getattr(node, "template", None))
        template = dict(asked.template)  # type: ignore[attr-defined]
        assert (template["name"], template["language"]) == (whatsapp_meta.TEMPLATE, whatsapp_meta.TEMPLATE_LANGUAGE)
        # the template the flow names is approved there: it goes to a contact who never wrote to us
        sent = whatsapp.cloud.client.send_template(whatsapp.phone_number_id, "12025558123", whatsapp_meta.TEMPLATE,
                                                   "en", ["Grace", "tomorrow at 10:00"])
        assert sent.status_code == 200, sent.text
        assert [entry["kind"] for entry in whatsapp.sent_to("+12025558123")] == ["template"]
        tapped = whatsapp.tap("+12025558123", *journey.TAP)
        assert tapped["wamid"].startswith("wamid.")
        settings = whatsapp.bridge_environment()
        assert settings["VOICEPLATFORM_WHATSAPP_NUMBERS"] == f"{whatsapp.phone_number_id}={sms_gateway.OUR_NUMBER}"
        assert settings["VOICEPLATFORM_WHATSAPP_GRAPH_URL"] == whatsapp.cloud.graph_url
        assert settings["VOICEPLATFORM_WHATSAPP_APP_SECRET"] == whatsapp.cloud.app_secret
