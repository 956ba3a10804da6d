"""The DHCPv6 server role: ``serve6()``, a server that tests a device's DHCPv6 client,
the v4 server's twin.

Usage (at the ``scapy-dhcp --lab-client dhcpcd6`` prompt)::

    >>> srv = serve6()                              # fd77::100-fd77::1ff and /56s of fd77:2::/48
    >>> srv.wait_lease()                            # the first binding a REPLY committed
    fd77::100                IA_NA 1    02:5c:0a:1b:2c:00  bound    expires in 3600 s
    >>> srv.refuse("NoAddrsAvail")                  # the next REPLY carries that status
    >>> srv.reconfigure(kind="renew")               # RFC 8415 18.3.11, signed with the client's key
    >>> srv.stop()

It answers SOLICIT (ADVERTISE, or a REPLY with rapid commit when configured and
asked), REQUEST, RENEW, REBIND, RELEASE, DECLINE, CONFIRM and INFORMATION-REQUEST
as RFC 8415 18.3 says (:mod:`.answer6`), relayed ones too (a RELAY-REPL per
RELAY-FORW, interface-id echoed, to the relay's port 547), and drops what
section 16 says a server drops, each with a note in ``srv.log``. It runs on the
session's v6 socket in the background (one reader thread), answers neighbour
solicitations for its link-local address, and replies to the client's
link-local address on port 546. ``on_reply(request, reply)`` (Scapy packets) and
``intercept=True`` work as in ``serve()``; ``duids=``/``macs=`` limit it to the
devices under test; the bindings are kept in a lease file beside the state file
(``leases6-<iface>.csv``, one line per change, :mod:`.lease_keeper`) and come
back with the next ``serve6()`` on the interface, after ``srv.stop()`` or ``kill -9``.
"""

from __future__ import annotations

import functools
import html
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ..errors import DhcpTimeout, UsageError
from ..state.history import History, HistoryEntry
from ..wire import mac_bytes, mac_str
from ..wire.dhcp6 import (
    ALL_SERVERS,
    IP6_SRC,
    MAX_DEPTH6,
    MESSAGE_TYPES6,
    RELAY_FORW,
    STATUS6,
    duid_ll,
    finish_udp6_checksum,
    ip6_bytes,
    link_local,
)
from ..wire.frames6 import Frame6, parse_frame6, udp6_checksum_ok
from ..wire.messages6 import message6
from ..wire.replies6 import reconfigure_message, relay_reply, reply_frame6
from ..wire.requests6 import read_request6
from .answer6 import Answering, Config6, answer, why_dropped
from .lease_keeper import LeaseKeeper6
from .leases6 import Binding6, Bindings6, Pools6
from .server_hooks4 import normalise_replies, shift

if TYPE_CHECKING:
    from ..state.endpoint import Endpoint

OP6 = "SERVE6"
RECONFIGURE_KINDS = {"renew": 5, "rebind": 6, "information-request": 11, "info": 11}


class Dhcp6Server:
    """A running DHCPv6 server on an endpoint; see the module's docstring."""

    def __init__(self, endpoint: Endpoint, pools: Pools6, config: Config6, *,
                 on_reply: Callable[[Any, Any], Any] | None = None, intercept: bool | str = False,
                 duids: Iterable[bytes | str] | None = None, macs: Iterable[str] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.endpoint = endpoint
        self.pools = pools
        self.config = config
        self.table = Bindings6(pools, valid=config.valid, clock=clock)
        self.duid = duid_ll(endpoint.mac_bytes)
        self.address = link_local(endpoint.mac_bytes)
        self._address = ip6_bytes(self.address)
        self.ctx = Answering(self.duid, self.table, config)
        self.on_reply = on_reply
        self.intercept = intercept
        self.duids = {d if isinstance(d, str) else bytes(d).hex() for d in duids} if duids is not None else None
        self.macs = {mac_str(mac_bytes(m)) for m in macs} if macs is not None else None
        self.history = History(None, 10000)
        self.keeper = LeaseKeeper6.on(endpoint, self.table, self.history)   # None without a state file
        self.held: list[tuple[Frame6, bytes]] = []
        self.requests = 0
        self.errors = 0
        self.running = False
        self.clients: dict[str, tuple[bytes, str, bytes]] = {}   # DUID hex -> (MAC, link-local, raw DUID)
        # A workload's hooks (check_client6): observe sees each message past section 16's drops; mutate
        # returns what to send instead of the reply (as on_reply does, bytes in and out, no Scapy).
        self.observe: Callable[[Frame6], None] | None = None
        self.mutate: Callable[[Frame6, bytes], Any] | None = None
        self.tap: Callable[[bytes], Any] | None = None   # sees every frame read (a workload's liveness model)
        self._bound = threading.Condition()
        self._waiting = 0   # callers in wait_lease(): a REPLY wakes them (no lock taken when none wait)

    # -- life -------------------------------------------------------------

    def start(self, *, restore: bool = True) -> Dhcp6Server:
        """Starts answering, with the bindings the lease file kept for this interface unless ``restore`` is off."""
        if self.keeper is not None:
            self.keeper.restore(take=restore)
        transport = self.endpoint.transport6
        transport.answer_nd(self.address, self.endpoint.mac_bytes)
        reader = transport.start_reader(self._on_request, lambda: self.endpoint.mac_bytes, on_error=self._note_error,
                                        on_unsent=self._unsent)
        reader.tap = self.tap
        self.running = True
        self.endpoint.sections["server6"] = self.to_dict
        return self

    def stop(self) -> Dhcp6Server:
        """Stops answering; the bindings and the log stay readable, and in the state file."""
        if self.running:
            self.running = False
            self.endpoint.transport6.stop_reader()
            self.endpoint.transport6.forget_nd(self.address)
            self.endpoint.save()
            if self.keeper is not None:
                self.keeper.close()
        return self

    # -- the handle -------------------------------------------------------

    @property
    def leases(self) -> list[Binding6]:
        """Every address and prefix handed out so far, with its client, state and end."""
        return list(self.table)

    @property
    def log(self) -> list[HistoryEntry]:
        return list(self.history)

    def wait_lease(self, kind: str | None = None, timeout: float = 30.0) -> Binding6:
        """The first binding (``kind`` "NA" or "PD", or either) a REPLY committed."""
        deadline = time.monotonic() + timeout
        with self._bound:
            self._waiting += 1
            try:
                while True:
                    got = [b for b in self.table if b.state == "bound" and kind in (None, b.kind)]
                    if got:
                        return got[0]
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise DhcpTimeout(f"no {kind or 'address or prefix'} bound within {timeout} s on "
                                          f"{self.endpoint.iface} ({self.requests} requests seen; srv.log says why)")
                    self._bound.wait(min(left, 0.2))
            finally:
                self._waiting -= 1

    def refuse(self, status: str | int = "NoAddrsAvail", message: str = "") -> None:
        """The next REPLY carries ``status`` (a name or a code), in the message and in each IA, and no address."""
        names = {v.lower(): k for k, v in STATUS6.items()}
        code = status if isinstance(status, int) else names.get(str(status).lower())
        if code is None:
            raise UsageError(f"unknown status {status!r}: one of {', '.join(STATUS6.values())}, or a number")
        self.ctx.refuse = (code, message or STATUS6.get(code, "refused"))

    def reconfigure(self, device: str | None = None, *, kind: str = "renew", authenticated: bool = True) -> int:
        """RFC 8415 18.3.11: a RECONFIGURE to each client holding a binding (or to the one whose
        DUID hex or MAC is ``device``), asking for ``kind`` ("renew", "rebind" or
        "information-request"), signed with the key its REPLY gave it; ``authenticated=False``
        sends one without (a client MUST drop it). How many were sent."""
        code = RECONFIGURE_KINDS.get(kind.lower())
        if code is None:
            raise UsageError(f"kind={kind!r}: one of renew, rebind, information-request")
        want = None if device is None else device.lower()
        sent = 0
        for duid_hex, (mac, ip, raw_duid) in list(self.clients.items()):
            if want is not None and want not in (duid_hex, mac_str(mac)):
                continue
            if not any(b.duid == duid_hex and b.state == "bound" for b in self.table):
                continue
            key = self.ctx.keys.get(duid_hex)
            if authenticated and key is None:
                self._log(f"no RECONFIGURE to {mac_str(mac)}: it never sent Reconfigure Accept, so it has no key")
                continue
            payload = reconfigure_message(server_duid=self.duid, client_duid=raw_duid, kind=code,
                                          key=key if authenticated else None)
            frame = reply_frame6(payload, mac=self.endpoint.mac_bytes, src=self.address, to_mac=mac, to=ip,
                                 relayed=False)
            self.send(frame, f"RECONFIGURE ({kind}{'' if authenticated else ', unauthenticated'}) to {ip}")
            sent += 1
        if want is not None and not sent:
            raise UsageError(f"{device} holds no binding a RECONFIGURE could go to: srv.leases shows who does")
        return sent

    # -- serving (on the reader's thread) ----------------------------------

    def _on_request(self, raw: bytes, pending: bool = False) -> None:
        try:
            self.handle(raw, pending)
        except Exception as exc:  # a message, however odd, must not stop the server
            self._note_error(f"{type(exc).__name__}: {exc} (request {raw[:64].hex()}...)")

    def _note_error(self, message: str) -> None:
        self.errors += 1
        self._log(f"internal error: {message}")

    def _log(self, note: str, raw: bytes = b"", direction: str = "in", txid: int | None = None) -> None:
        self.history.record(direction, raw, OP6, self.endpoint.iface, txid, note)

    def handle(self, raw: bytes, pending: bool = False) -> list[bytes]:
        """Answers one frame (``pending``: its UDP checksum is still to be finished):
        records it with why, sends the reply and returns what went. Never raises on bad bytes."""
        self.requests += 1
        f = read_request6(raw, time.time(), pending)   # a clean client message in one pass; else read carefully
        if f is None:
            if pending:
                raw = finish_udp6_checksum(raw)
            elif not udp6_checksum_ok(raw):
                self._log("bad UDP checksum: dropped, as a host's stack would", raw)
                return []
            f = parse_frame6(raw, time.time())
        raw = f.raw   # its checksum finished
        msg = f.msg
        layers = []
        m = f.outer
        while m is not None and m.msg_type == RELAY_FORW:
            layers.append(m)
            m = m.inner
        if msg is None or m is None or msg.msg_type == RELAY_FORW:
            self._log(f"malformed, ignored: {'; '.join(f.problems) or 'no message'}", raw)
            return []
        if len(layers) > MAX_DEPTH6:   # HOP_COUNT_LIMIT (RFC 8415 7.6): no relay passes it on
            self._log(f"dropped: relays nested {len(layers)} deep (at most {MAX_DEPTH6})", raw)
            return []
        why = why_dropped(f, self.duid)
        if why:
            self._log(f"dropped: {why}", raw, txid=f.txid)
            return []
        client = (f.client_id or b"").hex()
        mac = mac_str(f.eth_src) if not layers else ""
        if (self.duids is not None and client not in self.duids) or (self.macs is not None and mac not in self.macs):
            self._log(f"{mac or client} is not in duids/macs: ignored", raw, txid=f.txid)
            return []
        if self.observe is not None:
            self.observe(f)
        unicast = not layers and f.ip_dst != ALL_SERVERS
        got = answer(f, self.ctx, unicast=unicast, mac=mac)
        problems = f"malformed ({'; '.join(f.problems[:2])}), answered anyway: " if f.problems else ""
        self._log(problems + got.note, raw, txid=f.txid)
        if got.msg_type is None:
            return []
        if not layers and f.client_id:
            self.clients[client] = (f.eth_src, f.ip_src or "", f.client_id)
        payload = message6(got.msg_type, f.txid or 0, got.options)
        if layers:   # back to the relay it came from (19.3), inside a RELAY-REPL per RELAY-FORW
            payload = relay_reply(layers, payload)
        frame = reply_frame6(payload, mac=self.endpoint.mac_bytes, src=self._address, to_mac=f.eth_src,
                             to=raw[IP6_SRC:IP6_SRC + 16], relayed=bool(layers))
        out = self._emit(f, frame, MESSAGE_TYPES6.get(got.msg_type, ""))
        if got.bound and self._waiting:   # the lease file has its lines already (Bindings6.on_change)
            with self._bound:
                self._bound.notify_all()
        return out

    def _emit(self, req: Frame6, raw: bytes, kind: str) -> list[bytes]:
        """The reply through ``on_reply``, then out (or held by ``intercept``, or later)."""
        outs: list[tuple[float, bytes]] = [(0.0, raw)]
        if self.mutate is not None:
            outs = normalise_replies(self.mutate(req, raw), raw)
        if self.on_reply is not None:
            outs = [x for delay, one in outs for x in shift(delay, self._user_hook(req, one))]
        if self.intercept and (self.intercept is True or str(self.intercept).upper() == kind):
            self.held += [(req, one) for _d, one in outs]
            self._log(f"{len(outs)} reply held: srv.send_held() sends it", direction="out", txid=req.txid)
            return []
        reader = self.endpoint.transport6.reader
        for delay, one in outs:
            if delay > 0 and reader is not None:
                reader.later(delay, functools.partial(self.send, one, "sent late"))
            else:
                self.send(one)
        return [one for _d, one in outs]

    def _user_hook(self, req: Frame6, raw: bytes) -> list[tuple[float, bytes]]:
        assert self.on_reply is not None
        try:
            got = self.on_reply(req.packet, parse_frame6(raw).packet)
        except Exception as exc:
            self._note_error(f"on_reply raised {type(exc).__name__}: {exc}; the reply went as it was")
            return [(0.0, raw)]
        return normalise_replies(got, raw)

    def attach(self, observe: Callable[[Frame6], None] | None, mutate: Callable[[Frame6, bytes], Any] | None,
               tap: Callable[[bytes], Any] | None = None) -> None:
        """A workload's hooks on the request path (the reader's thread): ``tap(raw)`` sees every
        frame read, neighbour discovery too; :meth:`detach` takes them off."""
        self.observe, self.mutate, self.tap = observe, mutate, tap
        reader = self.endpoint.transport6.reader if self.running else None
        if reader is not None:
            reader.tap = tap

    def detach(self) -> None:
        self.attach(None, None)

    def send_held(self, pkt: Any = None) -> Frame6:
        """Lets the oldest held reply go, as it was or as ``pkt`` (edited)."""
        if not self.held:
            raise UsageError("no reply is held: serve6(intercept=True) holds them")
        _req, raw = self.held.pop(0)
        if pkt is not None:
            raw = bytes(pkt.packet if hasattr(pkt, "packet") else pkt)
        self.send(raw, "released from intercept")
        return parse_frame6(raw)

    def send(self, raw: bytes, note: str = "") -> None:
        """Sends one frame as it is, logged with ``note``; a link that went is a log line (a reply to
        a batch of requests goes after the batch; one the link did not take then is logged again)."""
        try:
            self.endpoint.transport6.send(raw, batched=True)
        except Exception as exc:
            note = f"not sent: {exc}"
        self._log(note, raw, "out", _txid(raw))

    def _unsent(self, raw: bytes, exc: Exception) -> None:
        self._log(f"not sent: {exc}", raw, "out", _txid(raw))

    # -- views ------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {"server6": {"pools": str(self.pools), "running": self.running, "bindings": self.table.size,
                            "lease_file": str(self.keeper.file.path) if self.keeper is not None else None}}

    def __repr__(self) -> str:
        counts = self.table.counts()
        who = "any client" if self.duids is None and self.macs is None else "only the devices given"
        lines = [f"Dhcp6Server on {self.endpoint.iface} ({'running' if self.running else 'stopped'}) as "
                 f"{self.address}: {self.pools}; preferred {self.config.preferred} s, valid {self.config.valid} s"
                 f"{', rapid commit' if self.config.rapid_commit else ''}; answers {who}",
                 f"  {self.requests} messages; bindings: "
                 + (", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "none yet")]
        lines += [f"  {b!r}" for b in self.leases[-10:]]
        if self.held:
            lines.append(f"  {len(self.held)} replies held: srv.send_held()")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(repr(self))}</pre>"


def _txid(raw: bytes) -> int | None:
    """A DHCPv6 frame's transaction id (after Ethernet, IPv6 and UDP headers and the message type)."""
    return int.from_bytes(raw[63:66], "big") if len(raw) >= 66 else None
