"""Request builders and checks for the contract server's tests."""

from __future__ import annotations

from typing import Any

import httpx

from voiceplatform.testing.whatsapp_cloud import SEED_NUMBER_ID, WebhookReceiver, WhatsAppCloudServer


def send(server: WhatsAppCloudServer, body: Any, number: str = SEED_NUMBER_ID) -> httpx.Response:
    return server.client.send(number, body)


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The Meta error object of a refusal, checked for Meta's shape."""
    body = response.json()
    error = body["error"]
    assert set(error) == {"message", "type", "code", "error_data", "fbtrace_id"}, body
    assert error["type"] == "OAuthException"
    assert error["message"].startswith(f"(#{error['code']}) ")
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert isinstance(error["error_data"]["details"], str) and error["error_data"]["details"]
    assert isinstance(error["fbtrace_id"], str) and error["fbtrace_id"]
    return dict(error)


def text(to: str, body: str = "hello") -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": body}}


def buttons(*titles: str, ids: list[str] | None = None, body: str = "Choose") -> dict[str, Any]:
    button_ids = ids or [f"b{i}" for i in range(len(titles))]
    return {"type": "button", "body": {"text": body},
            "action": {"buttons": [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in zip(button_ids, titles)]}}


def interactive(to: str, content: dict[str, Any]) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": "interactive", "interactive": content}


def a_list(sections: list[dict[str, Any]], button: str = "Options", body: str = "Pick one") -> dict[str, Any]:
    return {"type": "list", "body": {"text": body}, "action": {"button": button, "sections": sections}}


def rows(count: int, prefix: str = "r") -> list[dict[str, Any]]:
    return [{"id": f"{prefix}{i}", "title": f"Row {prefix}{i}"} for i in range(count)]


def template(to: str, name: str, language: str = "en_US", components: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"messaging_product": "whatsapp", "to": to, "type": "template",
                            "template": {"name": name, "language": {"code": language, "policy": "deterministic"}}}
    if components is not None:
        body["template"]["components"] = components
    return body


def body_params(*values: str) -> list[dict[str, Any]]:
    return [{"type": "body", "parameters": [{"type": "text", "text": v} for v in values]}]


def statuses_of(receiver: WebhookReceiver, wamid: str) -> list[dict[str, Any]]:
    """The statuses the receiver got for ``wamid``, in arrival order."""
    return [s for s in receiver.statuses() if s["id"] == wamid]


def wamid_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["messages"][0]["id"])
