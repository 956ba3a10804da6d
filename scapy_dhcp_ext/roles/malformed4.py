"""The server's account of malformed requests: counts per client and kind, and
the first frame of each kind kept whole in ``srv.log``; and the addresses a
reply must never go to.

A device that sends garbage at line rate must not fill the log (or the
server's time): a storm of 3,000 frames from one board is a few lines, each
with the careful reader's words for the first frame of its kind, and a count.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Callable

from ..wire import ZERO_IP, mac_str
from ..wire.replies4 import unsafe_destination

OTHERS = "other clients"   # where a storm of made-up MACs is counted once the table is full
# What a busy link's odd requests buy: see OddBudget.
ODD_RATE, ODD_BURST, ODD_ALL = 2.0, 10, 200
UNREAD = (f"odd request past {ODD_RATE:.0f} a second from this client (or {ODD_ALL} from all) on a busy link: "
          "counted, not read")


class MalformedLog:
    """Counts by (client MAC, kind); see the module's docstring. At most ``limit``
    pairs: past that, a new client's requests are counted under :data:`OTHERS`
    (a device that makes up a MAC per frame would otherwise grow the table
    without end), and only the first of each kind from them is logged whole.
    A client is its chaddr's bytes here (a storm's frame is counted without
    formatting a MAC); :meth:`counts` gives them as text."""

    def __init__(self, limit: int = 65536) -> None:
        self._counts: dict[tuple[bytes, str], int] = {}
        self.limit = limit

    def first(self, chaddr: bytes, why: str) -> bool:
        """Counts one request from ``chaddr`` (its first 6 bytes: fewer, a frame cut
        before them); True when it is the first of its kind from that client (the
        caller logs it whole), False when it is only counted."""
        mac = chaddr[:6]
        key = (mac if len(mac) == 6 else b"", kind_of(why))   # all frames cut before a whole MAC are one client
        counts = self._counts
        seen = counts.get(key)
        if seen is None:
            if len(counts) >= self.limit:
                key = (_OTHERS, key[1])
            seen = counts.get(key, 0)
        counts[key] = seen + 1
        return not seen

    def counts(self) -> dict[tuple[str, str], int]:
        """The counts by (client MAC as text, kind): "?" for a frame cut before its MAC."""
        return {(_client(chaddr), kind): n for (chaddr, kind), n in self._counts.items()}

    def total(self) -> int:
        return sum(self._counts.values())

    def summary(self) -> str:
        clients = len({chaddr for chaddr, _kind in self._counts})
        return f"{self.total()} malformed requests ignored, {len(self._counts)} kinds from {clients} clients" \
            if self._counts else "no malformed request ignored"


_OTHERS = b"others"   # never 6 bytes: no chaddr is counted under it by mistake


def _client(chaddr: bytes) -> str:
    return OTHERS if chaddr == _OTHERS else mac_str(chaddr) if len(chaddr) == 6 else "?"


class OddBudget:
    """Load shedding for odd requests. A request that only the careful reader can read (a lie in its
    lengths, a doubled or odd-sized option 53, overload) or that is addressed where no reply may go
    costs what a request costs, or more, and a storm of them is what a broken device sends. While
    the link is ``busy()`` (the reader's interrupt moderation is on: over 1,000 frames a second),
    each client (chaddr) may have ODD_BURST of them read at once and ODD_RATE a second after, and all
    clients together ODD_ALL a second; past that they are counted unread (:data:`UNREAD`), at the
    cost of a few compares. A quiet link reads every one: a board on a bench, with a broken
    encoder, is still served and told what was wrong."""

    def __init__(self, busy: Callable[[], bool], limit: int = 65536) -> None:
        self.busy = busy
        self.limit = limit
        self._clients: dict[bytes, list[float]] = {}   # chaddr -> [tokens, when]
        self._all = [float(ODD_ALL), 0.0]

    def spent(self, chaddr: bytes, now: float) -> bool:
        """Whether this odd request from ``chaddr`` goes unread (each call that says False spends one)."""
        if not self.busy():
            return False
        mine = self._clients.get(chaddr)
        if mine is None:
            if len(self._clients) >= self.limit:
                self._clients.clear()
            mine = self._clients[chaddr] = [float(ODD_BURST), now]
        mine[0], mine[1] = min(ODD_BURST, mine[0] + (now - mine[1]) * ODD_RATE), now
        both = self._all
        both[0], both[1] = min(ODD_ALL, both[0] + (now - both[1]) * ODD_ALL), now
        if mine[0] < 1 or both[0] < 1:
            return True
        mine[0] -= 1
        both[0] -= 1
        return False


@functools.lru_cache(maxsize=4096)
def kind_of(why: str) -> str:
    """A reason without its numbers (an option's code kept) and beyond its first
    clause: "frame is 93 bytes (...)" and "frame is 120 bytes (...)" are one kind,
    "option 53 has length 0" and "option 12 has length 0" are two."""
    return re.sub(r"(?<!option )\d+", "N", why.split(";")[0].split(" (")[0])[:80]


class Destinations:
    """Why no reply may go where a request's giaddr or ciaddr says (see
    :func:`~scapy_dhcp_ext.wire.replies4.unsafe_destination`), each address
    judged once: a relay or a renewing client asks it of every request."""

    def __init__(self, server_ip: str, network: ipaddress.IPv4Network) -> None:
        self.server_ip, self.network = server_ip, network
        self._seen: dict[str, str | None] = {}

    def why(self, giaddr: str, ciaddr: str) -> str | None:
        for name, address in (("giaddr", giaddr), ("ciaddr", ciaddr)):
            if address != ZERO_IP:
                if address not in self._seen:
                    if len(self._seen) > 4096:
                        self._seen.clear()
                    self._seen[address] = unsafe_destination(address, server_ip=self.server_ip,
                                                             network=self.network)
                if self._seen[address]:
                    return f"{name} {address} is {self._seen[address]}; no reply goes there"
        return None
