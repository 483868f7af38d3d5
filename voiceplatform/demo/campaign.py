"""The main job: a demo campaign through the HTTP API against the Asterisk lab.

1. start the lab (a real Asterisk) and the embedded server (the API and the dialler, one process);
2. over HTTP: create and publish the satisfaction survey flow, import the contacts (the lab's
   scripted callees under E.164 numbers), create the campaign and start it;
3. follow its progress until every contact is final;
4. print each contact's outcome, answers and recording, and the URLs to open;
5. with the server's database at hand (``sessions``), wait for the review pipeline to transcribe
   the recordings and print each one's transcript and its page on the supervisors' review UI.

Three callees rate the service and then speak a comment into the survey's record node
(``press-1-and-comment``, ``press-5-and-comment``, ``wrong-then-right``: espeak-ng sentences of
several seconds, ``voiceplatform/lab/defaults.py``), so the recordings hold speech.
"""

from __future__ import annotations

import io
import json
import sys
import time
import uuid
from typing import Any, Callable, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.lab.numbers import CALLEE_BY_NUMBER, CALLEE_NUMBERS
from voiceplatform.settings import paths

FLOW_FILE = paths().flows_dir / "satisfaction_survey.yaml"
CALLEES = ["press-1-and-comment", "press-5-and-comment", "say-yes", "wrong-then-right", "hangup-mid-prompt", "busy",
           "no-answer", "machine"]
FIRST_NAMES = ["Amira", "Bilal", "Chen", "Dana", "Elif", "Farid", "Grace", "Hugo"]
SETTINGS = {
    "calls_per_second": 2, "max_concurrent": 4, "ring_seconds": 12,
    "window": {"start": "00:00", "end": "24:00"},
    "retries": {"busy": {"retries": 1, "minutes": 0.1}, "no-answer": {"retries": 0}, "machine": {"retries": 0}},
}
TIMEOUT_SECONDS = 300
TRANSCRIPTS_SECONDS = 90  # for the review pipeline to transcribe the campaign's recordings


def demo_contacts_csv() -> bytes:
    lines = ["phone,first_name,ticket_id,timezone,callee"]
    for index, callee in enumerate(CALLEES):
        lines.append(f"{CALLEE_NUMBERS[callee]},{FIRST_NAMES[index]},T-{1000 + index},UTC,{callee}")
    return ("\n".join(lines) + "\n").encode()


def multipart(fields: dict[str, str], file_field: str, filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n'
              f"Content-Type: text/csv\r\n\r\n".encode())
    out.write(content + b"\r\n" + f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def upload(base_url: str, token: str, path: str, fields: dict[str, str], filename: str, content: bytes) -> dict[str, Any]:
    import urllib.request

    body, content_type = multipart(fields, "file", filename, content)
    request = urllib.request.Request(base_url + path, data=body, method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def run_campaign_demo(client: Any, base_url: str, token: str, out: TextIO = sys.stdout,
                      clock: Callable[[], float] = time.monotonic,
                      sessions: sessionmaker[Session] | None = None) -> int:
    """Drive the demo through the API; returns 0 when every contact ended final (and, with
    ``sessions``, every recording was transcribed)."""
    say = lambda text="": print(text, file=out, flush=True)  # noqa: E731
    flow = client.post("/flows", {"yaml": FLOW_FILE.read_text()})
    client.post(f"/flows/{flow['name']}/versions/{flow['version']}/publish")
    say(f"flow       {flow['name']} version {flow['version']}, published")
    report = upload(base_url, token, "/contacts/import", {"list": f"demo {time.strftime('%H:%M:%S')}"},
                    "demo-contacts.csv", demo_contacts_csv())
    say(f"contacts   {report['rows']} rows imported into list {report['list_id']} ({report['error_count']} bad rows)")
    campaign = client.post("/campaigns", {"name": "Demo: satisfaction survey", "flow": {"name": flow["name"]},
                                          "contact_list_id": report["list_id"], "settings": SETTINGS, "start": True})
    estimate = client.get(f"/campaigns/{campaign['id']}/estimate")
    say(f"campaign   {campaign['id']} {campaign['status']}: {len(CALLEES)} contacts, "
        f"estimate {estimate['estimated_cost']} {estimate['currency']} of {estimate['balance']}")
    stats = _follow(client, campaign["id"], say, clock)
    say()
    _print_table(client, campaign["id"], say)
    say()
    say(f"outcomes   {', '.join(f'{k}: {v}' for k, v in sorted(stats['outcomes'].items()))}")
    say(f"open       {base_url}/campaigns/{campaign['id']}/stats   (Authorization: Bearer <.state/api-token>)")
    say(f"           {base_url}/calls?campaign_id={campaign['id']}")
    transcribed = True
    if sessions is not None:
        say()
        transcribed = print_transcripts(sessions, campaign["id"], base_url, say, clock)
    return 0 if stats["status"] == "completed" and stats["final"] == stats["contacts"] and transcribed else 1


def print_transcripts(sessions: sessionmaker[Session], campaign_id: int, base_url: str, say: Callable[..., None],
                      clock: Callable[[], float] = time.monotonic, timeout: float = TRANSCRIPTS_SECONDS) -> bool:
    """Wait for the campaign's recordings to be transcribed (the server's review pipeline), then
    print each one's duration, engine, transcript and review page; False if some were not in time."""
    from voiceplatform.models import Call, Recording

    deadline = clock() + timeout
    while True:
        with sessions() as db:
            rows = list(db.execute(select(Recording, Call.to).join(Call, Call.id == Recording.call_id)
                                   .where(Call.campaign_id == campaign_id).order_by(Recording.id)))
        pending = [recording for recording, _ in rows if recording.transcription_status == "pending"]
        if not pending or clock() > deadline:
            break
        time.sleep(1.0)
    say(f"recordings {len(rows)} transcribed after the calls (review pipeline); listen on the review page:")
    for recording, phone in rows:
        engine = recording.transcription_engine or recording.transcription_status
        words = (recording.transcript or "").strip() or "(no words)"
        say(f"  {CALLEE_BY_NUMBER.get(phone, phone):<20} {float(recording.duration):4.1f} s  {engine:<12} "
            f"{base_url}/recordings/{recording.id}")
        say(f"  {'':<20} \"{words}\"")
    if pending:
        say(f"  {len(pending)} not transcribed within {timeout:g} s")
    return not pending


def _follow(client: Any, campaign_id: int, say: Callable[..., None], clock: Callable[[], float]) -> dict[str, Any]:
    deadline = clock() + TIMEOUT_SECONDS
    last = ""
    while True:
        stats = client.get(f"/campaigns/{campaign_id}/stats")
        line = (f"progress   {stats['status']:<9} {stats['final']}/{stats['contacts']} final, "
                f"{stats['in_progress']} on a call, {stats['calls']} calls placed")
        if line != last:
            say(line)
            last = line
        if stats["status"] in ("completed", "cancelled", "failed") or clock() > deadline:
            return stats
        time.sleep(1.0)


def _print_table(client: Any, campaign_id: int, say: Callable[..., None]) -> None:
    rows = client.get(f"/campaigns/{campaign_id}/contacts", per_page=100)["items"]
    header = f"{'number':<13} {'callee':<20} {'state':<8} {'tries':>5}  {'outcome':<10} {'answers':<28} recording"
    say(header)
    say("-" * len(header))
    for row in rows:
        call = client.get(f"/calls/{row['last_call_id']}") if row["last_call_id"] else {}
        answers = {k: v for k, v in (call.get("results") or {}).items() if k != "comment"}
        recordings = call.get("recordings") or []
        recording = recordings[0]["path"] if recordings and "path" in recordings[0] else (
            (call.get("results") or {}).get("comment") or "-")
        say(f"{row['phone']:<13} {CALLEE_BY_NUMBER.get(row['phone'], '?'):<20} {row['status']:<8} {row['attempts']:>5}  "
            f"{row['last_outcome'] or '-':<10} {json.dumps(answers)[:28]:<28} {recording}")
