"""Messages from one contact are applied in the order this process received them.

Two replies from the same contact that reach one process together (two webhook requests, two
greenlets) each open a transaction and then wait for the session's row lock; which of them the
database hands it to first depends on how their earlier queries happened to interleave, so the
second could be applied first. :class:`ArrivalOrder` takes a lock per (channel, address) in the
order the calls came, before the transaction, so within a process the order received is the
order applied. Across processes the database's row lock is the order (there is no earlier one).

A call that holds several contacts' locks (a batch) takes them in sorted order, so two batches
never wait on each other in a circle. Locks of contacts nobody is waiting on are dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

Key = tuple[str, str]  # (channel, the contact's address)


class ArrivalOrder:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Key, tuple[threading.Lock, int]] = {}

    @contextmanager
    def held(self, keys: Iterable[Key]) -> Iterator[None]:
        """Hold the locks of ``keys`` (waiting behind earlier callers of each) while the block runs."""
        taken: list[Key] = []
        try:
            for key in sorted(set(keys)):
                lock = self._enter(key)
                try:
                    lock.acquire()
                except BaseException:  # killed while waiting: it holds nothing of this key
                    self._leave(key, release=False)
                    raise
                taken.append(key)
            yield
        finally:
            for key in reversed(taken):
                self._leave(key, release=True)

    def _enter(self, key: Key) -> threading.Lock:
        with self._guard:
            lock, users = self._locks.get(key) or (threading.Lock(), 0)
            self._locks[key] = (lock, users + 1)
            return lock

    def _leave(self, key: Key, *, release: bool) -> None:
        with self._guard:
            lock, users = self._locks[key]
            if release:
                lock.release()
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)
