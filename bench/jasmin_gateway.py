"""Benchmark: the real gateway of ``voiceplatform smsc`` (Jasmin 0.11.1 and the handset network).

``python bench/jasmin_gateway.py [--messages N] [--window W] [--quick] [--out FILE]``

Starts an smsc instance of its own (a temporary state folder; the cached Jasmin virtualenv),
then measures, with a windowed ESME on smpplib (W submits outstanding, one reader greenlet):

* start-up: ``up`` from nothing with the virtualenv cached (broker account, Redis, handset
  network, Jasmin, jCli provisioning, BOUND_TRX), and Jasmin's RSS idle and after the load;
* the handset network's own ceiling: N messages submitted straight to it, receipts back;
* through Jasmin: submit_sm accepted per second (all submit_sm_resp in), and end to end (every
  receipt back through Jasmin), with Jasmin's CPU share during the run;
* the same through a Jasmin started without TCP_NODELAY (``VOICEPLATFORM_JASMIN_NODELAY=0``),
  on a fifth of the messages: what the launcher's socket option buys.

Not a timed test: figures for the closing note (tests/bench/test_jasmin_gateway_bench.py only
runs ``--quick``).
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Iterator  # noqa: E402

import gevent  # noqa: E402
import smpplib.client  # noqa: E402
import smpplib.exceptions  # noqa: E402
from gevent.lock import BoundedSemaphore, Semaphore  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voiceplatform.smsc import SmscSettings, SmscState, down, up  # noqa: E402
from voiceplatform.smsc.handset_network.numbers import numbers_like  # noqa: E402
from voiceplatform.smsc.processes import rss_kib  # noqa: E402

FULL = {"messages": 5_000, "window": 50}
QUICK = {"messages": 200, "window": 20}


def _text(value: Any) -> str:
    return value.decode("ascii", "replace") if isinstance(value, bytes) else str(value or "")


def _receipted_id(pdu: Any) -> str:
    """The id a receipt is for: its receipted_message_id TLV, else the text's ``id:``."""
    tlv = getattr(pdu, "receipted_message_id", None)
    if tlv:
        return _text(tlv).rstrip("\x00")
    text = _text(pdu.short_message)
    return text.split("id:", 1)[1].split(" ", 1)[0] if "id:" in text else ""


class WindowedEsme:
    """smpplib with a submit window: at most ``window`` submit_sm without their answer."""

    def __init__(self, host: str, port: int, system_id: str, password: str, window: int) -> None:
        self.client = smpplib.client.Client(host, port, allow_unknown_opt_params=True, timeout=30)
        self.window = BoundedSemaphore(window)
        self.write_lock = Semaphore()
        self.accepted = self.refused = self.receipts = self.strays = 0
        # receipts count only for messages this ESME submitted, once each: a receipt for an
        # earlier run's message (Jasmin hands it to any bind of the user) is a stray
        self.submitted_ids: set[str] = set()
        self.receipt_ids: set[str] = set()
        self.client.set_message_sent_handler(self._answered)
        self.client.set_error_pdu_handler(self._refused)
        self.client.set_message_received_handler(self._received)
        original_send = self.client.send_pdu

        def send_pdu(pdu: Any) -> bool:
            with self.write_lock:  # the reader greenlet answers deliver_sm on the same socket
                return bool(original_send(pdu))

        self.client.send_pdu = send_pdu  # type: ignore[method-assign]
        self.client.connect()
        self.client.bind_transceiver(system_id=system_id, password=password)
        self.reader = gevent.spawn(self._read)

    def _read(self) -> None:
        try:
            while True:
                self.client.read_once()
        except (smpplib.exceptions.ConnectionError, OSError):
            return

    def _answered(self, pdu: Any) -> None:
        self.accepted += 1
        message_id = _text(pdu.message_id)
        self.submitted_ids.add(message_id)
        if message_id in self.receipt_ids:  # its receipt came before its answer was read
            self.receipts += 1
        self.window.release()

    def _refused(self, pdu: Any) -> None:
        if pdu.command == "submit_sm_resp":
            self.refused += 1
            self.window.release()

    def _received(self, pdu: Any) -> int:
        if int(pdu.esm_class or 0) & 0x04:
            message_id = _receipted_id(pdu)
            if message_id in self.receipt_ids:
                return 0
            self.receipt_ids.add(message_id)
            if message_id in self.submitted_ids:
                self.receipts += 1
        return 0

    def run(self, destinations: list[str]) -> dict[str, float]:
        started = time.perf_counter()
        for index, destination in enumerate(destinations):
            self.window.acquire()
            self.client.send_message(
                source_addr_ton=1, source_addr_npi=1, source_addr="15550100",
                dest_addr_ton=1, dest_addr_npi=1, destination_addr=destination.lstrip("+"),
                short_message=f"benchmark message {index}".encode(), data_coding=0,
                registered_delivery=1)
        total = len(destinations)
        while self.accepted + self.refused < total:
            gevent.sleep(0.001)
        accepted_at = time.perf_counter()
        deadline = accepted_at + 120
        while self.receipts < self.accepted and time.perf_counter() < deadline:
            gevent.sleep(0.005)
        done_at = time.perf_counter()
        return {
            "messages": total,
            "refused": self.refused,
            "accepted_per_s": round(total / (accepted_at - started), 1),
            "end_to_end_per_s": round(self.receipts / (done_at - started), 1),
            "receipts": self.receipts,
            "stray_receipts": len(self.receipt_ids - self.submitted_ids),
            "seconds": round(done_at - started, 2),
        }

    def close(self) -> None:
        self.reader.kill()
        try:
            self.client.unbind()
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError):
            pass
        self.client.disconnect()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def instance(folder: Path, nodelay: bool = True) -> Iterator[tuple[SmscState, float]]:
    os.environ["VOICEPLATFORM_JASMIN_NODELAY"] = "1" if nodelay else "0"
    settings = SmscSettings(state_dir=folder, venv_dir=SmscSettings.from_env().venv_dir)
    try:
        report = up(settings)
        yield report.state, report.seconds
    finally:
        down(settings, force=True)
        os.environ.pop("VOICEPLATFORM_JASMIN_NODELAY", None)


def _destinations(count: int) -> list[str]:
    """``count`` numbers of the handset network's delivered range (1,000 distinct, repeated)."""
    delivered = numbers_like("delivered", 1000)
    return [delivered[i % 1000] for i in range(count)]


def through_jasmin(state: SmscState, messages: int, window: int) -> dict[str, Any]:
    assert state.jasmin is not None
    esme = WindowedEsme(*state.smpp_address, state.esme_username, state.esme_password, window)
    cpu_before, wall_before = _cpu_seconds(state.jasmin.pid), time.perf_counter()
    try:
        result = esme.run(_destinations(messages))
    finally:
        esme.close()
    result["jasmin_cpu_share"] = round((_cpu_seconds(state.jasmin.pid) - cpu_before)
                                       / (time.perf_counter() - wall_before), 2)
    return result


def straight_to_handsets(state: SmscState, messages: int, window: int) -> dict[str, Any]:
    handsets = state.handsets
    esme = WindowedEsme(state.host, handsets.smpp_port, handsets.system_id, handsets.password, window)
    try:
        return esme.run(_destinations(messages))
    finally:
        esme.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int)
    parser.add_argument("--window", type=int)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "jasmin_gateway.json")
    args = parser.parse_args()
    sizes = dict(QUICK if args.quick else FULL)
    sizes["messages"] = args.messages or sizes["messages"]
    sizes["window"] = args.window or sizes["window"]
    results: dict[str, Any] = {"sizes": sizes}
    with tempfile.TemporaryDirectory(prefix="vp-bench-smsc-") as temp:
        with instance(Path(temp) / "nodelay") as (state, seconds):
            assert state.jasmin is not None
            results["up_seconds"] = round(seconds, 2)
            results["jasmin_rss_mb_idle"] = round((rss_kib(state.jasmin.pid) or 0) / 1024, 1)
            results["handsets_direct"] = straight_to_handsets(state, sizes["messages"], sizes["window"])
            results["through_jasmin"] = through_jasmin(state, sizes["messages"], sizes["window"])
            results["jasmin_rss_mb_after"] = round((rss_kib(state.jasmin.pid) or 0) / 1024, 1)
        if not args.quick:
            with instance(Path(temp) / "nagle", nodelay=False) as (state, _):
                results["through_jasmin_without_nodelay"] = through_jasmin(
                    state, max(sizes["messages"] // 5, 200), sizes["window"])
    rows = [
        ("up from nothing (venv cached)", f"{results['up_seconds']} s"),
        ("Jasmin RSS idle / after load", f"{results['jasmin_rss_mb_idle']} / {results['jasmin_rss_mb_after']} MB"),
        ("straight to the handset network: accepted, end to end",
         f"{results['handsets_direct']['accepted_per_s']}/s, {results['handsets_direct']['end_to_end_per_s']}/s"),
        ("through Jasmin: accepted, end to end with receipts",
         f"{results['through_jasmin']['accepted_per_s']}/s, {results['through_jasmin']['end_to_end_per_s']}/s "
         f"(Jasmin at {results['through_jasmin']['jasmin_cpu_share']:.0%} of a core)"),
    ]
    if "through_jasmin_without_nodelay" in results:
        nagle = results["through_jasmin_without_nodelay"]
        rows.append(("through Jasmin without TCP_NODELAY", f"{nagle['accepted_per_s']}/s, {nagle['end_to_end_per_s']}/s"))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
