"""``webhook``: call an HTTP endpoint. The engine emits an ``http_request`` output and waits; the
driver makes the call and resumes with ``Input.http_response`` (or ``Input.timeout``).

``save`` maps variable names to expressions over ``response`` (``status``, ``body``, ``json``,
``headers``): ``{balance: "response.json.balance"}``. A 2xx status takes ``success`` (or ``next``),
anything else, a timeout included, takes ``failure``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Iterator, Literal

from pydantic import Field

from voiceplatform.flow.inputs import Input, InputKind
from voiceplatform.flow.nodes.base import WAIT, NodeBase, Outcome, Path, register
from voiceplatform.flow.outputs import HttpRequest

if TYPE_CHECKING:
    from voiceplatform.flow.run import Run

NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


@register
class WebhookNode(NodeBase):
    type: Literal["webhook"] = "webhook"
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | dict[str, Any] | list[Any] | None = None
    timeout: float = Field(default=10.0, gt=0, le=120)
    save: dict[str, str] = Field(default_factory=dict)
    store: str | None = Field(default=None, pattern=NAME)

    waits = True
    exit_names = ("next", "success", "failure")
    accepts = frozenset({InputKind.HTTP_RESPONSE, InputKind.TIMEOUT})

    def texts(self) -> Iterator[tuple[Path, str, bool]]:
        yield ("url",), self.url, False
        for name, value in self.headers.items():
            yield ("headers", name), value, False
        yield from _body_texts(("body",), self.body)
        for name, expression in self.save.items():
            yield ("save", name), expression, True

    def stores(self) -> Iterator[tuple[str, str]]:
        for name in self.save:
            yield "vars", name
        if self.store:
            yield "results", self.store

    def enter(self, run: Run) -> Outcome:
        headers = {name: run.text(value) for name, value in self.headers.items()}
        body: str | None
        if isinstance(self.body, str):
            body = run.text(self.body)
        elif self.body is not None:
            body = json.dumps(_render_body(run, self.body), separators=(",", ":"))
            headers.setdefault("Content-Type", "application/json")
        else:
            body = None
        run.emit(HttpRequest(self.method, run.text(self.url), headers, body, self.timeout))
        run.wait("http", self.timeout)
        return WAIT

    def resume(self, run: Run, given: Input) -> Outcome:
        run.clear_wait()
        status = int(given.data.get("status", 0)) if given.kind is InputKind.HTTP_RESPONSE else 0
        response = {
            "status": status,
            "body": given.value,
            "headers": dict(given.data.get("headers") or {}),
            "json": None,
        }
        if given.value:
            try:
                response["json"] = json.loads(given.value)
            except ValueError:
                if self.save:
                    run.error("bad_response", f"response from {self.url} is not JSON")
        if status and (self.save or self.store):
            extra = {"response": response}
            for name, expression in self.save.items():
                value = run.expression(expression, extra)
                run.set_var(name, value)
        if self.store:
            run.save_result(self.store, status, body=given.value[:2000])
        if 200 <= status < 300:
            return "success" if self.target("success") is not None else "next"
        return "failure"


def _body_texts(path: Path, body: Any) -> Iterator[tuple[Path, str, bool]]:
    if isinstance(body, str):
        yield path, body, False
    elif isinstance(body, dict):
        for key, value in body.items():
            yield from _body_texts(path + (key,), value)
    elif isinstance(body, list):
        for position, value in enumerate(body):
            yield from _body_texts(path + (position,), value)


def _render_body(run: Run, body: Any) -> Any:
    if isinstance(body, str):
        return run.text(body)
    if isinstance(body, dict):
        return {key: _render_body(run, value) for key, value in body.items()}
    if isinstance(body, list):
        return [_render_body(run, value) for value in body]
    return body
