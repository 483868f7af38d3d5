"""Dialplan applications, emulated in meaning (mod_dptools semantics, no audio streamed).

Each application is ``func(call, arg)``; it sets ``current_application_response`` where
FreeSWITCH does, and the variables FreeSWITCH sets (``playback_terminator_used``,
``read_result``, ``record_seconds``, ...). See docs/freeswitch-emulator.md for the list.
"""

from __future__ import annotations

import logging
import re
import uuid as uuidlib
from typing import Callable, Optional

import gevent
from gevent import socket

from voiceplatform.testing import esl_media as media
from voiceplatform.testing.esl_call import AppBreak, Call, ChannelHangup

log = logging.getLogger(__name__)

Application = Callable[[Call, str], None]
APPLICATIONS: dict[str, Application] = {}


def application(*names: str) -> Callable[[Application], Application]:
    def register(func: Application) -> Application:
        for name in names:
            APPLICATIONS[name] = func
        return func

    return register


def split_args(arg: str) -> list[str]:
    """``switch_separate_string`` on spaces: quotes group words and are removed; backslashes
    are kept (regular expressions such as ``\\d+`` pass through)."""
    out: list[str] = []
    cur: list[str] = []
    quote = ""
    started = False
    for ch in arg:
        if quote:
            if ch == quote:
                quote = ""
            else:
                cur.append(ch)
        elif ch in "'\"":
            quote, started = ch, True
        elif ch == " ":
            if cur or started:
                out.append("".join(cur))
            cur, started = [], False
        else:
            cur.append(ch)
            started = True
    if cur or started:
        out.append("".join(cur))
    return out


def _terminators(call: Call) -> str:
    value = call.channel.variables.get("playback_terminators", "*")
    if value.lower() == "any":
        return "1234567890*#"
    if value.lower() == "none":
        return ""
    return value


# --------------------------------------------------------------------------- prompts
def play_prompt(call: Call, target: str, *, collect: Optional[list[str]] = None,
                terminators: str = "") -> str:
    """Play ``target`` for its duration. With ``collect``, any digit stops the prompt and is
    appended there (``switch_ivr_read``); otherwise only a digit in ``terminators`` stops it
    (``playback``). Returns the application response FreeSWITCH would set."""
    seconds = media.media_duration(target, call.channel.variables.get("sound_prefix"))
    if seconds is None:
        return "FILE NOT FOUND"
    call.start_prompt(seconds, target)
    start = call.clock.now()
    while True:
        remaining = seconds - call.clock.since(start)
        if remaining <= 0:
            break
        digit = call.wait_dtmf(remaining)
        if digit is None:
            break
        if collect is not None:
            collect.append(digit)
            break
        if digit in terminators:
            call.channel.set_var("playback_terminator_used", digit)
            break
    played = min(seconds, call.clock.since(start))
    samples = int(played * media.RATE)
    call.channel.set_var("playback_seconds", str(int(played)))
    call.channel.set_var("playback_ms", str(int(played * 1000)))
    call.channel.set_var("playback_samples", str(samples))
    return "FILE PLAYED"


@application("playback")
def app_playback(call: Call, arg: str) -> None:
    call.channel.set_var("playback_terminator_used", "")
    terminators = _terminators(call)
    response = play_prompt(call, arg.strip(), terminators=terminators)
    call.channel.set_var("current_application_response", response)


@application("speak")
def app_speak(call: Call, arg: str) -> None:
    text = arg.split("|")[-1]
    play_prompt(call, "say:" + text, terminators=_terminators(call))


@application("say")
def app_say(call: Call, arg: str) -> None:
    words = arg.split(" ", 4)
    play_prompt(call, "say:" + (words[-1] if words else ""), terminators=_terminators(call))


@application("phrase")
def app_phrase(call: Call, arg: str) -> None:
    play_prompt(call, "say:" + arg, terminators=_terminators(call))
    call.channel.set_var("current_application_response", "PHRASE PLAYED")


# --------------------------------------------------------------------------- digits
def read_digits(call: Call, min_digits: int, max_digits: int, prompt: str, var_name: str,
                timeout_ms: int, terminators: str, digit_timeout_ms: int) -> tuple[str, str]:
    """``switch_ivr_read``: returns (digits, status) with status success/timeout/too_small."""
    ch = call.channel
    ch.set_var("read_result", None)
    ch.set_var("read_terminator_used", None)
    digits: list[str] = []
    terminator = ""
    if prompt:
        play_prompt(call, prompt, collect=digits)
        if digits and digits[-1] in terminators:
            terminator = digits.pop()
    status = "success"
    while not terminator and len(digits) < max_digits:
        wait_ms = digit_timeout_ms if digits else timeout_ms
        digit = call.wait_dtmf(wait_ms / 1000.0)
        if digit is None:
            status = "timeout"
            break
        if digit in terminators:
            terminator = digit
            break
        digits.append(digit)
    if terminator:
        ch.set_var("read_terminator_used", terminator)
    text = "".join(digits)
    ch.set_var(var_name, text)
    if status == "timeout" and len(text) >= min_digits and text:
        status = "success"
    if status == "success" and len(text) < min_digits:
        status = "too_small"
    ch.set_var("read_result", {"success": "success", "timeout": "timeout"}.get(status, "failure"))
    return text, status


@application("play_and_get_digits")
def app_play_and_get_digits(call: Call, arg: str) -> None:
    """``<min> <max> <tries> <timeout ms> <terminators> <file> <invalid_file> <var_name>
    <regexp> [<digit_timeout ms>] [<transfer_on_failure>]`` (switch_play_and_get_digits)."""
    args = split_args(arg)
    if len(args) < 6:
        log.error("call %s: play_and_get_digits: not enough arguments: %r", call.uuid, arg)
        return
    min_d, max_d, tries, timeout = (int(x) for x in args[:4])
    terminators, prompt = args[4], args[5]
    invalid = args[6] if len(args) > 6 else ""
    var_name = args[7] if len(args) > 7 else "pagd_input"
    regex = args[8] if len(args) > 8 else ""
    digit_timeout = int(args[9]) if len(args) > 9 and args[9].isdigit() else timeout
    if terminators.lower() == "none":
        terminators = ""
    ch = call.channel
    if regex:
        ch.set_var(f"{var_name}_invalid", None)
    while tries > 0 and not ch.down:
        text, status = read_digits(call, min_d, max_d, prompt, var_name, timeout, terminators, digit_timeout)
        if status == "success" and text:
            if not regex or re.search(regex, text):
                return
            ch.set_var(var_name, None)
            ch.set_var(f"{var_name}_invalid", text)
        if min_d == 0 and not text and ch.variables.get("read_terminator_used"):
            return
        if invalid:
            play_prompt(call, invalid)
        tries -= 1


@application("read")
def app_read(call: Call, arg: str) -> None:
    """``<min> <max> <sound file> <variable name> <timeout ms> <terminators>``."""
    args = split_args(arg)
    min_d, max_d = int(args[0]), int(args[1])
    prompt, var_name = args[2], args[3]
    timeout = int(args[4]) if len(args) > 4 else 5000
    terminators = args[5] if len(args) > 5 else "#"
    read_digits(call, min_d, max_d, prompt, var_name, timeout, terminators, timeout)


# --------------------------------------------------------------------------- recording
@application("record")
def app_record(call: Call, arg: str) -> None:
    """``<path> [<time_limit_secs>] [<silence_thresh>] [<silence_hits>]``: writes a real WAV
    of what the callee says, ended by the limit, by silence, by a terminator or by hangup."""
    args = split_args(arg)
    if not args:
        return
    path = args[0]
    limit = float(args[1]) if len(args) > 1 and args[1].isdigit() else 0.0
    thresh = int(args[2]) if len(args) > 2 and args[2].isdigit() else 0
    hits = float(args[3]) if len(args) > 3 and args[3].isdigit() else 0.0
    index = call.record_count
    call.record_count += 1
    text = call.callee.speech_for_record(index)
    speech = media.synthesize(text) if text else None
    offset = 0.0 if (call.callee.greeting and index == 0) else call.callee.speech_offset
    speech_seconds = len(speech) / (media.RATE * media.SAMPLE_WIDTH) if speech else 0.0
    end = limit if limit > 0 else float("inf")
    if thresh:
        silence_hits = hits or 3.0
        end = min(end, offset + speech_seconds + silence_hits if speech else silence_hits)
    call.fire("RECORD_START", {"Record-File-Path": path})
    terminators = _terminators(call)
    start = call.clock.now()
    cause = "success-maxtime"
    try:
        while True:
            remaining = end - call.clock.since(start)
            if remaining <= 0:
                cause = "success-silence" if thresh and (limit <= 0 or end < limit) else "success-maxtime"
                break
            digit = call.wait_dtmf(None if remaining == float("inf") else remaining)
            if digit is None:
                continue
            if digit in terminators:
                call.channel.set_var("playback_terminator_used", digit)
                cause = "success-terminator"
                break
    except (ChannelHangup, AppBreak):
        cause = "success-hangup"
    _finish_recording(call, path, call.clock.since(start), speech, offset)
    call.channel.set_var("record_completion_cause", cause)


def _finish_recording(call: Call, path: str, seconds: float, speech: Optional[bytes], offset: float,
                      event_extra: Optional[dict[str, str]] = None) -> None:
    pcm = media.compose(seconds, speech, offset)
    media.write_wav(path, pcm)
    samples = len(pcm) // media.SAMPLE_WIDTH
    ch = call.channel
    ch.set_var("record_seconds", str(samples // media.RATE))
    ch.set_var("record_ms", str(samples // (media.RATE // 1000)))
    ch.set_var("record_samples", str(samples))
    extra = {"Record-File-Path": path}
    if event_extra:
        extra.update(event_extra)
    call.fire("RECORD_STOP", extra)


def start_session_recording(call: Call, path: str, limit: float) -> None:
    """``uuid_record start`` / ``record_session``: a media bug writing until stop/limit/hangup."""
    call.recordings[path] = call.clock.now()
    call.fire("RECORD_START", {"Record-File-Path": path})
    if limit > 0:
        call.spawn_helper(limit, stop_session_recording, call, path)


def stop_session_recording(call: Call, path: str) -> bool:
    start = call.recordings.pop(path, None)
    if start is None:
        return False
    _finish_recording(call, path, call.clock.since(start), None, 0.0)
    return True


@application("record_session")
def app_record_session(call: Call, arg: str) -> None:
    args = split_args(arg)
    if args:
        start_session_recording(call, args[0], float(args[1]) if len(args) > 1 and args[1].isdigit() else 0.0)


@application("stop_record_session")
def app_stop_record_session(call: Call, arg: str) -> None:
    for path in ([arg.strip()] if arg.strip() and arg.strip() != "all" else list(call.recordings)):
        stop_session_recording(call, path)


# --------------------------------------------------------------------------- call control
@application("answer")
def app_answer(call: Call, arg: str) -> None:
    call.answer()


@application("park")
def app_park(call: Call, arg: str) -> None:
    """Parks until hangup, running ``sendmsg`` executes meanwhile (``switch_ivr_park``)."""
    call.park()


@application("pre_answer", "ring_ready", "wait_for_answer", "log", "info", "event")
def app_noop(call: Call, arg: str) -> None:
    return None


@application("sleep")
def app_sleep(call: Call, arg: str) -> None:
    ms = int(re.match(r"\d*", arg.strip()).group(0) or 0)  # type: ignore[union-attr]
    eat = call.channel.variables.get("sleep_eat_digits", "").lower() == "true"
    if eat:
        call.channel.set_var("playback_terminator_used", "")
    start = call.clock.now()
    while True:
        remaining = ms / 1000.0 - call.clock.since(start)
        if remaining <= 0:
            return
        if eat:
            call.wait_dtmf(remaining)
        else:
            call.sleep(remaining)


@application("hangup")
def app_hangup(call: Call, arg: str) -> None:
    call.hangup((arg.strip() or "NORMAL_CLEARING").upper())


@application("set", "export")
def app_set(call: Call, arg: str) -> None:
    name, _, value = arg.partition("=")
    if name.startswith("nolocal:"):
        return
    call.channel.set_var(name.strip(), value)


@application("unset")
def app_unset(call: Call, arg: str) -> None:
    call.channel.set_var(arg.strip(), None)


@application("bridge")
def app_bridge(call: Call, arg: str) -> None:
    """Transfer to another scripted callee: it rings, then fails with its cause or talks for
    ``bridge_talk_seconds`` (default 5) and hangs up."""
    target = call.emulator.callees.resolve(arg.strip())
    ch = call.channel
    timeout = float(ch.variables.get("call_timeout", ch.variables.get("originate_timeout", "60")))
    if target.failure_cause or target.never_answers or target.ring_seconds >= timeout:
        call.sleep(min(target.ring_seconds if not target.never_answers else timeout, timeout))
        cause = target.failure_cause or "NO_ANSWER"
        ch.set_var("originate_disposition", cause)
        ch.set_var("DIALSTATUS", {"USER_BUSY": "BUSY", "NO_ANSWER": "NOANSWER"}.get(cause, cause))
        ch.set_var("last_bridge_hangup_cause", cause)
        return
    call.sleep(target.ring_seconds)
    other = str(uuidlib.uuid4())
    ch.set_var("bridge_to", other)
    ch.set_var("last_bridge_to", other)
    call.fire("CHANNEL_BRIDGE", {"Bridge-A-Unique-ID": call.uuid, "Bridge-B-Unique-ID": other})
    try:
        call.sleep(float(target.extra.get("talk_seconds") or ch.variables.get("bridge_talk_seconds", "5")))
    finally:
        ch.set_var("last_bridge_hangup_cause", "NORMAL_CLEARING")
        ch.set_var("originate_disposition", "SUCCESS")
        if not ch.down:
            call.fire("CHANNEL_UNBRIDGE", {"Bridge-A-Unique-ID": call.uuid, "Bridge-B-Unique-ID": other})


@application("callcenter")
def app_callcenter(call: Call, arg: str) -> None:
    """mod_callcenter's ``callcenter <queue>[@<domain>]``, reduced to one agent per queue
    (``emulator.queues``: queue name → agent callee). Sets ``cc_cause`` (``answered`` once
    bridged, ``cancel`` otherwise) and ``cc_cancel_reason`` (``NO_AGENT_TIMEOUT``), like
    mod_callcenter; the agent talks as in ``bridge``."""
    queue = arg.strip().split("@", 1)[0]
    agent = call.emulator.queues.get(queue)
    ch = call.channel
    ch.set_var("cc_queue", arg.strip())
    ch.set_var("cc_queue_joined_epoch", str(int(call.clock.now())))
    if agent is None:
        log.error("call %s: callcenter: queue %s not found", call.uuid, queue)
        ch.set_var("cc_cause", "cancel")
        ch.set_var("cc_cancel_reason", "NO_AGENT_TIMEOUT")
        return
    app_bridge(call, "loopback/" + agent)
    if ch.variables.get("originate_disposition") == "SUCCESS":
        ch.set_var("cc_cause", "answered")
        ch.set_var("cc_agent", agent)
        ch.set_var("cc_queue_answered_epoch", str(int(call.clock.now())))
    else:
        ch.set_var("cc_cause", "cancel")
        ch.set_var("cc_cancel_reason", "NO_AGENT_TIMEOUT")


@application("amd")
def app_amd(call: Call, arg: str) -> None:
    """mod_amd convention: sets ``amd_result`` (HUMAN / MACHINE / NOTSURE) and ``amd_cause``."""
    call.sleep(call.callee.amd_seconds)
    call.channel.set_var("amd_result", call.callee.amd_result)
    call.channel.set_var("amd_cause", call.callee.amd_cause)


@application("wait_for_silence")
def app_wait_for_silence(call: Call, arg: str) -> None:
    args = split_args(arg)
    timeout_ms = int(args[3]) if len(args) > 3 and args[3].isdigit() else 0
    speaking = len(call.callee.greeting) * 0.075 if call.callee.greeting else 0.0
    call.sleep(min(speaking + 0.5, timeout_ms / 1000.0) if timeout_ms else speaking + 0.5)


@application("socket")
def app_socket(call: Call, arg: str) -> None:
    """``<host>[:<port>][|<host2>...] [async] [full]``: connect out like mod_event_socket."""
    words = arg.split()
    if not words:
        log.error("call %s: socket: Parse Error!", call.uuid)
        return
    flags = {w.lower() for w in words[1:]}
    sock = None
    for host in words[0].split("|"):
        name, _, port_text = host.rpartition(":") if ":" in host else (host, "", "8084")
        call.channel.set_var("socket_host", name)
        try:
            sock = socket.create_connection((name, int(port_text)), timeout=call.emulator.socket_connect_timeout)
            sock.settimeout(None)
            break
        except OSError as exc:
            log.error("call %s: socket: cannot connect to %s: %s", call.uuid, host, exc)
    if sock is None:
        return
    listener = call.emulator.attach_outbound(sock, call, full="full" in flags, async_mode="async" in flags)
    if "async" not in flags:
        gevent.wait([listener.finished, call.hungup], count=1)
        return
    gevent.wait([listener.connected, listener.finished, call.hungup], count=1, timeout=25)
    if call.channel.down or not listener.connected.is_set():
        return
    call.park()
