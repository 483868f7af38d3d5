from __future__ import annotations

import pytest

from voiceplatform.flow.matching import ChoiceIndex, normalise
from voiceplatform.flow.templates import evaluate, expand_shorthand, references, render

INDEX = ChoiceIndex.build([("1", "Pay now", ("pay",)), ("2", "Speak to an agent", ("agent", "human")), ("10", "Other", ())])


@pytest.mark.parametrize("reply, expected", [
    ("1", 0), (" 2 ", 1), ("PAY NOW!", 0), ("pay-now", 0), ("Spéak to an agent", 1), ("two", 1),
    ("one zero", 2), ("I want a human please", 1), ("pay or agent", None), ("", None), ("7", None),
])
def test_reply_matching(reply: str, expected: int | None) -> None:
    assert INDEX.match(reply) == expected


def test_normalise() -> None:
    assert normalise("  Héllo,   World!! ") == "hello world"
    assert normalise("#") == "#"


@pytest.mark.parametrize("source, expected", [
    ("Hi @first_name!", "Hi {{ contact.first_name }}!"),
    ("mail jo@example.com", "mail jo@example.com"),
    ("@@handle", "@handle"),
    ("@a and @b.", "{{ contact.a }} and {{ contact.b }}."),
])
def test_at_column_shorthand(source: str, expected: str) -> None:
    assert expand_shorthand(source) == expected


def test_render_reports_undefined_and_sandbox_blocks_internals() -> None:
    assert render("Hi @name", {"contact": {}}) == ("Hi ", ["name"])
    assert render("{{ ''.__class__.__mro__ }}", {})[0] == ""
    assert evaluate("results.r|int >= 4", {"results": {"r": "5"}}) is True


def test_references_skip_loop_variables() -> None:
    refs = set(references("{% for x in contact.tags %}{{ x }}{% endfor %}{{ vars['k'] }}"))
    assert refs == {("contact", "tags"), ("vars", "k")}
