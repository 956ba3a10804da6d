"""The DHCPv6 server role's pools and bindings: pure, no I/O.

:class:`Pools6` holds what ``serve6()`` hands out: addresses for IA_NA from a
range or a network on the link, prefixes for IA_PD carved from a shorter
prefix. :class:`Bindings6` keeps them per client (DUID), IAID and kind, as
RFC 8415 section 6 says a server does, with the clock it is given::

    >>> table = Bindings6(Pools6.parse("fd77::100-fd77::1ff", pd="fd77:1::/48", pd_length=56))
    >>> table.assign("000300010200000000001", 1, "NA", commit=False).address
    'fd77::100'

The same client asking again for the same IA gets what it had (the one it
released too, while nobody else took it); an offered (advertised) binding is
held :data:`OFFER_HOLD` seconds, and a full pool takes back the oldest offer
nobody requested before it refuses a new client.
"""

from __future__ import annotations

import heapq
import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from ..wire.dhcp6 import ip6_bytes

__all__ = ["OFFER_HOLD", "Binding6", "Bindings6", "Pools6"]

OFFER_HOLD = 30.0   # seconds an advertised address or prefix stays reserved for its client
LIVE = ("offered", "bound")
_FOREVER = float("inf")
_ntop, _AF_INET6 = socket.inet_ntop, socket.AF_INET6


def _text(n: int) -> str:
    """An address as the wire layer writes one read off a message (``ip6_str``), so that a client's
    hint and the pool's own spelling agree; and 30 times cheaper than ``str(IPv6Address(n))``."""
    return _ntop(_AF_INET6, n.to_bytes(16, "big"))   # ip6_str, without its call and copy


@dataclass
class Binding6:
    """One address (``prefix_len`` 128, an IA_NA's) or delegated prefix (an IA_PD's) as
    the server holds it. ``state``: offered, bound, released, declined or expired;
    ``expires`` in epoch seconds (the valid lifetime's end once bound)."""

    kind: str          # "NA" or "PD"
    duid: str          # the client's DUID, hex
    iaid: int
    address: str
    prefix_len: int
    state: str
    expires: float
    mac: str = ""

    @property
    def text(self) -> str:
        return self.address if self.kind == "NA" else f"{self.address}/{self.prefix_len}"

    def __repr__(self) -> str:
        left = self.expires - time.time()
        when = f"expires in {left:.0f} s" if left > 0 else f"ended {-left:.0f} s ago"
        return f"{self.text:24} IA_{self.kind} {self.iaid:<4} {self.mac or self.duid[:20]:17}  {self.state:8} {when}"


class Pools6:
    """The addresses (a range ``first-last``, or a network) and delegated prefixes
    (``pd``, cut into ``pd_length`` pieces) a server hands out; ``link`` is the
    on-link prefix that CONFIRM is judged against (the addresses' /64)."""

    def __init__(self, first: int, last: int, link: ipaddress.IPv6Network, pd: ipaddress.IPv6Network | None,
                 pd_length: int) -> None:
        self.first, self.last, self.link, self.pd, self.pd_length = first, last, link, pd, pd_length

    @classmethod
    def parse(cls, addresses: str | None, *, pd: str | None = None, pd_length: int = 56,
              default: str = "fd77::100-fd77::1ff") -> Pools6:
        """``"fd77::100-fd77::1ff"`` or ``"fd77::/64"`` (its ::100 to ::ffff); ``pd`` a
        prefix such as ``"fd77:1::/48"``. Raises ValueError with what was wrong."""
        text = (addresses or default).strip()
        try:
            if "-" in text:
                a, b = (ipaddress.IPv6Address(x.strip()) for x in text.split("-", 1))
                first, last = int(a), int(b)
                link = ipaddress.IPv6Network((first >> 64 << 64, 64))
                if last >> 64 != first >> 64:
                    raise ValueError(f"the range {text} spans more than one /64: give one link's addresses")
            else:
                net = ipaddress.IPv6Network(text, strict=False)
                if net.prefixlen > 120:
                    raise ValueError(f"{text} holds too few addresses: give a /120 or larger")
                first, last = int(net.network_address) + 0x100, int(net.broadcast_address)
                link = net if net.prefixlen >= 64 else ipaddress.IPv6Network((int(net.network_address), 64))
            if last < first:
                raise ValueError(f"the range {text} ends before it starts")
            delegated = ipaddress.IPv6Network(pd, strict=False) if pd else None
        except ipaddress.AddressValueError as exc:
            raise ValueError(f"not an IPv6 address: {exc}") from None
        except ipaddress.NetmaskValueError as exc:
            raise ValueError(f"not an IPv6 prefix: {exc}") from None
        if delegated is not None and not delegated.prefixlen <= pd_length <= 128:
            raise ValueError(f"pd_length {pd_length} must lie between {delegated.prefixlen} (pd's) and 128")
        return cls(first, last, link, delegated, pd_length)

    def addresses(self) -> Iterator[str]:
        for n in range(self.first, self.last + 1):
            yield _text(n)

    def prefixes(self) -> Iterator[str]:
        if self.pd is None:
            return
        step = 1 << (128 - self.pd_length)
        base = int(self.pd.network_address)
        for k in range(1 << (self.pd_length - self.pd.prefixlen)):
            yield _text(base + k * step)

    def holds(self, kind: str, address: str, prefix_len: int = 128) -> bool:
        """Whether ``address`` (a prefix's network address for PD) is one this server hands out."""
        try:
            n = int(ipaddress.IPv6Address(address))
        except ValueError:
            return False
        if kind == "NA":
            return self.first <= n <= self.last
        return (self.pd is not None and prefix_len == self.pd_length
                and ipaddress.IPv6Address(address) in self.pd and n % (1 << (128 - self.pd_length)) == 0)

    def on_link(self, address: str) -> bool:
        try:
            return ipaddress.IPv6Address(address) in self.link
        except ValueError:
            return False

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def __str__(self) -> str:
        text = f"{ipaddress.IPv6Address(self.first)}-{ipaddress.IPv6Address(self.last)}"
        return text + (f", prefixes /{self.pd_length} from {self.pd}" if self.pd is not None else "")


class Bindings6:
    """Every address and prefix handed out, by (kind, DUID, IAID) and by address."""

    def __init__(self, pools: Pools6, *, valid: int = 3600, clock: Callable[[], float] = time.time) -> None:
        self.pools = pools
        self.valid = valid
        self.clock = clock
        self._by_address: dict[tuple[str, str], Binding6] = {}   # (kind, address) -> its latest binding
        self._by_ia: dict[tuple[str, int, str], list[Binding6]] = {}   # (DUID, IAID, kind) -> its bindings
        self._ends: list[tuple[float, str, str]] = []   # a heap of (expires, kind, address) of live bindings
        self._cursor = {"NA": 0, "PD": 0}   # no free address (or prefix) in the pool below this index
        # offers by kind, oldest first (an offer's end is its start plus OFFER_HOLD); entries whose
        # binding moved on are dropped when met
        self._offers: dict[str, dict[str, Binding6]] = {"NA": {}, "PD": {}}
        self.taken_back: list[Binding6] = []   # offers given back to a full pool, for the log to tell
        # Called with each binding whose state or end changed (bound, extended, released, declined),
        # before the reply goes: the server writes it to its lease file. Offers are never passed.
        self.on_change: Callable[[Binding6], None] | None = None

    @property
    def size(self) -> int:
        """How many addresses and prefixes the table holds, in any state."""
        return len(self._by_address)

    def _changed(self, b: Binding6) -> None:
        if self.on_change is not None and b.state != "offered":
            self.on_change(b)

    def __iter__(self) -> Iterator[Binding6]:
        self._expire(self.clock())
        return iter(list(self._by_address.values()))

    def _expire(self, now: float) -> None:
        """Live bindings past their end become expired: the earliest ends first, off a heap (a
        binding extended since its entry went in has a later one, and its old entry is skipped)."""
        while self._ends and self._ends[0][0] <= now:
            ends, kind, address = heapq.heappop(self._ends)
            b = self._by_address.get((kind, address))
            if b is not None and b.state in LIVE and b.expires == ends:
                b.state = "expired"
                self._freed(kind, address)

    def _track(self, b: Binding6) -> None:
        """A binding made or extended: indexed by its IA, and its end on the heap."""
        key = (b.duid, b.iaid, b.kind)
        mine = self._by_ia.get(key)
        if mine is None:
            self._by_ia[key] = [b]
        elif not any(x is b for x in mine):   # by identity: an equal binding of the past is another one
            mine.append(b)
        if b.state in LIVE and b.expires != _FOREVER:
            heapq.heappush(self._ends, (b.expires, b.kind, b.address))

    def _index(self, kind: str, address: str) -> int:
        try:
            n = int.from_bytes(ip6_bytes(address), "big")
        except OSError:   # inet_pton's word for text that is no IPv6 address
            raise ValueError(f"not an IPv6 address: {address!r}") from None
        if kind == "NA":
            return n - self.pools.first
        assert self.pools.pd is not None
        return (n - int(self.pools.pd.network_address)) >> (128 - self.pools.pd_length)

    def _freed(self, kind: str, address: str) -> None:
        """An address (or prefix) left its binding: the free search starts at it at the latest."""
        try:
            self._cursor[kind] = min(self._cursor[kind], self._index(kind, address))
        except (ValueError, AssertionError):
            pass

    def held(self, duid: str, iaid: int, kind: str, *, states: tuple[str, ...] = LIVE) -> list[Binding6]:
        self._expire(self.clock())
        return self._held(self._by_ia.get((duid, iaid, kind), ()), kind, states)

    def _held(self, known: Iterable[Binding6], kind: str, states: tuple[str, ...]) -> list[Binding6]:
        by_address = self._by_address
        return [b for b in known if by_address.get((kind, b.address)) is b and b.state in states]

    def _free(self, kind: str, address: str, duid: str) -> bool:
        b = self._by_address.get((kind, address))
        return b is None or b.state in ("released", "expired") or (b.state in LIVE and b.duid == duid)

    def assign(self, duid: str, iaid: int, kind: str, *, hint: str | None = None, commit: bool,
               mac: str = "") -> Binding6 | None:
        """The address (or prefix) for this IA: what it holds, else what it had,
        else the hint if free and ours, else the first free one; None when the pool
        is full (after the oldest unrequested offer went back). ``commit``: bound
        (REQUEST, rapid commit) rather than offered (ADVERTISE)."""
        now = self.clock()
        self._expire(now)
        if kind == "PD" and self.pools.pd is None:
            return None
        known = self._by_ia.get((duid, iaid, kind))   # a new client's IA (most, under load): nothing to look at
        mine = (self._held(known, kind, LIVE) or self._held(known, kind, ("released", "expired"))) if known else []
        chosen = next((b.address for b in mine if self._free(kind, b.address, duid)), None)
        if chosen is None and hint is not None and self.pools.holds(kind, hint, self._length(kind)) \
                and self._free(kind, hint, duid):
            chosen = hint
        if chosen is None:
            chosen = self._first_free(kind, duid)
        current = self._by_address.get((kind, chosen)) if chosen is not None else None
        if not commit and current is not None and current.state == "bound" and current.duid == duid \
                and current.iaid == iaid:
            return current   # advertised again to the client bound to it: still its binding
        if chosen is None:
            oldest = self._oldest_offer(kind)
            if oldest is None:
                return None
            oldest.state = "released"
            self.taken_back.append(oldest)
            self._changed(oldest)
            chosen = oldest.address
        binding = Binding6(kind, duid, iaid, chosen, self._length(kind), "bound" if commit else "offered",
                           now + (self.valid if commit else OFFER_HOLD), mac)
        for b in mine:   # one address per IA: what it held elsewhere goes back
            if b.address != chosen and b.state in LIVE:
                b.state = "released"
                self._freed(kind, b.address)
                self._changed(b)
        self._by_address[(kind, chosen)] = binding
        self._track(binding)
        self._changed(binding)
        if not commit:
            offers = self._offers[kind]
            offers.pop(chosen, None)
            offers[chosen] = binding
        return binding

    def _oldest_offer(self, kind: str) -> Binding6 | None:
        """The oldest offer still standing (nobody requested it): what a full pool takes back first."""
        offers = self._offers[kind]
        while offers:
            address, b = next(iter(offers.items()))
            if self._by_address.get((kind, address)) is b and b.state == "offered":
                return b
            del offers[address]
        return None

    def _length(self, kind: str) -> int:
        return 128 if kind == "NA" else self.pools.pd_length

    def _first_free(self, kind: str, duid: str) -> str | None:
        """The first address (or prefix) in pool order never used, expired, or released by this
        client; else the first released by another. The search starts at the cursor: below it
        everything is bound, offered or declined."""
        cursor = self._cursor[kind]
        first_open: int | None = None
        others: str | None = None
        for k, address in enumerate(self._pool(kind, cursor), start=cursor):
            b = self._by_address.get((kind, address))
            if b is None or b.state == "expired" or (b.state == "released" and b.duid == duid):
                # the caller binds it: the search starts past it next time
                self._cursor[kind] = k + 1 if first_open is None else first_open
                return address
            if b.state == "released":
                first_open = k if first_open is None else first_open
                others = others or address
        self._cursor[kind] = first_open if first_open is not None else cursor
        return others   # released by others: taken only when nothing was never used

    def _pool(self, kind: str, start: int) -> Iterator[str]:
        if kind == "NA":
            for n in range(self.pools.first + start, self.pools.last + 1):
                yield _text(n)
            return
        pd = self.pools.pd
        if pd is None:
            return
        step, base = 1 << (128 - self.pools.pd_length), int(pd.network_address)
        for k in range(start, 1 << (self.pools.pd_length - pd.prefixlen)):
            yield _text(base + k * step)

    def extend(self, duid: str, iaid: int, kind: str, address: str, *, rebind: bool = False,
               mac: str = "") -> tuple[Binding6 | None, str]:
        """RENEW or REBIND of one address or prefix: its binding extended, or
        (None, why). On REBIND an address of ours nobody holds is bound again to
        this client (a server that restarted, RFC 8415 18.3.5: MAY)."""
        now = self.clock()
        self._expire(now)
        b = self._by_address.get((kind, address))
        if b is not None and b.duid == duid and b.iaid == iaid and b.state in ("bound", "expired", "offered"):
            b.state, b.expires, b.mac = "bound", now + self.valid, mac or b.mac
            self._track(b)
            self._changed(b)
            return b, "extended"
        if b is not None and b.state in LIVE:
            return None, "held by another client"
        if rebind and self.pools.holds(kind, address, self._length(kind)) and (b is None or b.state != "declined"):
            fresh = Binding6(kind, duid, iaid, address, self._length(kind), "bound", now + self.valid, mac)
            self._by_address[(kind, address)] = fresh
            self._track(fresh)
            self._changed(fresh)
            return fresh, "bound again (not in the table)"
        return None, "no binding"

    def release(self, duid: str, iaid: int, kind: str, address: str) -> bool:
        b = self._by_address.get((kind, address))
        if b is None or b.duid != duid or b.iaid != iaid or b.state not in LIVE:
            return False
        b.state = "released"
        self._freed(kind, address)
        self._changed(b)
        return True

    def decline(self, duid: str, iaid: int, address: str) -> bool:
        """RFC 8415 18.3.8: the address is in use on the link: never handed out again (this run)."""
        b = self._by_address.get(("NA", address))
        if b is None or b.duid != duid or b.iaid != iaid:
            return False
        b.state, b.expires = "declined", float("inf")
        self._changed(b)
        return True

    def counts(self) -> dict[str, int]:
        self._expire(self.clock())
        out: dict[str, int] = {}
        for b in self._by_address.values():
            out[b.state] = out.get(b.state, 0) + 1
        return out

    # -- the lease file ------------------------------------------------------

    def restore(self, rows: Any) -> tuple[int, list[str]]:
        """Bindings from the lease file (offers are not kept), as the v4 table's ``restore``: how many
        were taken, and why the others were not (rows that do not read, or outside these pools)."""
        n = 0
        for row in rows if isinstance(rows, list) else []:
            try:
                b = Binding6(str(row["kind"]), str(row["duid"]), int(row["iaid"]), str(row["address"]),
                             int(row["prefix_len"]), str(row["state"]),
                             float("inf") if row.get("expires") is None else float(row["expires"]),
                             str(row.get("mac") or ""))
            except (KeyError, TypeError, ValueError):
                continue
            if b.kind not in ("NA", "PD") or b.state == "offered" or not self.pools.holds(b.kind, b.address,
                                                                                         b.prefix_len):
                continue
            b.address = _text(int(ipaddress.IPv6Address(b.address)))   # as the pool spells it now
            self._by_address[(b.kind, b.address)] = b
            self._track(b)
            n += 1
        left = len(rows) - n if isinstance(rows, list) else 0
        return n, [f"{left} unreadable or outside this server's pools, left out"] if left else []
