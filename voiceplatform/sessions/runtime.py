"""The messaging runtime a process builds once from its database: the channel registry (the dev
channel when it is on; the bridges' drivers named by ``VOICEPLATFORM_CHANNELS``), the shared
runner and the inbound router."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.channels.dev import DevChannel, dev_channel_enabled
from voiceplatform.channels.plugins import register_configured
from voiceplatform.channels.registry import ChannelRegistry
from voiceplatform.sessions.inbound import MessageRouter
from voiceplatform.sessions.runner import SessionRunner


@dataclass(frozen=True)
class MessagingRuntime:
    channels: ChannelRegistry
    runner: SessionRunner
    router: MessageRouter


def default_channels() -> ChannelRegistry:
    registry = ChannelRegistry()
    if dev_channel_enabled():
        registry.register(DevChannel())
    register_configured(registry)  # VOICEPLATFORM_CHANNELS: the bridges' drivers (channels/plugins.py)
    return registry


def build(sessions: sessionmaker[Session], channels: ChannelRegistry | None = None) -> MessagingRuntime:
    registry = channels if channels is not None else default_channels()
    runner = SessionRunner(sessions, registry)
    return MessagingRuntime(registry, runner, MessageRouter(runner))
