"""A node's WhatsApp template: what is sent instead of the node's free-form message when the
contact's 24-hour customer service window is closed.

WhatsApp delivers free-form messages (text, buttons, lists) only within 24 hours of the
contact's last message; outside that window only a pre-approved template can be sent. A
``send`` or a ``gather`` with a ``template:`` gives the bridge both: its text (and a question's
buttons or list) for inside the window, the template for outside. The engine does not know the
window (it is pure); the WhatsApp bridge decides when it sends.

``params`` are the template's body parameters in order (``{{1}}``, ``{{2}}``...): texts like any
other, rendered from the session when the node runs (always strings). ``quick_replies`` names, in
the template's button order, the choice key each quick-reply button answers: the bridge sends
key ``quick_replies[i]`` as the payload of button ``i``, so a tap answers the question as if the
key were typed. Without it, a tap sends the button's own text (WhatsApp's default payload), which
must then answer a choice itself (its key, label or a synonym).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from voiceplatform.flow.nodes.base import Path
    from voiceplatform.flow.run import Run

#: The most quick-reply buttons a WhatsApp template holds (Meta: up to 10 buttons in all).
MAX_TEMPLATE_BUTTONS = 10


class WhatsAppTemplate(BaseModel):
    """A pre-approved WhatsApp message template, with positional body parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=512)
    language: str = Field(default="en", min_length=1, max_length=32)
    params: tuple[str, ...] = ()
    quick_replies: tuple[str, ...] = Field(default=(), max_length=MAX_TEMPLATE_BUTTONS)

    @field_validator("params", "quick_replies", mode="before")
    @classmethod
    def _as_text(cls, value: object) -> object:
        """Numbers written bare (``params: [120]``, ``quick_replies: [1, 2]``) are their text."""
        if isinstance(value, (list, tuple)):
            return [str(item) if isinstance(item, (int, float)) and not isinstance(item, bool) else item
                    for item in value]
        return value

    @field_validator("quick_replies")
    @classmethod
    def _keys(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not key for key in value):
            raise ValueError("quick_replies are choice keys: none may be empty")
        return value

    def texts(self, *prefix: Any) -> Iterator[tuple[Path, str, bool]]:
        """The parameters, as the node's texts (checked like any template)."""
        for position, param in enumerate(self.params):
            yield (*prefix, "template", "params", position), param, False

    def rendered(self, run: Run) -> dict[str, Any]:
        """The ``template`` of a ``Send`` output: name, language, the parameters rendered from
        the session (strings), and the buttons' payloads when given."""
        out: dict[str, Any] = {
            "name": self.name,
            "language": self.language,
            "params": [run.text(param) for param in self.params],
        }
        if self.quick_replies:
            out["quick_replies"] = list(self.quick_replies)
        return out
