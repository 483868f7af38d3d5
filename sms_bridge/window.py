"""The submit window of one bind: at most ``size`` submits wait for their answers at a time.

**Slow start.** A bind that follows one lost with submits unanswered (the SMSC dropped the
connection under them: their messages are ``unknown``) starts with room for one submit, and gains
one more with each accepted answer until it is full. A gateway that takes binds but cannot take
submits (Jasmin while its RabbitMQ is away: it binds, then drops the connection at the first
submit) so costs one unanswered submit per bind instead of a whole window each time.
"""

from __future__ import annotations

from types import TracebackType

from gevent.lock import Semaphore


class Window:
    def __init__(self, size: int, start: int | None = None) -> None:
        self.size = size
        self.room = min(size, start or size)
        self._slots = Semaphore(self.room)

    def grow(self) -> None:
        """An accepted answer: one more submit may wait at a time, up to ``size``."""
        if self.room < self.size:
            self.room += 1
            self._slots.release()

    def __enter__(self) -> Window:
        self._slots.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._slots.release()
