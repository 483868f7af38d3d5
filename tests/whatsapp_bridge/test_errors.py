"""Graph error bodies are parsed tolerantly and every error is classified: throttling later,
transient soon, the rest (131047 included) never."""

from __future__ import annotations

from typing import Any

import pytest

from voiceplatform.exceptions import MessageRefusedError, OutboundRequestFailed, VoicePlatformError
from whatsapp_bridge.errors import (GraphAuthError, GraphRejectedError, GraphThrottledError, GraphTransientError,
                                    OutsideWindowError, ReengagementError, Retry, SendUnconfirmed, classify,
                                    graph_error, parse_error_body)

PAIR_LIMIT = {"error": {"message": "(#131056) (Business Account, Consumer Account) pair rate limit hit",
                        "type": "OAuthException", "code": 131056,
                        "error_data": {"messaging_product": "whatsapp", "details": "Too many messages"},
                        "fbtrace_id": "A4O5x"}}


@pytest.mark.parametrize("code", [4, 80007, 130429, 131048, 131056, 133016])
def test_throttling_codes_retry_later(code: int) -> None:
    assert classify(code, 400) is Retry.LATER


@pytest.mark.parametrize(("code", "status"), [(131053, 400), (1, 500), (2, 503), (None, 502), (100, 500),
                                              (None, None)])
def test_transient_errors_retry_soon(code: int | None, status: int | None) -> None:
    assert classify(code, status) is Retry.SOON


@pytest.mark.parametrize(("code", "status"), [(100, 400), (131047, 400), (131047, 500), (190, 401), (132000, 400),
                                              (131026, 400), (None, 400)])
def test_other_errors_never_retry(code: int | None, status: int) -> None:
    assert classify(code, status) is Retry.NEVER


def test_plain_http_429_is_throttling() -> None:
    assert classify(None, 429) is Retry.LATER
    assert classify(100, 429) is Retry.LATER


def test_error_body_parsed() -> None:
    body = parse_error_body(PAIR_LIMIT)
    assert (body.code, body.type, body.details, body.fbtrace_id) == (131056, "OAuthException", "Too many messages",
                                                                     "A4O5x")
    error = graph_error(400, PAIR_LIMIT)
    assert isinstance(error, GraphThrottledError) and error.retry is Retry.LATER
    assert (error.code, error.http_status, error.fbtrace_id) == (131056, 400, "A4O5x")
    assert "pair rate limit" in str(error)


@pytest.mark.parametrize("body", [None, [], "text", {"error": "x"}, {"error": {"code": "abc", "message": 5,
                                                                               "error_data": []}},
                                  {"error": {"code": True}}])
def test_hostile_error_bodies_parse_as_empty(body: Any) -> None:
    parsed = parse_error_body(body, "<html>Bad gateway</html>")
    assert parsed.code is None
    assert isinstance(parsed.message, str)
    assert isinstance(graph_error(502, body), GraphTransientError)


def test_subclasses_by_meaning() -> None:
    assert isinstance(graph_error(400, {"error": {"code": 131047, "message": "Re-engagement message"}}),
                      ReengagementError)
    assert isinstance(graph_error(401, {"error": {"code": 190, "type": "OAuthException"}}), GraphAuthError)
    assert isinstance(graph_error(400, {"error": {"code": 132001}}), GraphRejectedError)


def test_the_tree() -> None:
    assert issubclass(SendUnconfirmed, OutboundRequestFailed) and issubclass(SendUnconfirmed, VoicePlatformError)
    assert SendUnconfirmed.retry is Retry.SOON
    refused = OutsideWindowError("closed")
    assert isinstance(refused, MessageRefusedError) and refused.code == "outside_window"
