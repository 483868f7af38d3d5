"""Contacts: import a CSV or Excel file (all or nothing, once; a report of every rejected row),
list, detail.

``POST /contacts/import`` takes multipart/form-data: ``file``, and optionally ``list`` (a new list
of that name; an existing name is 409 unless ``append`` is true), ``append``, ``phone_column`` and
``region``. The body may be ``max_upload_bytes`` (voiceplatform.api.body_limits caps it before it is
read; the importer counts the file again). ``Idempotency-Key`` is honoured, and the same file sent
again for the same list is answered with the first import's report (``replayed``: true,
``Idempotent-Replayed`` header) instead of being applied twice (voiceplatform.contacts.importer).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select

from voiceplatform.api.auth import account_id, owned, requires, visible_accounts
from voiceplatform.db.request_session import db
from voiceplatform.api.errors import ApiError, bad_request
from voiceplatform.api.idempotency import HEADER
from voiceplatform.api.pagination import page_of
from voiceplatform.contacts.importer import import_contacts
from voiceplatform.exceptions import ContactFileError, ContactImportError, TooManyRejectedRowsError
from voiceplatform.models import Contact, Role

blueprint = Blueprint("contacts", __name__, url_prefix="/contacts")
MAX_KEY_CHARS = 200  # the idempotency_keys.key column
TRUE = ("1", "true", "yes", "on")


def _contact(row: Contact) -> dict[str, Any]:
    return {"id": row.id, "account_id": row.account_id, "phone": row.phone, "timezone": row.timezone,
            "language": row.language, "channels": row.channels, "attributes": row.attributes,
            "opted_out_at": row.opted_out_at.isoformat() if row.opted_out_at else None}


@blueprint.post("/import")
@requires(Role.OPERATOR)
def import_file():  # type: ignore[no-untyped-def]
    upload = request.files.get("file")
    if upload is None:
        raise bad_request("send the file as multipart/form-data in a field named 'file' (CSV or .xlsx)")
    key = request.headers.get(HEADER) or None
    if key is not None and len(key) > MAX_KEY_CHARS:
        raise ApiError(400, "bad_idempotency_key", f"{HEADER} is longer than {MAX_KEY_CHARS} characters")
    try:
        report = import_contacts(
            current_app.extensions["vp_sessions"], account_id(), upload.stream, upload.filename or "contacts.csv",
            list_name=request.form.get("list"), append=request.form.get("append", "").strip().lower() in TRUE,
            phone_column=request.form.get("phone_column"), default_region=request.form.get("region", "US"),
            idempotency_key=key,
        )
    except ContactImportError as exc:
        raise ApiError(exc.status, exc.code, str(exc), _details(exc)) from exc
    response = jsonify(report.to_dict())
    response.status_code = 201
    if report.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _details(error: ContactImportError) -> dict[str, Any] | None:
    details: dict[str, Any] = error.location() if isinstance(error, ContactFileError) else {}
    if isinstance(error, TooManyRejectedRowsError):
        details["errors"] = error.errors
    return details or None


@blueprint.get("")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def list_contacts():  # type: ignore[no-untyped-def]
    query = select(Contact).where(Contact.account_id.in_(visible_accounts()))
    if "phone" in request.args:
        query = query.where(Contact.phone == request.args["phone"])
    return page_of(query.order_by(Contact.id), _contact)


@blueprint.get("/<int:contact_id>")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def contact_detail(contact_id: int):  # type: ignore[no-untyped-def]
    return _contact(owned(db().get(Contact, contact_id), f"contact {contact_id}"))
