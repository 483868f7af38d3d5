"""The brief's personalised SMS API (4.7): ``POST /messages/personalised`` carries a recipients
file (CSV or .xlsx) and a template with ``@column`` placeholders, and answers per recipient:
accepted with its message id and parts, or refused with the row's error; no row is dropped.

Its limits are the brief's: at most ``max_personalised_recipients`` (3,000) recipients a request
(413 past it, nothing sent) and ``personalised_requests_per_minute`` (30) requests a minute per
account (429 with ``Retry-After``, counted in the database: voiceplatform.api.rate_limits). It
takes HTTP Basic credentials (the account's id and an API token) as well as a bearer token, and
no callback URL: delivery reports go to the account's webhooks. docs/messages-api.md.
"""

from __future__ import annotations

import io
import uuid
from decimal import Decimal
from typing import IO, Any

from flask import Blueprint, request

from voiceplatform import limits
from voiceplatform.api.auth import requires
from voiceplatform.api.blueprints.messages import currency, hand_over, known_fields, refused, submission
from voiceplatform.api.errors import ApiError, bad_request
from voiceplatform.api.idempotency import idempotent
from voiceplatform.api.rate_limits import rate_limited
from voiceplatform.api.requests import json_body
from voiceplatform.exceptions import MessageRefusedError
from voiceplatform.messages.personalised import PersonalisedRows, read_rows
from voiceplatform.messages.submission import Prepared, Refused
from voiceplatform.models import Role

blueprint = Blueprint("personalised", __name__, url_prefix="/messages")
SCOPE = "personalised_sms"
FIELDS = ("csv", "template", "from", "region", "phone_column")
FORM_FIELDS = ("file", *FIELDS[1:])
MAX_NAME_CHARS = 200  # from, phone_column
MAX_CSV_CHARS = 20_000_000  # a JSON body is capped by max_upload_bytes before it is read; this is the same bound


def _per_minute() -> int:
    return limits.current().personalised_requests_per_minute


def _input() -> tuple[IO[bytes], str, dict[str, Any]]:
    """The file, its name and the other fields, from multipart/form-data or JSON."""
    if request.mimetype == "multipart/form-data":
        known_fields({name: None for name in [*request.form, *request.files]}, FORM_FIELDS)
        upload = request.files.get("file")
        if upload is None:
            raise bad_request("send the recipients as a file field named 'file' (CSV or .xlsx)", {"field": "file"})
        return upload.stream, upload.filename or "recipients.csv", request.form.to_dict()
    body = json_body()
    known_fields(body, FIELDS)
    text = body.get("csv")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_CSV_CHARS:
        raise bad_request("'csv' must be the recipients file as a non-empty string (a header, then one row per "
                          "recipient)", {"field": "csv"})
    return io.BytesIO(text.encode("utf-8")), "recipients.csv", body


def _optional(values: dict[str, Any], name: str) -> str | None:
    value = values.get(name)
    if value is not None and (not isinstance(value, str) or len(value) > MAX_NAME_CHARS):
        raise bad_request(f"{name!r} must be a string of at most {MAX_NAME_CHARS} characters", {"field": name})
    return value or None


def _rows(stream: IO[bytes], filename: str, values: dict[str, Any]) -> PersonalisedRows:
    try:
        return read_rows(stream, filename, values.get("template"), _optional(values, "phone_column"))  # type: ignore[arg-type]
    except MessageRefusedError as error:
        raise refused(error) from error


def _answer(entry: Prepared | Refused, message_id: int | None = None) -> dict[str, Any]:
    if isinstance(entry, Refused):
        error = entry.error
        return {"row": entry.row, "to": entry.to, "status": "refused",
                "error": {"code": error.code, "message": error.message, "field": error.field}}
    return {"row": entry.row, "to": entry.to, "status": "accepted", "message_id": message_id,
            "country": entry.country, "parts": entry.parts, "encoding": entry.encoding,
            "cost": str(entry.cost), "warnings": [warning["code"] for warning in entry.warnings]}


@blueprint.post("/personalised")
@requires(Role.OPERATOR, basic=True)
@rate_limited(SCOPE, _per_minute)
@idempotent
def send_personalised():  # type: ignore[no-untyped-def]
    stream, filename, values = _input()
    rows = _rows(stream, filename, values)
    batch = uuid.uuid4().hex
    sending = submission("personalised", _optional(values, "from"), values.get("region") or "US", batch)
    checked = sending.prepare(rows.messages)
    prepared = [entry for entry in checked if isinstance(entry, Prepared)]
    answers: list[tuple[int, dict[str, Any]]] = [(entry.row or 0, _answer(entry)) for entry in rows.refused]
    answers += [(entry.row or 0, _answer(entry)) for entry in checked if isinstance(entry, Refused)]
    if not prepared:
        recipients = [answer for _, answer in sorted(answers, key=lambda pair: pair[0])]
        raise ApiError(422, "no_recipient_accepted", "no row of the file can be sent: each row's error is in "
                       "details.recipients", {"recipients": recipients})
    sent = hand_over(sending, prepared)
    answers += [(entry.row or 0, _answer(entry, row.id)) for entry, row in zip(prepared, sent)]
    warnings = {(w["country"], w["sender"]): w for entry in prepared for w in entry.warnings}
    return {"batch_id": batch, "from": sending.sender.address, "phone_column": rows.phone_column,
            "recipients_total": len(answers), "accepted": len(prepared), "refused": len(answers) - len(prepared),
            "parts": sum(entry.parts for entry in prepared),
            "cost": str(sum((entry.cost for entry in prepared), Decimal(0))), "currency": currency(),
            "warnings": list(warnings.values()),
            "recipients": [answer for _, answer in sorted(answers, key=lambda pair: pair[0])]}, 202
