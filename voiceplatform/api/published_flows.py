"""Finding the published flow version a campaign or a single call pins: ``{"name": ..., "version": n}``,
or without a version the newest published one. Only the caller's own account's flows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from voiceplatform.api.auth import account_id
from voiceplatform.db.request_session import db
from voiceplatform.api.errors import ApiError, bad_request
from voiceplatform.api.requests import field
from voiceplatform.models import FlowStatus, FlowVersion


def published_flow(reference: Any) -> FlowVersion:
    if not isinstance(reference, dict) or not isinstance(reference.get("name"), str):
        raise bad_request("'flow' must be an object with a 'name' (and optionally a 'version')", {"field": "flow"})
    version = field(reference, "version", int, required=False, label="flow.version")  # 1 to 2^63 - 1
    query = select(FlowVersion).where(FlowVersion.account_id == account_id(), FlowVersion.name == reference["name"])
    if version is not None:
        row = db().scalars(query.where(FlowVersion.version == version)).first()
        if row is None:
            raise ApiError(404, "not_found", f"flow {reference['name']} version {version} not found")
        if row.status is not FlowStatus.PUBLISHED:
            raise ApiError(409, "flow_not_published", f"flow {row.name} version {row.version} is {row.status.value}; publish it first")
        return row
    row = db().scalars(query.where(FlowVersion.status == FlowStatus.PUBLISHED).order_by(FlowVersion.version.desc())).first()
    if row is None:
        raise ApiError(404, "not_found", f"no published version of flow {reference['name']}")
    return row
