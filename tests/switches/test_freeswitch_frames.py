"""The driver's ESL frame reader and originate command, on bytes as FreeSWITCH writes them
(built with the emulator's wire module, which is checked against real transcripts)."""

from __future__ import annotations

import pytest

from voiceplatform.exceptions import SwitchCommandError, UnsafeValueError
from voiceplatform.switches.freeswitch.esl_frames import EslFramingError, FrameReader
from voiceplatform.switches.freeswitch.originate import channel_variables, originate_command
from voiceplatform.testing import esl_wire as wire
from voiceplatform.testing.esl_faults import MALFORMED_FRAMES


class Chunks:
    """A socket stand-in that returns the stream in small pieces (framing must not care)."""

    def __init__(self, data: bytes, size: int = 7) -> None:
        self.data, self.size, self.pos = data, size, 0

    def recv(self, _wanted: int) -> bytes:
        chunk = self.data[self.pos : self.pos + self.size]
        self.pos += len(chunk)
        return chunk


def frames(data: bytes) -> list:  # type: ignore[type-arg]
    reader = FrameReader(Chunks(data))  # type: ignore[arg-type]
    out = []
    while (frame := reader.next_frame()) is not None:
        out.append(frame)
    return out


def event(headers: list[tuple[str, str]], body: str | None = None) -> bytes:
    return wire.event_frame("plain", wire.serialize_plain(headers, body))


def test_background_job_keeps_its_body_and_utf8_counts_bytes() -> None:
    body = "+OK 3f1c…é uuid ✓\n"
    (job,) = frames(event([("Event-Name", "BACKGROUND_JOB"), ("Job-UUID", "j-1")], body))
    assert job.name == "BACKGROUND_JOB" and job.headers["Job-UUID"] == "j-1"
    assert job.body == body and job.headers["Content-Length"] == str(len(body.encode()))


def test_values_are_decoded_after_the_split() -> None:
    tricky = "Zoë 日本 line1\nline2: not-a-header 100% done"
    stream = event([("Event-Name", "CHANNEL_ANSWER"), ("Unique-ID", "u-1"), ("variable_note", tricky)])
    stream += wire.command_reply("+OK")
    answer, reply = frames(stream)
    assert answer.headers["variable_note"] == tricky
    assert "line2" not in answer.headers and answer.headers.get("Unique-ID") == "u-1"
    assert dict(answer.headers.items())["variable_note"] == tricky
    assert reply.content_type == "command/reply" and reply.headers["Reply-Text"] == "+OK"


def test_api_response_and_disconnect_notice() -> None:
    stream = wire.api_response("+OK café\n") + wire.disconnect_notice()
    api, notice = frames(stream)
    assert api.body == "+OK café\n" and notice.content_type == "text/disconnect-notice"


@pytest.mark.parametrize("kind", sorted(MALFORMED_FRAMES))
def test_malformed_frames_raise_a_clear_error(kind: str) -> None:
    with pytest.raises(EslFramingError):
        frames(MALFORMED_FRAMES[kind])


def test_originate_command_quotes_values_and_names_the_call() -> None:
    command = originate_command("c0ffee-1", "sofia/gateway/trunk/+15550100",
                                {"originate_timeout": "30", "note": "a, b"}, "10.0.0.5:4000")
    assert command == ("originate {originate_timeout=30,note='a, b',origination_uuid=c0ffee-1,vp_call_id=c0ffee-1,"
                       "vp_socket_address=10.0.0.5:4000}sofia/gateway/trunk/+15550100 '&socket(10.0.0.5:4000 async full)'")
    assert originate_command("c1", "loopback/x", {}, "h:1", "voiceplatform_outbound XML voiceplatform").endswith(
        "loopback/x voiceplatform_outbound XML voiceplatform")


@pytest.mark.parametrize("variables", [{"bad name": "1"}, {"quote": "it's"}, {"line": "a\nb"}])
def test_originate_refuses_what_it_cannot_quote(variables: dict[str, str]) -> None:
    with pytest.raises(UnsafeValueError):  # the one validator: voiceplatform.safety.switch_values
        channel_variables(variables)
    with pytest.raises(SwitchCommandError):
        originate_command("x" * 37, "loopback/x", {}, "h:1")
