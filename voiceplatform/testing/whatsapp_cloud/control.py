"""The tests' control endpoints (ours, not Meta's), under ``/_control/``.

| call | does |
|---|---|
| ``POST /_control/inbound`` | a user's message arrives (kind: text, button_reply, list_reply, quick_reply, audio, location) |
| ``POST /_control/statuses`` | emit any status for a sent wamid (``played``, an unknown one, a late one) |
| ``POST /_control/value-errors`` | a ``value.errors[]`` webhook with no messages |
| ``GET/POST /_control/clock`` | read; ``{"advance": s}``, ``{"set": epoch}``, ``{"freeze": true/false}`` |
| ``GET/POST/DELETE /_control/errors`` | forced errors: ``{"code", "count", "mode": "sync"/"webhook", ...}`` |
| ``GET /_control/numbers``, ``PUT /_control/numbers/<id>`` | numbers; ``{"tier": 1000}`` |
| ``GET/POST /_control/users`` | users (``undeliverable``, ``reads``, no phone number) |
| ``POST /_control/templates`` | add or change a template (name, language, category, status, components) |
| ``GET /_control/sent``, ``GET /_control/refused`` | every accepted request in order (wamid, body); every refusal |
| ``GET /_control/deliveries``, ``POST /_control/deliveries/wait`` | webhook POSTs and their attempts |
| ``GET /_control/windows`` | ``?phone_number_id=&user_id=``: is the window open, when does it close |
| ``GET/PATCH /_control/settings`` | window error mode, statuses, delivery behaviour |
| ``POST /_control/reset`` | back to the seed |

Bad control input is a 400 ``{"error": {"message": ...}}``.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any, Callable

from flask import Blueprint, Response, request

from voiceplatform.testing.whatsapp_cloud.errors import CloudApiError, status_error
from voiceplatform.testing.whatsapp_cloud.faults import ForcedError
from voiceplatform.testing.whatsapp_cloud.registry import TEMPLATE_CATEGORIES, TEMPLATE_STATUSES, Template, User

if TYPE_CHECKING:
    from voiceplatform.testing.whatsapp_cloud.account import CloudAccount

MAX_CONTROL_BODY = 1024 * 1024


class ControlError(ValueError):
    pass


def _reply(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, ensure_ascii=True), status=status, mimetype="application/json")


def _body() -> dict[str, Any]:
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    if len(raw) > MAX_CONTROL_BODY:
        raise ControlError("control body too large")
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ControlError("the body is not valid JSON") from exc
    if not isinstance(value, dict):
        raise ControlError("the body must be a JSON object")
    return value


def _int(body: dict[str, Any], key: str, default: int | None = None) -> int:
    value = body.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ControlError(f"{key} must be an integer")
    return value


def _number(body: dict[str, Any], key: str) -> float:
    value = body.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ControlError(f"{key} must be a number")
    return float(value)


def control_blueprint(account: "CloudAccount") -> Blueprint:
    bp = Blueprint("whatsapp_cloud_control", __name__, url_prefix="/_control")

    @bp.errorhandler(ValueError)
    def on_bad_input(exc: ValueError) -> Response:
        return _reply({"error": {"message": str(exc)}}, 400)

    @bp.errorhandler(KeyError)
    def on_unknown(exc: KeyError) -> Response:
        return _reply({"error": {"message": f"unknown: {exc.args[0] if exc.args else ''}"}}, 404)

    @bp.errorhandler(CloudApiError)
    def on_cloud_error(exc: CloudApiError) -> Response:
        return _reply({"error": {"message": exc.details, "code": exc.code}}, 404 if exc.code == 100 else 400)

    def route(rule: str, methods: list[str]) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
        return bp.route(rule, methods=methods)

    @route("/inbound", ["POST"])
    def inbound() -> Response:
        spec = _body()
        if isinstance(spec.get("data_base64"), str):
            try:
                spec["data"] = base64.b64decode(spec["data_base64"], validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ControlError("data_base64 is not base64") from exc
        return _reply(account.inject(spec), 201)

    @route("/statuses", ["POST"])
    def statuses() -> Response:
        body = _body()
        wamid, status = body.get("wamid"), body.get("status")
        if not isinstance(wamid, str) or not isinstance(status, str) or not status:
            raise ControlError("wamid and status (strings) are required")
        errors = None
        if body.get("code") is not None:
            errors = [status_error(_int(body, "code"), str(body.get("details") or "forced by the test"))]
        return _reply(account.emit_status(wamid, status, errors=errors, with_pricing=bool(body.get("pricing"))), 201)

    @route("/value-errors", ["POST"])
    def value_errors() -> Response:
        body = _body()
        phone_number_id = str(body.get("phone_number_id") or account.default_number().phone_number_id)
        code = _int(body, "code", 0)
        error = status_error(code, str(body.get("details") or "forced by the test"))
        if isinstance(body.get("title"), str):
            error["title"] = error["message"] = body["title"]
        account.emit_value_errors(phone_number_id, [error])
        return _reply({"errors": [error]}, 201)

    @route("/clock", ["GET", "POST"])
    def clock() -> Response:
        if request.method == "POST":
            body = _body()
            if "advance" in body:
                account.clock.advance(_number(body, "advance"))
            if "set" in body:
                account.clock.set(_number(body, "set"))
            if body.get("freeze") is True:
                account.clock.freeze()
            elif body.get("freeze") is False:
                account.clock.unfreeze()
        return _reply({"now": account.clock.now(), "frozen": account.clock.frozen})

    @route("/errors", ["GET", "POST", "DELETE"])
    def errors() -> Response:
        if request.method == "POST":
            body = _body()
            recipient = body.get("recipient")
            http_status = body.get("http_status")
            account.force_error(ForcedError(
                code=_int(body, "code"), count=_int(body, "count", 1), mode=str(body.get("mode", "sync")),
                details=str(body.get("details") or ""), recipient=None if recipient is None else str(recipient),
                http_status=None if http_status is None else _int(body, "http_status")))
        elif request.method == "DELETE":
            account.faults.clear()
        return _reply({"pending": [e.as_dict() for e in account.faults.pending()]})

    @route("/numbers", ["GET"])
    def numbers() -> Response:
        return _reply({"data": [vars(n) for n in account.registry.numbers.values()]})

    @route("/numbers/<phone_number_id>", ["PUT"])
    def number(phone_number_id: str) -> Response:
        tier = _int(_body(), "tier")
        if not 1 <= tier <= 100_000:
            raise ControlError("tier is messages per second, 1..100000")
        return _reply(vars(account.set_tier(phone_number_id, tier)))

    @route("/users", ["GET", "POST"])
    def users() -> Response:
        if request.method == "POST":
            body = _body()
            phone, user_id = body.get("phone"), body.get("user_id")
            with account._lock:
                if phone is not None:
                    if not isinstance(phone, str) or not phone.isdigit():
                        raise ControlError("phone must be digits")
                    user = account.registry.user_by_phone(phone)
                elif isinstance(user_id, str) and user_id:
                    found = account.registry.user_by_bsuid(user_id)
                    user = found or account.registry.add_user(User(user_id, None, "WhatsApp user"))
                else:
                    raise ControlError("phone or user_id is required")
                for key in ("name", "username"):
                    if isinstance(body.get(key), str):
                        setattr(user, key, body[key])
                for key in ("undeliverable", "reads"):
                    if key in body:
                        if not isinstance(body[key], bool):
                            raise ControlError(f"{key} must be true or false")
                        setattr(user, key, body[key])
            return _reply(vars(user), 201)
        return _reply({"data": [vars(u) for u in account.registry.users.values()]})

    @route("/templates", ["POST"])
    def templates() -> Response:
        body = _body()
        name, language = body.get("name"), body.get("language")
        category = str(body.get("category", "UTILITY")).upper()
        status = str(body.get("status", "APPROVED")).upper()
        components = body.get("components", [])
        if not isinstance(name, str) or not name or not isinstance(language, str) or not language:
            raise ControlError("name and language are required")
        if category not in TEMPLATE_CATEGORIES or status not in TEMPLATE_STATUSES:
            raise ControlError(f"category in {TEMPLATE_CATEGORIES}, status in {TEMPLATE_STATUSES}")
        if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
            raise ControlError("components must be a list of objects")
        with account._lock:
            template = account.registry.add_template(Template(name, language, category, status, components))
        return _reply(template.listing(), 201)

    @route("/sent", ["GET"])
    def sent() -> Response:
        return _reply({"data": [r.as_dict() for r in account.sent]})

    @route("/refused", ["GET"])
    def refused() -> Response:
        return _reply({"data": account.refused})

    @route("/deliveries", ["GET"])
    def deliveries() -> Response:
        return _reply({"data": [d.as_dict() for d in account.webhooks.deliveries()]})

    @route("/deliveries/wait", ["POST"])
    def wait() -> Response:
        timeout = _body().get("timeout", 10)
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 <= timeout <= 120:
            raise ControlError("timeout must be 0..120 seconds")
        idle = account.webhooks.wait_idle(float(timeout))
        return _reply({"idle": idle, "held": account.webhooks.held(),
                       "data": [d.as_dict() for d in account.webhooks.deliveries()]})

    @route("/windows", ["GET"])
    def windows() -> Response:
        phone_number_id = request.args.get("phone_number_id") or account.default_number().phone_number_id
        user_id = request.args.get("user_id", "")
        return _reply({"open": account.windows.is_open(phone_number_id, user_id),
                       "closes_at": account.windows.closes_at(phone_number_id, user_id),
                       "free_entry_point": account.windows.entry_point_open(phone_number_id, user_id),
                       "free_entry_point_closes_at": account.windows.entry_point_closes_at(phone_number_id, user_id)})

    @route("/settings", ["GET", "PATCH"])
    def settings() -> Response:
        if request.method == "PATCH":
            with account._lock:
                account.settings.update(_body())
                if "seed" in _body():
                    account.webhooks.reseed()
            account.webhooks.release()
        return _reply(account.settings.as_dict())

    @route("/reset", ["POST"])
    def reset() -> Response:
        account.reset()
        return _reply({"reset": True})

    return bp
