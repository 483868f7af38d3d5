"""Our outbox message's id, sent with each request as ``biz_opaque_callback_data`` (Meta echoes
it on that message's statuses): a status naming a wamid the store never got (the sender died
after writing the request, before storing the answer) still says which message and which part
it is of. Pure.

The text is ``vp:<message id>:<part>/<parts>`` (part 1-based): the part tells a long text's
lead parts from the last one (whose statuses are the message's), ``parts`` how many it went as.
Anything else (another sender's data, a mangled value) is not ours: :func:`decode` gives None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FIELD = "biz_opaque_callback_data"
PREFIX = "vp:"
#: Meta's limit on the field
MAX_LENGTH = 512
_FORM = re.compile(r"vp:([1-9][0-9]{0,17}):([1-9][0-9]{0,3})/([1-9][0-9]{0,3})")


@dataclass(frozen=True, slots=True)
class CallbackRef:
    message_id: int
    part: int  # 1-based
    parts: int


def encode(message_id: int, part: int, parts: int) -> str:
    return f"{PREFIX}{message_id}:{part}/{parts}"


def decode(text: str | None) -> CallbackRef | None:
    if not text or len(text) > MAX_LENGTH:
        return None
    found = _FORM.fullmatch(text)
    if found is None:
        return None
    ref = CallbackRef(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    return ref if ref.part <= ref.parts else None
