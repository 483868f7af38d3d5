"""The one exception tree of voiceplatform.

Library errors (PyYAML, Jinja2, panoramisk, greenswitch, SQLAlchemy, redis, ...) are caught at the
edge and re-raised as the most specific error below, with ``raise ... from exc`` so the cause is
kept.

    VoicePlatformError
    ├── FlowError                       anything about a flow definition or a flow session
    │   ├── FlowValidationError         a definition is broken (carries .problems, each file:line:col)
    │   │   └── FlowLimitError          ... because it is over a resource limit (.limit names it:
    │   │                               max_flow_bytes, max_yaml_aliases, max_yaml_values,
    │   │                               max_flow_nodes); the API answers 413 or 422
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
    ├── SmscError                       the local SMS gateway (``voiceplatform smsc``: Jasmin, its
    │                                   RabbitMQ vhost, its Redis, the handset network) cannot be
    │                                   installed, started, provisioned or reached
    ├── SmppError                       talking SMPP to an SMSC (the SMS bridge's ESME: sms_bridge)
    │   ├── SmppConnectionError         cannot connect, the bind is gone, or the SMSC stopped answering
    │   └── SmppBindError               the SMSC refused the bind (.status: the SMPP command_status)
    ├── QueueBackendError               the shared state backend (Redis: job queue, switch
    │                                   capacity leases, campaign locks) cannot be reached or
    │                                   failed a command; callers retry later
    ├── OutboundHttpError               an outbound request (webhook delivery, flow webhook node)
    │   │                               got no HTTP answer; safety.outbound_http raises it
    │   ├── OutboundRequestRefused      the policy refused the URL or a destination (scheme,
    │   │                               address after DNS, a redirect): nothing was sent there
    │   └── OutboundRequestFailed       DNS, connection, TLS or timeout: no HTTP answer came
    ├── SessionStoreError               a stored session (voiceplatform.sessions) cannot be used
    │   ├── SessionNotFoundError        no session with that id
    │   ├── SessionConflictError        another writer changed the row since it was read (the
    │   │                               row version moved); the runner retries under the lock
    │   └── ChannelUnavailableError     no driver for the channel (not registered, or the dev
    │                                   channel is switched off)
    ├── SecretsAtRestError              a secret stored encrypted cannot be decrypted (another
    │                                   data key) or the data key setting is malformed
    ├── ContactImportError              a contact import refused as a whole, nothing of it applied
    │   │                               (.status and .code: the API's answer)
    │   ├── ContactFileError            the file cannot be read as contacts (.row, .column,
    │   │   │                           .byte_offset when known); 422
    │   │   ├── ArchiveTooLargeError    an archive (.xlsx) inflating past its limits (a zip
    │   │   │                           bomb), refused before a parser inflates it; 413
    │   │   └── TooManyRejectedRowsError  more rejected rows than max_import_rejected_rows
    │   │                               (.errors lists the first); 422
    │   ├── UploadTooLargeError         a file of more than max_upload_bytes; 413
    │   ├── ContactListExistsError      the list name is taken and appending was not asked; 409
    │   └── ImportKeyReusedError        the Idempotency-Key was used for another request; 422
    ├── MessageRefusedError             a message of the messages API (voiceplatform.messages)
    │                                   refused before anything is sent (.code, .field, .status:
    │                                   the API's answer; a personalised row's own error)
    └── InputRejectedError              a value from outside refused at the edge (.code, .field);
        │                               the API answers 400/422 naming the field
        ├── HostileJsonError            a JSON body that is not plain data: a lone surrogate,
        │                               nesting past max_json_depth, NaN/Infinity, a huge number
        ├── InvalidTimezoneError        not an IANA zone name (``localtime``, ``Factory`` refused)
        ├── InvalidLanguageError        not a language tag such as ``en`` or ``pt-BR``
        ├── ValueTooLongError           a string longer than its String(n) column (.table,
        │                               .column, .max_length), checked before any database sees it
        └── UnsafeValueError            a value bound for a switch or carrier (number, caller id,
                                        channel variable, AMI/ESL header) refused by
                                        safety.switch_values (.field); also a ValueError

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


class FlowLimitError(FlowValidationError):
    """A flow (or prompts) text over a resource limit of :mod:`voiceplatform.limits`, refused
    before the expensive work. ``limit`` is the field's name."""

    def __init__(self, problems: list[Problem], limit: str) -> None:
        super().__init__(problems)
        self.limit = limit


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


class SmscError(VoicePlatformError):
    """The local SMS gateway that ``voiceplatform smsc`` runs (a real Jasmin, its RabbitMQ vhost, a
    private redis-server, the scripted handset network) cannot be installed, started, provisioned
    or reached. The message says which part and what to do."""


class SmppError(VoicePlatformError):
    """Talking SMPP to an SMSC (a gateway such as Jasmin, or a carrier): the SMS bridge's ESME
    (sms_bridge) translates smpplib's and the socket's errors into these."""


class SmppConnectionError(SmppError):
    """No connection, or it dropped, or the SMSC stopped answering (no bind_resp, no
    enquire_link_resp): the bridge reconnects with backoff."""


class SmppBindError(SmppError):
    """The SMSC refused the bind (wrong system_id or password, already bound...)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


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


class UnsafeValueError(InputRejectedError, ValueError):
    """A value bound for a switch or a carrier (a number, a caller id, a channel variable, an AMI
    or ESL header or command) refused by :mod:`voiceplatform.safety.switch_values`, at the API
    edge or at a driver's serialisation point. ``field`` names what was refused; the message says
    why, quoting at most the start of the value. A ValueError too, so pydantic validators that
    call the validator report it as a field error."""

    code = "unsafe_value"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field} {reason}", field)
        self.reason = reason


class OutboundHttpError(VoicePlatformError):
    """An outbound HTTP request (a webhook delivery, a flow's webhook node) got no HTTP answer."""


class OutboundRequestRefused(OutboundHttpError):
    """:mod:`voiceplatform.safety.outbound_http` refused the URL or its destination: not http(s),
    an address that is not globally routable (after DNS, on every redirect) and not in
    ``VOICEPLATFORM_OUTBOUND_ALLOW``. Raised before any connection to it is attempted."""


class OutboundRequestFailed(OutboundHttpError):
    """No HTTP answer: the name did not resolve, no connection could be made (closed, filtered and
    unreachable ports all read the same), TLS failed, or the time ran out."""


class SecretsAtRestError(VoicePlatformError):
    """A secret stored encrypted (:mod:`voiceplatform.safety.secrets_at_rest`) cannot be read: it
    was encrypted under another data key, or ``VOICEPLATFORM_DATA_KEY`` is not 32 bytes of base64."""


class ContactImportError(VoicePlatformError):
    """A contact import refused as a whole: the import is one transaction, so nothing of it was
    applied. ``status`` and ``code`` are the API's answer; row problems are not errors (they go
    in the import's report)."""

    status = 422
    code = "import_refused"


class ContactFileError(ContactImportError):
    """The file cannot be read as contacts (not UTF-8, not a spreadsheet, no phone column, a
    header that repeats a name, too many rows or columns). ``row`` (as a spreadsheet counts,
    the header is 1), ``column`` (1-based) and ``byte_offset`` (0-based, in the file) locate it
    when they are known."""

    code = "unreadable_file"

    def __init__(self, message: str, *, row: int | None = None, column: int | None = None,
                 byte_offset: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.row = row
        self.column = column
        self.byte_offset = byte_offset

    def location(self) -> dict[str, int]:
        """The known parts of row, column and byte_offset (for an API error's details)."""
        found = {"row": self.row, "column": self.column, "byte_offset": self.byte_offset}
        return {key: value for key, value in found.items() if value is not None}


class ArchiveTooLargeError(ContactFileError):
    """An archive (an .xlsx is a zip) whose members inflate past ``max_xlsx_inflated_bytes`` or
    ``max_xlsx_compression_ratio`` (:mod:`voiceplatform.safety.archives`): a zip bomb."""

    status = 413
    code = "archive_too_large"


class TooManyRejectedRowsError(ContactFileError):
    """More rows were rejected than ``max_import_rejected_rows``: the file is refused as a whole,
    so that an applied import's report always lists every rejected row. ``errors`` holds the
    first ones (dictionaries with row, column, message and value)."""

    code = "too_many_rejected_rows"

    def __init__(self, message: str, errors: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.errors = errors


class UploadTooLargeError(ContactImportError):
    """A contact file of more than ``max_upload_bytes``, refused before any contact is written."""

    status = 413
    code = "upload_too_large"


class ContactListExistsError(ContactImportError):
    """The import names a list that the account already has, from other content, and did not
    ask to append to it (``append``); a retry of the same import is replayed instead."""

    status = 409
    code = "list_exists"


class ImportKeyReusedError(ContactImportError):
    """The ``Idempotency-Key`` of an import was already used for a different request."""

    code = "idempotency_key_reused"


class MessageRefusedError(VoicePlatformError):
    """A message of the messages API cannot be sent as asked: a number that is not one, an empty
    or too long text, a sender that is not the account's, a recipient on the do-not-call list or
    opted out of SMS, a personalised row without a value its template needs, a balance that does
    not cover it. ``code`` is stable and machine-readable, ``field`` names the value, ``status``
    is the API's answer to a single message (a personalised request answers it in the row)."""

    def __init__(self, code: str, message: str, *, field: str | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status


class SessionStoreError(VoicePlatformError):
    """A stored session cannot be used as asked (voiceplatform.sessions)."""


class SessionNotFoundError(SessionStoreError, LookupError):
    """No stored session with that id."""


class SessionConflictError(SessionStoreError):
    """The session row's version moved since it was read: another writer applied a step first.
    Never shown to a contact: the runner takes the lock again and re-reads."""


class ChannelUnavailableError(SessionStoreError):
    """No driver serves the channel: none is registered, or the dev channel is switched off
    (``VOICEPLATFORM_DEV_CHANNEL=0``)."""
