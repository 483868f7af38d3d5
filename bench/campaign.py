"""Benchmark of the campaign data path. Prints a table and writes bench/results/campaign.json.

- Import of 150,000 contacts from CSV (target < 20 s), beside a baseline in the same process:
  parsing the same CSV with the csv module alone.
- Fan-out of a 150,000-contact campaign: windows per time zone, do-not-call and opt-out checks,
  queueing (target < 30 s), beside a baseline: reading the same rows back.

- Pacing accuracy against the real Asterisk lab (bench/campaign_pacing.py): the achieved calls
  per second against the configured rate (target within 5 %), and the most concurrent calls
  against the cap. The lab is started if it is not running.

Usage: python bench/campaign.py [--contacts 150000] [--database-url URL] [--no-pacing | --pacing-only]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voiceplatform.processes.runtime import use_gevent  # noqa: E402

use_gevent()  # the pacing part runs the dialler, as a worker does

from sqlalchemy import select  # noqa: E402

from voiceplatform.campaigns.fanout import fan_out  # noqa: E402
from voiceplatform.contacts.importer import import_contacts  # noqa: E402
from voiceplatform.db import make_engine, session_factory, upgrade  # noqa: E402
from voiceplatform.models import Account, Campaign, CampaignContact, DoNotCall, FlowVersion  # noqa: E402

AREAS = (201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219, 224, 225, 228)
ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Europe/London")


def contacts_csv(count: int) -> bytes:
    lines = ["phone,first_name,amount,timezone"]
    for i in range(count):
        phone = f"+1{AREAS[i % 20]}{200 + (i // 20) % 800:03d}{(i // 16000) % 10}{i % 1000:03d}"
        lines.append(f"{phone},Name{i},{i % 500}.00,{ZONES[i % len(ZONES)]}")
    return "\n".join(lines).encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=150_000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "campaign.json")
    parser.add_argument("--no-pacing", action="store_true", help="skip the pacing runs against the lab")
    parser.add_argument("--pacing-only", action="store_true", help="only the pacing runs against the lab")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="vp-bench-")
    url = args.database_url or f"sqlite:///{work}/bench.db"
    if args.pacing_only:
        return _pacing_only(url, args.out)
    upgrade(url)
    sessions = session_factory(make_engine(url))
    data = contacts_csv(args.contacts)

    began = time.perf_counter()
    parsed = sum(1 for _ in csv.reader(io.StringIO(data.decode())))
    csv_baseline = time.perf_counter() - began

    with sessions.begin() as session:
        account = Account(name=f"bench-{time.time()}")
        session.add(account)
        session.flush()
        account_id = account.id
    began = time.perf_counter()
    report = import_contacts(sessions, account_id, io.BytesIO(data), "bench.csv", list_name="bench")
    import_seconds = time.perf_counter() - began
    assert report.created == args.contacts and parsed == args.contacts + 1, report.to_dict()

    with sessions.begin() as session:
        flow = FlowVersion(account_id=account_id, name="bench", version=1, definition="x", checksum="x")
        session.add(flow)
        session.add_all([DoNotCall(account_id=account_id, phone=f"+1202{200 + i:03d}0{i:03d}") for i in range(500)])
        session.flush()
        campaign = Campaign(account_id=account_id, name="bench", flow_version_id=flow.id, contact_list_id=report.list_id,
                            settings={"window": {"start": "09:00", "end": "20:00", "days": ["mon", "tue", "wed", "thu", "sat"]}})
        session.add(campaign)
        session.flush()
        campaign_id = campaign.id
    began = time.perf_counter()
    fanned = fan_out(sessions, campaign_id, datetime.now(timezone.utc))
    fan_out_seconds = time.perf_counter() - began
    began = time.perf_counter()
    with sessions() as session:
        queued = len(session.execute(select(CampaignContact.id, CampaignContact.next_attempt_at)
                                     .where(CampaignContact.campaign_id == campaign_id)).all())
    read_baseline = time.perf_counter() - began
    assert queued == args.contacts

    rows = [
        ("import contacts (s)", import_seconds, "< 20", import_seconds < 20,
         f"{args.contacts / import_seconds:,.0f} rows/s; csv parse alone {csv_baseline:.2f} s ({import_seconds / csv_baseline:.0f}x)"),
        ("fan-out campaign (s)", fan_out_seconds, "< 30", fan_out_seconds < 30,
         f"{fanned.added:,} queued, {fanned.skipped_do_not_call} do-not-call; reading them back {read_baseline:.2f} s "
         f"({fan_out_seconds / read_baseline:.1f}x)"),
    ]
    database = url.split(":", 1)[0]
    print(f"campaign data benchmark: {args.contacts:,} contacts on {database}")
    print(f"{'measure':<24} {'value':>8}  {'target':<7} {'ok':<4} baseline in the same process")
    for name, value, target, ok, note in rows:
        print(f"{name:<24} {value:>8.2f}  {target:<7} {'yes' if ok else 'NO':<4} {note}")
    pacing = None
    if not args.no_pacing:
        from bench.campaign_pacing import measure_pacing, print_pacing

        pacing = measure_pacing(url)
        print_pacing(pacing)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "contacts": args.contacts, "database": database, "import_seconds": import_seconds, "csv_baseline_seconds": csv_baseline,
        "fan_out_seconds": fan_out_seconds, "read_baseline_seconds": read_baseline, "fan_out": fanned.__dict__,
        "pacing": pacing, "targets_met": all(row[3] for row in rows) and (
            pacing is None or (pacing["rates_within_5_percent"] and pacing["cap_held"]))}, indent=2))
    print(f"wrote {args.out}")
    return 0


def _pacing_only(url: str, out: Path) -> int:
    from bench.campaign_pacing import measure_pacing, print_pacing

    pacing = measure_pacing(url)
    print_pacing(pacing)
    out = out.with_name("campaign_pacing.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"database": url.split(":", 1)[0], "pacing": pacing}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
