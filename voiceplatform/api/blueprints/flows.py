"""Flows: validate, create (a new draft version), publish, list versions.

Validating, creating and publishing also check the WhatsApp templates a flow names against the
account's synced templates (``whatsapp_templates``: voiceplatform.messages.whatsapp_catalog): a
template that is unknown, not APPROVED, missing the language, or given the wrong number of
parameters is an error at its line and column. An account with no synced templates is not
checked for them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g
from sqlalchemy import func, select

from voiceplatform.api.auth import ALL_ROLES, account_id, owned, requires, visible_accounts
from voiceplatform.db.request_session import db
from voiceplatform.api.errors import ApiError
from voiceplatform.api.idempotency import idempotent
from voiceplatform.api.pagination import page_of
from voiceplatform.api.requests import field, json_body
from voiceplatform.exceptions import FlowLimitError, FlowValidationError, Problem
from voiceplatform.flow import Flow
from voiceplatform.flow.loader import analyse_flow_text, load_flow_text
from voiceplatform.flow.template_checks import check_whatsapp_templates
from voiceplatform.messages.whatsapp_catalog import catalog_for
from voiceplatform.models import FlowStatus, FlowVersion, Role
from voiceplatform.models.base import utcnow
from voiceplatform.settings import paths

blueprint = Blueprint("flows", __name__, url_prefix="/flows")


def _problems(text: str) -> tuple[Any, list[dict[str, Any]]]:
    """Validate a posted flow, as if it were a file in the instance's ``ivr_flows/``
    (voiceplatform.settings): subflow and prompts paths stay inside that folder and the prompts
    folder found from it; a flow over a resource limit is refused with 413 (its size) or 422
    (aliases, values, nodes), before the expensive work."""
    try:
        flow, problems = analyse_flow_text(text, "flow.yaml", paths().flows_dir)
    except FlowLimitError as exc:
        status = 413 if exc.limit == "max_flow_bytes" else 422
        raise ApiError(status, "flow_over_limit", exc.problems[0].message if exc.problems else str(exc),
                       {"limit": exc.limit, "problems": [_problem(p) for p in exc.problems]}) from exc
    if flow is not None:
        problems = sorted(set(problems) | set(_template_problems(flow, account_id())))
    return flow, [_problem(p) for p in problems]


def _template_problems(flow: Flow, owner: int) -> list[Problem]:
    """The flow's WhatsApp templates checked against the account's (none synced: no check)."""
    catalog = catalog_for(db(), owner)
    return check_whatsapp_templates(flow, catalog) if catalog is not None else []


def _problem(problem: Problem) -> dict[str, Any]:
    return {"line": problem.line, "column": problem.column, "message": problem.message,
            "severity": problem.severity, "text": str(problem)}


def _version(row: FlowVersion, with_definition: bool = False) -> dict[str, Any]:
    out = {"id": row.id, "name": row.name, "version": row.version, "status": row.status.value,
           "checksum": row.checksum, "created_at": row.created_at.isoformat(),
           "published_at": row.published_at.isoformat() if row.published_at else None}
    if with_definition:
        out["definition"] = row.definition
    return out


@blueprint.post("/validate")
@requires(*ALL_ROLES)
def validate():  # type: ignore[no-untyped-def]
    text = field(json_body(), "yaml", str)
    flow, problems = _problems(text)
    valid = flow is not None and not any(p["severity"] == "error" for p in problems)
    return {"valid": valid, "problems": problems}


@blueprint.post("")
@requires(Role.DESIGNER)
@idempotent
def create():  # type: ignore[no-untyped-def]
    text = field(json_body(), "yaml", str)
    flow, problems = _problems(text)
    if flow is None or any(p["severity"] == "error" for p in problems):
        raise ApiError(422, "invalid_flow", "the flow has errors", {"problems": problems})
    session = db()
    latest = session.scalar(select(func.max(FlowVersion.version)).where(
        FlowVersion.account_id == account_id(), FlowVersion.name == flow.name)) or 0
    row = FlowVersion(account_id=account_id(), name=flow.name, version=latest + 1, definition=text,
                      checksum=FlowVersion.checksum_of(text))
    session.add(row)
    session.flush()
    return {**_version(row), "warnings": [p for p in problems if p["severity"] == "warning"]}, 201


def _nearness() -> dict[int, int]:
    """How far each visible account is from the caller's: 0 for its own, 1 for its
    sub-accounts, 2 for theirs, and so on."""
    depths: dict[int, int] = {}
    level, depth = [g.account], 0
    while level:
        following = []
        for account in level:
            if account.id not in depths:
                depths[account.id] = depth
                following.extend(account.children)
        level, depth = following, depth + 1
    return depths


def _find(name: str, version: int) -> FlowVersion:
    """One flow version by name and number. A master account and its sub-accounts may each have
    ``dup`` version 1: the caller's own account's row wins, then the nearest sub-account's
    (children before grandchildren), then the lowest account id, so the answer never depends on
    the database's row order."""
    rows = db().scalars(select(FlowVersion).where(
        FlowVersion.account_id.in_(visible_accounts()), FlowVersion.name == name, FlowVersion.version == version)
        .order_by(FlowVersion.account_id)).all()
    nearness = _nearness()
    row = min(rows, key=lambda found: (nearness.get(found.account_id, len(nearness)), found.account_id), default=None)
    return owned(row, f"flow {name} version {version}")


def _check_templates_again(row: FlowVersion) -> None:
    """Before publishing: the account's templates may have changed since the version was created
    (a template paused or deleted): 422 ``invalid_flow`` with the problems."""
    catalog = catalog_for(db(), row.account_id)
    if catalog is None:
        return
    try:
        flow = load_flow_text(row.definition, "flow.yaml", paths().flows_dir)
    except FlowValidationError as exc:
        problems = [_problem(p) for p in exc.problems]
        raise ApiError(422, "invalid_flow", "the flow has errors", {"problems": problems}) from exc
    problems = [_problem(p) for p in check_whatsapp_templates(flow, catalog)]
    if any(p["severity"] == "error" for p in problems):
        raise ApiError(422, "invalid_flow", "the flow names WhatsApp templates the account cannot send",
                       {"problems": problems})


@blueprint.post("/<name>/versions/<int:version>/publish")
@requires(Role.DESIGNER)
@idempotent
def publish(name: str, version: int):  # type: ignore[no-untyped-def]
    row = _find(name, version)
    if row.status is FlowStatus.ARCHIVED:
        raise ApiError(409, "archived", "an archived version cannot be published")
    if row.status is not FlowStatus.PUBLISHED:
        _check_templates_again(row)
        row.status = FlowStatus.PUBLISHED
        row.published_at = utcnow()
    return _version(row)


@blueprint.get("")
@requires(*ALL_ROLES)
def list_flows():  # type: ignore[no-untyped-def]
    query = (select(FlowVersion).where(FlowVersion.account_id.in_(visible_accounts()))
             .order_by(FlowVersion.name, FlowVersion.version.desc(), FlowVersion.account_id))
    return page_of(query, _version)


@blueprint.get("/<name>/versions")
@requires(*ALL_ROLES)
def versions(name: str):  # type: ignore[no-untyped-def]
    query = (select(FlowVersion).where(FlowVersion.account_id.in_(visible_accounts()), FlowVersion.name == name)
             .order_by(FlowVersion.version.desc(), FlowVersion.account_id))
    return page_of(query, _version)


@blueprint.get("/<name>/versions/<int:version>")
@requires(*ALL_ROLES)
def version_detail(name: str, version: int):  # type: ignore[no-untyped-def]
    return _version(_find(name, version), with_definition=True)
