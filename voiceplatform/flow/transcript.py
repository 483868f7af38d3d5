"""Turn outputs and inputs into the lines of a conversation transcript (what the contact hears or
reads, and what they answered)."""

from __future__ import annotations

from voiceplatform.flow.inputs import Input, InputKind
from voiceplatform.flow import outputs as out


def output_lines(output: out.Output) -> list[str]:
    if isinstance(output, out.Say):
        return [f"bot (say): {output.text}"]
    if isinstance(output, out.Play):
        return [f"bot (play {output.audio}): {output.text or ''}".rstrip(": ")]
    if isinstance(output, out.Gather):
        lines = []
        for prompt in output.prompts:
            lines.extend(output_lines(prompt))
        how = "/".join(output.modes)
        lines.append(f"bot (listening: {how}, {output.timeout:g}s, attempt {output.attempt})")
        return lines
    if isinstance(output, out.Record):
        return [f"bot (recording up to {output.max_seconds}s{', beep' if output.beep else ''})"]
    if isinstance(output, out.Send):
        lines = []
        body = output.text
        if output.template is not None:
            params = ", ".join(output.template.get("params", []))
            body = f"[template {output.template['name']}({params})] {body}".rstrip()
        target = f" to {output.to}" if output.to else ""
        lines.append(f"bot ({output.channel}{target}): {body}")
        for button in output.buttons:
            lines.append(f"    [button {button.id}] {button.title}")
        if output.list_rows:
            lines.append(f"    [list: {output.list_button}]")
            for row in output.list_rows:
                lines.append(f"    - {row.id}: {row.title}")
        if output.media:
            lines.append(f"    [media {output.media}]")
        return lines
    if isinstance(output, out.HttpRequest):
        return [f"system: {output.method} {output.url}" + (f" {output.body}" if output.body else "")]
    if isinstance(output, out.Transfer):
        return [f"system: transfer to {output.target_kind} {output.target}"]
    if isinstance(output, out.Hangup):
        return [f"system: hang up ({output.reason})"]
    if isinstance(output, out.OptOut):
        reason = f" ({output.reason})" if output.reason else ""
        return [f"system: contact opted out of {', '.join(output.channels)}{reason}"]
    if isinstance(output, out.SwitchChannel):
        return [f"system: journey moves from {output.previous} to {output.channel}"]
    return [f"system: {output.to_dict()}"]


def input_line(given: Input) -> str:
    kind = given.kind
    if kind is InputKind.DIGITS:
        return f"contact: pressed {given.value}"
    if kind is InputKind.TEXT:
        return f"contact: {given.value}"
    if kind is InputKind.SPEECH:
        return f"contact (said, {given.confidence or 0:.0%}): {given.value}"
    if kind is InputKind.RECORDING:
        transcript = given.data.get("transcript")
        said = f": {transcript}" if transcript else ""
        return f"contact (recorded {given.data.get('duration', 0):g}s){said}"
    if kind is InputKind.NO_INPUT:
        return "contact: (no input)"
    if kind is InputKind.HANGUP:
        return "contact: (hung up)"
    if kind is InputKind.TIMEOUT:
        return "contact: (no reply before the timeout)"
    if kind is InputKind.HTTP_RESPONSE:
        return f"system: HTTP {given.data.get('status')} {given.value}".rstrip()
    if kind is InputKind.TRANSFER_RESULT:
        return f"system: transfer {given.value}"
    return f"system: facts {given.data}"
