"""End to end in a real headless Chromium (Debian's ``chromium``, driven by Playwright) against
recordings of real calls through the Asterisk lab.

The module places two calls through the lab and saves them with ``DatabaseCallSink``: the
satisfaction survey to ``answer-press-1`` (it presses 1 and leaves a silent comment: a recording
of a second or so) and a voicemail-style flow to ``say-yes`` (its recording holds the callee's
spoken "yes", so the transcript has a line). The review pipeline then transcribes both and
computes their peaks. The web app (the API's Flask app with the web UI, on SQLite) is served by
gevent's WSGI server in this process, as ``voiceplatform serve`` does.

A supervisor then signs in, filters the list, opens the survey recording, presses play
(``currentTime`` advances), opens the voicemail recording, clicks its transcript line (the audio
seeks there), saves a QA review and finds it in the list, and fails to open another tenant's
recording and audio. Screenshots go to ``test-artifacts/web/`` (``VOICEPLATFORM_TEST_ARTIFACTS``
moves it).
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from tests.switches.lab_calls import CONTACT, FLOWS, REPO
from tests.web.conftest import make_app
from tests.web.seed import PASSWORD, add_recording
from voiceplatform.models import Account, AuditEvent, Recording, Role
from voiceplatform.web import signing
from voiceplatform.web.people import create_user
from voiceplatform.web.secret import derived_key

pytestmark = pytest.mark.integration

CHROMIUM = os.environ.get("VOICEPLATFORM_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("VOICEPLATFORM_TEST_ARTIFACTS") or REPO / "test-artifacts") / "web"
CHROMIUM_ARGS = [
    "--autoplay-policy=no-user-gesture-required",  # play() from a script, as a click would
    "--no-sandbox",  # the tests run as root
    "--disable-dev-shm-usage",
    "--mute-audio",  # the audio pipeline still runs (currentTime advances); nothing reaches a sound card
]


@dataclass
class Site:
    url: str
    app: Any
    acme: str  # the tenant's account name (its recordings folder)
    survey: int  # recording ids
    voicemail: int
    synthetic: int  # an acme recording of another flow, for the filters
    globex: int
    globex_user: int
    acme_user: int


def _user(session: Any, account: Account, role: Role) -> int:
    return create_user(session, f"{role.value}@{account.name}.test", role, account, PASSWORD).id


def _place_lab_calls(sessions: Any, account_id: int, account_name: str) -> tuple[str, str]:
    from voiceplatform.flow import load_flow
    from voiceplatform.lab.switch_config import lab_asterisk_config
    from voiceplatform.switches.asterisk import AsteriskDriver
    from voiceplatform.calls.store import DatabaseCallSink
    from voiceplatform.switches.services import default_services

    config = lab_asterisk_config(account=account_name)
    sink = DatabaseCallSink(sessions, account_id)
    with AsteriskDriver(config, default_services(config.media_dir), sink=sink) as driver:
        survey = driver.place_call(load_flow(FLOWS / "satisfaction_survey.yaml"), "answer-press-1", CONTACT, timeout=20)
        voicemail = driver.place_call(load_flow(REPO / "tests" / "switches" / "flows" / "leave_message.yaml"), "say-yes",
                                      CONTACT, variables={"VP_AMD": "no"}, timeout=20)
        records = survey.wait(240), voicemail.wait(240)
    for record in records:
        assert record.recordings, (record.outcome, record.cause, record.errors, record.transcript[-4:])
    return records[0].call_id, records[1].call_id


@pytest.fixture(scope="module")
def site(asterisk_lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from gevent.pywsgi import WSGIServer

    from voiceplatform.lab import up
    from voiceplatform.review.pipeline import process_recording

    up(asterisk_lab.settings)  # idempotent: brings the lab back if an earlier test stopped it
    media = Path(asterisk_lab.media_dir).resolve()
    app = make_app(f"sqlite:///{tmp_path_factory.mktemp('browser') / 'web.db'}", media)
    sessions = app.extensions["vp_sessions"]
    suffix = uuid.uuid4().hex[:6]
    with sessions.begin() as session:
        acme, globex = Account(name=f"acme-{suffix}"), Account(name=f"globex-{suffix}")
        session.add_all([acme, globex])
        session.flush()
        acme_user, globex_user = _user(session, acme, Role.SUPERVISOR), _user(session, globex, Role.SUPERVISOR)
        _user(session, acme, Role.ADMIN)
        made = [add_recording(session, media, acme, flow="payment_reminder", to="+12025550102", outcome="machine",
                              seconds=2.0, transcript="please call me back"),
                add_recording(session, media, globex, flow="satisfaction_survey", to="+12025550199", seconds=2.0,
                              transcript="globex private words")]
        synthetic, other = (row.id for row in made)
        files = [Path(row.path) for row in made]
        ids = (acme.id, acme.name, globex.name)
    survey_call, voicemail_call = _place_lab_calls(sessions, ids[0], ids[1])
    with sessions() as session:
        survey, voicemail = (session.scalars(select(Recording.id).where(Recording.call_id == call)).one()
                             for call in (survey_call, voicemail_call))
    for recording in (survey, voicemail):
        assert process_recording(sessions, recording) == "done"
    server = WSGIServer(("127.0.0.1", 0), app, log=None)
    server.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_port}", app, ids[1], survey, voicemail, synthetic, other,
                   globex_user, acme_user)
    finally:
        server.stop()
        app.extensions["vp_engine"].dispose()
        for path in files:  # the made-up recordings (the lab's stay, as other lab tests' do)
            path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (scripts/debian-packages.txt lists it)")
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(browser: Any, site: Site, address: str) -> Any:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.goto(f"{site.url}/recordings")
    assert "/login" in page.url
    page.fill("input[name=email]", address)
    page.fill("input[name=password]", PASSWORD)
    shot(page, f"01-login-{address.split('@')[1].split('.')[0]}")
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/recordings*")
    return page


def rows(page: Any) -> list[int]:
    return [int(value) for value in page.eval_on_selector_all("tr[data-recording]", "rows => rows.map(r => r.dataset.recording)")]


def wait_until(page: Any, expression: str, timeout: float = 15.0) -> Any:
    """Poll ``expression`` in the page until it is truthy. (Playwright's wait_for_function would
    evaluate a string with ``new Function``, which the pages' Content-Security-Policy forbids, as
    it should; page.evaluate goes through the DevTools protocol instead.)"""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout}s: {expression}")
        page.wait_for_timeout(50)


def audio_time(page: Any) -> float:
    return float(page.evaluate("document.getElementById('player').currentTime"))


def test_a_supervisor_reviews_a_real_lab_call_in_chromium(browser: Any, site: Site) -> None:
    page = sign_in(browser, site, f"supervisor@{site.acme}.test")
    assert set(rows(page)) == {site.survey, site.voicemail, site.synthetic}
    assert site.globex not in rows(page)
    shot(page, "02-list")

    # filter the list: the survey's flow, then a second filter on the outcome
    page.fill("input[name=flow]", "satisfaction_survey")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**flow=satisfaction_survey**")
    assert rows(page) == [site.survey]
    page.select_option("select[name=outcome]", "machine")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**outcome=machine**")
    assert rows(page) == [] and page.text_content("#total") == "0"
    page.goto(f"{site.url}/recordings?flow=leave_message")
    assert rows(page) == [site.voicemail]
    shot(page, "03-list-filtered")

    # open the survey recording and press play: the audio plays (currentTime advances)
    page.goto(f"{site.url}/recordings?flow=satisfaction_survey")
    page.click(f"tr[data-recording='{site.survey}'] a")
    page.wait_for_url(f"**/recordings/{site.survey}")
    assert page.text_content("#fact-outcome") == "answered"
    path = page.text_content("#path") or ""
    assert "comment_low" in path and "thanks" in path
    events = page.text_content("#events") or ""
    assert "pressed 1" in events and "We are sorry to hear that" in events
    page.click("#play")
    wait_until(page, "document.getElementById('player').currentTime > 0.3")
    assert audio_time(page) > 0.3
    shot(page, "04-survey-playing")
    with site.app.extensions["vp_sessions"]() as session:
        listen = session.scalars(select(AuditEvent).where(AuditEvent.recording_id == site.survey,
                                                          AuditEvent.action == "listen")).one()
    assert listen.user_id == site.acme_user

    # the recording with speech: let it play out, then click its transcript line: the audio seeks back there
    page.goto(f"{site.url}/recordings/{site.voicemail}")
    lines = page.query_selector_all("#transcript .segment")
    assert lines, "the pipeline found no words in the callee's 'yes'"
    start = float(lines[0].get_attribute("data-start") or "0")
    page.click("#play")
    wait_until(page, "document.getElementById('player').ended", timeout=20)
    ended_at = audio_time(page)
    assert ended_at > start + 0.5
    lines[0].click()
    wait_until(page, f"Math.abs(document.getElementById('player').currentTime - {start}) < 0.6")
    assert abs(audio_time(page) - start) < 0.6 and audio_time(page) < ended_at
    shot(page, "05-transcript-seek")

    # a QA review, saved and seen in the list
    page.goto(f"{site.url}/recordings/{site.survey}")
    page.select_option("#score_greeting", "4")
    page.select_option("#score_compliance", "5")
    page.fill("#tags", "silent comment, follow-up")
    page.fill("#notes", "The caller left no words in the comment.")
    page.check("input[name=status][value=flagged]")
    page.click("#qa-save")
    page.wait_for_selector("text=Review saved.")
    shot(page, "06-qa-saved")
    page.goto(f"{site.url}/recordings?qa_status=flagged")
    assert rows(page) == [site.survey]
    row = f"tr[data-recording='{site.survey}']"
    assert page.text_content(f"{row} td.score") == "9" and page.text_content(f"{row} td.qa") == "flagged"
    assert "follow-up" in (page.text_content(f"{row} td.tags") or "")
    shot(page, "07-list-with-review")

    # another tenant's recording: neither the page nor its audio
    response = page.goto(f"{site.url}/recordings/{site.globex}")
    assert response.status == 404 and "globex private words" not in page.content()
    shot(page, "08-other-tenant-page")
    key = derived_key(str(site.app.secret_key), "media-url")
    mine = signing.issue(key, site.globex, "listen", site.acme_user, time.time())
    assert page.goto(f"{site.url}/media/recordings/{site.globex}?{urlencode(mine.query(key))}").status == 404
    theirs = signing.issue(key, site.globex, "listen", site.globex_user, time.time())
    assert page.goto(f"{site.url}/media/recordings/{site.globex}?{urlencode(theirs.query(key))}").status == 403
    shot(page, "09-other-tenant-audio")
    page.context.close()

    # and the other tenant's supervisor cannot open ours
    other = sign_in(browser, site, f"supervisor@globex-{site.acme.split('-', 1)[1]}.test")
    assert rows(other) == [site.globex]
    assert other.goto(f"{site.url}/recordings/{site.survey}").status == 404
    other.context.close()


def test_the_player_renews_a_refused_audio_link(browser: Any, site: Site) -> None:
    """A link that no longer works (here: its signature spoiled, as an expired one is refused
    alike) makes the player ask for a fresh one and play on."""
    page = sign_in(browser, site, f"supervisor@{site.acme}.test")
    page.goto(f"{site.url}/recordings/{site.synthetic}")
    spoiled = page.evaluate("""(() => {
        const player = document.getElementById('player');
        player.src = player.src.replace(/([?&]s=)[0-9a-f]+/, '$1' + '0'.repeat(64));
        return player.src; })()""")
    page.click("#play")
    wait_until(page, "document.getElementById('player').currentTime > 0.3")
    assert page.evaluate("document.getElementById('player').src") != spoiled
    shot(page, "10-link-renewed")
    with site.app.extensions["vp_sessions"]() as session:
        listens = session.scalars(select(AuditEvent).where(AuditEvent.recording_id == site.synthetic,
                                                           AuditEvent.action == "listen")).all()
    assert [event.user_id for event in listens] == [site.acme_user]  # the refused request wrote nothing
    page.context.close()
