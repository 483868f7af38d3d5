"""The real gateway end to end: an ESME bound to Jasmin submits to each scripted number of the
handset network and gets the right receipt back *through Jasmin* (which proves the
jookies/jasmin#1236 patch: unpatched, no receipt ever reaches an SMPP client); scripted replies
and injected MO messages reach the bound ESME.

Uses the session's ``smsc`` fixture (voiceplatform.testing.smsc_fixture).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.smsc.esme import TestEsme, assemble
from voiceplatform.smsc import install, status
from voiceplatform.smsc import dlr_patch
from voiceplatform.smsc.handset_network.numbers import (
    ARABIC_REPLY,
    HANDSET_NUMBERS,
    SLOW_RECEIPT_SECONDS,
    THREE_PART_REPLY,
)
from voiceplatform.smsc.handset_network.pdu import MessageState
from voiceplatform.testing.smsc_fixture import RunningSmsc

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def esme(smsc: RunningSmsc) -> Iterator[TestEsme]:
    client = TestEsme(*smsc.smpp_address, *smsc.esme_credentials)
    yield client
    client.close()


def _unique(label: str) -> str:
    return f"{label} {uuid.uuid4().hex[:10]}"


def test_the_gateway_is_up_and_healthy(smsc: RunningSmsc) -> None:
    report = status(smsc.settings)
    assert report.healthy, report.health
    assert set(report.health) == {"jasmin", "rabbitmq", "redis", "handsets"}
    assert dlr_patch.is_applied(install.site_packages(smsc.settings.venv_dir))


@pytest.mark.parametrize("script, stat, state", [
    ("delivered", "DELIVRD", MessageState.DELIVERED),
    ("undelivered", "UNDELIV", MessageState.UNDELIVERABLE),
    ("expired", "EXPIRED", MessageState.EXPIRED),
    ("rejected", "REJECTD", MessageState.REJECTED),
])
def test_each_final_state_comes_back_through_jasmin(
        smsc: RunningSmsc, esme: TestEsme, script: str, stat: str, state: MessageState) -> None:
    text = _unique(script)
    message_id = esme.submit(HANDSET_NUMBERS[script], text)
    receipt = esme.wait_receipt(message_id)
    assert receipt.stat == stat
    assert receipt.message_state == state
    assert receipt.source == HANDSET_NUMBERS[script].lstrip("+")
    [submitted] = smsc.handsets.messages("submit_sm", script=script, text=text)
    assert submitted["status"] == "ESME_ROK" and submitted["registered_delivery"] == 1


@pytest.mark.parametrize("script, refusal", [
    ("throttled-once", "ESME_RTHROTTLED"),
    ("queue-full-once", "ESME_RMSGQFUL"),
])
def test_a_refused_submit_is_retried_by_jasmin_and_delivered(
        smsc: RunningSmsc, esme: TestEsme, script: str, refusal: str) -> None:
    text = _unique(script)
    message_id = esme.submit(HANDSET_NUMBERS[script], text)
    assert esme.wait_receipt(message_id).stat == "DELIVRD"
    attempts = smsc.handsets.messages("submit_sm", text=text)
    assert [a["status"] for a in attempts] == [refusal, "ESME_ROK"]


def test_the_slow_number_receipts_after_its_delay(smsc: RunningSmsc, esme: TestEsme) -> None:
    text = _unique("slow")
    message_id = esme.submit(HANDSET_NUMBERS["slow-receipt"], text)
    assert esme.wait_receipt(message_id, timeout=SLOW_RECEIPT_SECONDS + 15).stat == "DELIVRD"
    [submitted] = smsc.handsets.messages("submit_sm", text=text)
    [receipt] = smsc.handsets.messages("receipt", message_id=submitted["message_id"])
    assert receipt["at"] - submitted["at"] >= SLOW_RECEIPT_SECONDS


def test_the_no_receipt_number_never_receipts(smsc: RunningSmsc, esme: TestEsme) -> None:
    silent_text, later_text = _unique("silent"), _unique("later")
    silent_id = esme.submit(HANDSET_NUMBERS["no-receipt"], silent_text)
    later_id = esme.submit(HANDSET_NUMBERS["delivered"], later_text)
    esme.wait_receipt(later_id)  # a receipt sent after the silent one's would have been
    [silent] = smsc.handsets.messages("submit_sm", text=silent_text)
    assert silent["status"] == "ESME_ROK"
    assert smsc.handsets.messages("receipt", message_id=silent["message_id"]) == []
    assert not [d for d in esme.delivered if d.receipted_message_id == silent_id]


@pytest.mark.parametrize("script, reply, data_coding", [
    ("reply-1", "1", 0),
    ("reply-stop", "STOP", 0),
    ("reply-arabic", ARABIC_REPLY, 8),
    ("reply-three-parts", THREE_PART_REPLY, 0),
])
def test_scripted_replies_reach_the_esme(
        smsc: RunningSmsc, esme: TestEsme, script: str, reply: str, data_coding: int) -> None:
    number = HANDSET_NUMBERS[script]
    our_number = "1555" + uuid.uuid4().hex[:6].translate(str.maketrans("abcdef", "123456"))
    esme.submit(number, _unique("question"), source=our_number)
    mine = esme.wait_messages(number, destination=our_number,
                              count=3 if script == "reply-three-parts" else 1)
    assert assemble(mine) == reply
    assert {p.data_coding for p in mine} == {data_coding}
    if script == "reply-three-parts":
        assert len(mine) == 3 and all(p.content.total == 3 for p in mine)


def test_an_injected_mo_message_arrives_at_the_bound_esme(smsc: RunningSmsc, esme: TestEsme) -> None:
    text = _unique("hello from a handset")
    assert smsc.handsets.inject_mo(HANDSET_NUMBERS["delivered"], "+15550177", text) == 1
    arrived = esme.wait_messages(HANDSET_NUMBERS["delivered"], destination="15550177")
    assert [d.content.text for d in arrived] == [text]
