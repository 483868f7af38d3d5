"""The messages package below the API: statuses that only move forward, what a sender ID may be,
the countries that require registration and the calling codes they share, per-country rates and
their configuration errors, the template's static checks; on SQLite and PostgreSQL: the rate
limiter's sliding window at given times, and a campaign's SMS charged at its contact's country
rate (campaigns.message_outcomes.record_sent)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from tests.campaigns.messaging_world import MessagingWorld, attempts, seed_messaging
from voiceplatform.api.rate_limits import take
from voiceplatform.campaigns.pricing import Rates
from voiceplatform.db import session_factory
from voiceplatform.exceptions import MessageRefusedError
from voiceplatform.messages import countries
from voiceplatform.messages.personalised import read_template
from voiceplatform.messages.sender_ids import parse_sender_id
from voiceplatform.messages.statuses import advance
from voiceplatform.models import Account
from voiceplatform.models.rate_limits import RateLimitHit
from voiceplatform.phone import region_of

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("current, report, after", [
    ("accepted", "queued", "queued"), ("accepted", "sent", "sent"), ("accepted", "delivered", "delivered"),
    ("queued", "accepted", None), ("sent", "queued", None), ("sent", "sent", None), ("sent", "expired", "expired"),
    ("delivered", "undelivered", None), ("rejected", "delivered", None), ("failed", "sent", None),
    ("sent", "enroute", "enroute"), ("enroute", "sent", None), ("enroute", "expired", "expired"),
    ("accepted", "unknown", "unknown"), ("unknown", "delivered", "delivered"), ("unknown", "rejected", "rejected"),
    ("unknown", "unknown", None), ("unknown", "failed", None), ("unknown", "enroute", None),
    ("delivered", "unknown", None), ("failed", "unknown", None),
])
def test_statuses_only_move_forward(current: str, report: str, after: str | None) -> None:
    assert advance(current, report) == after


def test_an_unknown_report_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="lost"):
        advance("accepted", "lost")


@pytest.mark.parametrize("raw, expected", [
    ("ACME", ("ACME", "alphanumeric")), (" Acme Bank ", ("Acme Bank", "alphanumeric")), ("A1-B2_C.3", ("A1-B2_C.3", "alphanumeric")),
    ("ABCDEFGHIJK", ("ABCDEFGHIJK", "alphanumeric")), ("+966501234567", ("+966501234567", "numeric")),
    ("70707", ("70707", "numeric")), ("123456789012345", ("123456789012345", "numeric")),
])
def test_sender_ids_that_are_accepted(raw: str, expected: tuple[str, str]) -> None:
    assert parse_sender_id(raw) == expected


@pytest.mark.parametrize("raw", ["ABCDEFGHIJKL", "", "A€", "A{B}", "A`", "ش", "---", "1234567890123456", "+", "+1+2",
                                 None, 7, "A\tB"])
def test_sender_ids_that_are_refused(raw: object) -> None:
    with pytest.raises(MessageRefusedError) as refused:
        parse_sender_id(raw)
    assert refused.value.code == "invalid_sender_id" and refused.value.status == 400


def test_registration_countries_and_the_warning() -> None:
    assert "SA" in countries.registration_countries({}) and "US" not in countries.registration_countries({})
    assert countries.registration_countries({countries.ENV: " us, GB ,,"}) == frozenset({"US", "GB"})
    assert countries.registration_countries({countries.ENV: ""}) == frozenset()
    required = frozenset({"SA"})
    warned = countries.warning("ACME", "SA", {"AE"}, required)
    assert warned is not None and (warned["code"], warned["country"], warned["sender"]) == ("sender_not_registered", "SA", "ACME")
    assert countries.warning("ACME", "SA", {"SA"}, required) is None
    assert countries.warning("ACME", "US", (), required) is None
    assert countries.warning("ACME", None, (), required) is None


@pytest.mark.parametrize("prefix, regions", [
    ("+966", ("SA",)), ("+201", ("EG",)), ("+971", ("AE",)), ("+7", ("RU", "KZ")), ("+120", None), ("+999", ()), ("", ()),
    ("+abc", ()),
])
def test_regions_of_a_prefix(prefix: str, regions: tuple[str, ...] | None) -> None:
    found = countries.regions_of_prefix(prefix)
    if regions is None:  # +1: the NANP, the US and its neighbours
        assert "US" in found and "CA" in found
    else:
        assert found == regions


@pytest.mark.parametrize("number, region", [
    ("+966501234567", "SA"), ("+12025550100", "US"), ("+14165550100", "CA"), ("+77012345678", "KZ"),
    ("+79161234567", "RU"), ("+201001234567", "EG"), ("not a number", None), ("+999123", None),
])
def test_region_of_a_number(number: str, region: str | None) -> None:
    assert region_of(number) == region


def test_rates_per_country() -> None:
    rates = Rates.from_mapping({"sms_per_part": "0.01", "sms_per_part_by_country": {"sa": "0.034", " EG ": 0.02}})
    assert rates.sms_per_part_by_country == {"SA": Decimal("0.034"), "EG": Decimal("0.02")}
    assert rates.message_cost("sms", 1, 3, to="+966501234567") == Decimal("0.102")
    assert rates.message_cost("sms", 1, 3, to="+12025550100") == Decimal("0.03")
    assert rates.message_cost("sms", 1, 3) == Decimal("0.03")
    assert rates.message_cost("whatsapp", 2, 0, to="+966501234567") == Decimal("0.010")
    assert Rates().sms_part_rate("+966501234567") == Decimal("0.0075")


@pytest.mark.parametrize("raw, problem", [
    ({"sms_per_part_by_country": {"XX": "0.1"}}, "XX"), ({"sms_per_part_by_country": {"SA": "-1"}}, "non-negative"),
    ({"sms_per_part_by_country": ["SA"]}, "must map"), ({"sms_per_part_by_country": {"SA": "Infinity"}}, "non-negative"),
    ({"sms_per_country": {}}, "unknown rates"),
])
def test_rates_per_country_refuse_bad_configuration(raw: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Rates.from_mapping(raw)


@pytest.mark.parametrize("template, columns", [
    ("Hi @name, code @Code", ["name", "Code"]), ("Hi {{ contact.name|upper }}", ["name"]), ("mail jo@example.com", []),
    ("@@literal", []), ("{{ contact['first name'] }} at {{ range(2)|list }}", ["first name"]),
])
def test_the_columns_a_template_reads(template: str, columns: list[str]) -> None:
    assert read_template(template) == columns


@pytest.mark.parametrize("template", ["", "  ", None, 5, "{{ results.x }}", "{{ now }}", "{{ contact }}", "{{ x",
                                      "x" * 4097])
def test_templates_that_are_refused(template: object) -> None:
    with pytest.raises(MessageRefusedError) as refused:
        read_template(template)
    assert refused.value.code == "template_error" and refused.value.field == "template"


def test_the_rate_limit_is_a_sliding_window(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as db:
        account = Account(name="limited")
        other = Account(name="unlimited")
        db.add_all([account, other])
        db.flush()
        ids = account.id, other.id
    limited, elsewhere = ids
    for second in range(3):
        assert take(sessions, limited, "scope", 3, T0 + timedelta(seconds=second * 10)) is None
    assert take(sessions, limited, "scope", 3, T0 + timedelta(seconds=30)) == 30.0  # the first frees at T0 + 60 s
    assert take(sessions, limited, "other-scope", 3, T0 + timedelta(seconds=30)) is None
    assert take(sessions, elsewhere, "scope", 3, T0 + timedelta(seconds=30)) is None
    assert take(sessions, limited, "scope", 3, T0 + timedelta(seconds=59.5)) == 0.5
    assert take(sessions, limited, "scope", 3, T0 + timedelta(seconds=60)) is None  # the first left the window
    assert take(sessions, limited, "scope", 3, T0 + timedelta(seconds=61)) == 9.0  # now the second must leave it
    with sessions() as db:  # refused requests are not counted; rows that left the window are gone
        kept = db.scalars(select(RateLimitHit.at).where(RateLimitHit.account_id == limited, RateLimitHit.scope == "scope")
                          .order_by(RateLimitHit.at)).all()
    assert kept == [T0 + timedelta(seconds=10), T0 + timedelta(seconds=20), T0 + timedelta(seconds=60)]


def test_a_campaigns_sms_is_charged_at_its_contacts_country_rate(engine: Engine) -> None:
    sessions = session_factory(engine)
    phones = ["+966501112233", "+12025550777"]
    seeded = seed_messaging(sessions, phones, name="sms-countries", texts={p: "Hello" for p in phones}, balance="10")
    rates = Rates.from_mapping({"sms_per_part": "0.01", "sms_per_part_by_country": {"SA": "0.034"}})
    world = MessagingWorld(sessions, rates=rates)
    world.completed(seeded.campaign_id)
    assert sorted(str(a.cost) for a in attempts(sessions, seeded.campaign_id)) == ["0.0100", "0.0340"]
    with sessions() as db:
        account = db.get(Account, seeded.account_id)
        assert account is not None and account.balance == Decimal("10") - Decimal("0.044")
