"""pytest plugin: the real SMS gateway (``voiceplatform smsc``), started once per test session.

Register it project-wide with, in ``tests/conftest.py``::

    pytest_plugins = ["voiceplatform.testing.smsc_fixture"]

``smsc`` starts the gateway unless it already runs (``voiceplatform smsc up``: Jasmin is installed
on first use, about 40 s), and at the end of the session stops it only if this session started
it and no other session holds a lease on it (:mod:`voiceplatform.smsc.session`). It yields a
:class:`RunningSmsc`, which reads the state file on each access, so it stays right when a test
repairs (restarts) Jasmin.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from voiceplatform.exceptions import SmscError
from voiceplatform.smsc import SmscSettings, SmscState
from voiceplatform.smsc import state as state_file
from voiceplatform.smsc.handset_network.client import HandsetNetworkClient
from voiceplatform.smsc.session import smsc_for_this_job


class RunningSmsc:
    """The gateway a test talks to: where the platform's ESME binds, with which account, and the
    handset network behind it."""

    def __init__(self, settings: SmscSettings) -> None:
        self.settings = settings

    @property
    def state(self) -> SmscState:
        current = state_file.load(self.settings.state_file)
        if current is None:
            raise SmscError(f"the smsc is not running (state file {self.settings.state_file})")
        return current

    @property
    def smpp_address(self) -> tuple[str, int]:
        return self.state.smpp_address

    @property
    def esme_credentials(self) -> tuple[str, str]:
        """(system_id, password) of the platform's account on Jasmin."""
        state = self.state
        return state.esme_username, state.esme_password

    @property
    def handsets(self) -> HandsetNetworkClient:
        return HandsetNetworkClient(self.state.handsets.control_url)


@pytest.fixture(scope="session")
def smsc() -> Iterator[RunningSmsc]:
    """The running gateway. Stopped at the end only if this session started it and no other
    session still holds a lease on it."""
    settings = SmscSettings.from_env()
    with smsc_for_this_job(settings):
        yield RunningSmsc(settings)
