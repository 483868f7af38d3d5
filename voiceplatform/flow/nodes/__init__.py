"""Node types. Importing this package registers every type in ``NODE_TYPES``."""

from voiceplatform.flow.nodes import (  # noqa: F401  (imported to register)
    branch,
    ending,
    gather,
    opt_out,
    record,
    say,
    send,
    set,
    set_language,
    subflow,
    switch_channel,
    transfer,
    wait,
    webhook,
)
from voiceplatform.flow.nodes.base import NODE_TYPES, NodeBase

__all__ = ["NODE_TYPES", "NodeBase"]
