"""A Python client for the contract server: Meta's Graph calls (as a bridge would make them,
raw) and the tests' control calls. Control calls raise :class:`ControlCallError` on a refusal;
Graph calls return the :class:`httpx.Response` as it came."""

from __future__ import annotations

from typing import Any

import httpx


class ControlCallError(RuntimeError):
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        super().__init__(f"{response.request.method} {response.request.url.path}: "
                         f"{response.status_code} {response.text[:300]}")


class WhatsAppCloudClient:
    def __init__(self, base_url: str, token: str, *, version: str = "v23.0", timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.version = version
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, trust_env=False)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "WhatsAppCloudClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ Meta's Graph API
    def _auth(self, token: str | None) -> dict[str, str]:
        """The bearer header; ``token=""`` sends none."""
        value = self.token if token is None else token
        return {"Authorization": f"Bearer {value}"} if value else {}

    def send(self, phone_number_id: str, body: Any, *, token: str | None = None) -> httpx.Response:
        return self._http.post(f"/{self.version}/{phone_number_id}/messages", json=body, headers=self._auth(token))

    def send_raw(self, phone_number_id: str, content: bytes, *, token: str | None = None,
                 content_type: str = "application/json") -> httpx.Response:
        headers = {**self._auth(token), "Content-Type": content_type}
        return self._http.post(f"/{self.version}/{phone_number_id}/messages", content=content, headers=headers)

    def send_text(self, phone_number_id: str, to: str, text: str) -> httpx.Response:
        return self.send(phone_number_id, {"messaging_product": "whatsapp", "to": to, "type": "text",
                                           "text": {"body": text}})

    def send_template(self, phone_number_id: str, to: str, name: str, language: str = "en_US",
                      body_params: list[str] | None = None) -> httpx.Response:
        template: dict[str, Any] = {"name": name, "language": {"code": language, "policy": "deterministic"}}
        if body_params:
            template["components"] = [{"type": "body", "parameters": [{"type": "text", "text": p} for p in body_params]}]
        return self.send(phone_number_id, {"messaging_product": "whatsapp", "to": to, "type": "template",
                                           "template": template})

    def mark_read(self, phone_number_id: str, message_id: str) -> httpx.Response:
        return self.send(phone_number_id, {"messaging_product": "whatsapp", "status": "read", "message_id": message_id})

    def media(self, media_id: str, *, token: str | None = None) -> httpx.Response:
        return self._http.get(f"/{self.version}/{media_id}", headers=self._auth(token))

    def download(self, url: str, *, token: str | None = None) -> httpx.Response:
        return self._http.get(url, headers=self._auth(token))

    def upload(self, phone_number_id: str, data: bytes, mime_type: str) -> httpx.Response:
        return self._http.post(f"/{self.version}/{phone_number_id}/media", headers=self._auth(None),
                               data={"messaging_product": "whatsapp", "type": mime_type},
                               files={"file": ("upload", data, mime_type)})

    def templates(self, waba_id: str, *, token: str | None = None, **params: str) -> httpx.Response:
        return self._http.get(f"/{self.version}/{waba_id}/message_templates", params=params, headers=self._auth(token))

    # ------------------------------------------------------------ control
    def _control(self, method: str, path: str, body: dict[str, Any] | None = None,
                 params: dict[str, str] | None = None) -> Any:
        response = self._http.request(method, f"/_control{path}", json=body, params=params)
        if response.status_code >= 400:
            raise ControlCallError(response)
        return response.json()

    def inject(self, kind: str, *, user: str | None = None, user_id: str | None = None, **fields: Any) -> dict[str, Any]:
        """A user's message: ``user`` a phone number, or ``user_id`` a BSUID (a user with no number)."""
        spec: dict[str, Any] = {"kind": kind, **fields}
        if user is not None:
            spec["from"] = user
        if user_id is not None:
            spec["user_id"] = user_id
        result: dict[str, Any] = self._control("POST", "/inbound", spec)
        return result

    def inject_text(self, user: str, text: str, **fields: Any) -> dict[str, Any]:
        return self.inject("text", user=user, text=text, **fields)

    def emit_status(self, wamid: str, status: str, *, code: int | None = None, pricing: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {"wamid": wamid, "status": status, "pricing": pricing}
        if code is not None:
            body["code"] = code
        result: dict[str, Any] = self._control("POST", "/statuses", body)
        return result

    def emit_value_error(self, code: int, details: str, *, phone_number_id: str | None = None,
                         title: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"code": code, "details": details}
        if phone_number_id:
            body["phone_number_id"] = phone_number_id
        if title:
            body["title"] = title
        result: dict[str, Any] = self._control("POST", "/value-errors", body)
        return result

    def now(self) -> float:
        return float(self._control("GET", "/clock")["now"])

    def advance_clock(self, seconds: float) -> float:
        return float(self._control("POST", "/clock", {"advance": seconds})["now"])

    def freeze_clock(self, frozen: bool = True) -> float:
        return float(self._control("POST", "/clock", {"freeze": frozen})["now"])

    def force_error(self, code: int, *, count: int = 1, mode: str = "sync", details: str = "",
                    recipient: str | None = None, http_status: int | None = None) -> None:
        self._control("POST", "/errors", {"code": code, "count": count, "mode": mode, "details": details,
                                          "recipient": recipient, "http_status": http_status})

    def clear_errors(self) -> None:
        self._control("DELETE", "/errors")

    def set_tier(self, phone_number_id: str, tier: int) -> None:
        self._control("PUT", f"/numbers/{phone_number_id}", {"tier": tier})

    def add_user(self, *, phone: str | None = None, user_id: str | None = None, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = dict(fields)
        if phone is not None:
            body["phone"] = phone
        if user_id is not None:
            body["user_id"] = user_id
        result: dict[str, Any] = self._control("POST", "/users", body)
        return result

    def add_template(self, name: str, language: str, category: str, status: str,
                     components: list[dict[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = self._control("POST", "/templates", {
            "name": name, "language": language, "category": category, "status": status, "components": components})
        return result

    def sent(self) -> list[dict[str, Any]]:
        return list(self._control("GET", "/sent")["data"])

    def refused(self) -> list[dict[str, Any]]:
        return list(self._control("GET", "/refused")["data"])

    def deliveries(self) -> list[dict[str, Any]]:
        return list(self._control("GET", "/deliveries")["data"])

    def wait_for_webhooks(self, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until no webhook is scheduled or being retried; the deliveries so far."""
        result = self._control("POST", "/deliveries/wait", {"timeout": timeout})
        if not result["idle"]:
            raise TimeoutError(f"webhook deliveries still under way after {timeout} s")
        return list(result["data"])

    def window(self, user_id: str, phone_number_id: str | None = None) -> dict[str, Any]:
        params = {"user_id": user_id}
        if phone_number_id:
            params["phone_number_id"] = phone_number_id
        result: dict[str, Any] = self._control("GET", "/windows", params=params)
        return result

    def settings(self, **changes: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._control("PATCH", "/settings", changes) if changes else self._control("GET", "/settings")
        return result

    def reset(self) -> None:
        self._control("POST", "/reset")
