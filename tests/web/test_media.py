"""Serving recordings: signed URLs only, HTTP Range (206, 416), path confinement, tenants, and
the audit events a listen and a download write (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.web.conftest import media_links, sign_in
from tests.web.seed import Seeded
from voiceplatform.models import AuditEvent, Recording, User
from voiceplatform.web import signing
from voiceplatform.web.secret import derived_key

KEY = derived_key("web-tests-secret", "media-url")


def links(client: FlaskClient, recording_id: int) -> dict[str, str]:
    page = client.get(f"/recordings/{recording_id}")
    assert page.status_code == 200
    return media_links(page.get_data(as_text=True))


def audio_bytes(app: Flask, recording_id: int) -> bytes:
    with app.extensions["vp_sessions"]() as session:
        return Path(session.get(Recording, recording_id).path).read_bytes()


def user_id(app: Flask, address: str) -> int:
    with app.extensions["vp_sessions"]() as session:
        return int(session.scalars(select(User.id).where(User.email == address)).one())


def signed(recording_id: int, purpose: str, user: int, *, now: float | None = None, seconds: int = 300) -> str:
    grant = signing.issue(KEY, recording_id, purpose, user, time.time() if now is None else now, seconds)
    return f"/media/recordings/{recording_id}?{urlencode(grant.query(KEY))}"


def test_the_whole_file_and_ranges(app: Flask, seeded: Seeded, supervisor: FlaskClient) -> None:
    recording = seeded.recordings["acme-survey"]
    url, data = links(supervisor, recording)["listen"], audio_bytes(app, recording)
    size = len(data)
    whole = supervisor.get(url)
    assert whole.status_code == 200 and whole.data == data
    assert whole.headers["Accept-Ranges"] == "bytes" and whole.headers["Content-Length"] == str(size)
    assert whole.mimetype == "audio/wav" and "attachment" not in whole.headers.get("Content-Disposition", "")
    cases = {"bytes=0-99": (0, 99), "bytes=44-": (44, size - 1), "bytes=-1000": (size - 1000, size - 1),
             f"bytes={size - 10}-{size + 500}": (size - 10, size - 1), "bytes=1000-1000": (1000, 1000)}
    for header, (start, end) in cases.items():  # several seeks with one URL
        part = supervisor.get(url, headers={"Range": header})
        assert part.status_code == 206, header
        assert part.data == data[start:end + 1]
        assert part.headers["Content-Range"] == f"bytes {start}-{end}/{size}"
        assert part.headers["Content-Length"] == str(end - start + 1)
    head = supervisor.head(url, headers={"Range": "bytes=0-9"})
    assert head.status_code == 206 and head.data == b"" and head.headers["Content-Length"] == "10"


@pytest.mark.parametrize("header", ["bytes=999999-", "bytes=10-5", "bytes=abc", "bytes=0-1,4-5", "lines=0-5", "bytes=-0"])
def test_bad_or_unsatisfiable_ranges_get_416(app: Flask, seeded: Seeded, supervisor: FlaskClient, header: str) -> None:
    recording = seeded.recordings["acme-survey"]
    response = supervisor.get(links(supervisor, recording)["listen"], headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{len(audio_bytes(app, recording))}"


def test_the_download_link_is_an_attachment(app: Flask, seeded: Seeded, supervisor: FlaskClient) -> None:
    recording = seeded.recordings["acme-survey"]
    response = supervisor.get(links(supervisor, recording)["download"])
    assert response.status_code == 200 and response.data == audio_bytes(app, recording)
    assert response.headers["Content-Disposition"] == f'attachment; filename="recording-{recording}.wav"'


def test_expired_tampered_or_unsigned_urls_are_refused(app: Flask, seeded: Seeded, supervisor: FlaskClient) -> None:
    recording = seeded.recordings["acme-survey"]
    me = user_id(app, "supervisor@acme.test")
    assert supervisor.get(signed(recording, "listen", me)).status_code == 200  # the test's own signing is right
    expired = supervisor.get(signed(recording, "listen", me, now=time.time() - 301))
    assert expired.status_code == 403 and b"expired" in expired.data
    url = links(supervisor, recording)["listen"]
    path, query = urlsplit(url).path, {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    spoiled = query["s"][:-1] + ("1" if query["s"].endswith("0") else "0")
    for field, value in (("e", str(int(query["e"]) + 3600)), ("p", "download"), ("s", spoiled), ("u", str(me + 1)),
                         ("n", "another")):
        assert supervisor.get(f"{path}?{urlencode({**query, field: value})}").status_code == 403, field
    other = seeded.recordings["acme-payment"]
    assert supervisor.get(f"/media/recordings/{other}?{urlencode(query)}").status_code == 403  # signed for another id
    assert supervisor.get(f"/media/recordings/{recording}").status_code == 403


def test_a_url_works_only_for_the_person_it_was_issued_to(app: Flask, seeded: Seeded, supervisor: FlaskClient) -> None:
    url = links(supervisor, seeded.recordings["acme-survey"])["listen"]
    assert app.test_client().get(url).status_code == 403  # nobody signed in
    colleague = sign_in(app.test_client(), "acme", "admin")
    assert colleague.get(url).status_code == 403  # another person of the same account


def test_another_tenants_recording_is_not_served(app: Flask, seeded: Seeded) -> None:
    globex = seeded.recordings["globex-survey"]
    acme_supervisor = sign_in(app.test_client(), "acme", "supervisor")
    assert acme_supervisor.get(f"/recordings/{globex}").status_code == 404
    # a genuine signature, for this person, still does not open another tenant's audio
    me = user_id(app, "supervisor@acme.test")
    assert acme_supervisor.get(signed(globex, "listen", me)).status_code == 404
    # the sub-account's recording is the master's to hear, not the other way round
    eu = seeded.recordings["acme-eu-survey"]
    assert acme_supervisor.get(links(acme_supervisor, eu)["listen"]).status_code == 200
    eu_supervisor = sign_in(app.test_client(), "acme-eu", "supervisor")
    assert eu_supervisor.get(f"/recordings/{seeded.recordings['acme-survey']}").status_code == 404
    eu_id = user_id(app, "supervisor@acme-eu.test")
    assert eu_supervisor.get(signed(seeded.recordings["acme-survey"], "listen", eu_id)).status_code == 404


@pytest.mark.parametrize("name", ["acme-outside", "acme-traversal"])
def test_a_row_pointing_outside_the_media_folder_is_refused(app: Flask, seeded: Seeded, supervisor: FlaskClient,
                                                            name: str) -> None:
    recording = seeded.recordings[name]
    me = user_id(app, "supervisor@acme.test")
    response = supervisor.get(signed(recording, "listen", me))
    assert response.status_code == 403 and b"outside the media folder" in response.data
    assert b"root:" not in response.data and b"RIFF" not in response.data


def test_traversal_in_the_url_itself_finds_nothing(app: Flask, seeded: Seeded, supervisor: FlaskClient) -> None:
    for url in ("/media/recordings/../../etc/passwd", "/media/recordings/%2e%2e%2fsecret.wav", "/media/recordings/1%2F..%2F2"):
        response = supervisor.get(url)
        assert response.status_code in (403, 404) and b"RIFF" not in response.data and b"root:" not in response.data


def test_deleted_audio_is_gone_but_the_page_stays(app: Flask, seeded: Seeded, supervisor: FlaskClient) -> None:
    recording = seeded.recordings["acme-deleted"]
    page = supervisor.get(f"/recordings/{recording}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="audio-deleted"' in html and "retention" in html
    assert "<audio" not in html and ">went<" in html  # the transcript is kept
    me = user_id(app, "supervisor@acme.test")
    assert supervisor.get(signed(recording, "listen", me)).status_code == 410


def test_a_listen_is_audited_once_per_url_and_a_download_each_time(app: Flask, seeded: Seeded) -> None:
    client = sign_in(app.test_client(), "acme", "supervisor")
    recording = seeded.recordings["acme-payment"]

    def events(action: str) -> list[AuditEvent]:
        with app.extensions["vp_sessions"]() as session:
            return list(session.scalars(select(AuditEvent).where(AuditEvent.recording_id == recording,
                                                                 AuditEvent.action == action)))

    page_links = links(client, recording)
    assert events("listen") == []  # opening the page is not listening (the player preloads nothing)
    for header in ("bytes=0-", "bytes=100-", "bytes=-50"):
        assert client.get(page_links["listen"], headers={"Range": header}).status_code == 206
    listens = events("listen")
    assert len(listens) == 1 and listens[0].user_id == user_id(app, "supervisor@acme.test")
    assert listens[0].account_id == seeded.accounts["acme"] and listens[0].ip == "127.0.0.1"
    assert client.get(links(client, recording)["listen"]).status_code == 200  # a new URL: a new listen
    assert len(events("listen")) == 2
    client.get(page_links["download"])
    assert [event.details["nonce"] for event in events("download")] == [parse_qs(urlsplit(page_links["download"]).query)["n"][0]]
    refused = client.get(signed(recording, "listen", 999999))
    assert refused.status_code == 403 and len(events("listen")) == 2  # refused requests write nothing


def test_the_player_gets_a_fresh_url_with_the_csrf_token(app: Flask, seeded: Seeded, supervisor: FlaskClient) -> None:
    from tests.web.conftest import csrf_of

    recording = seeded.recordings["acme-survey"]
    assert supervisor.post(f"/recordings/{recording}/listen-url").status_code == 400
    response = supervisor.post(f"/recordings/{recording}/listen-url", headers={"X-CSRF-Token": csrf_of(supervisor)})
    assert response.status_code == 200 and response.get_json()["seconds"] == 300
    assert supervisor.get(response.get_json()["url"], headers={"Range": "bytes=0-3"}).data == b"RIFF"
    globex = seeded.recordings["globex-survey"]
    assert supervisor.post(f"/recordings/{globex}/listen-url", headers={"X-CSRF-Token": csrf_of(supervisor)}).status_code == 404
