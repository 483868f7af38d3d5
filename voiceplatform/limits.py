"""Every resource limit of the platform, in one place.

Each limit is a field of :class:`ResourceLimits` with its default, its unit and the environment
variable that changes it (``VOICEPLATFORM_LIMIT_<FIELD NAME IN CAPITALS>``, for example
``VOICEPLATFORM_LIMIT_MAX_REQUEST_BYTES=2097152``). ``docs/security.md`` lists them for operators.

Hostile input must cost nothing: the defaults are chosen so that no accepted input of 1 MB or
less takes more than a second of server CPU or 100 MB of memory, while leaving real flows,
contact files and API bodies far inside them.

This module is pure (standard library only), so the flow engine may read it.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

ENV_PREFIX = "VOICEPLATFORM_LIMIT_"


@dataclass(frozen=True, slots=True)
class ResourceLimits:
    # ---- HTTP requests (the API and the web UI) ------------------------------------------------
    #: Bytes in one request body (JSON, forms). Larger bodies get 413 before they are read.
    max_request_bytes: int = 1_048_576
    #: Bytes in one upload (a contact CSV or .xlsx sent to an import route). 413 past it.
    max_upload_bytes: int = 20_971_520
    #: How deep JSON arrays and objects may nest in a request body. 400 past it.
    max_json_depth: int = 32
    #: Characters in one HTTP header value the platform parses itself (Range, Idempotency-Key).
    max_header_chars: int = 256

    # ---- flows (YAML definitions) --------------------------------------------------------------
    #: Bytes in one flow file or flow body.
    max_flow_bytes: int = 524_288
    #: Nodes in one flow (subflows count separately).
    max_flow_nodes: int = 2_000
    #: YAML aliases (``*name``) in one flow. 0 refuses every alias; anchors and aliases are a
    #: convenience, and past a few dozen they are how a "billion laughs" body is built.
    max_yaml_aliases: int = 100
    #: YAML values (scalars, lists, mappings) in one flow after aliases are expanded.
    max_yaml_values: int = 200_000
    #: Characters one template may render to (a prompt, an SMS, a webhook body).
    max_template_output_chars: int = 65_536
    #: Loop iterations one template render may run, summed over every ``{% for %}`` in it.
    max_template_loop_iterations: int = 10_000
    #: Largest operand for ``**`` (the exponent) in templates and conditions.
    max_template_power_exponent: int = 1_000
    #: Largest result size, in characters or items, of ``*`` on a string or list in templates.
    max_template_repeat_size: int = 65_536
    #: Largest integer, in bits, that template arithmetic may produce.
    max_template_int_bits: int = 4_096
    #: Seconds one template render or condition evaluation may take.
    max_template_seconds: float = 0.25

    # ---- contact imports -----------------------------------------------------------------------
    #: Bytes an .xlsx may inflate to (the sum of its members' uncompressed sizes).
    max_xlsx_inflated_bytes: int = 104_857_600
    #: Inflated bytes per compressed byte of one .xlsx member (zip bombs have ratios in the 1000s).
    max_xlsx_compression_ratio: int = 200
    #: Members (files) in one .xlsx archive; a workbook has a few dozen. Checked, with the size of
    #: the archive's directory (at most 256 bytes per member), before the directory is parsed.
    max_xlsx_members: int = 10_000
    #: Characters in one CSV or spreadsheet cell.
    max_cell_chars: int = 1_000
    #: Columns in one contact file.
    max_import_columns: int = 200
    #: Rows in one contact file.
    max_import_rows: int = 1_000_000
    #: Rejected rows one import may have. Every rejected row is listed in the import's report,
    #: with its row number and reason; past this many the file is refused as a whole (nothing is
    #: applied, the first ones are listed), so that no report ever leaves a rejected row out.
    max_import_rejected_rows: int = 10_000

    # ---- the messages API (voiceplatform.messages, docs/messages-api.md) -----------------------
    #: Recipients (CSV rows after the header) in one personalised SMS request (the brief's 4.7:
    #: 3,000). 413 past it, nothing sent.
    max_personalised_recipients: int = 3_000
    #: Personalised SMS requests one account may make in any 60 seconds (the brief's 4.7: 30).
    #: Past it 429 with ``Retry-After``; counted in the database, so it holds across processes.
    personalised_requests_per_minute: int = 30
    #: SMS parts one message may take (a longer text is refused: 422 ``too_long``). Ten parts are
    #: 1,530 GSM-7 characters or 670 UCS-2 code units.
    max_sms_parts: int = 10

    # ---- signing in to the web UI --------------------------------------------------------------
    #: Failed sign-ins for one account (e-mail address) within the window before it is locked.
    max_signin_failures_per_user: int = 5
    #: Failed sign-ins from one IP address within the window before it is refused.
    max_signin_failures_per_ip: int = 20
    #: Seconds over which failed sign-ins are counted.
    signin_failure_window_seconds: int = 900
    #: Seconds a lockout lasts (an admin can clear it sooner: ``voiceplatform users unlock``).
    signin_lockout_seconds: int = 900

    # ---- outbound HTTP (webhook deliveries and flow webhook nodes) -----------------------------
    #: Bytes of a response body that are read; the rest is discarded.
    max_outbound_response_bytes: int = 1_000_000
    #: Redirects followed (each destination is checked again).
    max_outbound_redirects: int = 3
    #: Seconds one outbound request may take, at most (a flow may ask for less).
    max_outbound_seconds: float = 10.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "ResourceLimits":
        """The defaults, with every ``VOICEPLATFORM_LIMIT_*`` variable applied. A value that is
        not a positive number of the field's type raises ValueError naming the variable."""
        environ = os.environ if environ is None else environ
        changes: dict[str, int | float] = {}
        for item in dataclasses.fields(cls):
            name = ENV_PREFIX + item.name.upper()
            raw = environ.get(name)
            if raw is None or raw.strip() == "":
                continue
            kind = float if item.type in ("float", float) else int
            try:
                value = kind(raw)
            except ValueError:
                raise ValueError(f"{name}={raw!r} is not a number") from None
            if value < 0 or (value == 0 and item.name != "max_yaml_aliases"):
                raise ValueError(f"{name}={raw!r} must be positive")
            changes[item.name] = value
        return dataclasses.replace(cls(), **changes)  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def current() -> ResourceLimits:
    """The limits in force in this process (read once from the environment)."""
    return ResourceLimits.from_env()


def reload() -> ResourceLimits:
    """Read the environment again (tests that change a limit call this, then again to restore)."""
    current.cache_clear()
    return current()
