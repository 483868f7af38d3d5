"""``voiceplatform campaign ...`` against the real API over real HTTP: the app on a SQLite file,
served by gevent's WSGI server on a free port, the command run with click's CliRunner. The watch
test dials a campaign to the end with the dialer runtime and a scripted switch."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import gevent
import pytest
from click.testing import CliRunner, Result
from flask import Flask
from gevent.pywsgi import WSGIServer
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.testing.campaign_seed import seed_campaign
from tests.dialer.test_dispatcher import World, numbers
from voiceplatform.client import http as api_client
from voiceplatform.app import create_app
from voiceplatform.client.http import ApiClient, ApiClientError, ApiConnectionError, MissingTokenError
from voiceplatform.cli import main
from voiceplatform.cli.campaign import STATUSES, LiveView, bar, duration
from voiceplatform.exceptions import VoicePlatformError
from voiceplatform.models import Account, ApiToken, Campaign, CampaignStatus, Role


@dataclass
class Api:
    app: Flask
    url: str
    sessions: sessionmaker[Session]

    def seed(self, name: str, phones: list[str], status: CampaignStatus = CampaignStatus.DRAFT,
             **settings: object) -> tuple[int, str]:
        """A campaign in its own account, and an admin token for that account."""
        seeded = seed_campaign(self.sessions, phones, name=name, status=status, settings=dict(settings))
        with self.sessions.begin() as session:
            row, secret = ApiToken.issue(session.get(Account, seeded.account_id), Role.ADMIN, name=f"{name}-cli")
            session.add(row)
        return seeded.campaign_id, secret

    def status_of(self, campaign_id: int) -> CampaignStatus:
        with self.sessions() as session:
            return session.get(Campaign, campaign_id).status

    def cli(self, token: str | None, *args: str) -> Result:
        options = ["--api", self.url] + (["--token", token] if token else [])
        return CliRunner().invoke(main, ["campaign", *options, *args])


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('cli') / 'api.db'}", "JOBS": None})
    server = WSGIServer(("127.0.0.1", 0), app, log=None)
    server.start()
    try:
        yield Api(app, f"http://127.0.0.1:{server.server_port}", app.extensions["vp_sessions"])
    finally:
        server.stop(timeout=5)
        app.extensions["vp_engine"].dispose()


@pytest.fixture
def no_token_anywhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("VOICEPLATFORM_TOKEN", raising=False)
    monkeypatch.delenv("VOICEPLATFORM_API_URL", raising=False)
    missing = tmp_path / "api-token"
    monkeypatch.setattr(api_client, "TOKEN_FILE", missing)
    return missing


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---- lifecycle --------------------------------------------------------------------------------------


def test_start_pause_resume_cancel_change_the_campaign(api: Api) -> None:
    campaign_id, token = api.seed("round-trip", numbers(3, 700))
    for command, done, status in [("start", "started", "running"), ("pause", "paused", "paused"),
                                  ("resume", "resumed", "running"), ("cancel", "cancelled", "cancelled")]:
        result = api.cli(token, command, str(campaign_id))
        assert result.exit_code == 0, result.stderr
        assert result.stdout == f'campaign {campaign_id} "round-trip" {done}: now {status}\n'
        assert api.status_of(campaign_id) == CampaignStatus(status)


def test_an_action_the_state_does_not_allow_is_an_error_exit_1(api: Api) -> None:
    campaign_id, token = api.seed("refused", numbers(1, 710))
    result = api.cli(token, "pause", str(campaign_id))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "error: cannot pause a draft campaign (only running, scheduled) (HTTP 409 invalid_state)\n"
    assert api.status_of(campaign_id) == CampaignStatus.DRAFT


def test_unknown_campaign_bad_token_and_bad_id(api: Api) -> None:
    _, token = api.seed("errors", numbers(1, 720))
    result = api.cli(token, "start", "999999")
    assert (result.exit_code, result.stderr) == (1, "error: campaign 999999 not found (HTTP 404 not_found)\n")
    result = api.cli("vp_not-a-token", "status", "1")
    assert result.exit_code == 1 and result.stderr.startswith("error: the token is unknown") and "HTTP 401" in result.stderr
    result = api.cli(token, "start", "seven")
    assert result.exit_code == 2 and "'seven' is not a valid integer" in result.stderr


def test_an_unreachable_server_is_a_clear_error(api: Api) -> None:
    port = free_port()
    result = CliRunner().invoke(main, ["campaign", "--api", f"http://127.0.0.1:{port}", "--token", "t",
                                                       "status", "1"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot reach the API at http://127.0.0.1:{port}: Connection refused")
    assert "is the server running?" in result.stderr and "Traceback" not in result.stderr


def test_no_token_says_how_to_get_one(api: Api, no_token_anywhere: Path) -> None:
    result = api.cli(None, "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no API token: pass --token, set VOICEPLATFORM_TOKEN")
    assert str(no_token_anywhere) in result.stderr and "voiceplatform serve" in result.stderr


def test_token_and_url_from_the_environment_or_the_token_file(api: Api, no_token_anywhere: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    campaign_id, token = api.seed("from-env", numbers(1, 730))
    no_token_anywhere.write_text(token + "\n")  # what `voiceplatform serve` writes
    client = ApiClient.from_env(api=api.url)
    assert client.token == token and client.get(f"/campaigns/{campaign_id}")["name"] == "from-env"
    monkeypatch.setenv("VOICEPLATFORM_API_URL", api.url + "/")
    monkeypatch.setenv("VOICEPLATFORM_TOKEN", token)
    no_token_anywhere.unlink()
    result = CliRunner().invoke(main, ["campaign", "list", "--json"])
    assert result.exit_code == 0, result.stderr
    assert [item["id"] for item in json.loads(result.stdout)] == [campaign_id]
    assert ApiClient.from_env().base_url == api.url
    assert ApiClient.from_env(token="other").token == "other"  # the argument wins


def test_client_errors_are_typed(api: Api) -> None:
    _, token = api.seed("typed", numbers(1, 740))
    client = ApiClient(api.url, token)
    with pytest.raises(ApiClientError) as raised:
        client.get("/campaigns", status="nonsense")
    assert (raised.value.status, raised.value.code) == (400, "bad_request")
    assert isinstance(raised.value, VoicePlatformError)
    with pytest.raises(ApiClientError) as raised:
        client.get("/no-such-route")
    assert (raised.value.status, raised.value.code) == (404, "not_found")
    with pytest.raises(ApiConnectionError):
        ApiClient(f"http://127.0.0.1:{free_port()}", token, timeout=2).get("/campaigns")
    assert issubclass(MissingTokenError, ApiClientError)


# ---- list and status ----------------------------------------------------------------------------------


def test_list_filters_by_status(api: Api) -> None:
    first, token = api.seed("listed", numbers(1, 750))
    result = api.cli(token, "list")
    assert result.exit_code == 0, result.stderr
    header, row = result.stdout.splitlines()
    assert header.split() == ["ID", "STATUS", "NAME", "FLOW", "STARTED"]
    assert row.split()[:5] == [str(first), "draft", "listed", "payment_reminder", "v1"]
    assert api.cli(token, "list", "--status", "running").stdout == "no campaigns\n"
    assert api.cli(token, "list", "--status", "bogus").exit_code == 2


def test_the_status_choices_are_the_campaign_states() -> None:
    assert STATUSES == tuple(status.value for status in CampaignStatus)


def test_status_json_and_summary(api: Api) -> None:
    campaign_id, token = api.seed("stats", numbers(4, 760))
    result = api.cli(token, "status", str(campaign_id), "--json")
    assert result.exit_code == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["campaign_id"] == campaign_id and stats["status"] == "draft"
    assert {"percent", "outcomes", "calls_per_second", "eta_seconds", "by_status"} <= set(stats)
    result = api.cli(token, "status", str(campaign_id))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == f'campaign {campaign_id} "stats": draft'
    assert "calls/s" in result.stdout and "outcomes: no outcomes yet" in result.stdout


def test_watch_follows_a_real_campaign_until_it_completes(api: Api) -> None:
    busy = set(numbers(5, 800))
    world = World(api.app.extensions["vp_engine"], lambda to: "busy" if to in busy else "answered", seconds=0.05)
    campaign_id, token = api.seed("watched", numbers(20, 800), calls_per_second=10, max_concurrent=5,
                                  retries={"busy": {"retries": 1, "minutes": 0}})
    assert api.cli(token, "start", str(campaign_id)).exit_code == 0
    world.runtime.start()
    try:
        with gevent.Timeout(8):
            result = api.cli(token, "status", str(campaign_id), "--watch", "--interval", "0.2")
    finally:
        world.runtime.stop(timeout=5)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert api.status_of(campaign_id) == CampaignStatus.COMPLETED
    lines = result.stdout.splitlines()
    progress = [line for line in lines if line.startswith("[")]
    assert len(progress) >= 3  # not a TTY: one line per change, from the start to the end
    assert progress[-1].startswith(f"{bar(100)} 100.0%  20/20  completed")
    assert "answered 15, busy 5" in progress[-1]
    assert any("%  " in line and " calls/s" in line and float(line.split(" calls/s")[0].split()[-1]) > 0 for line in progress)
    middle = [line for line in progress if "running" in line and "100.0%" not in line]
    assert middle and all("ETA " in line for line in middle)
    assert f'campaign {campaign_id} "watched": completed' in lines
    assert "outcomes: answered 15, busy 5" in lines
    assert "calls:    25 (answered 15, busy 10)" in lines  # each busy contact was tried twice


def test_watch_exits_1_when_the_campaign_is_cancelled(api: Api) -> None:
    campaign_id, token = api.seed("cancelled-watch", numbers(2, 850))
    assert api.cli(token, "cancel", str(campaign_id)).exit_code == 0
    result = api.cli(token, "status", str(campaign_id), "--watch", "--json")
    assert result.exit_code == 1
    (line,) = result.stdout.splitlines()  # --watch --json: one compact object per change
    assert json.loads(line)["status"] == "cancelled"


# ---- the terminal view --------------------------------------------------------------------------------


def test_on_a_terminal_the_bar_is_redrawn_in_place() -> None:
    out = io.StringIO()
    view = LiveView(out, {"id": 3, "name": "t"}, tty=True)
    stats = {"status": "running", "percent": 25.0, "final": 1, "contacts": 4, "calls_per_second": 1.5, "eta_seconds": 125,
             "outcomes": {"answered": 1}, "in_progress": 1, "waiting": 2}
    view.show(stats)
    view.show({**stats, "percent": 50.0, "final": 2, "outcomes": {"answered": 1, "busy": 1}, "eta_seconds": 3700})
    text = out.getvalue()
    assert text.startswith('campaign 3 "t"\n\x1b[2K[')
    assert text.count("\x1b[2F") == 1  # back up over the two lines drawn before
    assert "1.50 calls/s  ETA 2m05s" in text and "ETA 1h01m" in text and "answered 1, busy 1" in text
    assert duration(59) == "59s" and bar(50, 4) == "[##--]"
