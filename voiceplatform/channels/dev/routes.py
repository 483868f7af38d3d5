"""The dev channel's HTTP routes: ``POST /dev/inbound`` injects a reply (as a provider's webhook
would), ``GET /dev/outbox`` reads what the platform sent, ``POST /dev/receipts`` injects a
delivery report for an outbox message, ``POST /dev/sessions`` starts a flow on the dev channel.
An account token is required and every route sees only the caller's account and its
sub-accounts. Registered only while the dev channel is on
(``VOICEPLATFORM_DEV_CHANNEL``, default on; ``0`` in production)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request
from sqlalchemy import select

from voiceplatform.api.auth import account_id, requires, visible_accounts
from voiceplatform.api.errors import ApiError, bad_request
from voiceplatform.api.pagination import page_of
from voiceplatform.api.published_flows import published_flow
from voiceplatform.api.requests import field, json_body
from voiceplatform.campaigns.message_outcomes import REPORTS, settle_message_outcome
from voiceplatform.channels.dev.driver import NAME, DevChannel
from voiceplatform.db.request_session import db
from voiceplatform.exceptions import InputRejectedError
from voiceplatform.models import Contact, Number, Role
from voiceplatform.models.sessions import DevMessage
from voiceplatform.sessions import runtime
from voiceplatform.inbound.router import contact_view

blueprint = Blueprint("dev", __name__, url_prefix="/dev")
MAX_ID = 2**31 - 1


def messaging() -> runtime.MessagingRuntime:
    built = current_app.extensions.get("vp_messaging")
    if built is None:
        built = runtime.build(current_app.extensions["vp_sessions"])
        current_app.extensions["vp_messaging"] = built
    return built


def _driver() -> DevChannel:
    driver = messaging().channels.get(NAME)
    assert isinstance(driver, DevChannel)
    return driver


def _message(row: DevMessage) -> dict[str, Any]:
    return {"id": row.id, "account_id": row.account_id, "session_id": row.session_id, "to": row.to_address,
            "from": row.from_address, "rendered_as": row.rendered_as, "text": row.text,
            "buttons": row.payload.get("buttons", []), "list_rows": row.payload.get("list_rows", []),
            "list_button": row.payload.get("list_button"), "media": row.payload.get("media"),
            "created_at": row.created_at.isoformat()}


def _parse(body: dict[str, Any]) -> Any:
    try:
        return _driver().parse_inbound(body)
    except InputRejectedError as exc:
        raise bad_request(exc.message, {"field": exc.field}) from exc


@blueprint.post("/inbound")
@requires(Role.OPERATOR)
def inbound():  # type: ignore[no-untyped-def]
    message = _parse(json_body())
    db().commit()  # the request's own session holds nothing while the router writes
    routed = messaging().router.receive(message, account_ids=visible_accounts())
    if routed.outcome == "unknown_number":
        raise ApiError(404, "not_found", f"{message.our_address} is not a dev number of this account")
    return {"outcome": routed.outcome, "session_id": routed.session_id, "unsolicited_id": routed.unsolicited_id}


@blueprint.get("/outbox")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def outbox():  # type: ignore[no-untyped-def]
    query = select(DevMessage).where(DevMessage.account_id.in_(visible_accounts()))
    session_id = request.args.get("session_id")
    if session_id is not None:
        query = query.where(DevMessage.session_id == session_id[:64])
    to = request.args.get("to")
    if to is not None:
        query = query.where(DevMessage.to_address == to[:64])
    after = request.args.get("after_id")
    if after is not None:
        if not after.isdigit() or int(after) > MAX_ID:
            raise bad_request("after_id must be a message id", {"field": "after_id"})
        query = query.where(DevMessage.id > int(after))
    return page_of(query.order_by(DevMessage.id), _message)


@blueprint.post("/receipts")
@requires(Role.OPERATOR)
def receipt():  # type: ignore[no-untyped-def]
    """A delivery report for outbox message ``message_id``, as a provider sends one (``status``:
    delivered, read, undelivered, expired, rejected, failed, unknown; sent, queued, accepted, enroute
    change no campaign attempt), applied to the campaign attempt that sent it, or the messages
    API's message (voiceplatform.campaigns.message_outcomes)."""
    body = json_body()
    message_id = field(body, "message_id", int, minimum=1, maximum=MAX_ID)
    status = field(body, "status", str)
    if status not in REPORTS:
        raise bad_request(f"'status' must be one of {list(REPORTS)}", {"field": "status"})
    message = db().get(DevMessage, message_id)
    if message is None or message.account_id not in visible_accounts():
        raise ApiError(404, "not_found", f"dev message {message_id} not found")
    if message.session_id is None:
        return {"applied": False, "reason": "not a session's message", "message_id": message.id}
    settled = settle_message_outcome(db(), message.session_id, status)
    return {"applied": settled.applied, "reason": settled.reason, "message_id": message.id,
            "session_id": message.session_id, "outcome": settled.outcome,
            "campaign_contact_id": settled.campaign_contact_id, "final": settled.final,
            "next_attempt_at": settled.next_attempt_at.isoformat() if settled.next_attempt_at else None}


@blueprint.post("/sessions")
@requires(Role.OPERATOR)
def start_session():  # type: ignore[no-untyped-def]
    """Start ``flow`` with the contact at ``to`` on the dev channel, from our number ``from``."""
    body = json_body()
    version = published_flow(body.get("flow"))
    parsed = _parse({"from": field(body, "to", str), "to": field(body, "from", str), "text": ""})
    number = db().scalars(select(Number).where(Number.number == parsed.our_address)).first()
    if number is None or number.account_id != account_id() or number.channel(NAME) is None:
        raise ApiError(404, "not_found", f"{parsed.our_address} is not a dev number of this account")
    contact = db().scalars(select(Contact).where(Contact.account_id == account_id(),
                                                 Contact.phone == parsed.address)).first()
    view = contact_view(contact) if contact else {"phone": parsed.address}
    contact_id, language = (contact.id, contact.language) if contact else (None, None)
    db().commit()
    result = messaging().runner.start(account_id=account_id(), flow_version_id=version.id, channel=NAME,
                                      address=parsed.address, our_address=parsed.our_address, number_id=number.id,
                                      contact_id=contact_id, contact=view, language=language)
    return {"session_id": result.session_id, "status": result.status}, 201
