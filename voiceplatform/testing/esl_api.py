"""API commands (``api`` / ``bgapi``) with mod_commands' exact reply texts."""

from __future__ import annotations

import logging
import uuid as uuidlib
from typing import TYPE_CHECKING, Callable, Optional

import gevent

from voiceplatform.testing.esl_callees import callee_name
from voiceplatform.testing.esl_channel import Channel

if TYPE_CHECKING:
    from voiceplatform.testing.esl_listener import Listener
    from voiceplatform.testing.freeswitch import FreeSwitchEmulator

log = logging.getLogger(__name__)

ORIGINATE_SYNTAX = "<call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]"
KILL_SYNTAX = "<uuid> [cause]"
RECORD_SYNTAX = "<uuid> [start|stop|mask|unmask] <path> [<limit>] [<recording_vars>]"


def separate_string(text: str) -> list[str]:
    """``switch_separate_string(.., ' ', ..)``: spaces split, quotes group (and are removed),
    ``{...}`` and ``(...)`` groups stay whole."""
    out: list[str] = []
    cur: list[str] = []
    quote: Optional[str] = None
    depth = 0
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
            else:
                cur.append(ch)
            continue
        if ch in "'\"":
            quote = ch
            continue
        if ch in "{(":
            depth += 1
        elif ch in "})" and depth:
            depth -= 1
        if ch == " " and not depth:
            if cur:
                out.append("".join(cur))
                cur = []
            continue
        cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out


def parse_channel_vars(dial: str) -> tuple[dict[str, str], str]:
    """``{a=1,b='x y'}sofia/...`` → ({a: 1, b: x y}, "sofia/...")."""
    variables: dict[str, str] = {}
    while dial[:1] in ("{", "[", "<") and ("}" in dial or "]" in dial or ">" in dial):
        close = {"{": "}", "[": "]", "<": ">"}[dial[0]]
        end = dial.index(close)
        body, dial = dial[1:end], dial[end + 1 :]
        for item in _split_commas(body):
            name, _, value = item.partition("=")
            if name:
                variables[name.strip()] = value.strip().strip("'\"")
    return variables, dial


def _split_commas(body: str) -> list[str]:
    items: list[str] = []
    cur: list[str] = []
    quote: str | None = None
    for ch in body:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = None
            continue
        if ch in "'\"":
            quote = ch
        if ch == "," and quote is None:
            items.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    if cur:
        items.append("".join(cur))
    return items


def channel_name_for(dial: str) -> str:
    if dial.startswith("loopback/"):
        return dial + "-a"
    return dial


class ApiCommands:
    def __init__(self, emulator: "FreeSwitchEmulator") -> None:
        self.emulator = emulator
        self.commands: dict[str, Callable[[str, Optional["Listener"]], str]] = {
            "originate": self.originate,
            "uuid_kill": self.uuid_kill,
            "uuid_record": self.uuid_record,
            "uuid_exists": self.uuid_exists,
            "uuid_getvar": self.uuid_getvar,
            "uuid_setvar": self.uuid_setvar,
            "uuid_break": self.uuid_break,
            "uuid_send_dtmf": self.uuid_send_dtmf,
            "uuid_answer": self.uuid_answer,
            "status": self.status,
            "show": self.show,
            "version": self.version,
            "hupall": self.hupall,
            "uptime": self.uptime,
            "global_getvar": self.global_getvar,
            "echo": lambda arg, _l: arg,
        }

    def execute(self, cmd: str, arg: str, listener: Optional["Listener"]) -> str:
        """``switch_api_execute``; unknown commands answer like FreeSWITCH's api_exec()."""
        func = self.commands.get(cmd.lower())
        if func is None:
            return f"-ERR {cmd} Command not found!\n"
        return func(arg.strip(), listener)

    def execute_background(self, cmd: str, arg: str, job_uuid: str, owner: Optional[str],
                           listener: Optional["Listener"]) -> gevent.Greenlet:
        def run() -> None:
            body = self.execute(cmd, arg, listener) or "Command returned no output!"
            event = self.emulator.events.create("BACKGROUND_JOB")
            event.headers["Job-UUID"] = job_uuid
            event.headers["Job-Owner-UUID"] = owner or ""
            event.headers["Job-Command"] = cmd
            if arg:
                event.headers["Job-Command-Arg"] = arg
            event.body = body
            self.emulator.fire(event)

        return self.emulator.spawn(run)

    # ------------------------------------------------------------------ commands
    def originate(self, arg: str, listener: Optional["Listener"]) -> str:
        argv = separate_string(arg)
        if len(argv) < 2 or len(argv) > 7:
            return f"-USAGE: {ORIGINATE_SYNTAX}\n"
        argv = [None if a.lower() == "undef" else a for a in argv]  # type: ignore[misc]
        aleg, exten = argv[0], argv[1]
        if not aleg or not exten:
            return f"-USAGE: {ORIGINATE_SYNTAX}\n"
        variables, dial = parse_channel_vars(aleg)
        dial = dial.split("|", 1)[0].split(",", 1)[0]
        timeout = 60.0
        if len(argv) > 6 and argv[6]:
            timeout = float(argv[6])
        for name in ("originate_timeout", "call_timeout"):
            if variables.get(name, "").isdigit():
                timeout = float(variables[name])
                break
        application: Optional[tuple[str, str]] = None
        if exten.startswith("&") and len(exten) > 1:
            name, _, rest = exten[1:].partition("(")
            application = (name, rest.rsplit(")", 1)[0] if rest else "")
        call_uuid = variables.get("origination_uuid") or str(uuidlib.uuid4())
        if self.emulator.find_call(call_uuid):
            return "-ERR ORIGINATOR_CANCEL\n"
        channel = Channel(
            uuid=call_uuid,
            name=channel_name_for(dial),
            destination=callee_name(dial),
            caller_id_name=variables.get("origination_caller_id_name") or (argv[4] if len(argv) > 4 and argv[4] else "voiceplatform"),
            caller_id_number=variables.get("origination_caller_id_number") or (argv[5] if len(argv) > 5 and argv[5] else "0000000000"),
            context=argv[3] if len(argv) > 3 and argv[3] else "default",
            dialplan=argv[2] if len(argv) > 2 and argv[2] else "XML",
        )
        channel.variables.update({
            "direction": "outbound", "uuid": call_uuid, "call_uuid": call_uuid,
            "session_id": str(self.emulator.next_session_id()), "channel_name": channel.name,
        })
        channel.variables.update(variables)
        channel.variables.update({"read_codec": "PCMU", "read_rate": "8000", "write_codec": "PCMU", "write_rate": "8000"})
        if self.emulator.sound_prefix and "sound_prefix" not in channel.variables:
            channel.variables["sound_prefix"] = self.emulator.sound_prefix
        callee = self.emulator.callees.resolve(dial)
        call = self.emulator.start_call(channel, callee, application, timeout)
        reply: str = call.result.get()  # type: ignore[assignment]  # blocks like switch_ivr_originate(); types-gevent: get() may return None, not with block=True
        return reply

    def uuid_kill(self, arg: str, listener: Optional["Listener"]) -> str:
        if not arg:
            return f"-USAGE: {KILL_SYNTAX}\n"
        uuid, _, cause = arg.partition(" ")
        call = self.emulator.find_call(uuid)
        if call is None or call.channel.down:
            return "-ERR No such channel!\n"
        call.hangup((cause.strip() or "NORMAL_CLEARING").upper())
        return "+OK\n"

    def uuid_record(self, arg: str, listener: Optional["Listener"]) -> str:
        from voiceplatform.testing.esl_apps import start_session_recording, stop_session_recording

        argv = arg.split()
        if len(argv) < 3:
            return f"-USAGE: {RECORD_SYNTAX}\n"
        uuid, action, path = argv[0], argv[1].lower(), argv[2]
        call = self.emulator.find_call(uuid)
        if call is None or call.channel.down:
            return "-ERR Cannot locate session!\n"
        if action == "start":
            limit = float(argv[3]) if len(argv) > 3 and argv[3].isdigit() else 0.0
            start_session_recording(call, path, limit)
            return "+OK Success\n"
        if action == "stop":
            stopped = False
            for target in (list(call.recordings) if path == "all" else [path]):
                stopped = stop_session_recording(call, target) or stopped
            return "+OK Success\n" if stopped else "-ERR Cannot stop record session!\n"
        if action in ("mask", "unmask", "pause", "resume"):
            return "+OK Success\n"
        return f"-USAGE: {RECORD_SYNTAX}\n"

    def uuid_exists(self, arg: str, listener: Optional["Listener"]) -> str:
        call = self.emulator.find_call(arg)
        return "true" if call is not None and not call.done.is_set() else "false"

    def uuid_getvar(self, arg: str, listener: Optional["Listener"]) -> str:
        uuid, _, name = arg.partition(" ")
        call = self.emulator.find_call(uuid)
        if call is None:
            return "-ERR No such channel!\n"
        return call.channel.variables.get(name.strip(), "_undef_")

    def uuid_setvar(self, arg: str, listener: Optional["Listener"]) -> str:
        parts = arg.split(" ", 2)
        call = self.emulator.find_call(parts[0]) if parts else None
        if call is None:
            return "-ERR No such channel!\n"
        if len(parts) < 2:
            return "-ERR Syntax error!\n"
        call.channel.set_var(parts[1], parts[2] if len(parts) > 2 else None)
        return "+OK Success\n"

    def uuid_break(self, arg: str, listener: Optional["Listener"]) -> str:
        call = self.emulator.find_call(arg.split(" ", 1)[0])
        if call is None:
            return "-ERR No such channel!\n"
        call.break_app()
        return "+OK Success\n"

    def uuid_send_dtmf(self, arg: str, listener: Optional["Listener"]) -> str:
        uuid, _, digits = arg.partition(" ")
        call = self.emulator.find_call(uuid)
        if call is None:
            return "-ERR No such channel!\n"
        for digit in digits.split("@", 1)[0].strip():
            call.receive_dtmf(digit)
        return "+OK Success\n"

    def uuid_answer(self, arg: str, listener: Optional["Listener"]) -> str:
        call = self.emulator.find_call(arg)
        if call is None:
            return "-ERR No such channel!\n"
        call.answer()
        return "+OK\n"

    def hupall(self, arg: str, listener: Optional["Listener"]) -> str:
        cause = (arg.split(" ", 1)[0] or "MANAGER_REQUEST").upper()
        for call in self.emulator.active_calls():
            call.hangup(cause)
        return "+OK hangup all channels with cause " + cause + "\n"

    def status(self, arg: str, listener: Optional["Listener"]) -> str:
        up = self.emulator.clock.now() - self.emulator.started_at
        days, rem = divmod(int(up), 86400)
        hours, rem = divmod(rem, 3600)
        minutes, seconds = divmod(rem, 60)
        ms = int((up - int(up)) * 1000)

        def plural(n: int, unit: str) -> str:
            return f"{n} {unit}{'' if n == 1 else 's'}"

        ident = self.emulator.identity
        active = len(self.emulator.active_calls())
        return (
            f"UP {plural(0, 'year')}, {plural(days, 'day')}, {plural(hours, 'hour')}, "
            f"{plural(minutes, 'minute')}, {plural(seconds, 'second')}, {plural(ms, 'millisecond')}, "
            f"{plural(0, 'microsecond')}\n"
            f"FreeSWITCH (Version {ident.version.split('+', 1)[0]} {ident.version_human}) is ready\n"
            f"{self.emulator.session_count} session(s) since startup\n"
            f"{active} session(s) - peak {self.emulator.peak_sessions}, last 5min {self.emulator.peak_sessions} \n"
            f"0 session(s) per Sec out of max 30, peak 0, last 5min 0 \n"
            f"{self.emulator.max_sessions} session(s) max\n"
            f"min idle cpu 0.00/99.00\n"
            f"Current Stack Size/Max 240K/8192K\n"
        )

    def version(self, arg: str, listener: Optional["Listener"]) -> str:
        ident = self.emulator.identity
        if arg.strip().lower() == "short":
            return ident.version.split("-", 1)[0] + "\n"
        return f"FreeSWITCH Version {ident.version} ({ident.version_human})\n"

    def uptime(self, arg: str, listener: Optional["Listener"]) -> str:
        return str(int(self.emulator.clock.now() - self.emulator.started_at))

    def global_getvar(self, arg: str, listener: Optional["Listener"]) -> str:
        return self.emulator.global_vars.get(arg.strip(), "")

    def show(self, arg: str, listener: Optional["Listener"]) -> str:
        words = arg.lower().split()
        if not words or words[0] not in ("channels", "calls"):
            return "-USAGE: codec|endpoint|application|api|dialplan|file|timer|calls [count]|channels [count|like <match string>]|calls|detailed_calls|bridged_calls|detailed_bridged_calls|aliases|complete|chat|management|modules|nat_map|say|interfaces|interface_types|tasks|limits|status\n"
        calls = self.emulator.active_calls()
        if not calls or (len(words) > 1 and words[1] == "count"):
            return f"\n{len(calls)} total.\n"
        lines = ["uuid,direction,created,created_epoch,name,state,cid_name,cid_num,dest,application,application_data,callstate"]
        for call in calls:
            ch = call.channel
            lines.append(",".join([
                ch.uuid, ch.direction, str(ch.created_us // 1_000_000), str(ch.created_us // 1_000_000),
                ch.name, ch.state, ch.caller_id_name, ch.caller_id_number, ch.destination,
                ch.variables.get("current_application", ""), ch.variables.get("current_application_data", ""),
                ch.callstate,
            ]))
        return "\n".join(lines) + f"\n\n{len(calls)} total.\n"
