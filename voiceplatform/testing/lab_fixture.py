"""pytest plugin: the real Asterisk lab, started once per test session.

Register it project-wide with, in ``tests/conftest.py``::

    pytest_plugins = ["voiceplatform.testing.lab_fixture"]

or import the fixture into a directory's ``conftest.py``
(``from voiceplatform.testing.lab_fixture import asterisk_lab``).

``asterisk_lab`` starts the lab unless it already runs (``voiceplatform lab up``), and at the
end of the session stops it only if this session started it and no other session holds a
lease on it (see :mod:`voiceplatform.lab.leases`). It yields a :class:`RunningLab`,
which reads the lab's state file on each access, so it stays right if a test restarts the lab.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from voiceplatform.exceptions import LabError
from voiceplatform.lab import LabSettings, LabState
from voiceplatform.lab.ami import AmiClient
from voiceplatform.lab.control import running_state
from voiceplatform.lab.session import lab_for_this_job


class RunningLab:
    """The lab a test talks to: where AMI listens, and a way to log in."""

    def __init__(self, settings: LabSettings) -> None:
        self.settings = settings

    @property
    def state(self) -> LabState:
        current = running_state(self.settings)
        if current is None:
            raise LabError(f"the lab is not running (state file {self.settings.state_file})")
        return current

    @property
    def media_dir(self) -> Path:
        return self.settings.media_dir

    def ami(self, events: str = "on") -> AmiClient:
        """A new AMI connection, logged in as the lab's user. Close it (``with``) after use."""
        state = self.state
        client = AmiClient(state.ami_host, state.ami_port)
        try:
            client.login(state.ami_username, state.ami_secret, events=events)
        except BaseException:
            client.close()
            raise
        return client


@pytest.fixture(scope="session")
def asterisk_lab() -> Iterator[RunningLab]:
    """The running lab. Stopped at the end only if this session started it and no other
    session (another pytest run sharing the checkout) still holds a lease on it."""
    settings = LabSettings.from_env()
    with lab_for_this_job(settings):
        yield RunningLab(settings)
