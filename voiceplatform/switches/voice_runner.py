"""Runs a flow on a live call: engine outputs become call-control actions, and what the caller
does becomes engine inputs. The same runner serves every switch; it only sees ``CallControl``.

What every channel does alike (the history, a ``send`` to another channel, ``switch_channel``,
``opt_out``, webhooks) is the shared handling, voiceplatform.channels.handling: a call's side of
it (:class:`LiveCall`) keeps the call's part of the history in its ``CallRecord`` and performs a
webhook at once (the caller waits on the line). This module keeps the call control: say, play,
gather, record, transfer and hangup.

Outputs delivered to a running call from outside it (:meth:`VoiceRunner.deliver`, a switch
driver's ``ChannelDriver.deliver``: say, play, hangup) wait for the call's next step and are
performed before that step's own outputs, in the call's greenlet.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from voiceplatform.channels.contract import Delivery
from voiceplatform.channels.handling import HistoryEntry, PerformHttp, handle_step, perform_webhook
from voiceplatform.exceptions import ChannelUnavailableError, UnsafeValueError
from voiceplatform.flow import Flow, Input, Step, resume, start
from voiceplatform.flow import outputs as out
from voiceplatform.flow.events import ErrorEvent, FailureEvent
from voiceplatform.flow.transcript import input_line, output_lines
from voiceplatform.speech.stt import Recognizer
from voiceplatform.speech.tts import TextToSpeech
from voiceplatform.switches import http_client
from voiceplatform.switches.call_control import ALL_DTMF, CallControl, CallHungUp
from voiceplatform.switches.call_record import CallRecord, utcnow
from voiceplatform.switches.recordings import RecordingLayout

INTER_DIGIT_TIMEOUT = 3.0
UTTERANCE_SILENCE = 1.5  # seconds of silence that end a spoken answer
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
DELIVERABLE = (out.Say, out.Play, out.Hangup)  # what a running call takes from outside it


@dataclass
class VoiceServices:
    tts: TextToSpeech
    stt: Recognizer
    recordings: RecordingLayout
    audio_root: Path  # relative `audio:` paths in flows resolve against this
    perform_http: PerformHttp = http_client.perform
    # Delivers a call's ``send`` through the target channel (composed by the dialler:
    # voiceplatform.sessions.calls); None keeps them in ``record.messages`` only.
    send_message: Callable[[CallRecord, out.Send], None] | None = None
    # The recogniser of a call in a language (speech.stt.recognizer_for); None for a language with
    # no model, whose gathers then hear keys only. Unset: ``stt`` serves every language.
    stt_for: Callable[[str], Recognizer | None] | None = None

    def recogniser(self, language: str) -> Recognizer | None:
        return self.stt if self.stt_for is None else self.stt_for(language)


@dataclass
class _CallState:
    hung_up: bool = False
    hangup_sent: bool = False
    recordings: int = 0
    utterances: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class LiveCall:
    """One call's side of the shared handling (a
    :class:`~voiceplatform.channels.handling.SessionRuntime`): history into the call's record,
    sends through ``VoiceServices.send_message``, a ``switch_channel`` as the record's handoff
    state, opt-outs kept on the record (the contact's row gets them when the call is saved), the
    call's own outputs through its call control."""

    def __init__(self, runner: VoiceRunner, control: CallControl, record: CallRecord) -> None:
        self.runner = runner
        self.control = control
        self.record = record
        self.state = _CallState()
        self.step: Step | None = None
        self.delivered: deque[out.Output] = deque()  # from outside the call, for its next step

    def perform(self, step: Step, given: Input | None) -> Input | None:
        """Perform ``step`` (made by ``given``) on the call; the input the call gave back."""
        self.step = step
        if given is not None:
            self.write_history([("input", given.kind.value, given.to_dict())])
        while self.delivered:  # from outside the call since its last step: before this step's outputs
            output = self.delivered.popleft()
            self.write_history([("output", output.kind, output.to_dict())])
            self.record.transcript.extend(output_lines(output))
            self.channel_output(output)
        handled = handle_step(step, self)
        if not handled.requests:
            return handled.given
        answer, error = perform_webhook(handled.requests[-1], self.runner.services.perform_http)
        if error:
            self.record.errors.append(error)
        return answer

    # ---- SessionRuntime --------------------------------------------------------------------------

    def write_history(self, entries: Sequence[HistoryEntry]) -> None:
        self.record.history.extend({"kind": kind, "type": type_, "payload": payload} for kind, type_, payload in entries)

    def opted_out(self, channel: str) -> bool:
        return channel in self.record.opt_outs or "all" in self.record.opt_outs

    def send(self, send: out.Send) -> None:
        self.record.messages.append(send.to_dict())
        if self.runner.services.send_message is not None:
            self.runner.services.send_message(self.record, send)

    def switch_channel(self, switch: out.SwitchChannel, step: Step) -> None:
        self.record.handoff_state = step.state  # the call ends; the journey goes on on the other channel

    def opt_out(self, channels: tuple[str, ...]) -> bool:
        new = [channel for channel in channels if channel not in self.record.opt_outs]
        self.record.opt_outs.extend(new)
        return bool(new)

    def channel_output(self, output: out.Output) -> Input | None:
        if self.state.hung_up:
            return None  # after a hang-up only offline work (a message, a webhook) is done
        return self.runner.control_call(self, output)


class VoiceRunner:
    def __init__(self, services: VoiceServices) -> None:
        self.services = services
        self._live: dict[str, LiveCall] = {}  # the calls running now, by call id (= session id)

    def run(self, flow: Flow, contact: dict[str, Any], control: CallControl, record: CallRecord,
            facts: dict[str, Any] | None = None) -> CallRecord:
        """Run ``flow`` on an answered call until the session ends or the caller hangs up."""
        live = LiveCall(self, control, record)
        self._live[record.call_id] = live
        try:
            return self._run(flow, contact, live, facts)
        finally:
            self._live.pop(record.call_id, None)

    def deliver(self, delivery: Delivery) -> int:
        """Hand outputs to the call running ``delivery``'s session: it performs them before its
        next step. Gives how many it took (say, play, hangup; others are not a call's to take
        from outside); ChannelUnavailableError when no call runs that session here."""
        live = self._live.get(delivery.session_id or "")
        if live is None:
            raise ChannelUnavailableError(f"no live call runs session {delivery.session_id!r} on this driver")
        taken = [output for output in delivery.outputs if isinstance(output, DELIVERABLE)]
        live.delivered.extend(taken)
        return len(taken)

    def _run(self, flow: Flow, contact: dict[str, Any], live: LiveCall, facts: dict[str, Any] | None) -> CallRecord:
        control, record, call = live.control, live.record, live.state
        # The contact's language (``ar``, ``ar-SA``) starts the session in it when the flow has it.
        step = start(flow, contact, "voice", facts=facts, session_id=record.call_id,
                     language=contact.get("language") or None)
        made_by: Input | None = None  # the input that made ``step``
        while True:
            self._note(record, step)
            given: Input | None
            try:
                given = live.perform(step, made_by)
            except CallHungUp as hung:
                call.hung_up = True  # the driver records the switch's own cause
                given = Input.hangup(hung.cause)
            if step.ended or step.channel != "voice":
                break  # finished, or handed over to a messaging bridge (record.handoff_state)
            if given is None:
                record.errors.append(f"session waits for {step.wait} but the call has nothing to give")
                break
            step = resume(flow, step.state, given)
            made_by = given
            record.transcript.append(input_line(given))
        record.final_state = step.state
        if not call.hung_up and not call.hangup_sent:
            try:
                control.hangup("completed")
            except CallHungUp:
                pass
        return record

    def control_call(self, live: LiveCall, output: out.Output) -> Input | None:
        """Perform one of the call's own outputs; the input it produced (a gather's answer)."""
        control, record, call = live.control, live.record, live.state
        wait = live.step.wait if live.step is not None else None
        if isinstance(output, out.Say):
            control.play(str(self.services.tts.render(output.text, output.language)))
        elif isinstance(output, out.Play):
            control.play(str(self._audio(output.audio)))
        elif isinstance(output, out.Gather):
            language = live.step.state.get("language", "en") if live.step is not None else "en"
            return self._gather(output, control, record, call, language)
        elif isinstance(output, out.Record):
            return self._record(output, control, record, call, wait)
        elif isinstance(output, out.Transfer):
            return self._transfer(output, control, record)
        elif isinstance(output, out.Hangup):
            call.hangup_sent = True
            control.hangup(output.reason)
        return None

    @staticmethod
    def _transfer(output: out.Transfer, control: CallControl, record: CallRecord) -> Input:
        """Transfer the call. A target or caller id the one validator refuses (rendered from the
        flow at run time: CR/LF, "&", ",", over-long...) fails this transfer alone, with the
        reason in the call's errors; the flow takes its ``failed`` exit."""
        try:
            result = control.transfer(output.target, output.target_kind, output.timeout, output.caller_id)
        except UnsafeValueError as exc:
            record.errors.append(f"transfer refused: {exc}")
            return Input.transfer_result("failed")
        return Input.transfer_result(result)

    def _audio(self, audio: str) -> Path:
        path = Path(audio)
        return path if path.is_absolute() else self.services.audio_root / path

    def _prompt_path(self, prompt: out.Say | out.Play) -> str:
        if isinstance(prompt, out.Play):
            return str(self._audio(prompt.audio))
        return str(self.services.tts.render(prompt.text, prompt.language))

    def _gather(self, gather: out.Gather, control: CallControl, record: CallRecord, call: _CallState,
                language: str = "en") -> Input:
        dtmf = "dtmf" in gather.modes
        speech = "speech" in gather.modes
        recogniser = self.services.recogniser(language) if speech else None
        if speech and recogniser is None:
            # No speech model for this language: keys only, said once in the call's errors.
            note = f"no speech model for {language}: gathers hear keys only (DTMF)"
            if note not in record.errors:
                record.errors.append(note)
            speech, dtmf = False, True
        escape = ALL_DTMF if dtmf and gather.barge_in else ""
        first: str | None = None
        for prompt in gather.prompts:
            first = control.play(self._prompt_path(prompt), escape)
            if first:
                break
        max_digits = gather.max_digits or 20
        if first:
            return Input.digits(first + self._more_digits(control, gather, first, max_digits))
        if speech and recogniser is not None:
            return self._listen(gather, control, record, call, dtmf, max_digits, recogniser)
        digits = control.collect_digits(max_digits, gather.timeout, gather.finish_on_key, INTER_DIGIT_TIMEOUT)
        return Input.digits(digits) if digits else Input.no_input()

    def _more_digits(self, control: CallControl, gather: out.Gather, first: str, max_digits: int) -> str:
        if len(first) >= max_digits or (gather.finish_on_key and first == gather.finish_on_key):
            return ""
        return control.collect_digits(max_digits - len(first), INTER_DIGIT_TIMEOUT, gather.finish_on_key, INTER_DIGIT_TIMEOUT)

    def _listen(self, gather: out.Gather, control: CallControl, record: CallRecord, call: _CallState,
                dtmf: bool, max_digits: int, recogniser: Recognizer) -> Input:
        call.utterances += 1
        path = self.services.recordings.scratch_path(record.call_id, call.utterances)
        recorded = control.record(str(path), max_seconds=int(gather.timeout) + 10, beep=False,
                                  silence_timeout=UTTERANCE_SILENCE, finish_on_key=None,
                                  escape_digits=ALL_DTMF if dtmf else "")
        try:
            if recorded.ended_by.startswith("key:"):
                first = recorded.ended_by[4:]
                return Input.digits(first + self._more_digits(control, gather, first, max_digits))
            if recorded.duration <= 0.2:
                return Input.no_input()
            phrases = list(gather.speech_phrases)
            phrases += [NUMBER_WORDS[int(c.key)] for c in gather.choices if c.key.isdigit() and len(c.key) == 1]
            recognition = recogniser.recognise(path, phrases)
            if not recognition.text:
                return Input.no_input()
            return Input.speech(recognition.text, recognition.confidence)
        finally:
            path.unlink(missing_ok=True)

    def _record(self, request: out.Record, control: CallControl, record: CallRecord, call: _CallState,
                wait: dict[str, Any] | None) -> Input:
        call.recordings += 1
        path = self.services.recordings.path_for(record.account, record.call_id, utcnow(), call.recordings)
        recorded = control.record(str(path), request.max_seconds, request.beep, request.silence_timeout, request.finish_on_key)
        node = (wait or {}).get("node")
        transcript = None
        if request.transcribe and recorded.duration > 0:
            transcript = self.services.stt.recognise(path).text or None
        info = self.services.recordings.describe(path, node, transcript)
        if info.duration <= 0:
            return Input.no_input()
        record.recordings.append(info)
        return Input.recording(info.path, info.duration, transcript)

    # ---- bookkeeping (the history is the shared handling's) ------------------------------------

    @staticmethod
    def _note(record: CallRecord, step: Step) -> None:
        for output in step.outputs:
            record.transcript.extend(output_lines(output))
        record.path.extend(step.path)
        record.results = {name: entry.get("value") for name, entry in step.state["results"].items()}
        for event in step.events:
            if isinstance(event, (ErrorEvent, FailureEvent)):
                record.errors.append(f"{event.kind} {event.code}: {event.message}")
