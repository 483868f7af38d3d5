"""The Graph API client against httpx.MockTransport (no network): requests as Meta expects them,
answers parsed, errors classified, and a send whose answer never came is unconfirmed."""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable

import httpx
import pytest

from whatsapp_bridge.errors import (GraphAuthError, GraphProtocolError, GraphRejectedError, GraphThrottledError,
                                    GraphTransientError, GraphUnreachable, MediaTooLargeError, ReengagementError,
                                    Retry, SendUnconfirmed, WhatsAppPayloadError)
from whatsapp_bridge.graph_client import GraphClient
from whatsapp_bridge.messages import TextMessage

BASE = "http://127.0.0.1:9/v23.0"
SENT = {"messaging_product": "whatsapp",
        "contacts": [{"input": "15551234567", "wa_id": "15551234567", "user_id": "US.13491208655302741918"}],
        "messages": [{"id": "wamid.HBgLOUT1", "message_status": "accepted"}]}

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, **options: Any) -> GraphClient:
    return GraphClient(BASE, "tok-123", transport=httpx.MockTransport(handler), **options)


def test_send_posts_the_payload_with_the_token_and_parses_the_answer() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=SENT)

    with client(handler) as graph:
        result = graph.send_message("1234", TextMessage("مرحبا 👋 a@b"), "+15551234567")
    [request] = seen
    assert request.method == "POST" and str(request.url) == f"{BASE}/1234/messages"
    assert request.headers["authorization"] == "Bearer tok-123"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content)["text"]["body"] == "مرحبا 👋 a@b"
    assert (result.wamid, result.wa_id, result.user_id, result.message_status) == (
        "wamid.HBgLOUT1", "15551234567", "US.13491208655302741918", "accepted")


@pytest.mark.parametrize(("status", "body", "kind", "retry"), [
    (400, {"error": {"code": 131056, "message": "pair rate limit hit", "type": "OAuthException"}},
     GraphThrottledError, Retry.LATER),
    (429, {"error": {"code": 130429}}, GraphThrottledError, Retry.LATER),
    (429, None, GraphThrottledError, Retry.LATER),
    (503, None, GraphTransientError, Retry.SOON),
    (400, {"error": {"code": 131047, "message": "Re-engagement message"}}, ReengagementError, Retry.NEVER),
    (401, {"error": {"code": 190, "type": "OAuthException", "message": "token expired"}}, GraphAuthError, Retry.NEVER),
    (400, {"error": {"code": 132001, "message": "template does not exist in en"}}, GraphRejectedError, Retry.NEVER),
])
def test_error_answers_are_classified(status: int, body: Any, kind: type[Exception], retry: Retry) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if body is None:
            return httpx.Response(status, text="<html>busy</html>")
        return httpx.Response(status, json={**body, "error": {**body["error"], "fbtrace_id": "FB1"}})

    with client(handler) as graph, pytest.raises(kind) as caught:
        graph.send("1234", TextMessage("hi").to_json("15551234567"))
    assert getattr(caught.value, "retry") is retry
    assert getattr(caught.value, "http_status") == status
    if body is not None:
        assert getattr(caught.value, "fbtrace_id") == "FB1"


def raising(error: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error
    return handler


@pytest.mark.parametrize("error", [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"),
                                   httpx.PoolTimeout("full")])
def test_nothing_sent_is_unreachable_and_retried_soon(error: Exception) -> None:
    with client(raising(error)) as graph, pytest.raises(GraphUnreachable) as caught:
        graph.send("1234", {"messaging_product": "whatsapp"})
    assert not isinstance(caught.value, SendUnconfirmed)
    assert caught.value.retry is Retry.SOON and caught.value.__cause__ is error


@pytest.mark.parametrize("error", [httpx.ReadTimeout("no answer"), httpx.RemoteProtocolError("closed"),
                                   httpx.ReadError("reset"), httpx.WriteTimeout("stuck")])
def test_written_but_unanswered_is_unconfirmed(error: Exception) -> None:
    with client(raising(error)) as graph, pytest.raises(SendUnconfirmed) as caught:
        graph.send("1234", {"messaging_product": "whatsapp"})
    assert caught.value.__cause__ is error


@pytest.mark.parametrize("answer", [httpx.Response(200, json={"messages": []}), httpx.Response(200, text="ok"),
                                    httpx.Response(200, json={"messages": [{"id": 5}]}), httpx.Response(200, json=[1])])
def test_a_2xx_without_a_wamid_is_unconfirmed(answer: httpx.Response) -> None:
    with client(lambda request: answer) as graph, pytest.raises(SendUnconfirmed):
        graph.send("1234", {"messaging_product": "whatsapp"})


def test_a_read_timeout_elsewhere_is_only_unreachable() -> None:
    with client(raising(httpx.ReadTimeout("slow"))) as graph, pytest.raises(GraphUnreachable) as caught:
        graph.media_info("908172635")
    assert not isinstance(caught.value, SendUnconfirmed)


def test_mark_read() -> None:
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"success": True})

    with client(handler) as graph:
        graph.mark_read("1234", "wamid.IN1")
    assert bodies == [{"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN1"}]


def test_media_info_and_download_with_a_cap() -> None:
    audio = b"OggS" + b"\x00" * 2000

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v23.0/908172635":
            return httpx.Response(200, json={"url": "http://127.0.0.1:9/media/908172635", "mime_type": "audio/ogg",
                                             "sha256": "abc", "file_size": len(audio), "id": "908172635"})
        assert request.headers["authorization"] == "Bearer tok-123"
        return httpx.Response(200, content=audio)

    with client(handler) as graph:
        info = graph.media_info("908172635")
        assert (info.mime_type, info.file_size) == ("audio/ogg", len(audio))
        assert graph.download(info.url, max_bytes=10_000) == audio
        with pytest.raises(MediaTooLargeError):
            graph.download(info.url, max_bytes=100)
        with pytest.raises(WhatsAppPayloadError):
            graph.download("file:///etc/passwd", max_bytes=100)


def test_media_info_without_a_url() -> None:
    with client(lambda request: httpx.Response(200, json={"id": "1"})) as graph, pytest.raises(GraphProtocolError):
        graph.media_info("1")


@pytest.mark.parametrize("bad", ["../admin", "12/34", "", "a b", "x" * 200])
def test_path_ids_are_checked(bad: str) -> None:
    with client(lambda request: httpx.Response(200, json=SENT)) as graph, pytest.raises(WhatsAppPayloadError):
        graph.send(bad, {})


def template(name: str, language: str, body: str, buttons: list[str], status: str = "APPROVED") -> dict[str, Any]:
    return {"id": f"id-{name}-{language}", "name": name, "language": language, "status": status,
            "category": "UTILITY", "components": [
                {"type": "HEADER", "format": "TEXT", "text": "Reminder"},
                {"type": "BODY", "text": body},
                {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": text} for text in buttons]
                 + [{"type": "URL", "text": "Open", "url": "https://example.com/{{1}}"}]}]}


def test_templates_follow_paging_next() -> None:
    pages = {
        None: {"data": [template("appointment_reminder", "en", "Hi {{1}}, see you at {{2}}. {{1}}!", ["Yes", "No"]),
                        "junk", {"name": "no_language"}],
               "paging": {"cursors": {"after": "A"}, "next": f"{BASE}/555/message_templates?after=A"}},
        "A": {"data": [template("appointment_reminder", "ar", "مرحبا {{1}}", [], status="PAUSED")],
              "paging": {"cursors": {"before": "A"}}},
    }
    asked: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url)
        return httpx.Response(200, json=pages[request.url.params.get("after")])

    with client(handler) as graph:
        records = graph.templates("555")
    assert asked[0].path == "/v23.0/555/message_templates" and asked[0].params["limit"] == "100"
    assert len(asked) == 2
    first, second = records
    assert (first.name, first.language, first.status, first.category, first.body_params, first.quick_replies) == (
        "appointment_reminder", "en", "APPROVED", "UTILITY", 2, ("Yes", "No"))
    assert first.id == "id-appointment_reminder-en" and first.info().approved
    assert (second.language, second.status, second.body_params) == ("ar", "PAUSED", 1)


def test_templates_refuse_a_foreign_next_link_and_endless_paging() -> None:
    foreign = {"data": [template("x", "en", "hi", [])], "paging": {"next": "https://evil.example/steal"}}
    with client(lambda request: httpx.Response(200, json=foreign)) as graph, pytest.raises(GraphProtocolError):
        graph.templates("555")
    counter = iter(range(1000))

    def endless(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [template("x", "en", "hi", [])],
                                         "paging": {"next": f"{BASE}/555/message_templates?after={next(counter)}"}})

    with client(endless, max_template_pages=3) as graph, pytest.raises(GraphProtocolError):
        graph.templates("555")


def test_an_oversized_answer_is_not_a_graph_answer() -> None:
    huge = httpx.Response(200, content=b"{" + b" " * (5 * 1024 * 1024) + b"}")
    with client(lambda request: huge) as graph, pytest.raises(GraphProtocolError):
        graph.media_info("1")


def test_construction_checks() -> None:
    with pytest.raises(WhatsAppPayloadError):
        GraphClient("ftp://x/v23.0", "t")
    with pytest.raises(WhatsAppPayloadError):
        GraphClient(BASE, "bad\ntoken")


def test_sends_beyond_the_connections_wait_for_a_free_one() -> None:
    lock, now, most = threading.Lock(), [0], [0]

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            now[0] += 1
            most[0] = max(most[0], now[0])
        time.sleep(0.02)
        with lock:
            now[0] -= 1
        return httpx.Response(200, json=SENT)

    results: list[str | None] = []
    with client(handler, connections=2) as graph:
        senders = [threading.Thread(target=lambda: results.append(
            graph.send_message("1234", TextMessage("hi"), "+15551234567").wamid)) for _ in range(8)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(10)
    assert results == ["wamid.HBgLOUT1"] * 8  # every send went, in turn
    assert most[0] == 2  # never more than the client's connections at once


def test_no_free_connection_in_time_is_unreachable_and_nothing_sent() -> None:
    release, seen = threading.Event(), []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        release.wait(5)
        return httpx.Response(200, json=SENT)

    graph = GraphClient(BASE, "tok-123", transport=httpx.MockTransport(handler), connections=1,
                        connect_timeout=0.05, read_timeout=0.05)
    holder = threading.Thread(target=lambda: graph.send_message("1234", TextMessage("hi"), "+15551234567"))
    holder.start()
    while not seen:
        time.sleep(0.005)
    with pytest.raises(GraphUnreachable, match="no connection to the Graph API became free"):
        graph.send_message("1234", TextMessage("second"), "+15551234567")
    release.set()
    holder.join(5)
    graph.close()
    assert len(seen) == 1  # the second send never reached the transport


def test_every_lane_shares_one_tls_context() -> None:
    client = GraphClient("https://graph.facebook.com/v23.0", "token", connections=4)
    try:
        contexts = {id(lane._transport._pool._ssl_context) for lane in client._lanes}  # type: ignore[attr-defined]
        assert len(client._lanes) == 4 and len(contexts) == 1
    finally:
        client.close()
