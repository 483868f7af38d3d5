"""The one exception tree of voiceplatform.

Library errors (PyYAML, Jinja2, panoramisk, greenswitch, SQLAlchemy, redis, ...) are caught at the
edge and re-raised as the most specific error below, with ``raise ... from exc`` so the cause is
kept.

    VoicePlatformError
    ├── FlowError                       anything about a flow definition or a flow session
    │   ├── FlowValidationError         a definition is broken (carries .problems, each file:line:col)
    │   └── FlowEngineError             the caller misused the engine (tier 3 of the error tiers)
    │       ├── InvalidInputError       an input the session is not waiting for
    │       ├── SessionEndedError       resume() on a session that has already ended
    │       ├── StateError              a state that cannot be read (bad JSON, unknown version,
    │       │                           another flow, a node that no longer exists)
    │       └── ChannelNotSupportedError  start() on a channel the flow does not declare
    ├── SwitchError                     talking to a telephone switch (Asterisk, FreeSWITCH)
    │   ├── SwitchConnectionError       cannot connect, or the connection dropped
    │   ├── SwitchCommandError          the switch refused or failed a command
    │   └── LabError                    the local Asterisk lab cannot be set up or started
    ├── QueueBackendError               the shared state backend (Redis: job queue, switch
    │                                   capacity leases, campaign locks) cannot be reached or
    │                                   failed a command; callers retry later
    └── InputRejectedError              a value from outside refused at the edge (.code, .field);
        │                               the API answers 400/422 naming the field
        ├── HostileJsonError            a JSON body that is not plain data: a lone surrogate,
        │                               nesting past max_json_depth, NaN/Infinity, a huge number
        ├── InvalidTimezoneError        not an IANA zone name (``localtime``, ``Factory`` refused)
        ├── InvalidLanguageError        not a language tag such as ``en`` or ``pt-BR``
        └── ValueTooLongError           a string longer than its String(n) column (.table,
                                        .column, .max_length), checked before any database sees it

Errors *inside* a running flow (a template that fails to render, a webhook that returns bad JSON)
are not exceptions: they become error events in the engine's Step and the run goes on. Fatal
problems (a loop that hits the step guard) end the run with a failure event.
"""

from __future__ import annotations

from dataclasses import dataclass


class VoicePlatformError(Exception):
    """Base class of every error voiceplatform raises on purpose."""


class FlowError(VoicePlatformError):
    """A problem with a flow definition or a flow session."""


@dataclass(frozen=True, order=True)
class Problem:
    """One problem found in a flow file, located as precisely as the YAML allows."""

    file: str
    line: int
    column: int
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else "warning: "
        return f"{self.file}:{self.line}:{self.column}: {prefix}{self.message}"


class FlowValidationError(FlowError):
    """A flow definition is broken. ``problems`` lists every error found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid flow")


class FlowEngineError(FlowError):
    """The caller misused the engine. ``code`` is a stable machine-readable identifier."""

    code = "engine_error"


class InvalidInputError(FlowEngineError):
    code = "invalid_input"


class SessionEndedError(FlowEngineError):
    code = "session_ended"


class StateError(FlowEngineError):
    code = "bad_state"


class ChannelNotSupportedError(FlowEngineError):
    code = "channel_not_supported"


class SwitchError(VoicePlatformError):
    """A problem talking to a telephone switch."""


class SwitchConnectionError(SwitchError):
    pass


class SwitchCommandError(SwitchError):
    pass


class LabError(SwitchError):
    pass


class QueueBackendError(VoicePlatformError):
    """Redis (the job queue, switch capacity leases, campaign locks) cannot be reached, timed out
    or failed a command. Transient by nature: a dialer treats it from ``acquire`` as "no slot now,
    try later" and from ``renew`` as "keep the calls going, renew again later"."""


class InputRejectedError(VoicePlatformError):
    """A value that came from outside (an API body, a form, a file, a carrier) is refused before
    it does any work. ``code`` is stable and machine-readable; ``field`` names the value (dotted,
    as the client sent it), or is None for the body as a whole."""

    code = "invalid_input"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class HostileJsonError(InputRejectedError):
    """A JSON document that is valid JSON but not plain data the platform can store and echo:
    a lone UTF-16 surrogate, nesting deeper than ``max_json_depth``, NaN or Infinity, or a number
    too long to be meant."""

    code = "bad_json"


class InvalidTimezoneError(InputRejectedError):
    """Not an IANA time zone name (voiceplatform.safety.locale.iana_zone)."""

    code = "invalid_timezone"


class InvalidLanguageError(InputRejectedError):
    """Not a BCP 47-ish language tag of at most 10 characters (voiceplatform.safety.locale)."""

    code = "invalid_language"


class ValueTooLongError(InputRejectedError):
    """A string longer than the ``String(n)`` column it is stored in (SQLite would keep it,
    PostgreSQL would fail mid-transaction)."""

    code = "too_long"

    def __init__(self, table: str, column: str, max_length: int, length: int) -> None:
        super().__init__(f"{column!r} must be at most {max_length} characters (got {length})", column)
        self.table = table
        self.column = column
        self.max_length = max_length
        self.length = length
