"""The OpenAPI 3 document served at /openapi.json. A test checks it against the app's routes
(every route documented, nothing documented that does not exist) and validates it; schemathesis
runs against it (tests/fuzz), so the bounds here are the ones the routes enforce: ids and versions
1 to 2^31 - 1 (PostgreSQL's INTEGER), strings at most their column's length, times with a zone.
Every operation with a body may answer 413 (over max_request_bytes) and 422."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}
ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}  # voiceplatform.api.requests.INT_MAX
TIME = {"type": "string", "format": "date-time", "description": "ISO 8601 with a time zone"}
PAGE = {"type": "object", "required": ["items", "page", "per_page", "total"], "properties": {
    "items": {"type": "array", "items": {"type": "object"}}, "page": {"type": "integer"},
    "per_page": {"type": "integer"}, "total": {"type": "integer"}, "next": {"type": ["integer", "null"]}}}
PAGING = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
]
IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 200},
               "description": "A retried POST with the same key and body gets the first answer again."}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _responses(ok: str, schema: dict[str, Any] | None = None, *errors: str) -> dict[str, Any]:
    out: dict[str, Any] = {ok: {"description": "success", **(_json(schema) if schema else {})}}
    for status in ("400", "401", "403", "404", *errors):
        out[status] = {"description": "error", **_json(ERROR)}
    return out


def _op(summary: str, ok: str = "200", schema: dict[str, Any] | None = None, *, body: dict[str, Any] | None = None,
        params: list[dict[str, Any]] | None = None, errors: tuple[str, ...] = (), idempotent: bool = False,
        public: bool = False) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "responses": _responses(ok, schema or {"type": "object"}, *errors)}
    parameters = list(params or []) + ([IDEMPOTENCY] if idempotent else [])
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {"required": True, **_json(body)}
        for status in ("413", "422"):
            operation["responses"].setdefault(status, {"description": "error", **_json(ERROR)})
    if public:
        operation["security"] = []
    return operation


def _csv_responses() -> dict[str, Any]:
    return {"200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
            **{status: {"description": "error", **_json(ERROR)} for status in ("401", "403", "404")}}


def _path_param(name: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": ID if kind == "integer" else {"type": kind}}


SESSION_STATUSES = ["active", "waiting", "completed", "failed", "expired"]  # voiceplatform.models.sessions.SessionStatus
CAMPAIGN_STATUSES = ["draft", "scheduled", "running", "paused", "completed", "cancelled", "failed"]
CAMPAIGN_ID = _path_param("campaign_id", "integer")
FLOW_REF = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "maxLength": 200}, "version": ID}}
RETRY = {"type": "object", "required": ["retries"], "properties": {"retries": {"type": "integer", "minimum": 0, "maximum": 20},
                                                                    "minutes": {"type": "number", "minimum": 0}}}
CAMPAIGN_SETTINGS = {"type": "object", "additionalProperties": False, "properties": {
    "calls_per_second": {"type": "number", "exclusiveMinimum": 0, "maximum": 2000,
                         "description": "interactions a second: at most 200 calls on voice, 2,000 sessions on messaging"},
    "max_concurrent": {"type": "integer", "minimum": 1, "maximum": 5000},
    "window": {"type": "object", "properties": {"start": {"type": "string", "example": "09:00"}, "end": {"type": "string", "example": "20:00"},
                                                "days": {"type": "array", "items": {"enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}}}},
    "retries": {"type": "object", "additionalProperties": RETRY, "description": "per outcome: voice busy, no-answer, "
                "rejected, congestion, failed, machine; sms and whatsapp undelivered, expired, rejected, failed, unknown"},
    "caller_id": {"type": ["string", "null"]}, "ring_seconds": {"type": "number", "minimum": 5, "maximum": 120},
    "expected_minutes": {"type": "number", "exclusiveMinimum": 0},
    "max_sessions_per_second": {"type": "number", "exclusiveMinimum": 0, "maximum": 5000,
                                "description": "messaging: sessions started in any one second, at most"},
    "sender": {"type": ["string", "null"], "maxLength": 64,
               "description": "messaging: the account's number or registered sender ID the sessions speak from "
                              "(default: its first number on the channel)"},
    "redirect_url": {"type": ["string", "null"], "maxLength": 2000, "example": "https://example.com/offer",
                     "description": "where a click on track_link() goes (http or https; default: the neutral page /l/)"},
    "links": {"type": "object", "maxProperties": 20, "additionalProperties": {"type": "string", "maxLength": 2000},
              "description": "named links: track_link('offer') goes to links.offer (names: 1-24 letters, digits, _)"},
    "link_days": {"type": "integer", "minimum": 1, "maximum": 3650,
                  "description": "days after a session's start its links count (later: the neutral page, no click)"}}}
CAMPAIGN_BODY = {"type": "object", "required": ["name", "flow", "contact_list_id"], "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 200}, "flow": FLOW_REF, "contact_list_id": ID,
    "channel": {"enum": ["voice", "sms", "whatsapp"], "description": "default voice; the flow's channels must include it"},
    "settings": CAMPAIGN_SETTINGS, "start": {"type": "boolean"},
    "scheduled_at": {**TIME, "description": "in the future (5 minutes of clock skew allowed); not with start"}}}
CALL_NOW_BODY = {"type": "object", "required": ["to", "flow"], "properties": {
    "to": {"type": "string", "example": "+12025550100"}, "region": {"type": "string", "example": "US"}, "flow": FLOW_REF, "contact": {"type": "object"},
    "caller_id": {"type": "string"}, "ring_seconds": {"type": "number", "minimum": 5, "maximum": 120}}}
YAML_BODY = {"type": "object", "required": ["yaml"], "properties": {"yaml": {"type": "string"}}}
NAME, VERSION = _path_param("name"), _path_param("version", "integer")
NUMBER_CHANNELS = ["voice", "sms", "whatsapp", "dev"]  # voiceplatform.models.numbers.CHANNELS
NUMBER_FLOW = {"type": ["object", "null"], "required": ["name"], "additionalProperties": False, "description":
               "the inbound flow: without a version, the newest published one when the call comes in",
               "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100}, "version": ID}}
DEV_INBOUND_BODY = {"type": "object", "required": ["from", "to", "text"], "properties": {
    "from": {"type": "string", "maxLength": 64, "example": "+12025550100", "description": "the contact (E.164 or a lab name)"},
    "to": {"type": "string", "maxLength": 64, "example": "+12025550199", "description": "one of the account's numbers with the dev channel"},
    "text": {"type": "string", "maxLength": 4096, "description": "the reply (a button's id is sent as its text)"},
    "message_id": {"type": "string", "minLength": 1, "maxLength": 200, "description": "the same id twice is applied once"}}}
DEV_INBOUND_RESULT = {"type": "object", "required": ["outcome"], "properties": {
    "outcome": {"enum": ["resumed", "started", "unsolicited", "opted_out", "duplicate"]},
    "session_id": {"type": ["string", "null"]}, "unsolicited_id": {"type": ["integer", "null"]}}}
DEV_RECEIPT_BODY = {"type": "object", "required": ["message_id", "status"], "properties": {
    "message_id": {**ID, "description": "an outbox message's id (GET /dev/outbox)"},
    "status": {"enum": ["delivered", "undelivered", "expired", "rejected", "failed", "unknown", "sent", "queued",
                        "accepted", "enroute"]}}}
DEV_SESSION_BODY = {"type": "object", "required": ["flow", "to", "from"], "properties": {
    "flow": FLOW_REF, "to": {"type": "string", "maxLength": 64, "example": "+12025550100", "description": "the contact"},
    "from": {"type": "string", "maxLength": 64, "example": "+12025550199", "description": "the account's dev number"}}}
NUMBER_BODY: dict[str, Any] = {"type": "object", "required": ["number"], "properties": {
    "number": {"type": "string", "maxLength": 64, "example": "+12025550199",
               "description": "E.164 (or national, read in `region`), an SMS short code (3-8 digits), or a lab callee-style name"},
    "region": {"type": "string", "example": "US"},
    "channels": {"type": "array", "items": {"enum": NUMBER_CHANNELS}, "description": "default [\"voice\"]"},
    "flow": NUMBER_FLOW,
    "channel_flows": {"type": "object", "additionalProperties": NUMBER_FLOW, "description": "a channel's own flow, by channel"},
    "account_id": ID}}

WHATSAPP_TEMPLATE: dict[str, Any] = {
    "type": "object", "required": ["name"], "additionalProperties": False,
    "description": "WhatsApp only: the approved template sent outside the contact's 24-hour window (checked against "
                   "the account's synced templates when it has any: 400 unknown_template, template_not_approved, "
                   "template_params)",
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9_]{1,512}$", "example": "appointment_reminder"},
        "language": {"type": "string", "maxLength": 12, "example": "en_US", "description": "default en"},
        "params": {"type": "array", "maxItems": 100, "description": "the body's parameters {{1}}, {{2}}... in order",
                   "items": {"type": "string", "minLength": 1, "maxLength": 1024}}}}
MESSAGE_BODY: dict[str, Any] = {"type": "object", "required": ["to"], "additionalProperties": False, "properties": {
    "channel": {"enum": ["sms", "whatsapp"], "description": "default sms"},
    "to": {"type": "string", "maxLength": 64, "example": "+966501234567", "description": "E.164, or national in `region`"},
    "text": {"type": "string", "maxLength": 4096, "description": "trimmed. SMS (required): at most max_sms_parts (10) "
             "parts. WhatsApp: at most 4,096 characters, free-form, sent only inside the contact's 24-hour window; "
             "a text, a template or both"},
    "template": WHATSAPP_TEMPLATE,
    "from": {"type": "string", "maxLength": 64, "description": "one of the account's numbers or registered sender IDs "
             "(default: its first number on the channel); on WhatsApp a number of the account on the channel"},
    "region": {"type": "string", "maxLength": 3, "example": "SA"}}}
MESSAGE_FILTERS = [
    {"name": "from", "in": "query", "schema": TIME, "description": "the period's start (default: 31 days before `to`)"},
    {"name": "to", "in": "query", "schema": TIME, "description": "the period's end (default: now)"},
    {"name": "status", "in": "query", "schema": {"enum": ["accepted", "queued", "sent", "enroute", "delivered", "read",
                                                           "undelivered", "expired", "rejected", "failed", "unknown"]}},
    {"name": "channel", "in": "query", "schema": {"enum": ["sms", "whatsapp"]}},
    {"name": "interface", "in": "query", "schema": {"enum": ["api", "personalised"]}},
    {"name": "sender", "in": "query", "schema": {"type": "string", "maxLength": 64}},
    {"name": "recipient", "in": "query", "schema": {"type": "string", "maxLength": 64}},
    {"name": "batch_id", "in": "query", "schema": {"type": "string", "maxLength": 32}},
    {"name": "account_id", "in": "query", "schema": ID, "description": "one sub-account's messages"}]
PERSONALISED_FIELDS = {
    "template": {"type": "string", "maxLength": 4096, "example": "Dear @name, your code is @code",
                 "description": "@column (or {{ contact.column }}) reads the row's value"},
    "from": MESSAGE_BODY["properties"]["from"], "region": MESSAGE_BODY["properties"]["region"],
    "phone_column": {"type": "string", "maxLength": 200, "description": "default: a column named phone, number, "
                     "mobile, msisdn..., else the first"}}
PERSONALISED_JSON = {"type": "object", "required": ["csv", "template"], "additionalProperties": False, "properties": {
    "csv": {"type": "string", "description": "the recipients file: a header row, then one row per recipient"},
    **PERSONALISED_FIELDS}}
SENDER_BODY: dict[str, Any] = {"type": "object", "required": ["sender"], "additionalProperties": False, "properties": {
    "sender": {"type": "string", "maxLength": 16, "example": "ACME"},
    "countries": {"type": "array", "maxItems": 250, "items": {"type": "string", "example": "SA"},
                  "description": "ISO 3166 codes of the countries it is registered in"},
    "account_id": ID}}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "voiceplatform API", "version": "0.1.0",
             "description": "Flows, tokens, the do-not-call list and calls. Bearer tokens; JSON errors."},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}, "basic": {
            "type": "http", "scheme": "basic", "description": "the account's id and an API token (POST /messages/personalised only)"}},
        "schemas": {"Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}}}},
    },
    "security": [{"bearer": []}],
    "paths": {
        "/health": {"get": _op("Health check", public=True)},
        # The public short links of click-tracked messages (voiceplatform.api.blueprints.links).
        "/l/": {"get": {**_op("The neutral page a click lands on when the campaign has no page of its own", public=True),
                        "responses": {"200": {"description": "an HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}}}},
        "/l/{token}": {"get": {**_op("Follow a click-tracked link: the click is recorded and redirected to the campaign's "
                                     "URL, or to /l/ (no URL, or an unknown, forged or expired link)", public=True,
                                     params=[{"name": "token", "in": "path", "required": True,
                                              "schema": {"type": "string", "maxLength": 200}}]),
                               "responses": {"302": {"description": "to the campaign's URL or to /l/",
                                                     "headers": {"Location": {"schema": {"type": "string"}}}}}}},
        "/openapi.json": {"get": _op("This document", public=True)},
        "/flows": {
            "get": _op("List flow versions", schema=PAGE, params=PAGING),
            "post": _op("Create a new draft version from YAML", "201", body=YAML_BODY, errors=("422",), idempotent=True),
        },
        "/flows/validate": {"post": _op("Validate YAML (the CLI's messages)", body=YAML_BODY)},
        "/flows/{name}/versions": {"get": _op("A flow's versions", schema=PAGE, params=[NAME, *PAGING])},
        "/flows/{name}/versions/{version}": {"get": _op("One version, with its YAML", params=[NAME, VERSION])},
        "/flows/{name}/versions/{version}/publish": {
            "post": _op("Publish a version", params=[NAME, VERSION], errors=("409",), idempotent=True)},
        "/tokens": {
            "get": _op("List API tokens", schema=PAGE, params=PAGING),
            "post": _op("Create a token (its secret is shown once)", "201", idempotent=True, body={
                "type": "object", "required": ["role"], "properties": {
                    "name": {"type": "string", "maxLength": 200}, "role": {"enum": ["admin", "designer", "operator", "supervisor"]},
                    "expires_at": {**TIME, "description": "in the future"}, "account_id": ID}}),
        },
        "/tokens/{token_id}/regenerate": {
            "post": _op("New secret; the old one stops working (409 for a revoked or expired token)",
                        params=[_path_param("token_id", "integer")], errors=("409",), idempotent=True)},
        "/tokens/{token_id}": {"delete": _op("Revoke", "204", params=[_path_param("token_id", "integer")])},
        "/dnc": {
            "get": _op("The do-not-call list", schema=PAGE, params=PAGING),
            "post": _op("Add a number", "201", errors=("409",), idempotent=True, body={
                "type": "object", "required": ["phone"], "properties": {"phone": {"type": "string", "example": "+12025550100"}, "reason": {"type": "string", "maxLength": 200}}}),
        },
        "/dnc/{phone}": {"delete": _op("Remove a number", "204", params=[_path_param("phone")])},
        "/calls": {"post": _op("Call this number with this flow now (a call id comes back at once)", "202",
                               errors=("402", "409"), idempotent=True, body=CALL_NOW_BODY),
                   "get": _op("List calls", schema=PAGE, params=[*PAGING,
            {"name": "outcome", "in": "query", "schema": {"enum": ["answered", "busy", "no-answer", "rejected", "congestion", "failed", "machine"]}},
            {"name": "campaign_id", "in": "query", "schema": ID},
            {"name": "to", "in": "query", "schema": {"type": "string"}},
            {"name": "direction", "in": "query", "schema": {"enum": ["outbound", "inbound"]}},
            {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
            {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}}])},
        "/contacts": {"get": _op("List contacts", schema=PAGE, params=[*PAGING, {"name": "phone", "in": "query", "schema": {"type": "string"}}])},
        "/contacts/{contact_id}": {"get": _op("One contact", params=[_path_param("contact_id", "integer")])},
        "/contacts/import": {"post": {**_op("Import a CSV or .xlsx file, all or nothing; reports every rejected row; "
                                            "the same file or Idempotency-Key again replays the first import", "201",
                                            errors=("409", "413", "422"), idempotent=True),
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                "file": {"type": "string", "format": "binary"}, "list": {"type": "string", "maxLength": 200},
                "append": {"type": "string", "enum": ["true", "false"]}, "region": {"type": "string"},
                "phone_column": {"type": "string"}}}}}}}},
        "/calls/{call_id}": {"get": _op("One call, with its path, transcript and recordings", params=[_path_param("call_id")])},
        "/campaigns": {
            "get": _op("List campaigns", schema=PAGE, params=[*PAGING, {"name": "status", "in": "query", "schema": {"enum": CAMPAIGN_STATUSES}}]),
            "post": _op("Create a campaign: a draft, scheduled (scheduled_at) or started at once (start: true)", "201",
                        errors=("402", "409"), idempotent=True, body=CAMPAIGN_BODY),
        },
        "/campaigns/{campaign_id}": {"get": _op("One campaign, with its progress", params=[CAMPAIGN_ID])},
        "/campaigns/{campaign_id}/stats": {"get": _op("Progress: contacts by state, outcomes, attempts by outcome on the "
                                                      "campaign's channel (messages and SMS parts), rate, time left, "
                                                      "and the clicks on its click-tracked links",
                                                      params=[CAMPAIGN_ID])},
        "/campaigns/{campaign_id}/estimate": {"get": _op("Estimated cost of the remaining contacts against the balance, "
                                                         "per the campaign's channel (minutes, SMS parts; on WhatsApp the "
                                                         "opening templates priced by category, free-form free)",
                                                         params=[CAMPAIGN_ID])},
        "/campaigns/{campaign_id}/contacts": {"get": _op("Each contact's state, attempts and last outcome", schema=PAGE, params=[
            CAMPAIGN_ID, *PAGING, {"name": "status", "in": "query", "schema": {"enum": ["pending", "dialling", "done", "skipped", "cancelled"]}}])},
        "/campaigns/{campaign_id}/clicks": {"get": _op("Clicks on the campaign's click-tracked links: total, unique "
                                                       "clickers, recipients reached, click-through rate, per link",
                                                       params=[CAMPAIGN_ID])},
        "/campaigns/{campaign_id}/clicks/export": {"get": {**_op("CSV, one row per recipient: recipient, phone, sent_at, "
                                                                 "clicks, first_click_at, last_click_at", params=[CAMPAIGN_ID]),
                                                           "responses": _csv_responses()}},
        "/campaigns/{campaign_id}/survey": {"get": _op("Survey results per question (each gather's result): counts per "
                                                       "answer with labels; count, average, min, max and distribution "
                                                       "of numeric answers", params=[CAMPAIGN_ID])},
        "/campaigns/{campaign_id}/survey/export": {"get": {**_op("CSV (UTF-8 with a byte-order mark), every answer: "
                                                                 "recipient, phone, question, answer, label, input, "
                                                                 "answered_at, channel", params=[CAMPAIGN_ID]),
                                                           "responses": _csv_responses()}},
        **{f"/campaigns/{{campaign_id}}/{action}": {"post": _op(summary, params=[CAMPAIGN_ID], errors=("402", "409"), idempotent=True)}
           for action, summary in (("start", "Start a draft or scheduled campaign now"), ("pause", "Pause (calls in progress finish)"),
                                   ("resume", "Resume a paused campaign"),
                                   ("cancel", "Cancel: waiting contacts become final; calls in progress finish"),
                                   ("resend", "Run again for the contacts not reached (also after running out of credit)"))},

        "/webhooks": {
            "get": _op("List webhook subscriptions", schema=PAGE, params=PAGING),
            "post": _op("Subscribe a URL to events (the signing secret is shown once)", "201", idempotent=True, body={
                "type": "object", "required": ["url", "events"], "properties": {
                    "url": {"type": "string", "format": "uri", "maxLength": 2000},
                    "events": {"type": "array", "minItems": 1, "items": {"enum": [
                        "call.ended", "campaign.started", "campaign.paused", "campaign.resumed", "campaign.cancelled",
                        "campaign.completed", "campaign.failed", "message.received", "message.status", "*"]}},
                    "secret": {"type": "string", "minLength": 16, "maxLength": 200}, "active": {"type": "boolean"},
                    "account_id": ID}}),
        },
        "/webhooks/{webhook_id}": {
            "get": _op("One webhook subscription", params=[_path_param("webhook_id", "integer")]),
            "patch": _op("Change url, events or active", params=[_path_param("webhook_id", "integer")], body={
                "type": "object", "properties": {"url": {"type": "string", "format": "uri"},
                                                 "events": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                                                 "active": {"type": "boolean"}}}),
            "delete": _op("Delete, with its deliveries", "204", params=[_path_param("webhook_id", "integer")]),
        },
        "/webhooks/{webhook_id}/deliveries": {"get": _op("A subscription's deliveries, newest first", schema=PAGE, params=[
            _path_param("webhook_id", "integer"), *PAGING,
            {"name": "status", "in": "query", "schema": {"enum": ["pending", "delivered", "failed"]}}])},
        "/webhooks/{webhook_id}/deliveries/{delivery_id}/retry": {"post": _op(
            "Send a delivered or failed delivery again, now", "202", errors=("409",), idempotent=True,
            params=[_path_param("webhook_id", "integer"), _path_param("delivery_id", "integer")])},
        "/webhooks/{webhook_id}/ping": {"post": _op(
            "Queue a ping event to this subscription", "202", errors=("409",), idempotent=True,
            params=[_path_param("webhook_id", "integer")])},
        "/numbers": {
            "get": _op("The account's numbers (and its sub-accounts')", schema=PAGE, params=[
                *PAGING, {"name": "channel", "in": "query", "schema": {"enum": NUMBER_CHANNELS}}]),
            "post": _op("Add a number: unique on the installation (409 if taken), with its channels and inbound flow", "201",
                        errors=("409",), idempotent=True, body=NUMBER_BODY),
        },
        "/numbers/{number_id}": {
            "get": _op("One number", params=[_path_param("number_id", "integer")]),
            "patch": _op("Change channels, flow or channel_flows", params=[_path_param("number_id", "integer")], body={
                "type": "object", "properties": {key: NUMBER_BODY["properties"][key] for key in ("channels", "flow", "channel_flows")}}),
            "delete": _op("Delete (its calls keep their records)", "204", params=[_path_param("number_id", "integer")]),
        },
        "/sessions": {"get": _op("List stored sessions (journeys on any channel), newest first", schema=PAGE, params=[
            *PAGING, {"name": "status", "in": "query", "schema": {"enum": SESSION_STATUSES}},
            {"name": "channel", "in": "query", "schema": {"type": "string", "maxLength": 20}},
            {"name": "address", "in": "query", "schema": {"type": "string", "maxLength": 64}},
            {"name": "contact_id", "in": "query", "schema": ID},
            {"name": "campaign_id", "in": "query", "schema": ID},
            {"name": "flow", "in": "query", "schema": {"type": "string", "maxLength": 200}, "description": "the flow's name"},
            {"name": "started_after", "in": "query", "schema": TIME},
            {"name": "started_before", "in": "query", "schema": TIME}])},
        "/sessions/{session_id}": {"get": _op("One session, with its history (ordered events: kind, type, channel, time, "
                                              "payload), and the path (parts per channel: nodes, conversation events) and "
                                              "transcript rendered from it", params=[_path_param("session_id")])},
        # The messages API (voiceplatform.api.blueprints.messages, personalised, senders: docs/messages-api.md).
        "/messages": {
            "post": _op("Send one SMS or WhatsApp message now: 202 with its id, parts, encoding, cost (WhatsApp: held "
                        "until its final status) and country warnings", "202",
                        errors=("402", "409", "503"), idempotent=True, body=MESSAGE_BODY),
            "get": _op("Messages of a period (at most 31 days), newest first, with counts: messages (not parts), "
                       "parts, cost, by status", schema=PAGE, params=[*PAGING, *MESSAGE_FILTERS]),
        },
        "/messages/{message_id}": {"get": _op("One message and its status", params=[_path_param("message_id", "integer")])},
        "/messages/personalised": {"post": {
            **_op("The personalised SMS API: a recipients file and an @column template, answered per recipient "
                  "(at most 3,000; 30 requests a minute per account; HTTP Basic: account id and API token)", "202",
                  errors=("402", "413", "429", "503"), idempotent=True),
            "security": [{"bearer": []}, {"basic": []}],
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": PERSONALISED_JSON},
                "multipart/form-data": {"schema": {"type": "object", "required": ["file", "template"], "properties": {
                    "file": {"type": "string", "format": "binary"}, **PERSONALISED_FIELDS}}}}}}},
        "/senders": {
            "get": _op("The account's registered sender IDs (and its sub-accounts')", schema=PAGE, params=PAGING),
            "post": _op("Register a sender ID (alphanumeric, 1-11 GSM-7 characters, or 1-15 digits) with the countries it "
                        "is registered in", "201", errors=("409",), idempotent=True, body=SENDER_BODY),
        },
        "/senders/{sender_id}": {
            "get": _op("One sender ID", params=[_path_param("sender_id", "integer")]),
            "patch": _op("Change its countries", params=[_path_param("sender_id", "integer")], body={
                "type": "object", "properties": {"countries": SENDER_BODY["properties"]["countries"]}}),
            "delete": _op("Remove it", "204", params=[_path_param("sender_id", "integer")]),
        },
        # The dev channel (voiceplatform.channels.dev): absent when VOICEPLATFORM_DEV_CHANNEL=0.
        "/dev/inbound": {
            "post": _op("Inject a reply on the dev channel: resumes the contact's waiting session, else starts the number's flow, "
                        "else is kept as an unsolicited message (message.received)", schema=DEV_INBOUND_RESULT,
                        body=DEV_INBOUND_BODY),
        },
        "/dev/outbox": {
            "get": _op("What the platform sent on the dev channel, oldest first", schema=PAGE, params=[
                *PAGING, {"name": "session_id", "in": "query", "schema": {"type": "string"}},
                {"name": "to", "in": "query", "schema": {"type": "string"}},
                {"name": "after_id", "in": "query", "schema": ID}]),
        },
        "/dev/receipts": {
            "post": _op("Inject a delivery report for a dev outbox message: applied to the campaign attempt that sent it "
                        "(retry rules per outcome)", body=DEV_RECEIPT_BODY),
        },
        "/dev/sessions": {
            "post": _op("Start a published flow with a contact on the dev channel", "201", body=DEV_SESSION_BODY),
        },
    },
}
