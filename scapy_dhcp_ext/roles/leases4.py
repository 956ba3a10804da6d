"""The server role's pool, lease table and RFC 2131's rules: pure, no I/O.

:class:`LeaseTable` decides what a server answers (RFC 2131 4.3): the address
to OFFER, and whether a REQUEST gets an ACK, a NAK or silence, for each of the
client's states (4.3.2: SELECTING, INIT-REBOOT, RENEWING, REBINDING). It keeps
leases by address and by client (option 61, else the MAC), and lets them
expire by the clock it is given::

    >>> table = LeaseTable(Pool.parse("10.0.0.100-10.0.0.109"), lease_time=60)
    >>> d = table.discover(Ask(mac="02:00:00:00:00:01"))
    >>> d.kind, d.address
    ('OFFER', '10.0.0.100')
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ..wire import ip_text
from .pool4 import LAB_NETWORK, Pool, _n, _s

if TYPE_CHECKING:
    from ..wire.frames4 import Frame

__all__ = ["LAB_NETWORK", "OFFER_HOLD", "Ask", "Decision", "LeaseTable", "Pool", "ServerLease", "ask_of"]

OFFER_HOLD = 30.0   # seconds an offered address stays reserved for its client


@dataclass
class ServerLease:
    """One address as the server holds it. ``state``: offered, bound,
    released, declined, retired (kept out of use) or expired; ``expires`` in
    epoch seconds."""

    mac: str
    address: str
    expires: float
    state: str
    client: str = ""        # the key it is held by: option 61 as hex, else the MAC
    hostname: str = ""

    def __repr__(self) -> str:
        left = self.expires - time.time()
        when = f"expires in {left:.0f} s" if left > 0 else f"ended {-left:.0f} s ago"
        return f"{self.address:15} {self.mac}  {self.state:8} {when}"


@dataclass
class Ask:
    """What a request asks, as the rules need it (read from the frame by the server)."""

    mac: str
    client_id: str = ""          # option 61 as hex, "" without one
    ciaddr: str = "0.0.0.0"
    requested: str | None = None  # option 50
    server_id: str | None = None  # option 54
    hostname: str = ""
    unicast: bool = False         # sent to the server's own address (RENEWING rather than REBINDING)

    @property
    def key(self) -> str:
        return self.client_id or self.mac


def ask_of(req: Frame, mac: str, server_ip: str) -> Ask:
    """What a request (a read frame, from ``mac``) asks of the server at ``server_ip``."""
    o = req.options
    client_id = o.get(61)
    requested, server_id = o.get(50), o.get(54)
    hostname = o.get(12)
    # Positional, in Ask's order: mac, client_id, ciaddr, requested, server_id, hostname, unicast.
    return Ask(mac, client_id.hex() if client_id else "", req.ciaddr,
               ip_text(requested[:4]) if requested is not None and len(requested) >= 4 else None,
               ip_text(server_id[:4]) if server_id is not None and len(server_id) >= 4 else None,
               hostname.decode("utf-8", "replace") if hostname else "", req.ip_dst == server_ip)


@dataclass
class Decision:
    """What to answer: ``kind`` is OFFER, ACK, NAK or "" (silence); ``note``
    says why in words, for the log."""

    kind: str
    address: str = "0.0.0.0"
    note: str = ""
    state: str = ""   # the client's state as the rules read it (SELECTING, INIT-REBOOT, ...)
    lease: ServerLease | None = None


@dataclass
class LeaseTable:
    """Leases by address and by client, over one pool, on an injectable clock."""

    pool: Pool
    lease_time: int = 3600
    clock: Callable[[], float] = time.time
    decline_hold: float | None = None   # seconds a declined address stays unusable (default: a lease time)
    by_address: dict[int, ServerLease] = field(default_factory=dict)
    by_client: dict[str, int] = field(default_factory=dict)
    # Called with each lease whose binding changed (bound, released, declined, retired), before the
    # reply goes: the server writes it to its lease file. Offers are not bindings: never passed.
    on_change: Callable[[ServerLease], None] | None = None
    _cursor: int = 0

    @property
    def size(self) -> int:
        """How many addresses the table holds, in any state."""
        return len(self.by_address)

    def __iter__(self) -> Iterator[ServerLease]:
        self._expire()
        return iter(sorted(self.by_address.values(), key=lambda x: _n(x.address)))

    def _expire(self) -> None:
        now = self.clock()
        for lease in self.by_address.values():
            if lease.state in ("offered", "bound", "declined", "retired") and lease.expires <= now:
                lease.state = "expired"

    def _held(self, n: int, key: str | None = None) -> bool:
        """Whether address ``n`` is taken by a client other than ``key``."""
        lease = self.by_address.get(n)
        if lease is None or lease.client == key:
            return lease is not None and lease.state == "declined" and lease.expires > self.clock()
        return lease.state in ("offered", "bound", "declined", "retired") and lease.expires > self.clock()

    def _free(self, address: str | None, key: str) -> bool:
        if address is None:
            return False
        try:
            n = _n(address)
        except OSError:
            return False
        pool = self.pool
        return pool.first <= n <= pool.last and n != pool._server and not self._held(n, key)

    def _changed(self, lease: ServerLease) -> None:
        if self.on_change is not None and lease.state != "offered":
            self.on_change(lease)

    def restore(self, records: list[dict[str, Any]]) -> tuple[int, list[str]]:
        """Takes back what a lease file holds (its last record per address:
        state, address, mac, expires, client, hostname): bindings with their
        ends, declined and retired addresses with their holds. Returns how many
        were taken and why the others were not (outside this pool)."""
        now, taken, left = self.clock(), 0, []
        for rec in records:
            address = rec["address"]
            if address not in self.pool:
                left.append(address)
                continue
            state = rec["state"] if rec["expires"] > now or rec["state"] == "released" else "expired"
            n = _n(address)
            lease = ServerLease(rec["mac"], address, rec["expires"], state, rec["client"], rec["hostname"])
            self.by_address[n] = lease
            if lease.client:
                self.by_client[lease.client] = n
            taken += 1
        notes = [f"{len(left)} leases outside pool {self.pool} left out ({', '.join(left[:3])}"
                 f"{', ...' if len(left) > 3 else ''})"] if left else []
        return taken, notes

    def _reclaim_offer(self, key: str) -> tuple[int, str] | None:
        """Pool pressure: the oldest offer that nobody requested (a pure offer,
        not a client's own binding offered again) goes back to the pool."""
        now, oldest = self.clock(), None
        for n, lease in self.by_address.items():
            if lease.state == "offered" and lease.client != key and lease.expires <= now + OFFER_HOLD and (
                    oldest is None or lease.expires < oldest[1].expires):
                oldest = (n, lease)
        if oldest is None:
            return None
        n, lease = oldest
        age = now - (lease.expires - OFFER_HOLD)
        lease.state, lease.expires = "released", now
        return n, (f"pool full: took back {lease.address}, offered to {lease.mac} {age:.1f} s ago "
                   "and never requested")

    def _allocate(self) -> int | None:
        span = self.pool.last - self.pool.first + 1
        for step in range(span):
            n = self.pool.first + (self._cursor + step) % span
            if n != self.pool._server and not self._held(n):
                self._cursor = (n - self.pool.first + 1) % span
                return n
        return None

    def _put(self, n: int, ask: Ask, state: str, expires: float) -> ServerLease:
        old = self.by_client.get(ask.key)
        if old is not None and old != n:
            previous = self.by_address.get(old)
            if previous is not None and previous.client == ask.key and previous.state in ("offered", "bound"):
                was_bound, previous.state = previous.state == "bound", "released"
                if was_bound:
                    self._changed(previous)
        lease = self.by_address.get(n)
        if lease is None or lease.client != ask.key:
            lease = ServerLease(ask.mac, _s(n), expires, state, ask.key, ask.hostname)
            self.by_address[n] = lease
        else:
            lease.mac, lease.state, lease.expires = ask.mac, state, expires
            lease.hostname = ask.hostname or lease.hostname
        self.by_client[ask.key] = n
        self._changed(lease)
        return lease

    def mine(self, ask: Ask) -> ServerLease | None:
        n = self.by_client.get(ask.key)
        lease = self.by_address.get(n) if n is not None else None
        return lease if lease is not None and lease.client == ask.key else None

    def counts(self) -> dict[str, int]:
        self._expire()
        out: dict[str, int] = {}
        for lease in self.by_address.values():
            out[lease.state] = out.get(lease.state, 0) + 1
        return out

    # -- the rules (RFC 2131 4.3) -------------------------------------------

    def discover(self, ask: Ask) -> Decision:
        """4.3.1: the client's current or last binding's address if free, else the
        one it asks for if free, else the one offered to it before, else a free
        one; none left is silence, with a note."""
        now = self.clock()
        mine = self.mine(ask)
        n: int | None = None
        kept = mine is not None and mine.state != "declined" and self._free(mine.address, ask.key)
        if kept and mine is not None and mine.state != "offered":   # a binding, current or past
            n = _n(mine.address)
        elif self._free(ask.requested, ask.key):   # before an address only offered (not a binding)
            n = _n(ask.requested or "")
        elif kept and mine is not None:
            n = _n(mine.address)
        else:
            n = self._allocate()
        note = ""
        if n is None:
            reclaimed = self._reclaim_offer(ask.key)
            if reclaimed is None:
                return Decision("", note=f"pool {self.pool} is exhausted: all {self.pool.size} addresses are "
                                f"bound, declined or offered to clients still due to request; no OFFER for {ask.mac}")
            n, note = reclaimed
        expires = max(now + OFFER_HOLD, mine.expires if mine is not None and mine.state == "bound" else 0)
        lease = self._put(n, ask, "offered", expires)
        return Decision("OFFER", lease.address, note, "", lease)

    def request(self, ask: Ask) -> Decision:
        """4.3.2, by the client's state as the fields show it."""
        if ask.server_id is not None:
            return self._selecting(ask)
        if ask.requested is not None and ask.ciaddr == "0.0.0.0":
            return self._init_reboot(ask)
        if ask.ciaddr != "0.0.0.0":
            return self._extend(ask, "RENEWING" if ask.unicast else "REBINDING")
        return Decision("", note="REQUEST with neither option 50 nor ciaddr: ignored", state="?")

    def _selecting(self, ask: Ask) -> Decision:
        mine = self.mine(ask)
        if ask.server_id != self.pool.server_ip:
            if mine is not None and mine.state == "offered":
                mine.state = "released"
                self._changed(mine)
            return Decision("", note=f"the client chose server {ask.server_id}", state="SELECTING")
        address = ask.requested or ask.ciaddr
        if mine is not None and mine.address == address and mine.state in ("offered", "bound", "expired") \
                and self._free(address, ask.key):
            return self._bind(ask, _n(address), "SELECTING")
        return Decision("NAK", note=f"requested {address}, not the address offered to it", state="SELECTING")

    def _init_reboot(self, ask: Ask) -> Decision:
        address = ask.requested or ""
        if not self.pool.on_network(address):
            return Decision("NAK", note=f"{address} is not on network {self.pool.network} (wrong network)",
                            state="INIT-REBOOT")
        mine = self.mine(ask)
        if mine is None:
            return Decision("", note="no record of this client: silent (RFC 2131 4.3.2, INIT-REBOOT)",
                            state="INIT-REBOOT")
        if mine.address != address or not self._free(address, ask.key):
            return Decision("NAK", note=f"{address} is not this client's address", state="INIT-REBOOT")
        return self._bind(ask, _n(address), "INIT-REBOOT")

    def _extend(self, ask: Ask, state: str) -> Decision:
        address = ask.ciaddr
        if not self.pool.on_network(address):
            return Decision("NAK", note=f"{address} is not on network {self.pool.network}", state=state)
        mine = self.mine(ask)
        if mine is not None and mine.address == address and self._free(address, ask.key):
            return self._bind(ask, _n(address), state)
        if self._free(address, ask.key):   # no record (a server restarted): the address is free, so it is theirs
            return self._bind(ask, _n(address), state)
        return Decision("NAK", note=f"{address} is not leased to this client", state=state)

    def _bind(self, ask: Ask, n: int, state: str) -> Decision:
        lease = self._put(n, ask, "bound", self.clock() + self.lease_time)
        return Decision("ACK", lease.address, "", state, lease)

    def retire(self, mac: str, hold: float = 600.0) -> None:
        """Takes the addresses ``mac`` held out of use for ``hold`` seconds and
        forgets that they were its: its next DISCOVER gets a fresh address (a
        sweep's cases, so that an address left configured from one case cannot
        answer for the next)."""
        for n, lease in self.by_address.items():
            if lease.mac == mac:
                lease.state, lease.expires, lease.client = "retired", self.clock() + hold, ""
                for key in [k for k, v in self.by_client.items() if v == n]:
                    del self.by_client[key]
                self._changed(lease)

    def release(self, ask: Ask) -> str:
        mine = self.mine(ask)
        if mine is not None and mine.address == ask.ciaddr and mine.state in ("bound", "offered"):
            mine.state, mine.expires = "released", self.clock()
            self._changed(mine)
            return f"{ask.ciaddr} released by {ask.mac}"
        return f"RELEASE of {ask.ciaddr} by {ask.mac}, which does not hold it: ignored"

    def decline(self, ask: Ask) -> str:
        address = ask.requested or ""
        mine = self.mine(ask)
        if mine is not None and mine.address == address:
            mine.state = "declined"
            mine.expires = self.clock() + (self.decline_hold if self.decline_hold is not None else self.lease_time)
            self._changed(mine)
            return f"{address} declined by {ask.mac}: not offered again until the hold ends"
        return f"DECLINE of {address or '(no option 50)'} by {ask.mac}, which was not offered it: ignored"
