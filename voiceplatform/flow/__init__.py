"""The flow engine: YAML journeys that run on voice, SMS and WhatsApp.

Pure by design: nothing in this package does I/O beyond reading flow files, and it imports no
networking, database or job library (a test enforces that).
"""

from voiceplatform.flow.channels import Channel
from voiceplatform.flow.engine import resume, start
from voiceplatform.flow.flow import Flow
from voiceplatform.flow.inputs import Input, InputKind
from voiceplatform.flow.limits import DEFAULT_LIMITS, Limits
from voiceplatform.flow.loader import analyse_flow, load_flow, load_flow_text
from voiceplatform.flow.state import SessionStatus, dump_state, load_state
from voiceplatform.flow.step import Step

__all__ = [
    "Channel",
    "DEFAULT_LIMITS",
    "Flow",
    "Input",
    "InputKind",
    "Limits",
    "SessionStatus",
    "Step",
    "analyse_flow",
    "dump_state",
    "load_flow",
    "load_flow_text",
    "load_state",
    "resume",
    "start",
]
