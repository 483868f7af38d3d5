"""WhatsApp per-message pricing (voiceplatform.campaigns.pricing): rates per category, the
fallback, what a delivered message costs from Meta's ``pricing`` (category, type), and the
campaign estimate's opening templates (voiceplatform.campaigns.estimate)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.flow.helpers import NOW, flow_from
from voiceplatform.campaigns.estimate import OpeningTemplate, sample_whatsapp_opening
from voiceplatform.campaigns.pricing import Rates, estimate_whatsapp, whatsapp_charge
from voiceplatform.flow.whatsapp_templates import TemplateCatalog, TemplateInfo

RATES = Rates.from_mapping({"whatsapp_per_message": "0.005",
                            "whatsapp_per_category": {"utility": "0.02", "Authentication": "0.03"}})


def test_the_default_is_the_briefs_marketing_rate_and_free_service() -> None:
    rates = Rates()
    assert rates.whatsapp_rate("marketing") == Decimal("0.25") and rates.whatsapp_rate("MARKETING") == Decimal("0.25")
    assert rates.whatsapp_rate("service") == 0
    assert rates.whatsapp_rate("utility") == rates.whatsapp_per_message  # the fallback
    assert rates.whatsapp_rate(None) == rates.whatsapp_per_message


def test_configured_categories_keep_the_defaults_they_do_not_name() -> None:
    assert RATES.whatsapp_per_category == {"marketing": Decimal("0.25"), "service": Decimal("0"),
                                           "utility": Decimal("0.02"), "authentication": Decimal("0.03")}
    assert Rates.from_mapping({"whatsapp_per_category": {"marketing": 0.1}}).whatsapp_rate("marketing") == Decimal("0.1")


@pytest.mark.parametrize("raw, says", [
    ({"whatsapp_per_category": {"promo": "1"}}, "'promo' is not a WhatsApp category"),
    ({"whatsapp_per_category": {"marketing": "-1"}}, "the rate of marketing must be a non-negative number"),
    ({"whatsapp_per_category": ["marketing"]}, "must map WhatsApp categories to rates"),
])
def test_bad_category_rates_are_refused(raw: dict[str, object], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        Rates.from_mapping(raw)


@pytest.mark.parametrize("category, pricing_type, charge", [
    ("marketing", "regular", "0.25"),                   # marketing templates: every delivered one
    ("authentication", "regular", "0.03"),
    ("authentication_international", "regular", "0.005"),  # not configured: whatsapp_per_message
    ("utility", "regular", "0.02"),                     # a utility template outside the window
    ("utility", "free_customer_service", "0"),          # ... and inside it: free
    ("service", "free_customer_service", "0"),          # free-form inside the window
    ("service", "regular", "0"),
    ("marketing", "free_entry_point", "0"),             # the 72 h after a click-to-WhatsApp ad
    ("MARKETING", None, "0.25"),                        # no type reported: charged as regular
])
def test_a_delivered_messages_charge(category: str, pricing_type: str | None, charge: str) -> None:
    assert whatsapp_charge(RATES, category, pricing_type) == Decimal(charge)


def test_the_estimate_multiplies_each_category_by_the_contacts() -> None:
    assert estimate_whatsapp(RATES, 1000, {"marketing": 1.0, "utility": 0.5}) == Decimal("260.0000")
    assert estimate_whatsapp(RATES, 1000, {}) == 0


OPENING = """
spec_version: 1
name: opening
channels: [whatsapp]
start: first
nodes:
  - id: first
    type: branch
    cases: [{when: "contact.vip == 'yes'", next: vip}]
    default: ask
  - {id: vip, type: send, text: "Hi", template: {name: vip_offer}, next: ask}
  - id: ask
    type: gather
    text: "Will you come, @first_name?"
    template: {name: reminder, language: ar, params: ["@first_name"]}
    choices: [{key: "1", label: "Yes"}, {key: "2", label: "No"}]
"""
CATALOG = TemplateCatalog([TemplateInfo("reminder", "ar", "UTILITY", "APPROVED", 1),
                           TemplateInfo("vip_offer", "en", "MARKETING", "APPROVED", 0)])


def test_the_opening_templates_are_priced_by_their_category() -> None:
    contacts = [{"first_name": "Ann", "vip": "yes"}, {"first_name": "Bo"}, {"first_name": "Cy"}, {"first_name": "Di"}]
    opening = sample_whatsapp_opening(flow_from(OPENING), contacts, NOW, CATALOG)
    assert opening.contacts == 4 and opening.notes == () and opening.without_template == 0
    assert opening.templates == (OpeningTemplate("reminder", "ar", "utility", True, 1.0),
                                 OpeningTemplate("vip_offer", "en", "marketing", True, 0.25))
    assert opening.categories_per_contact() == {"utility": 1.0, "marketing": 0.25}
    assert estimate_whatsapp(RATES, 100, opening.categories_per_contact()) == Decimal("8.2500")  # 100 x 0.02 + 25 x 0.25


def test_an_unknown_template_and_no_catalog_are_priced_as_marketing_and_said_so() -> None:
    opening = sample_whatsapp_opening(flow_from(OPENING), [{"first_name": "Bo"}], NOW, TemplateCatalog())
    assert opening.templates == (OpeningTemplate("reminder", "ar", "marketing", False, 1.0),)
    assert opening.notes == ("template reminder (ar) is not in the account's WhatsApp templates: priced as marketing",)
    unsynced = sample_whatsapp_opening(flow_from(OPENING), [{"first_name": "Bo"}], NOW, None)
    assert "(none are synced)" in unsynced.notes[0]


def test_a_first_step_without_a_template_is_priced_as_one_marketing_template_and_free_form_is_free() -> None:
    flow = flow_from(OPENING.replace('    template: {name: reminder, language: ar, params: ["@first_name"]}\n', ""))
    opening = sample_whatsapp_opening(flow, [{"first_name": "Bo"}, {"first_name": "Cy"}], NOW, CATALOG)
    assert opening.templates == () and opening.without_template == 1.0 and opening.free_form_per_contact == 1.0
    assert opening.categories_per_contact() == {"marketing": 1.0}
    assert opening.notes == ("the first step sends no template to 2 of the 2 contacts measured: outside the 24-hour "
                             "window WhatsApp delivers only templates; each is priced as one marketing template",)
    assert sample_whatsapp_opening(flow, [], NOW, CATALOG).categories_per_contact() == {}
