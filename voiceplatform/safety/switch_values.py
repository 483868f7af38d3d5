"""The one validator for every value that reaches a telephone switch or a carrier.

AMI (Asterisk) and ESL (FreeSWITCH) are line protocols: a carriage return or a line feed inside a
value ends the header and starts another one, and an empty line ends the action, so a caller id
such as ``"x\\r\\n\\r\\nAction: Originate\\r\\nApplication: System"`` becomes a second action. Dial
strings and FreeSWITCH's ``{var=value}`` prefix have their own separators (``&`` adds a channel,
``,`` adds options, ``}`` ends the variables, ``'`` ends a quoted value). Rather than escape each
syntax, every value is checked against what it may be, and anything else is refused with an
:class:`~voiceplatform.exceptions.UnsafeValueError` naming the field.

The checks run twice, at both edges:

- at the API edge (``POST /calls``, campaign settings) so a client gets a 400 naming the field;
- at the drivers' serialisation points (:func:`ami_action`, :func:`esl_command`,
  :func:`agi_command`), which every byte written to a switch passes, so a value rendered at run
  time (a flow's transfer target or caller id) or a future code path cannot bypass them.

Maxima (characters):

========================  ====  ===========================================================
what                      max   why
========================  ====  ===========================================================
destination / number      64    E.164 is 15 digits; the lab's callee names are ~20
caller id (whole)         80    ``"name" <number>``; carriers truncate names far earlier
caller id name            48
channel variable name     64
channel variable value    1024
SIP / dial target         128   ``PJSIP/agent-7@pbx.example``
queue name                64
AMI / ESL header value    1024  (a caller id, a dial string, ``Variable: a=b``)
ESL command / AGI line    4096  an originate with its variables, a sendmsg, one AGI command
========================  ====  ===========================================================

This module is pure (standard library only), so the flow engine and the API may both import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from voiceplatform.exceptions import UnsafeValueError

MAX_NUMBER_CHARS = 64
MAX_CALLER_ID_CHARS = 80
MAX_CALLER_NAME_CHARS = 48
MAX_VARIABLE_NAME_CHARS = 64
MAX_VARIABLE_VALUE_CHARS = 1024
MAX_DIAL_TARGET_CHARS = 128
MAX_QUEUE_CHARS = 64
MAX_HEADER_VALUE_CHARS = 1024
MAX_COMMAND_CHARS = 4096
#: How much of a refused value an error message quotes (never megabytes back).
QUOTE_CHARS = 40

# A number or the name of a callee: digits, letters, and the few signs numbers use. No "@"
# (it would pick another dialplan context: Local/{number}@customers), no "/" (another
# technology), no "&" "," "|" (another channel, options), no spaces or quotes.
_NUMBER = re.compile(r"[A-Za-z0-9+*#][A-Za-z0-9+*#._-]*")
# A caller-id name: letters and digits of any script, spaces and . - _ only.
_NAME_CHAR = re.compile(r"[\w .-]")
# "Name" <number>, Name <number>, <number>, or a bare number.
_CALLER_ID = re.compile(r'(?:"(?P<qname>[^"]*)"|(?P<name>[^"<>]*?))\s*<(?P<bracketed>[^<>]*)>|(?P<bare>[^"<>]*)')
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A dial target given as is (a flow's ``sip:``): technology/resource[@host][:port][;param]. No "&" ","
# "|" "(" ")" "$" "{" "}" quotes or spaces, which would add channels, options or expansions.
_DIAL_TARGET = re.compile(r"[A-Za-z0-9][A-Za-z0-9+*#._:;%@/=-]*")
_QUEUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# C0 controls (CR, LF, NUL, tab...), DEL and C1 (NEL...), the Unicode line and paragraph
# separators, and lone surrogates (not encodable as UTF-8).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_HEADER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_EXPANSION = re.compile(r"\$\{|\$\[|\$\(")
#: ESL commands that may carry header lines after their first line.
ESL_COMMANDS_WITH_HEADERS = frozenset({"sendmsg", "sendevent", "bgapi"})


@dataclass(frozen=True, slots=True)
class CallerId:
    """A caller id split into its parts; ``str()`` is the AMI form ``"name" <number>``."""

    number: str
    name: str = ""

    def __str__(self) -> str:
        return f'"{self.name}" <{self.number}>' if self.name else self.number


def _quote(value: str) -> str:
    """The start of a refused value, for an error message."""
    shown = value[:QUOTE_CHARS]
    return repr(shown) + ("..." if len(value) > QUOTE_CHARS else "")


def _refuse(field: str, message: str) -> UnsafeValueError:
    return UnsafeValueError(field, message)


def plain_text(value: object, field: str, max_chars: int) -> str:
    """``value`` as a string with no control character (CR, LF, NUL, tab, DEL, C1, U+2028/9),
    no lone surrogate and at most ``max_chars`` characters; else UnsafeValueError."""
    if not isinstance(value, str):
        raise _refuse(field, f"must be a string, not {type(value).__name__}")
    # The control characters first (within the allowed length, so a huge value costs nothing):
    # they are the attack, and the more useful message.
    found = _CONTROL.search(value, 0, max_chars + 1)
    if found is not None:
        char = found.group()
        what = {"\r": "a carriage return (CR)", "\n": "a line feed (LF)", "\x00": "a NUL byte"}.get(
            char, f"the control character U+{ord(char):04X}")
        raise _refuse(field, f"holds {what} at position {found.start()}; control characters are not allowed")
    if len(value) > max_chars:
        raise _refuse(field, f"is {len(value)} characters long; at most {max_chars} are allowed")
    return value


def _matching(value: object, field: str, max_chars: int, pattern: re.Pattern[str], what: str) -> str:
    text = plain_text(value, field, max_chars)
    if not text:
        raise _refuse(field, f"must not be empty ({what})")
    if not pattern.fullmatch(text):
        bad = next((c for c in text if not pattern.fullmatch(c) and not pattern.fullmatch("a" + c)), None)
        detail = f": {bad!r} is not allowed" if bad is not None else ""
        raise _refuse(field, f"{_quote(text)} is not {what}{detail}")
    return text


def destination(value: object, field: str = "to") -> str:
    """A number to dial, or a callee's name (the lab's ``answer-press-1``): letters, digits and
    ``+ * # . _ -``, at most 64 characters."""
    return _matching(value, field, MAX_NUMBER_CHARS, _NUMBER,
                     "a phone number or callee name (letters, digits, + * # . _ -)")


def caller_id(value: object, field: str = "caller_id") -> CallerId:
    """``"Name" <number>``, ``Name <number>``, ``<number>`` or a bare number; at most 80
    characters in all. The number follows :func:`destination`; the name holds letters, digits,
    spaces and ``. _ -`` only (no quotes, commas, braces or angle brackets)."""
    text = plain_text(value, field, MAX_CALLER_ID_CHARS)
    match = _CALLER_ID.fullmatch(text.strip())
    if match is None:
        raise _refuse(field, f"{_quote(text)} is not a caller id (\"Name\" <number>, or a number)")
    number = match.group("bracketed") if match.group("bracketed") is not None else match.group("bare")
    name = (match.group("qname") if match.group("qname") is not None else match.group("name") or "").strip()
    checked = destination((number or "").strip(), field)
    if len(name) > MAX_CALLER_NAME_CHARS:
        raise _refuse(field, f"its name is {len(name)} characters long; at most {MAX_CALLER_NAME_CHARS} are allowed")
    bad = next((c for c in name if not _NAME_CHAR.fullmatch(c)), None)
    if bad is not None:
        raise _refuse(field, f"its name holds {bad!r}; a caller id name holds letters, digits, spaces and . _ - only")
    return CallerId(checked, name)


def caller_id_text(value: object, field: str = "caller_id") -> str:
    """:func:`caller_id`, given back as the text to store (normalised)."""
    return str(caller_id(value, field))


def variable_name(value: object, field: str = "variable") -> str:
    """A channel variable's name: ``[A-Za-z_][A-Za-z0-9_]*``, at most 64 characters."""
    return _matching(value, field, MAX_VARIABLE_NAME_CHARS, _VARIABLE_NAME,
                     "a channel variable name ([A-Za-z_][A-Za-z0-9_]*)")


def variable_value(value: object, field: str = "variable") -> str:
    """A channel variable's value: plain text of at most 1024 characters with no ``'`` (it would
    end FreeSWITCH's quoting), no ``{`` ``}`` (FreeSWITCH's variable block), no leading ``^^``
    (a FreeSWITCH delimiter change) and no ``${`` ``$[`` ``$(`` (expansions)."""
    text = plain_text(value, field, MAX_VARIABLE_VALUE_CHARS)
    for char in "'{}":
        if char in text:
            raise _refuse(field, f"holds {char!r}, which is not allowed in a channel variable")
    if text.startswith("^^") or _EXPANSION.search(text):
        raise _refuse(field, "holds a variable expansion or a delimiter change (${ $[ $( ^^)")
    return text


def variables(values: Mapping[str, object], field: str = "variables") -> dict[str, str]:
    """Every name and value of a set of channel variables, checked."""
    return {variable_name(name, f"{field}.{name}"[:80]): variable_value(str(value), f"{field}.{name}")
            for name, value in values.items()}


def dial_target(value: object, field: str = "target") -> str:
    """A dial string given as is (``PJSIP/agent@pbx``, ``sofia/gateway/gw/123``): letters,
    digits and ``+ * # . _ : ; % @ / = -``, at most 128 characters; nothing that adds a channel
    (``&``), options (``,``), a choice (``|``) or an expansion."""
    return _matching(value, field, MAX_DIAL_TARGET_CHARS, _DIAL_TARGET,
                     "a dial target (letters, digits, + * # . _ : ; % @ / = -)")


def queue_name(value: object, field: str = "queue") -> str:
    """A queue's name: letters, digits and ``. _ -``, at most 64 characters."""
    return _matching(value, field, MAX_QUEUE_CHARS, _QUEUE, "a queue name (letters, digits, . _ -)")


def transfer_target(target: object, kind: str, field: str = "transfer") -> str:
    """The target of a flow's transfer, by its kind (``number``, ``sip`` or ``queue``)."""
    if kind == "number":
        return destination(target, f"{field}.number")
    if kind == "sip":
        return dial_target(target, f"{field}.sip")
    if kind == "queue":
        return queue_name(target, f"{field}.queue")
    raise _refuse(f"{field}.kind", f"{_quote(str(kind))} is not a transfer kind (number, sip, queue)")


# ---- the serialisation points --------------------------------------------------------------


def header_value(value: object, field: str) -> str:
    """One AMI or ESL header value: plain text (no CR, LF, NUL or other control character) of at
    most 1024 characters."""
    return plain_text(value, field, MAX_HEADER_VALUE_CHARS)


def ami_action(action: Mapping[str, Any]) -> dict[str, Any]:
    """An AMI action about to be written, checked: every header name is a plain token, every
    value (each item of a list, such as ``Variable``) a :func:`header_value`, so the action is
    written as exactly one block of ``Name: value`` lines. Returns it with values as strings."""
    checked: dict[str, Any] = {}
    for name, value in action.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name) or len(name) > 64:
            raise _refuse("AMI header", f"{_quote(str(name))} is not an AMI header name")
        if isinstance(value, (list, tuple)):
            checked[name] = [header_value(str(item), f"AMI {name}") for item in value]
        else:
            checked[name] = header_value(str(value), f"AMI {name}")
    if "Action" not in checked:
        raise _refuse("AMI Action", "an AMI action needs an Action header")
    return checked


def esl_command(data: str) -> str:
    """An ESL command about to be written (the client appends the blank line that ends it),
    checked so it is exactly one command: one line (``api ...``, ``getvar ...``, ``auth ...``),
    or, for ``sendmsg``, ``sendevent`` and ``bgapi`` (its ``Job-UUID``), a first line followed by
    ``Name: value`` header lines.
    No CR, NUL or other control character, no empty line, at most 4096 characters."""
    if not isinstance(data, str):
        raise _refuse("ESL command", f"must be a string, not {type(data).__name__}")
    if len(data) > MAX_COMMAND_CHARS:
        raise _refuse("ESL command", f"is {len(data)} characters long; at most {MAX_COMMAND_CHARS} are allowed")
    lines = data.split("\n")
    for number, line in enumerate(lines):
        field = "ESL command" if number == 0 else f"ESL header {line.partition(':')[0][:40]!r}"
        plain_text(line, field, MAX_COMMAND_CHARS)
        if not line.strip():
            raise _refuse(field, "holds an empty line, which would end the command early")
    first = lines[0].split(" ", 1)[0]
    if len(lines) > 1:
        if first not in ESL_COMMANDS_WITH_HEADERS:
            raise _refuse("ESL command", f"{first[:40]!r} takes one line; this one has {len(lines)}")
        for line in lines[1:]:
            name, sep, _value = line.partition(": ")
            if not sep or not _HEADER_NAME.fullmatch(name):
                raise _refuse("ESL header", f"{_quote(line)} is not a 'Name: value' header line")
    return data


def agi_command(line: str) -> str:
    """One FastAGI command line (the client appends its newline): no CR, LF, NUL or other
    control character, at most 4096 characters."""
    return plain_text(line, "AGI command", MAX_COMMAND_CHARS)
