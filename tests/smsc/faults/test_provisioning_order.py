"""Jasmin is provisioned with the platform's user last, after the routes and once the connector
is bound: an ESME (the bridge, reconnecting to a Jasmin that ``repair`` restarted) binds as soon
as its user exists, and a submit that came before the MT route was refused for good
(ESME_RINVDSTADR). Found by the RabbitMQ fault test; checked here with a recording jCli."""

from __future__ import annotations

from voiceplatform.smsc.provisioning import Plan, provision


class RecordingJCli:
    """Answers as jCli does, and keeps the order of what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def add(self, command: str, fields: dict[str, str]) -> None:
        self.asked.append(command)

    def command(self, command: str) -> str:
        self.asked.append(command)
        if command.startswith("smppccm -1"):
            return "Successfully started connector id:handsets"
        bound = "BOUND_TRX" if "mtrouter -a" in self.asked else "BOUND_TRX_NOT_YET"
        return f"#Connector id Service Session Starts Stops\n#handsets started {bound} 1 0\n"


def test_the_user_is_added_last_once_routes_and_connector_are_ready() -> None:
    jcli = RecordingJCli()
    provision(jcli, Plan("platform", "secret", "127.0.0.1", 2775, "jasmin", "pw"))  # type: ignore[arg-type]
    assert jcli.asked[-1] == "user -a"
    user = jcli.asked.index("user -a")
    assert jcli.asked.index("mtrouter -a") < user and jcli.asked.index("morouter -a") < user
    assert "smppccm -l" in jcli.asked[jcli.asked.index("mtrouter -a"):user]  # waited for BOUND_TRX
