"""Click-tracked links without a database: the engine's ``track_link`` (one link per session,
the stand-in's length, the public URL, validation of constant names), the token's decoding
(forgeries, stand-ins and garbage are nobody's), what a campaign may redirect to, and what a
click keeps of the client."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from voiceplatform.campaigns.settings import CampaignSettings
from voiceplatform.engagement.privacy import clean_user_agent, network_of
from voiceplatform.flow import load_flow_text, start
from voiceplatform.flow.loader import analyse_flow_text
from voiceplatform.flow.short_links import ID_CHARS, PUBLIC_URL_ENV, parse_token, token
from voiceplatform.safety.redirect_urls import redirect_target

FLOW = """spec_version: 1
name: offer
channels: [sms, whatsapp, voice]
start: offer
nodes:
  - id: offer
    type: send
    channel: sms
    text: "See {{ track_link() }} and the terms at {{ track_link('terms') }}"
"""


def _sent(session_id: str) -> str:
    step = start(load_flow_text(FLOW), {"phone": "+12025550100"}, "sms", session_id=session_id)
    assert not [event for event in step.events if "error" in type(event).__name__.lower()], step.events
    return step.outputs[0].text  # type: ignore[attr-defined, no-any-return]


def test_each_session_gets_its_own_link_and_the_token_names_the_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PUBLIC_URL_ENV, "https://go.example.sa/")
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    text = _sent(first)
    plain, named = token(first), token(first, "terms")
    assert text == f"See https://go.example.sa/l/{plain} and the terms at https://go.example.sa/l/{plain}-terms"
    assert named == f"{plain}-terms" and len(plain) == ID_CHARS
    assert _sent(second) != text and _sent(first) == text  # per session, and deterministic
    assert parse_token(plain) == (first, None) and parse_token(named) == (first, "terms")
    assert parse_token(token("0" * 32)) == ("0" * 32, None)


def test_a_session_id_that_is_not_ours_gets_a_link_of_the_same_length_that_is_nobodys() -> None:
    stand_in = token("estimate")  # the campaign estimate's session id: the message is measured right
    assert len(stand_in) == ID_CHARS and len(_sent("estimate")) == len(_sent(uuid.uuid4().hex))
    assert parse_token(stand_in) is None


@pytest.mark.parametrize("forged", [
    "", "abc", "z" * ID_CHARS, "0" * (ID_CHARS + 1), "0" * (ID_CHARS - 1) + "!", "0" * ID_CHARS + "-",
    "0" * ID_CHARS + "-" + "x" * 25, "0" * ID_CHARS + "-a b", "0" * ID_CHARS + "/x", "٠" * ID_CHARS, "0" * 10_000,
])
def test_what_is_not_a_token(forged: str) -> None:
    assert parse_token(forged) is None


def test_the_public_url_must_be_a_plain_http_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PUBLIC_URL_ENV, "javascript:alert(1)//")
    step = start(load_flow_text(FLOW), {"phone": "+12025550100"}, "sms", session_id=uuid.uuid4().hex)
    errors = [event for event in step.events if getattr(event, "code", "") == "template_error"]
    assert errors and PUBLIC_URL_ENV in errors[0].message  # type: ignore[attr-defined]
    assert step.ended  # a template error: the run goes on


def test_validation_refuses_a_link_name_that_cannot_work() -> None:
    _, problems = analyse_flow_text(FLOW.replace("'terms'", "'the terms'"))
    assert [p.message for p in problems if p.severity == "error"] == [
        "node 'offer': track_link: a link's name is 1 to 24 letters, digits or _, not 'the terms'"]


@pytest.mark.parametrize("url, problem", [
    ("javascript:alert(document.cookie)", "http or https"),
    ("JavaScript:alert(1)", "http or https"),
    ("data:text/html;base64,PHNjcmlwdD4=", "http or https"),
    ("vbscript:msgbox", "http or https"),
    ("file:///etc/passwd", "http or https"),
    ("//evil.example/path", "http or https"),
    ("/relative", "http or https"),
    ("https:evil.example", "absolute URL"),
    ("https://bank.example@evil.example/", "user name or password"),
    ("https://example.com/\r\nSet-Cookie: a=b", "control characters"),
    ("https://example.com/\nx", "control characters"),
    ("https:\\\\evil.example", "backslashes"),
    ("https://exa mple.com", "spaces"),
    ("https://evil<script>.example/", "host name"),
    ("https://example.com:0/", "host name or port"),
    ("https://example.com:70000/", "not a valid URL"),
    ("https://" + "a" * 2000 + ".com", "longer than"),
    ("", "empty"),
])
def test_a_campaign_may_redirect_only_to_a_plain_web_address(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        redirect_target(url)
    with pytest.raises(ValidationError, match="redirect_url"):
        CampaignSettings.model_validate({"redirect_url": url})
    with pytest.raises(ValidationError, match="links.offer"):
        CampaignSettings.model_validate({"links": {"offer": url}})


@pytest.mark.parametrize("url", ["https://example.com/offer?utm=sms#top", "http://shop.example:8080/a/b",
                                 "https://متجر.example/عرض", "https://[2001:db8::1]/x", " https://example.com "])
def test_web_addresses_are_kept_as_given(url: str) -> None:
    assert CampaignSettings.model_validate({"redirect_url": url, "links": {"a_1": url}}).redirect_url == url.strip()


@pytest.mark.parametrize("links", [{"the offer": "https://example.com"}, {"": "https://example.com"},
                                   {"x" * 25: "https://example.com"}, {"offer": 7},
                                   {f"l{i}": "https://example.com" for i in range(21)}])
def test_link_names_and_their_number_are_checked(links: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CampaignSettings.model_validate({"links": links})


@pytest.mark.parametrize("address, network", [
    ("203.0.113.77", "203.0.113.0/24"), ("2001:db8:1:2::5", "2001:db8:1::/48"), ("::ffff:198.51.100.9", "198.51.100.0/24"),
    ("not an address", None), ("", None), (None, None),
])
def test_a_click_keeps_the_network_never_the_address(address: str | None, network: str | None) -> None:
    assert network_of(address) == network


def test_the_user_agent_is_cut_and_printable() -> None:
    assert clean_user_agent("Mozilla/5.0\r\n\x00(Android)") == "Mozilla/5.0(Android)"
    assert len(clean_user_agent("A" * 5000) or "") == 300 and clean_user_agent("\x01\x02") is None
