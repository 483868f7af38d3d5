"""The recording page's path through the flow, rendered from the call's session rows (SQLite and
PostgreSQL).

Each call runs for real: the voice runner plays tests/web/path_review.yaml on a scripted call
(an Arabic greeting, "yes" spoken and recognised at 87%, key 4, a recorded comment, an SMS sent
during the call), the dialler's call sessions settle it (the call's history written as
session_events, a live send delivered through the dev channel), and the cross-channel call's
journey goes on by SMS and is resumed with a reply by the shared runner. The calls' stored
transcript is left as the seed wrote it ("Hello Ann"...): the page must not show it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from tests.switches.scripted_call import ScriptedCall
from tests.web.conftest import sign_in
from tests.web.seed import Seeded, add_recording, write_wav
from voiceplatform.calls.outcomes import CallOutcome
from voiceplatform.flow import Input, load_flow
from voiceplatform.models import Account, Call, FlowStatus, FlowVersion
from voiceplatform.models.base import utcnow
from voiceplatform.sessions import runtime as messaging
from voiceplatform.sessions.calls import CallSessions
from voiceplatform.speech.stt import Recognition
from voiceplatform.speech.tts import TextToSpeech
from voiceplatform.switches.call_record import CallRecord
from voiceplatform.switches.recordings import RecordingLayout
from voiceplatform.switches.voice_runner import VoiceRunner, VoiceServices

FLOW = Path(__file__).parent / "path_review.yaml"
GREETING = "مرحبًا Amira، معك بنك أكمي."


class HeardYes:
    """The recogniser of the test calls: every utterance is "yes", at 87% confidence."""

    name = "heard-yes"

    def recognise(self, wav_path: str | Path, phrases: Sequence[str] = ()) -> Recognition:
        return Recognition("yes", 0.87, self.name)


@dataclass(frozen=True)
class Calls:
    voice: int  # recording ids: the call that ends on voice
    cross: int  # the call whose journey went on by SMS
    cross_call: str


def _publish(sessions: sessionmaker[Session], account_id: int) -> int:
    definition = FLOW.read_text()
    with sessions.begin() as db:
        version = FlowVersion(account_id=account_id, name="path_review", version=1, definition=definition,
                              checksum=FlowVersion.checksum_of(definition), status=FlowStatus.PUBLISHED,
                              published_at=utcnow())
        db.add(version)
        db.flush()
        return version.id


def _place(app: Flask, seeded: Seeded, tmp: Path, version_id: int, *, follow_up: str,
           script: list[tuple[str, ...]]) -> tuple[int, str]:
    """A recorded acme call whose flow ran on the voice runner and was settled as its session."""
    sessions: sessionmaker[Session] = app.extensions["vp_sessions"]
    with sessions.begin() as db:
        account = db.get(Account, seeded.accounts["acme"])
        assert account is not None
        recording = add_recording(db, seeded.media_dir, account, flow="path_review", to="+12025550177")
        call = db.get(Call, recording.call_id)
        assert call is not None
        call.flow_version_id = version_id
        recording_id, call_id = recording.id, call.id
    call_sessions = CallSessions(sessions, messaging.build(sessions).runner)
    services = VoiceServices(tts=TextToSpeech(tmp / "tts"), stt=HeardYes(), recordings=RecordingLayout(tmp / "media"),
                             audio_root=tmp, perform_http=lambda request: (Input.http_response(200, "{}"), None),
                             send_message=call_sessions.send_during_call)
    record = CallRecord(call_id=call_id, to="+12025550177", flow="path_review", switch="test", account="acme")
    VoiceRunner(services).run(load_flow(FLOW), {"first_name": "Amira", "follow_up": follow_up},
                              ScriptedCall(script, call_id), record)
    record.outcome = CallOutcome.ANSWERED
    with sessions.begin() as db:
        call = db.get(Call, call_id)
        assert call is not None
        call_sessions.settle_in(db, call, record)
    return recording_id, call_id


@pytest.fixture(scope="module")
def calls(app: Flask, seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Calls:
    tmp = tmp_path_factory.mktemp("calls")
    said = write_wav(tmp / "said.wav", 0.8)
    comment = write_wav(tmp / "comment.wav", 2.0)
    version_id = _publish(app.extensions["vp_sessions"], seeded.accounts["acme"])
    voice, _ = _place(app, seeded, tmp, version_id, follow_up="no",
                      script=[("say", str(said)), ("press", "4"), ("say", str(comment)), ("hangup", "16")])
    cross, cross_call = _place(app, seeded, tmp, version_id, follow_up="sms",
                               script=[("say", str(said)), ("press", "4"), ("say", str(comment))])
    runner = messaging.build(app.extensions["vp_sessions"]).runner
    assert runner.resume(cross_call, Input.text("yes")).status == "completed"
    return Calls(voice, cross, cross_call)


def _events(html: str) -> list[tuple[str, str, str]]:
    """(kind, text, detail) of each path event on the page, in order."""
    found = re.findall(r'<li class="event ([\w-]+)" data-seq="\d+"><span class="kind">[^<]+</span> <bdi>([^<]*)</bdi>'
                       r'(?: <small>\(([^<]*)\)</small>)?</li>', html)
    return [(kind, text.replace("&#39;", "'"), detail) for kind, text, detail in found]


def _begin_with(events: list[tuple[str, str, str]], expected: list[tuple[str, str, str]]) -> bool:
    """``events`` are ``expected``, each text beginning with the expected one."""
    assert len(events) == len(expected), events
    for found, wanted in zip(events, expected):
        assert found[0] == wanted[0] and found[1].startswith(wanted[1]) and found[2] == wanted[2], (found, wanted)
    return True


def _nodes(part_html: str) -> list[str]:
    return re.findall(r'<li title="[^"]*">([^<]+)</li>', part_html)


def _parts(html: str) -> list[str]:
    return re.findall(r'<section class="part" id="part-\d+".*?</section>', html, re.DOTALL)


def test_the_path_of_a_call_is_rendered_from_its_session_rows(calls: Calls, supervisor: FlaskClient) -> None:
    response = supervisor.get(f"/recordings/{calls.voice}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="no-history"' not in html and "Hello Ann" not in html  # not the stored transcript
    parts = _parts(html)
    assert len(parts) == 1 and 'data-channel="voice"' in parts[0] and '<h3 class="channel">' not in parts[0]
    assert _nodes(parts[0]) == ["greet", "menu", "rating", "comment", "code", "route", "more"]
    assert _begin_with(_events(html), [
        ("prompt", GREETING, ""),
        ("prompt", "Say yes, or press 1, to rate our service.", ""),  # then the choices, as the engine words them
        ("listening", "dtmf/speech", "5s, attempt 1"),
        ("speech", "yes", "87%"),
        ("prompt", "Press a key from 1 to 5.", ""),
        ("listening", "dtmf", "5s, attempt 1"),
        ("keys", "4", ""),
        ("prompt", "Tell us why after the tone.", ""),
        ("listening", "recording", "up to 10s, beep"),
        ("recording", "", "2s"),
        ("message", "Acme Bank: your survey code is 42.", "sms"),
        ("prompt", "Press 1 to hear your code again.", ""),
        ("listening", "dtmf", "5s, attempt 1"),
        ("delivered", "1 message", "via dev"),  # the live send's delivery, written when it went out
        ("hangup", "hung up", "16"),
    ])


def test_a_call_that_went_on_by_sms_shows_both_parts_with_their_channel(calls: Calls, supervisor: FlaskClient) -> None:
    html = supervisor.get(f"/recordings/{calls.cross}").get_data(as_text=True)
    voice, sms = _parts(html)
    assert 'data-channel="voice"' in voice and '<h3 class="channel">voice</h3>' in voice
    assert 'data-channel="dev"' in sms and '<h3 class="channel">sms <small>via dev</small></h3>' in sms
    assert _nodes(voice) == ["greet", "menu", "rating", "comment", "code", "route", "move"]
    assert _nodes(sms) == ["callback", "thanks"]
    voice_events, sms_events = _events(voice), _events(sms)
    assert ("speech", "yes", "87%") in voice_events and ("keys", "4", "") in voice_events
    assert voice_events[-2:] == [("system", "hang up (channel_switch)", ""), ("switch", "voice → sms", "")]
    assert sms_events[0][0] == "message" and sms_events[0][1].startswith("Would you like a call back?")
    assert ("message", "Acme Bank: your survey code is 42.", "sms") in voice_events
    # the call's two live sends (the code, then the question) were delivered as the step's outputs ran
    assert sms_events[1:] == [("delivered", "1 message", "via dev"), ("delivered", "1 message", "via dev"),
                              ("reply", "yes", ""), ("message", "Thank you, Amira.", "sms"),
                              ("delivered", "1 message", "via dev")]


def test_another_tenant_never_sees_the_path(app: Flask, calls: Calls) -> None:
    for tenant in ("globex", "acme-eu"):
        other = sign_in(app.test_client(), tenant, "supervisor")
        for recording in (calls.voice, calls.cross):
            response = other.get(f"/recordings/{recording}")
            assert response.status_code == 404 and "Would you like a call back?" not in response.get_data(as_text=True)


def test_a_call_with_no_session_rows_shows_its_stored_lines_unparsed(seeded: Seeded, supervisor: FlaskClient) -> None:
    html = supervisor.get(f"/recordings/{seeded.recordings['acme-survey']}").get_data(as_text=True)
    assert 'id="no-history"' in html and 'class="part"' not in html
    assert re.findall(r'<li class="line" dir="auto">([^<]*)</li>', html) == [
        "bot (say): Hello Ann", "contact: pressed 1", "contact (said, 91%): terrible",
        "contact (recorded 2s): it was slow", "system: hang up (completed)"]
    assert "<li>comment_low</li>" in html  # the stored node ids
