"""The account's own numbers (operators and admins write; supervisors read): create, list, read,
change, delete. A number is unique across the installation (a carrier delivers it to one
place), belongs to one account (this one or a sub-account) and answers calls on its ``voice``
channel with its inbound flow: ``{"name": ...}`` runs the newest published version when the
call comes in, ``{"name": ..., "version": n}`` pins one. See docs/inbound-calls.md."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from voiceplatform.api.auth import account_id, owned, requires, visible_accounts
from voiceplatform.db.request_session import db
from voiceplatform.api.errors import ApiError, bad_request, not_found
from voiceplatform.api.idempotency import idempotent
from voiceplatform.api.pagination import page_of
from voiceplatform.api.requests import field, json_body, patch_body
from voiceplatform.exceptions import UnsafeValueError
from voiceplatform.inbound.addresses import DEFAULT_REGION, normalise
from voiceplatform.models import Number, NumberChannel, Role
from voiceplatform.models.base import utcnow
from voiceplatform.models.numbers import CHANNELS
from voiceplatform.phone import InvalidPhoneNumber

blueprint = Blueprint("numbers", __name__, url_prefix="/numbers")
PATCHABLE = ("channels", "flow", "channel_flows")
MAX_VERSION = 2**31 - 1  # INTEGER on PostgreSQL


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _flow_out(name: str | None, version: int | None) -> dict[str, Any] | None:
    return {"name": name, "version": version} if name else None


def _number(row: Number) -> dict[str, Any]:
    return {"id": row.id, "account_id": row.account_id, "number": row.number, "kind": row.kind,
            "channels": sorted(c.channel for c in row.channels), "flow": _flow_out(row.flow_name, row.flow_version),
            "channel_flows": {c.channel: _flow_out(c.flow_name, c.flow_version) for c in row.channels if c.flow_name},
            "created_at": _stamp(row.created_at), "updated_at": _stamp(row.updated_at)}


def _address(body: dict[str, Any]) -> tuple[str, str]:
    raw = field(body, "number", str)
    region = field(body, "region", str, required=False, default=DEFAULT_REGION)
    try:
        address = normalise(raw, region)
    except InvalidPhoneNumber as exc:
        raise bad_request(f"number: {exc}", {"field": "number"}, code="invalid_number") from exc
    except UnsafeValueError as exc:
        raise bad_request(str(exc), {"field": "number"}, code="unsafe_value") from exc
    return address.number, address.kind


def _channels(body: dict[str, Any]) -> list[str]:
    channels = field(body, "channels", list, required=False, default=["voice"])
    if not all(isinstance(c, str) for c in channels) or not set(channels) <= set(CHANNELS):
        raise bad_request(f"channels must be a list of {list(CHANNELS)}", {"field": "channels"}, code="unknown_channel")
    return list(dict.fromkeys(channels))  # each once, in the caller's order


def _flow_in(value: Any, label: str) -> tuple[str | None, int | None]:
    """``{"name": ..., "version"?: n}`` or null (no flow)."""
    if value is None:
        return None, None
    if not isinstance(value, dict) or not isinstance(value.get("name"), str) or not value["name"].strip():
        raise bad_request(f"{label!r} must be null or an object with a 'name' (and optionally a 'version')", {"field": label})
    unexpected = sorted(set(value) - {"name", "version"})
    if unexpected:
        raise bad_request(f"{label!r} takes only 'name' and 'version', not {unexpected}", {"field": label})
    version = field(value, "version", int, required=False, minimum=1, maximum=MAX_VERSION, label=f"{label}.version")
    return value["name"], version


def _channel_flows(body: dict[str, Any], channels: list[str]) -> dict[str, tuple[str | None, int | None]]:
    given = field(body, "channel_flows", dict, required=False, default={})
    unknown = sorted(set(given) - set(channels))
    if unknown:
        raise bad_request(f"channel_flows names channels the number does not take: {unknown}", {"field": "channel_flows"})
    return {channel: _flow_in(value, f"channel_flows.{channel}") for channel, value in given.items()}


def _set_channels(row: Number, channels: list[str], flows: dict[str, tuple[str | None, int | None]]) -> None:
    kept = {c.channel: c for c in row.channels}
    row.channels = [kept.get(name) or NumberChannel(channel=name) for name in channels]
    for entry in row.channels:
        if entry.channel in flows:
            entry.flow_name, entry.flow_version = flows[entry.channel]


def _owned(number_id: int) -> Number:
    return owned(db().get(Number, number_id), f"number {number_id}")


def _flush_unique(number: str) -> None:
    try:
        db().flush()
    except IntegrityError as exc:  # a concurrent create of the same number
        raise ApiError(409, "number_taken", f"{number} is already a number on this installation") from exc


@blueprint.post("")
@requires(Role.OPERATOR)
@idempotent
def create():  # type: ignore[no-untyped-def]
    body = json_body()
    target = field(body, "account_id", int, required=False, default=account_id())
    if target not in visible_accounts():  # this account or one of its sub-accounts
        raise not_found(f"account {target}")
    number, kind = _address(body)
    channels = _channels(body)
    flows = _channel_flows(body, channels)
    flow_name, flow_version = _flow_in(body.get("flow"), "flow")
    if db().scalar(select(Number.id).where(Number.number == number)) is not None:
        raise ApiError(409, "number_taken", f"{number} is already a number on this installation")
    row = Number(account_id=target, number=number, kind=kind, flow_name=flow_name, flow_version=flow_version)
    _set_channels(row, channels, flows)
    db().add(row)
    _flush_unique(number)
    return _number(row), 201


@blueprint.get("")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def list_numbers():  # type: ignore[no-untyped-def]
    query = select(Number).where(Number.account_id.in_(visible_accounts()))
    channel = request.args.get("channel")
    if channel is not None:
        if channel not in CHANNELS:
            raise bad_request(f"channel must be one of {list(CHANNELS)}", {"field": "channel"})
        query = query.where(Number.channels.any(NumberChannel.channel == channel))
    return page_of(query.order_by(Number.id), _number)


@blueprint.get("/<int:number_id>")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def detail(number_id: int):  # type: ignore[no-untyped-def]
    return _number(_owned(number_id))


@blueprint.patch("/<int:number_id>")
@requires(Role.OPERATOR)
def change(number_id: int):  # type: ignore[no-untyped-def]
    row = _owned(number_id)
    body = patch_body(PATCHABLE)
    channels = _channels(body) if "channels" in body else [c.channel for c in row.channels]
    flows = _channel_flows(body, channels)
    if "flow" in body:
        row.flow_name, row.flow_version = _flow_in(body["flow"], "flow")
    _set_channels(row, channels, flows)
    row.updated_at = utcnow()  # a change of channels alone touches no column of the row itself
    db().flush()
    return _number(row)


@blueprint.delete("/<int:number_id>")
@requires(Role.OPERATOR)
def delete(number_id: int):  # type: ignore[no-untyped-def]
    db().delete(_owned(number_id))  # its channels go with it; its calls keep their rows (number_id NULL)
    return "", 204
