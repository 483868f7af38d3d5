"""Channel drivers registered by configuration, so that a process can serve a channel whose
driver lives outside voiceplatform (the messaging bridges sit on top: nothing here imports them).

``VOICEPLATFORM_CHANNELS`` lists ``module:function`` entries, separated by commas; each function
is called with the process's :class:`~voiceplatform.channels.registry.ChannelRegistry` and
registers its drivers. ``VOICEPLATFORM_CHANNELS=sms_bridge.driver:register`` makes every process
(the API, the campaign workers, the bridge itself) queue SMS for the SMPP bridge instead of the
``dev`` channel standing in. An entry that cannot be loaded stops the process: a channel that
silently falls back to another is worse than one that refuses to start.
"""

from __future__ import annotations

import importlib
import os
from typing import Mapping

from voiceplatform.channels.registry import ChannelRegistry
from voiceplatform.exceptions import ChannelUnavailableError

ENV = "VOICEPLATFORM_CHANNELS"


def configured(environ: Mapping[str, str] | None = None) -> list[str]:
    value = (os.environ if environ is None else environ).get(ENV, "")
    return [entry.strip() for entry in value.split(",") if entry.strip()]


def register_configured(registry: ChannelRegistry, environ: Mapping[str, str] | None = None) -> list[str]:
    """Call every configured hook with ``registry``; gives the entries called."""
    entries = configured(environ)
    for entry in entries:
        module_name, _, function_name = entry.partition(":")
        if not module_name or not function_name.isidentifier():
            raise ChannelUnavailableError(f"{ENV}: {entry!r} is not module:function")
        try:
            hook = getattr(importlib.import_module(module_name), function_name)
        except (ImportError, AttributeError) as exc:
            raise ChannelUnavailableError(f"{ENV}: {entry!r} cannot be loaded: {exc}") from exc
        if not callable(hook):
            raise ChannelUnavailableError(f"{ENV}: {entry!r} is not a function")
        hook(registry)
    return entries
