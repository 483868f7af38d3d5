"""Runs a flow on a live call: engine outputs become call-control actions, and what the caller
does becomes engine inputs. The same runner serves every switch; it only sees ``CallControl``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from voiceplatform.exceptions import UnsafeValueError
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


@dataclass
class VoiceServices:
    tts: TextToSpeech
    stt: Recognizer
    recordings: RecordingLayout
    audio_root: Path  # relative `audio:` paths in flows resolve against this
    perform_http: Callable[[out.HttpRequest], tuple[Input, str | None]] = http_client.perform
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


class VoiceRunner:
    def __init__(self, services: VoiceServices) -> None:
        self.services = services

    def run(self, flow: Flow, contact: dict[str, Any], control: CallControl, record: CallRecord,
            facts: dict[str, Any] | None = None) -> CallRecord:
        """Run ``flow`` on an answered call until the session ends or the caller hangs up."""
        call = _CallState()
        # The contact's language (``ar``, ``ar-SA``) starts the session in it when the flow has it.
        step = start(flow, contact, "voice", facts=facts, session_id=record.call_id,
                     language=contact.get("language") or None)
        self._note(record, None, step)
        while True:
            given: Input | None
            try:
                given = self._perform(step, control, record, call)
            except CallHungUp as hung:
                call.hung_up = True  # the driver records the switch's own cause
                given = Input.hangup(hung.cause)
            if step.ended or step.channel != "voice":
                break  # finished, or handed over to a messaging bridge (record.handoff_state)
            if given is None:
                record.errors.append(f"session waits for {step.wait} but the call has nothing to give")
                break
            step = resume(flow, step.state, given)
            self._note(record, given, step)
        record.final_state = step.state
        if not call.hung_up and not call.hangup_sent:
            try:
                control.hangup("completed")
            except CallHungUp:
                pass
        return record

    # ---- outputs ---------------------------------------------------------------------------

    def _perform(self, step: Step, control: CallControl, record: CallRecord, call: _CallState) -> Input | None:
        given: Input | None = None
        for output in step.outputs:
            if call.hung_up and not isinstance(output, (out.Send, out.HttpRequest)):
                continue  # after a hang-up only offline work (an SMS, a webhook) is done
            if isinstance(output, out.Say):
                control.play(str(self.services.tts.render(output.text, output.language)))
            elif isinstance(output, out.Play):
                control.play(str(self._audio(output.audio)))
            elif isinstance(output, out.Gather):
                given = self._gather(output, control, record, call, step.state.get("language", "en"))
            elif isinstance(output, out.Record):
                given = self._record(output, control, record, call, step)
            elif isinstance(output, out.Transfer):
                given = self._transfer(output, control, record)
            elif isinstance(output, out.HttpRequest):
                given, error = self.services.perform_http(output)
                if error:
                    record.errors.append(error)
            elif isinstance(output, out.Send):
                if output.to is None and (output.channel in record.opt_outs or "all" in record.opt_outs):
                    continue  # the engine drops these itself; a bridge never sends them either
                record.messages.append(output.to_dict())
                if self.services.send_message is not None:
                    self.services.send_message(record, output)
            elif isinstance(output, out.OptOut):
                # Applied to the contact's row when the call is saved (contacts.opt_out).
                record.opt_outs.extend(c for c in output.channels if c not in record.opt_outs)
            elif isinstance(output, out.Hangup):
                call.hangup_sent = True
                control.hangup(output.reason)
            elif isinstance(output, out.SwitchChannel):
                record.handoff_state = step.state
        return given

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

    def _record(self, request: out.Record, control: CallControl, record: CallRecord, call: _CallState, step: Step) -> Input:
        call.recordings += 1
        path = self.services.recordings.path_for(record.account, record.call_id, utcnow(), call.recordings)
        recorded = control.record(str(path), request.max_seconds, request.beep, request.silence_timeout, request.finish_on_key)
        node = (step.wait or {}).get("node")
        transcript = None
        if request.transcribe and recorded.duration > 0:
            transcript = self.services.stt.recognise(path).text or None
        info = self.services.recordings.describe(path, node, transcript)
        if info.duration <= 0:
            return Input.no_input()
        record.recordings.append(info)
        return Input.recording(info.path, info.duration, transcript)

    # ---- bookkeeping -----------------------------------------------------------------------

    @staticmethod
    def _note(record: CallRecord, given: Input | None, step: Step) -> None:
        if given is not None:
            record.transcript.append(input_line(given))
            record.history.append({"kind": "input", "type": given.kind.value, "payload": given.to_dict()})
        record.history.extend({"kind": "event", "type": event.kind, "payload": event.to_dict()} for event in step.events)
        record.history.extend({"kind": "output", "type": output.kind, "payload": output.to_dict()}
                              for output in step.outputs)
        for output in step.outputs:
            record.transcript.extend(output_lines(output))
        record.path.extend(step.path)
        record.results = {name: entry.get("value") for name, entry in step.state["results"].items()}
        for event in step.events:
            if isinstance(event, (ErrorEvent, FailureEvent)):
                record.errors.append(f"{event.kind} {event.code}: {event.message}")
