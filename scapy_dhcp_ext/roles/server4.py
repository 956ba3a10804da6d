"""The server role: ``serve()``, a DHCP server that tests a device's DHCP client.

Usage (at the ``scapy-dhcp --lab-client udhcpc`` prompt)::

    >>> srv = serve()                       # the lab's 10.77.0.0/24 on the session's interface
    >>> srv.wait_lease()                    # the first client bound (ACK sent)
    10.77.0.2       02:5c:0a:1b:2c:00  bound    expires in 3600 s
    >>> srv.nak()                           # the next REQUEST gets a NAK
    >>> srv.forcerenew()                    # RFC 3203, to every bound client
    >>> srv = serve(on_reply=lambda req, rep: None)   # answer nothing: a silent server
    >>> srv.stop()

It runs in the background on the session's endpoint (one socket, one reader
thread, see :mod:`~scapy_dhcp_ext.link.reader`), so the prompt stays usable and the client role
(``dora()``) works at the same time, against this server too. The rules are
RFC 2131's (:mod:`.leases4`); replies are addressed as 4.1 says
(:mod:`~scapy_dhcp_ext.wire.replies4`). Every reply passes through ``on_reply(request, reply)``
(Scapy packets): return a packet or bytes to send instead, None to drop it,
a list to send several, a number of seconds to send it late, or
``(seconds, packet)``. ``intercept=True`` holds each reply in ``srv.held``
(``intercept="ACK"`` only the ACKs) until ``pkt_send()`` (after
``pkt_edit()``, if you like) lets it go; ``srv.wait_held()`` waits for one.

It is never a rogue server by accident: it starts only on an interface named
for this run, sends one DISCOVER of its own first and refuses to start if any
server answers (``force=True`` overrides), and ``macs=[...]`` limits it to the
devices under test (every other client is ignored and logged).
"""

from __future__ import annotations

import functools
import html
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ..errors import DhcpTimeout, UsageError, old_keyword
from ..state.capture import PcapngRing
from ..state.history import History, HistoryEntry
from ..wire import (
    ACK,
    DECLINE,
    DISCOVER,
    INFORM,
    NAK,
    OFFER,
    RELEASE,
    REQUEST,
    ZERO_IP,
    finish_udp_checksum,
    mac_bytes,
    mac_str,
    new_xid,
)
from ..wire.frames4 import Frame, parse_frame
from ..wire.replies4 import ReplyOptions, build_forcerenew, build_reply, quick_reject, read_request
from .lease_keeper import LeaseKeeper
from .leases4 import LeaseTable, Pool, ServerLease, ask_of
from .malformed4 import UNREAD, Destinations, MalformedLog, OddBudget
from .server_hooks4 import Held, HeldReplies, normalise_replies, shift

if TYPE_CHECKING:
    from ..state.endpoint import Endpoint

OP = "SERVE"
NAMES = {OFFER: "OFFER", ACK: "ACK", NAK: "NAK"}
KINDS = {name: code for code, name in NAMES.items()}


class DhcpServer(HeldReplies):
    """A running server on an endpoint; see the module's docstring."""

    def __init__(self, endpoint: Endpoint, pool: Pool, *, lease_time: int = 3600, t1: int | None = None,
                 t2: int | None = None, options: Any = None,
                 on_reply: Callable[[Any, Any], Any] | None = None, intercept: bool | str = False,
                 macs: Iterable[str] | None = None, clock: Callable[[], float] = time.time,
                 capture: str | None = None) -> None:
        self.endpoint = endpoint
        self.pool = pool
        self.lease_time = lease_time
        self.table = LeaseTable(pool, lease_time, clock)
        self.opts = ReplyOptions.build(server_ip=pool.server_ip, network=pool.network, lease_time=lease_time,
                                       t1=t1, t2=t2, options=options)
        self.on_reply = on_reply
        self.intercept = intercept
        self.macs: set[str] | None = {mac_str(mac_bytes(m)) for m in macs} if macs is not None else None
        # The catalog's hook (sweep_replies): bytes in, bytes (or several, or None) out; no Scapy on the path.
        self.mutate: Callable[[Frame, bytes], Any] | None = None
        self.observe: Callable[[Frame], None] | None = None   # sees every sane request first (the same thread)
        self.tap: Callable[[bytes], Any] | None = None        # sees every frame read
        # Every frame in memory (the last 10,000) and, if asked, in a pcapng ring; never in the state
        # journal, which keeps what the session needs to come back (the leases: self.keeper).
        self.history = History(None, 10000)
        self.capture = PcapngRing(capture) if capture else None
        if self.capture is not None:
            ring = self.capture
            self.history.tap = lambda e: ring.write(e.time, e.raw, f"{e.direction} {e.note}".strip())
        self.keeper = LeaseKeeper.on(endpoint, self.table, self.history)   # None without a state file
        self.held: list[Held] = []
        self.malformed = MalformedLog()
        self.destinations = Destinations(pool.server_ip, pool.network)
        self.odd = OddBudget(lambda: (r := self.endpoint.transport.reader) is not None and r.busy)
        self.requests = 0
        self.running = False
        self._nak_next: set[str] = set()
        self._bound = threading.Condition()
        self._last_bound: ServerLease | None = None
        self._waiting = 0   # wait_lease() callers: only they need a notify (the lock costs every ACK)

    # -- life -------------------------------------------------------------

    def start(self) -> DhcpServer:
        if self.keeper is not None:
            self.keeper.restore()
        transport = self.endpoint.transport
        transport.answer_arp(self.pool.server_ip, self.endpoint.mac_bytes, pin=True)  # renewals come unicast
        reader = transport.start_reader(self._on_request, lambda: self.endpoint.mac_bytes, on_error=self._note_error,
                                        on_unsent=self._unsent)
        reader.tap, self.running = self.tap, True
        self.endpoint.sections["server"] = self.to_dict
        return self

    def stop(self) -> DhcpServer:
        """Stops answering; the leases and the log stay readable."""
        if self.running:
            self.running = False
            self.endpoint.transport.stop_reader()
            self.endpoint.transport.forget_arp(self.pool.server_ip)
            self.endpoint.save()
            if self.keeper is not None:
                self.keeper.close()
            if self.capture is not None:
                self.capture.close()
        return self

    # -- the handle -------------------------------------------------------

    @property
    def leases(self) -> list[ServerLease]:
        """Every address handed out so far, with its client, state and end."""
        return list(self.table)

    @property
    def log(self) -> list[HistoryEntry]:
        """Every request and reply (the last 10,000), each with a note that says why."""
        return list(self.history)

    def wait_lease(self, device_mac: str | None = None, timeout: float = 30.0, *,
                   mac: str | None = None) -> ServerLease:
        """The lease once a client (``device_mac``, or any) is bound: its ACK sent."""
        device_mac = old_keyword("srv.wait_lease", "mac", "device_mac", mac, device_mac)
        want = mac_str(mac_bytes(device_mac)) if device_mac else None
        deadline = time.monotonic() + timeout

        def found() -> ServerLease | None:
            bound = [x for x in self.table if x.state == "bound" and (want is None or x.mac == want)]
            if want is None and self._last_bound in bound:
                return self._last_bound
            return bound[-1] if bound else None

        with self._bound:
            self._waiting += 1
            try:
                while (lease := found()) is None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        who = want or "any client"
                        raise DhcpTimeout(f"no lease bound for {who} within {timeout} s on {self.endpoint.iface} "
                                          f"({self.requests} requests seen; srv.log says why)")
                    self._bound.wait(min(left, 0.2))
            finally:
                self._waiting -= 1
        return lease

    def nak(self, device_mac: str | None = None, *, mac: str | None = None) -> None:
        """The next REQUEST from ``device_mac`` (or from anyone) gets a NAK, and so does
        every one after it until that client starts over with a DISCOVER: dhcpcd,
        RENEWING, hears only unicast and misses the broadcast NAK that RFC 2131
        4.1 asks for, so it is its REBINDING that gets sent back."""
        device_mac = old_keyword("srv.nak", "mac", "device_mac", mac, device_mac)
        self._nak_next.add(mac_str(mac_bytes(device_mac)) if device_mac else "*")

    def forcerenew(self, device_mac: str | None = None, *, mac: str | None = None) -> int:
        """RFC 3203: a FORCERENEW (unauthenticated, its last xid) to each bound client, or ``device_mac``: how many."""
        device_mac = old_keyword("srv.forcerenew", "mac", "device_mac", mac, device_mac)
        want = mac_str(mac_bytes(device_mac)) if device_mac else None
        bound = [x for x in self.leases if x.state == "bound" and (want is None or x.mac == want)]
        if want is not None and not bound:
            raise UsageError(f"{want} holds no bound lease: srv.leases shows who does")
        for lease in bound:
            self.send(self.forcerenew_frame(mac_bytes(lease.mac), lease.address), f"FORCERENEW to {lease.address}")
        return len(bound)

    # -- serving (on the reader's thread) ----------------------------------

    def _on_request(self, raw: bytes, pending: bool = False) -> None:
        try:
            self.handle(raw, pending)
        except Exception as exc:  # a request, however odd, must not stop the server
            self._note_error(f"{type(exc).__name__}: {exc} (request {raw[:64].hex()}...)")

    def _note_error(self, message: str) -> None:
        self.history.record("in", b"", OP, self.endpoint.iface, None, f"internal error: {message}")

    def handle(self, raw: bytes, pending: bool = False) -> list[bytes]:
        """Answers one request (a whole frame; ``pending``: its UDP checksum is
        still to be finished, see :meth:`~scapy_dhcp_ext.link.base.LinkSocket._recv_pending`): records it
        with why, sends the replies and returns them. Never raises on bad bytes."""
        self.requests += 1
        now = time.time()
        req = read_request(raw, now, pending)
        if req is None:
            kind = quick_reject(raw)   # garbage costs a few byte compares: a storm cannot make it deaf
            if kind is None and self.odd.spent(raw[70:76], now):
                kind = UNREAD
            if kind is not None:
                if self.malformed.first(raw[70:76], kind):
                    f = parse_frame(raw, now)   # the first of its kind is read carefully and kept whole
                    why = "; ".join(f.problems) or kind
                    self._record_in(f, f"malformed, ignored: {f'{UNREAD} ({why})' if kind == UNREAD else why}")
                return []
            req = parse_frame(finish_udp_checksum(raw) if pending else raw, now)
        problems = "; ".join(req.problems)
        mtype = req.message_type
        if req.op != 1 or req.xid is None or len(req.chaddr) != 6 or mtype is None:
            return self._ignore(req, problems or "no DHCP message type")
        unsafe = self.destinations.why(req.giaddr, req.ciaddr) if req.giaddr != ZERO_IP or req.ciaddr != ZERO_IP else ""
        if unsafe and not (mtype == REQUEST and req.giaddr == ZERO_IP):   # a NAK is broadcast: that one may go
            return self._ignore(req, unsafe)
        if unsafe and self.odd.spent(req.chaddr, now):
            return self._ignore(req, f"{UNREAD} ({unsafe})")
        mac = mac_str(req.chaddr)
        if self.macs is not None and mac not in self.macs:
            self._record_in(req, f"{mac} is not in macs: ignored")
            return []
        if self.observe is not None:
            self.observe(req)
        ask = ask_of(req, mac, self.pool.server_ip)
        prefix = f"malformed ({problems}), answered anyway: " if problems else ""
        if mtype == DISCOVER:
            self._nak_next.discard(mac)   # it started over: srv.nak() has done its job
            self._nak_next.discard("*")
            d = self.table.discover(ask)
        elif mtype == REQUEST:
            if unsafe or mac in self._nak_next or "*" in self._nak_next:
                self._record_in(req, prefix + (f"NAK, broadcast: {unsafe.split(';')[0]}" if unsafe else
                                               "NAK: asked for with srv.nak(), until it starts over"))
                return self._reply(req, NAK, ZERO_IP, message="no client may hold ciaddr" if unsafe else
                                   "NAK asked for by the user")
            d = self.table.request(ask)
        elif mtype == INFORM:
            self._record_in(req, prefix + "INFORM: ACK with no lease time")
            return self._reply(req, ACK, ZERO_IP, lease=False)
        elif mtype == RELEASE:
            self._record_in(req, prefix + self.table.release(ask))
            return []
        elif mtype == DECLINE:
            self._record_in(req, prefix + self.table.decline(ask))
            return []
        else:
            self._record_in(req, prefix + f"{req.type_name} is not for a server: ignored")
            return []
        state = f"{d.state}: " if d.state else ""
        if not d.kind:
            self._record_in(req, prefix + state + d.note)
            return []
        self._record_in(req, prefix + state + d.kind + (f" {d.address}" if d.kind != "NAK" else "")
                        + (f" ({d.note})" if d.note else ""))
        out = self._reply(req, KINDS[d.kind], d.address, message=d.note if d.kind == "NAK" else None)
        if d.kind == "ACK" and d.lease is not None:
            self._last_bound = d.lease
            if self._waiting:   # set before the check: a waiter sees the lease or gets the notify
                with self._bound:
                    self._bound.notify_all()
        return out

    def _ignore(self, req: Frame, why: str) -> list[bytes]:
        """A malformed request: logged whole if it is the first of its kind from its client, else counted."""
        if self.malformed.first(req.chaddr, why):
            self._record_in(req, f"malformed, ignored: {why}")
        return []

    def attach(self, observe: Callable[[Frame], None] | None, mutate: Callable[[Frame, bytes], Any] | None,
               tap: Callable[[bytes], Any] | None = None) -> None:
        """A workload's hooks on the request path (the reader's thread): ``observe(request)``
        sees each sane request first; ``mutate(request, reply)`` returns what to send instead
        (see :mod:`.server_hooks4`); ``tap(raw)`` sees every frame read, ARP and ICMP too
        (a liveness model). :meth:`detach` takes them off."""
        self.observe, self.mutate, self.tap = observe, mutate, tap
        reader = self.endpoint.transport.reader
        if reader is not None:
            reader.tap = tap

    def detach(self) -> None:
        self.attach(None, None)

    def malformed_counts(self) -> dict[tuple[str, str], int]:
        """Malformed requests ignored, by (client MAC, kind); ``srv.log`` keeps the first of each whole."""
        return self.malformed.counts()

    def forcerenew_frame(self, chaddr: bytes, address: str) -> bytes:
        """A FORCERENEW to ``address``, not sent, with the client's last xid: dhcpcd drops any other."""
        xid = self.history.last_xid(chaddr)
        return build_forcerenew(chaddr=chaddr, address=address, opts=self.opts, server_mac=self.endpoint.mac_bytes,
                                server_ip=self.pool.server_ip, xid=new_xid() if xid is None else xid)

    def nak_frame(self, req: Frame, message: str = "") -> bytes:
        """A NAK to ``req``, addressed as RFC 2131 4.1 says, not sent."""
        return build_reply(req, NAK, self.opts, server_mac=self.endpoint.mac_bytes, server_ip=self.pool.server_ip,
                           message=message or None)

    def _record_in(self, req: Frame, note: str) -> None:
        self.history.record("in", req.raw, OP, self.endpoint.iface, req.xid, note)

    def _reply(self, req: Frame, msg: int, yiaddr: str, *, lease: bool = True,
               message: str | None = None) -> list[bytes]:
        raw = build_reply(req, msg, self.opts, server_mac=self.endpoint.mac_bytes, server_ip=self.pool.server_ip,
                          yiaddr=yiaddr, lease=lease, message=message)
        return self._emit(req, raw)

    def _emit(self, req: Frame, raw: bytes) -> list[bytes]:
        """The reply through the hooks, then out (or held, or later)."""
        if self.mutate is None and self.on_reply is None and not self.intercept:
            self.send(raw, xid=req.xid)   # the plain server: no hook, nothing held
            return [raw]
        outs: list[tuple[float, bytes]] = [(0.0, raw)]
        if self.mutate is not None:
            outs = normalise_replies(self.mutate(req, raw), raw)
        if self.on_reply is not None:
            outs = [x for delay, one in outs for x in shift(delay, self._user_hook(req, one))]
        if self.intercept and (self.intercept is True or _kind_name(raw) == str(self.intercept).upper()):
            for _delay, one in outs:
                self.held.append(Held(req, one))
            self.history.record("out", b"", OP, self.endpoint.iface, req.xid,
                                f"{len(outs)} reply held: pkt_edit() to change it, pkt_send() to send it")
            return []
        for delay, one in outs:
            if delay > 0 and self.endpoint.transport.reader is not None:
                self.endpoint.transport.reader.later(delay, functools.partial(self.send, one, "sent late"))
            else:
                self.send(one)
        return [one for _d, one in outs]

    def _user_hook(self, req: Frame, raw: bytes) -> list[tuple[float, bytes]]:
        assert self.on_reply is not None
        try:
            got = self.on_reply(req.packet, parse_frame(raw).packet)
        except Exception as exc:
            self._note_error(f"on_reply raised {type(exc).__name__}: {exc}; the reply went as it was")
            return [(0.0, raw)]
        return normalise_replies(got, raw)

    def send(self, raw: bytes, note: str = "", *, xid: int | None = None) -> None:
        """Sends one frame as it is, logged with ``note``; a link that went is a log line.
        A reply to a batch of requests goes after the batch (see :mod:`~scapy_dhcp_ext.link.reader`);
        if the link does not take it then, it is logged again, "not sent"."""
        try:
            self.endpoint.transport.send(raw, batched=True)
        except Exception as exc:  # the link went: say so, keep serving when it comes back
            note = f"not sent: {exc}"
        self.history.record("out", raw, OP, self.endpoint.iface, _xid(raw) if xid is None else xid, note)

    def _unsent(self, raw: bytes, exc: Exception) -> None:
        self.history.record("out", raw, OP, self.endpoint.iface, _xid(raw), f"not sent: {exc}")

    # -- views ------------------------------------------------------------

    def who(self) -> str:
        return "any client" if self.macs is None else "only " + ", ".join(sorted(self.macs))

    def to_dict(self) -> dict[str, Any]:
        return {"server": {"pool": str(self.pool), "server_ip": self.pool.server_ip, "running": self.running,
                           "leases": [{"mac": x.mac, "address": x.address, "expires": x.expires, "state": x.state}
                                      for x in self.table]}}

    def __repr__(self) -> str:
        counts = self.table.counts()
        lines = [f"DhcpServer on {self.endpoint.iface} ({'running' if self.running else 'stopped'}): "
                 f"pool {self.pool} in {self.pool.network}, server {self.pool.server_ip}, "
                 f"lease {self.lease_time} s; answers {self.who()}",
                 f"  {self.requests} requests ({self.malformed.summary()}); leases: "
                 + (", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "none yet")]
        lines += [f"  {x!r}" for x in self.leases[-10:]]
        if self.held:
            lines.append(f"  {len(self.held)} replies held: pkt_edit() then pkt_send()")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(repr(self))}</pre>"


def _xid(raw: bytes) -> int | None:
    return int.from_bytes(raw[46:50], "big") if len(raw) >= 50 else None


def _kind_name(raw: bytes) -> str:
    return NAMES.get(raw[284], "") if len(raw) > 284 and raw[282:284] == b"\x35\x01" else ""

