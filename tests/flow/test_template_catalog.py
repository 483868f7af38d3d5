"""A flow's WhatsApp templates checked against a catalog (voiceplatform.flow.template_checks):
unknown, not APPROVED, a missing language, the wrong number of parameters, quick replies that do
not answer the question, each at the node's file:line:col; no catalog, no check. And the catalog
read from Graph API ``message_templates`` records."""

from __future__ import annotations

import textwrap

import pytest

from tests.flow.helpers import REPO
from voiceplatform.flow.loader import analyse_flow_text
from voiceplatform.flow.template_checks import check_whatsapp_templates
from voiceplatform.flow.whatsapp_templates import (
    TemplateCatalog, TemplateInfo, TemplateRecordError, catalog_from_graph, template_from_graph,
)

FLOW = textwrap.dedent("""\
    spec_version: 1
    name: reminder
    channels: [whatsapp]
    start: ask
    nodes:
      - id: ask
        type: gather
        text: Will you come?
        template:
          name: NAME
          language: LANG
          params: ["@first_name", "@date"]
          QUICK
        choices: [{key: "1", label: "Yes", next: thanks}, {key: "2", label: "No", synonyms: [cancel], next: thanks}]
      - id: thanks
        type: send
        text: Thanks
        template: {name: thanks, params: ["@first_name"]}
    """)
REMINDER = TemplateInfo("appointment_reminder", "en", "UTILITY", "APPROVED", 2, ("Yes", "Cancel"))
CATALOG = TemplateCatalog([
    REMINDER,
    TemplateInfo("appointment_reminder", "fr", "UTILITY", "APPROVED", 2, ("Oui", "Non")),
    TemplateInfo("appointment_paused", "en", "MARKETING", "PAUSED", 2, ("Yes", "No")),
    TemplateInfo("thanks", "en", "UTILITY", "APPROVED", 1),
])


def _problems(name: str = "appointment_reminder", language: str = "en", quick: str = "",
              catalog: TemplateCatalog = CATALOG) -> list[tuple[int, int, str]]:
    text = FLOW.replace("NAME", name).replace("LANG", language).replace("QUICK", quick)
    flow, problems = analyse_flow_text(text, "reminder.yaml", REPO / "ivr_flows")
    assert flow is not None and problems == [], problems  # structurally clean: only the catalog finds these
    return [(p.line, p.column, p.message) for p in check_whatsapp_templates(flow, catalog)]


def test_a_flow_whose_templates_match_the_catalog_has_no_problem() -> None:
    assert _problems() == []  # "Yes" answers choice 1 and "Cancel" choice 2 (a synonym): a tap is a reply
    assert _problems(language="fr", quick='quick_replies: ["1", "2"]') == []


def test_an_unknown_template_is_reported_at_its_name_with_a_suggestion() -> None:
    assert _problems(name="appointment_remider") == [
        (10, 13, "node 'ask': WhatsApp template 'appointment_remider' is not among the account's templates; "
                 "did you mean 'appointment_reminder'?")]


def test_a_template_that_is_not_approved_shows_its_status() -> None:
    assert _problems(name="appointment_paused", quick='quick_replies: ["1", "2"]') == [
        (10, 13, "node 'ask': WhatsApp template 'appointment_paused' (en) is PAUSED: only APPROVED templates can be sent")]


def test_a_missing_language_lists_the_templates_languages() -> None:
    assert _problems(language="ar") == [
        (11, 17, "node 'ask': WhatsApp template 'appointment_reminder' has no 'ar' translation (it has en, fr); "
                 "the language must match exactly")]


def test_the_wrong_number_of_parameters() -> None:
    catalog = TemplateCatalog([*CATALOG, TemplateInfo("thanks", "en", "UTILITY", "APPROVED", 0)])
    assert _problems(catalog=catalog) == [
        (18, 38, "node 'thanks': WhatsApp template 'thanks' (en) takes 0 body parameters; the node gives 1")]


def test_quick_replies_that_do_not_match_the_templates_buttons() -> None:
    assert _problems(quick='quick_replies: ["1", "2", "1"]') == [
        (13, 22, "node 'ask': WhatsApp template 'appointment_reminder' (en) has 2 quick-reply buttons ('Yes', "
                 "'Cancel'); quick_replies names 3")]
    assert _problems(language="fr") == [
        (10, 13, f"node 'ask': the quick-reply button {button!r} of WhatsApp template 'appointment_reminder' (fr) "
                 "answers no choice of the question (keys 1, 2); map the buttons to choice keys with quick_replies: "
                 "[one key per button, in order]") for button in ("Non", "Oui")]  # sorted


def test_without_a_catalog_only_the_structure_is_checked() -> None:
    text = FLOW.replace("NAME", "no_such_template").replace("LANG", "xx").replace("QUICK", "")
    flow, problems = analyse_flow_text(text, "reminder.yaml", REPO / "ivr_flows")
    assert flow is not None and problems == []
    assert check_whatsapp_templates(flow, TemplateCatalog()) != []  # an empty catalog knows no template


GRAPH = [
    {"name": "appointment_reminder", "language": "en_US", "status": "APPROVED", "category": "UTILITY", "id": "1",
     "components": [
         {"type": "HEADER", "format": "TEXT", "text": "Clinic {{1}}"},
         {"type": "BODY", "text": "Hello {{1}}, your visit is on {{2}} at {{3}}. {{1}}, will you come?"},
         {"type": "FOOTER", "text": "Reply STOP to opt out"},
         {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Yes"}, {"type": "URL", "text": "Map",
                                                                                 "url": "https://x.example"},
                                         {"type": "QUICK_REPLY", "text": "Cancel"}]}]},
    {"name": "promo", "language": "ar", "status": "paused", "category": "marketing",
     "parameter_format": "NAMED", "components": [{"type": "BODY", "text": "مرحبا {{first_name}} {{ offer }}"}]},
]


def test_the_catalog_from_graph_api_records() -> None:
    catalog = catalog_from_graph(GRAPH)
    assert catalog.get("appointment_reminder", "en_US") == TemplateInfo(
        "appointment_reminder", "en_US", "UTILITY", "APPROVED", 3, ("Yes", "Cancel"))
    assert catalog.get("promo", "ar") == TemplateInfo("promo", "ar", "MARKETING", "PAUSED", 2, ())
    assert len(catalog_from_graph({"data": GRAPH})) == 2 and catalog.languages("promo") == ("ar",)


@pytest.mark.parametrize("document, message", [
    ({"templates": []}, "templates are a list of message_templates records"),
    ([7], "template 1 is not an object"),
    ([{"language": "en"}], "template 1 has no name"),
    ([{"name": "x"}], "template 1 (x) has no language"),
    ([{"name": "x", "language": "en", "components": {}}], "template 1 (x): components is not a list"),
])
def test_bad_records_are_named(document: object, message: str) -> None:
    with pytest.raises(TemplateRecordError, match=message.replace("(", r"\(").replace(")", r"\)")):
        catalog_from_graph(document)


def test_a_record_without_components_takes_no_parameters() -> None:
    assert template_from_graph({"name": "hello_world", "language": "en_US"}).body_params == 0
