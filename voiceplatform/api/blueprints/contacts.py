"""Contacts: import a CSV or Excel file (streamed; a report of every bad row), list, detail."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request
from sqlalchemy import select

from voiceplatform.api.auth import account_id, owned, requires, visible_accounts
from voiceplatform.api.database import db
from voiceplatform.api.errors import ApiError, bad_request
from voiceplatform.api.pagination import page_of
from voiceplatform.contacts.importer import import_contacts
from voiceplatform.contacts.rows import ContactFileError
from voiceplatform.models import Contact, Role

blueprint = Blueprint("contacts", __name__, url_prefix="/contacts")


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
    try:
        report = import_contacts(
            current_app.extensions["vp_sessions"], account_id(), upload.stream, upload.filename or "contacts.csv",
            list_name=request.form.get("list"), phone_column=request.form.get("phone_column"),
            default_region=request.form.get("region", "US"),
        )
    except ContactFileError as exc:
        raise ApiError(422, "unreadable_file", str(exc)) from exc
    return report.to_dict(), 201


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
