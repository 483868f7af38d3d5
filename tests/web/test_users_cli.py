"""``voiceplatform users create`` makes a person who can then sign in to the web UI."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceplatform.cli import main


def test_create_a_supervisor_and_sign_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    runner = CliRunner()
    refused = runner.invoke(main, ["users", "create", "sue@acme.test", "--account", "acme", "--password-stdin"],
                            input="long enough pass\n")
    assert refused.exit_code == 1 and "no account named 'acme'" in refused.output
    made = runner.invoke(main, ["users", "create", "Sue@Acme.test", "--role", "supervisor", "--account", "acme",
                                "--create-account", "--password-stdin"], input="long enough pass\n")
    assert made.exit_code == 0, made.output
    assert "sue@acme.test: supervisor of account acme" in made.output
    again = runner.invoke(main, ["users", "create", "sue@acme.test", "--account", "acme", "--password-stdin"], input="x" * 12)
    assert again.exit_code == 1 and "exists already" in again.output
    short = runner.invoke(main, ["users", "create", "bob@acme.test", "--account", "acme", "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least 8" in short.output
    assert "sue@acme.test\tsupervisor\tacme\tactive" in runner.invoke(main, ["users", "list"]).output

    from tests.web.conftest import csrf_of, make_app

    client = make_app(url, tmp_path / "media").test_client()
    client.get("/login")
    response = client.post("/login", data={"email": "sue@acme.test", "password": "long enough pass", "csrf_token": csrf_of(client)})
    assert response.status_code == 302 and client.get("/recordings").status_code == 200
