"""The signature header: its exact construction, and verify() refusing tampering, wrong secrets,
stale or future timestamps and malformed headers."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from voiceplatform.webhooks import sign, verify

SECRET = "s3cret-s3cret-s3cret"
BODY = b'{"id":1,"event":"call.ended","created_at":"2030-01-01T00:00:00+00:00","data":{"x":1}}'
T = 1_900_000_000


def test_header_is_timestamp_and_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, T, BODY) == f"t={T},v1={expected}"
    assert sign(SECRET.encode(), T, BODY) == sign(SECRET, T, BODY)


def test_a_fresh_signature_verifies() -> None:
    header = sign(SECRET, T, BODY)
    assert verify(SECRET, header, BODY, now=T)
    assert verify(SECRET, header, BODY, now=T + 300) and verify(SECRET, header, BODY, now=T - 300)


@pytest.mark.parametrize("body", [BODY + b" ", BODY.replace(b'"x":1', b'"x":2'), b""])
def test_a_changed_body_does_not_verify(body: bytes) -> None:
    assert not verify(SECRET, sign(SECRET, T, BODY), body, now=T)


def test_another_secret_does_not_verify() -> None:
    assert not verify("another-secret-entirely", sign(SECRET, T, BODY), BODY, now=T)


def test_stale_and_future_timestamps_are_refused() -> None:
    header = sign(SECRET, T, BODY)
    assert not verify(SECRET, header, BODY, now=T + 301)
    assert not verify(SECRET, header, BODY, now=T - 301)
    assert verify(SECRET, header, BODY, now=T + 3600, tolerance_seconds=3600)


def test_a_replayed_signature_with_a_new_timestamp_is_refused() -> None:
    digest = sign(SECRET, T, BODY).split("v1=")[1]
    assert not verify(SECRET, f"t={T + 100},v1={digest}", BODY, now=T + 100)


def test_any_of_several_v1_values_may_match() -> None:
    good = sign(SECRET, T, BODY).split("v1=")[1]
    assert verify(SECRET, f"t={T},v1={'0' * 64},v1={good}", BODY, now=T)
    assert verify(SECRET, f" t={T} , v1={good} ", BODY, now=T)


@pytest.mark.parametrize("header", [
    None, "", "garbage", f"t={T}", "v1=abc", f"t=soon,v1={'0' * 64}", f"t={T},v0={'0' * 64}", f"t={T},v1=",
    f"t={T},v1=é{'0' * 63}",
])
def test_malformed_headers_do_not_verify(header: str | None) -> None:
    assert verify(SECRET, header, BODY, now=T) is False


def test_default_clock_is_now() -> None:
    import time

    assert verify(SECRET, sign(SECRET, int(time.time()), BODY), BODY)
    assert not verify(SECRET, sign(SECRET, int(time.time()) - 3600, BODY), BODY)
