"""What an exchange is, for v4 and v6 alike: its retransmission schedule and what it saw.

- :class:`Backoff`: RFC 2131 4.1's (4 s doubling to 64 s, +/- 1 s), with a lab default.
- :class:`Retransmit6`: RFC 8415 15's (IRT, MRT, MRC, MRD, each +/- 10 %).
- :class:`Exchange`: frames sent, replies that matched, DHCP replies that did not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..wire.dhcp6 import TRANSMISSION6


@dataclass
class Backoff:
    """Retransmission schedule: RFC 2131 says 4 s, doubling to 64 s, each
    randomised by +/-1 s. The lab default starts at 1 s (the servers answer in
    a millisecond); raise ``first`` for slow devices, e.g. ``Backoff.rfc2131()``."""

    first: float = 1.0
    factor: float = 2.0
    maximum: float = 64.0
    jitter: float = 0.1   # a fraction of each interval, drawn uniformly from +/- this

    @classmethod
    def rfc2131(cls) -> Backoff:
        return cls(first=4.0, factor=2.0, maximum=64.0, jitter=0.25)

    def intervals(self, rand: Callable[[], float]) -> Iterator[float]:
        interval = self.first
        while True:
            yield max(0.01, interval * (1 + self.jitter * (2 * rand() - 1)))
            interval = min(interval * self.factor, self.maximum)


@dataclass
class Exchange:
    """What one send-and-wait saw: frames sent, replies that matched, and
    DHCP replies that did not (wrong xid or chaddr), all timestamped."""

    sent: list[tuple[float, bytes]] = field(default_factory=list)
    replies: list[Any] = field(default_factory=list)    # Frame or Frame6
    ignored: list[Any] = field(default_factory=list)
    overflow: int = 0     # matching replies past MAX_REPLIES, counted and dropped


MAX_IGNORED = 1000  # a flood of foreign replies is counted, not kept without bound
MAX_REPLIES = 256   # nor is a flood of copies of our own


@dataclass
class Retransmit6:
    """RFC 8415 15: RT starts at IRT (plus up to 10% of it, never less for a
    SOLICIT), doubles (each +/- 10%) up to MRT; MRC sends at most, MRD seconds
    at most (0: no limit). ``Retransmit6.rfc8415("REQUEST")`` gives the
    protocol's own values (7.6)."""

    irt: float = 1.0
    mrt: float = 30.0
    mrc: int = 0
    mrd: float = 0.0
    first_positive: bool = False   # SOLICIT: the first RAND is strictly greater than 0

    @classmethod
    def rfc8415(cls, message: str) -> Retransmit6:
        irt, mrt, mrc, mrd = TRANSMISSION6[message]
        return cls(irt, mrt, mrc, mrd, first_positive=message == "SOLICIT")

    def intervals(self, rand: Callable[[], float]) -> Iterator[float]:
        """The time to wait after each transmission (for its reply, or to send again)."""
        rt = self.irt * (1 + (0.1 * rand() if self.first_positive else 0.2 * rand() - 0.1))
        while True:
            yield rt
            rt = 2 * rt + (0.2 * rand() - 0.1) * rt
            if self.mrt and rt > self.mrt:
                rt = self.mrt * (1 + 0.2 * rand() - 0.1)
