"""One contact's messages are applied in the order received within a process: callers of one
key wait in arrival order, other keys do not wait, a batch takes its keys in sorted order, a
caller killed while waiting holds nothing, and no lock outlives its last user."""

from __future__ import annotations

import gevent
import gevent.event
import pytest

from voiceplatform.sessions.arrival_order import ArrivalOrder


def test_callers_of_one_contact_go_in_arrival_order_and_others_do_not_wait() -> None:
    order, done = ArrivalOrder(), []

    def apply(name: str, key: tuple[str, str], work: float) -> None:
        with order.held([key]):
            gevent.sleep(work)  # the transaction's queries: the greenlet yields
            done.append(name)

    greenlets = [gevent.spawn(apply, "one", ("sms", "+1"), 0.03), gevent.spawn(apply, "two", ("sms", "+1"), 0.0),
                 gevent.spawn(apply, "other", ("sms", "+2"), 0.0)]
    gevent.joinall(greenlets, raise_error=True)
    assert done == ["other", "one", "two"]  # "two" waited for "one"; "+2" waited for nobody
    assert len(order) == 0


def test_a_caller_killed_while_waiting_holds_nothing() -> None:
    order = ArrivalOrder()
    entered = gevent.event.Event()

    def hold() -> None:
        with order.held([("whatsapp", "+1"), ("whatsapp", "+3")]):
            entered.set()
            gevent.sleep(0.05)

    first = gevent.spawn(hold)
    entered.wait(1)
    waiting = gevent.spawn(lambda: order.held([("whatsapp", "+1")]).__enter__())
    gevent.sleep(0.01)
    waiting.kill()
    first.join(1)
    with gevent.Timeout(1):
        with order.held([("whatsapp", "+1")]):  # free: the killed waiter did not keep it
            pass
    assert len(order) == 0


@pytest.mark.parametrize("keys", [[("sms", "+2"), ("sms", "+1")], [("sms", "+1"), ("sms", "+2")]])
def test_batches_with_the_same_contacts_never_wait_on_each_other_in_a_circle(keys: list[tuple[str, str]]) -> None:
    order, done = ArrivalOrder(), []

    def batch(name: str, these: list[tuple[str, str]]) -> None:
        with order.held(these):
            gevent.sleep(0.01)
            done.append(name)

    with gevent.Timeout(2):
        gevent.joinall([gevent.spawn(batch, "a", keys), gevent.spawn(batch, "b", list(reversed(keys)))],
                       raise_error=True)
    assert sorted(done) == ["a", "b"]
