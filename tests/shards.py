"""Which shard of the suite a test runs in, when ``scripts/test.sh`` runs the suite as several
pytest processes side by side (``scripts/run_shards.py``; ``--shard K/N`` on one process).

Most of the suite's time is waiting (a call ringing on the real Asterisk, Jasmin's queues, a
worker's lease running out), not CPU, so processes side by side finish sooner on two cores.
Tests that share a component the project starts once per checkout stay together, in order, in
one shard, as they run in one process:

* ``lab``: the Asterisk lab (the ``asterisk_lab`` fixture, or a test module that drives the lab
  or the demo through the command line) and the checkout's shared SMS gateway (the ``smsc``
  fixture): the demos use both, and two bridges bound to one Jasmin as the same user take each
  other's receipts (Jasmin hands a receipt to any bind of the user);
* ``smsc``: tests with SMS gateways of their own (the fault tests' gateway, the gateway's own
  lifecycle tests, the gateway benchmark).

Every other test module goes, whole (its module-scoped databases are made once), to the shard
that has the least estimated work so far, in collection order, never to the lab's shard when
there are others: the lab's tests are the longest part of the suite, and real calls (RTP timing,
speech recognition) are the tests that suffer most from a busy CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

#: fixture names whose presence in a test's closure puts it in a component's shard
LAB_FIXTURES = frozenset({"asterisk_lab", "smsc"})
SMSC_FIXTURES = frozenset({"gateway", "healthy_gateway"})
#: test folders (and modules) that drive a component through the command line or start their own
#: (tests/switches/ and tests/lab/ also hold the emulated FreeSWITCH's tests and the lab's pure
#: parts: they need no lab, and go to the other shards, which finish sooner than the lab's)
LAB_PATHS = ("tests/lab/test_lab.py", "tests/lab/test_sipp.py", "tests/lab/test_lab_session.py",
             "tests/cli/test_campaign_demo.py", "tests/cli/test_journey_demo.py",
             "tests/cli/test_demo_journey_parts.py", "tests/switches/test_calls.py",
             "tests/switches/test_sip_calls.py", "tests/switches/test_inbound_calls.py",
             "tests/switches/test_arabic_call.py", "tests/switches/test_asterisk_faults.py")
SMSC_PATHS = ("tests/smsc/", "tests/sms_bridge/faults/", "tests/bench/test_jasmin_gateway_bench.py")
#: a component's test against an ordinary one, in the estimate that balances the shards (at 20,
#: three shards took 7.7 min for the gateways' shard and 13.4 for the rest's)
COMPONENT_WEIGHT = 12
#: the shard each component's tests run in
COMPONENT_SHARD = {"lab": 0, "smsc": 1}


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        index_text, _, count_text = text.partition("/")
        try:
            index, count = int(index_text), int(count_text)
        except ValueError:
            raise pytest.UsageError(f"--shard takes K/N (0 <= K < N), not {text!r}") from None
        if not 0 <= index < count:
            raise pytest.UsageError(f"--shard takes K/N (0 <= K < N), not {text!r}")
        return cls(index, count)


def component_of(item: pytest.Item) -> str | None:
    path = item.nodeid.split("::", 1)[0]
    names = set(getattr(item, "fixturenames", ()))
    if names & LAB_FIXTURES or path.startswith(LAB_PATHS):
        return "lab"
    if names & SMSC_FIXTURES or path.startswith(SMSC_PATHS):
        return "smsc"
    return None


def assign(items: list[pytest.Item], count: int) -> dict[str, int]:
    """The shard of every test (by node id). Components first, then each other module, whole, to
    the least loaded shard (a test counts 1, 3 on PostgreSQL, a component's test
    :data:`COMPONENT_WEIGHT`: they wait on real calls and gateways)."""
    load = [0] * count
    shard_of: dict[str, int] = {}
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        component = component_of(item)
        if component is None:
            modules.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
            continue
        index = COMPONENT_SHARD[component] % count
        shard_of[item.nodeid] = index
        load[index] += COMPONENT_WEIGHT
    others = [k for k in range(count) if k != COMPONENT_SHARD["lab"] % count] or [0]
    for module_items in modules.values():
        index = min(others, key=lambda k: (load[k], k))
        load[index] += sum(3 if "postgresql" in item.nodeid else 1 for item in module_items)
        for item in module_items:
            shard_of[item.nodeid] = index
    return shard_of


def select(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the items of ``--shard``'s shard (all of them without the option)."""
    text = config.getoption("--shard")
    if not text:
        return
    shard = Shard.parse(text)
    shard_of = assign(items, shard.count)
    kept = [item for item in items if shard_of[item.nodeid] == shard.index]
    dropped = [item for item in items if shard_of[item.nodeid] != shard.index]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept
