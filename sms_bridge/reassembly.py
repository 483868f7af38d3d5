"""Long messages from handsets put back together, in memory and without I/O.

Parts are grouped by (sender, our address, reference, total). When the last one is in,
:meth:`Reassembler.add` returns the whole message. A group whose first part came more than
``timeout`` seconds ago (by the clock it was given) is given up: :meth:`Reassembler.expire`
returns it as an incomplete :class:`MoMessage` (the text of the parts that came, in order, and
the numbers of the missing ones). The caller decides; the bridge delivers what arrived, marked
incomplete. A repeated part (same number) is ignored: the first copy counts, and a copy that comes
after its message was completed (an SMSC resending a ``deliver_sm`` whose response it missed)
is dropped for ``timeout`` seconds after the completion. When more than
``max_pending`` groups are open, the oldest is given up the same way, so a flood of first parts
cannot grow memory without bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sms_bridge.mo_messages import MoMessage, MoPart, decode_parts

GroupKey = tuple[str, str, int, int]


@dataclass(slots=True)
class _Group:
    first_seen: float
    parts: dict[int, MoPart] = field(default_factory=dict)


class Reassembler:
    def __init__(self, timeout: float, clock: Callable[[], float], max_pending: int = 10_000) -> None:
        if timeout <= 0 or max_pending < 1:
            raise ValueError("the timeout must be positive and max_pending at least 1")
        self._timeout = timeout
        self._clock = clock
        self._max_pending = max_pending
        self._groups: dict[GroupKey, _Group] = {}  # in order of first arrival
        self._given_up: list[MoMessage] = []
        self._completed: dict[GroupKey, float] = {}  # completion time, in order

    @property
    def pending(self) -> int:
        """Groups waiting for parts."""
        return len(self._groups)

    def add(self, part: MoPart) -> MoMessage | None:
        """The whole message when ``part`` completes it (or is not a part of a longer one)."""
        concat = part.concatenation
        if concat is None or concat.total == 1:
            return MoMessage(part.sender, part.our_address, decode_parts([part]))
        key = (part.sender, part.our_address, concat.reference, concat.total)
        now = self._clock()
        self._forget_completed(now)
        if key in self._completed:
            return None
        group = self._groups.get(key)
        if group is None:
            if len(self._groups) >= self._max_pending:
                oldest = next(iter(self._groups))
                self._given_up.append(self._incomplete(oldest, self._groups.pop(oldest)))
            group = self._groups[key] = _Group(now)
        group.parts.setdefault(concat.sequence, part)
        if len(group.parts) < concat.total:
            return None
        del self._groups[key]
        self._completed[key] = now
        if len(self._completed) > self._max_pending:
            del self._completed[next(iter(self._completed))]
        ordered = [group.parts[number] for number in range(1, concat.total + 1)]
        return MoMessage(part.sender, part.our_address, decode_parts(ordered), concat.total)

    def expire(self) -> list[MoMessage]:
        """Incomplete messages given up since the last call: timed out, or pushed out by
        ``max_pending``."""
        now = self._clock()
        self._forget_completed(now)
        stale = [key for key, group in self._groups.items() if now - group.first_seen >= self._timeout]
        given_up, self._given_up = self._given_up, []
        given_up.extend(self._incomplete(key, self._groups.pop(key)) for key in stale)
        return given_up

    def _forget_completed(self, now: float) -> None:
        while self._completed:
            key, completed_at = next(iter(self._completed.items()))
            if now - completed_at < self._timeout:
                break
            del self._completed[key]

    @staticmethod
    def _incomplete(key: GroupKey, group: _Group) -> MoMessage:
        sender, our_address, _reference, total = key
        numbers = sorted(group.parts)
        missing = tuple(number for number in range(1, total + 1) if number not in group.parts)
        text = "".join(decode_parts(run) for run in _runs([group.parts[n] for n in numbers], numbers))
        return MoMessage(sender, our_address, text, total, missing)


def _runs(parts: list[MoPart], numbers: list[int]) -> list[list[MoPart]]:
    """Parts cut into runs of consecutive numbers (a gap between two runs is not decoded across)."""
    runs: list[list[MoPart]] = []
    previous = -1
    for part, number in zip(parts, numbers):
        if number != previous + 1 or not runs:
            runs.append([])
        runs[-1].append(part)
        previous = number
    return runs
