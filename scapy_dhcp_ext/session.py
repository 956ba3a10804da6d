"""DhcpSession: one DHCP client's state and its exchanges over one socket.

Usage::

    >>> dhcp = DhcpSession("eth1")            # the interface's MAC by default
    >>> r = dhcp.dora(hostname="probe")       # DISCOVER, OFFER, REQUEST, ACK
    >>> r.lease.address, dhcp.state
    ('10.77.0.120', 'BOUND')
    >>> dhcp.renew(); dhcp.release()

Every operation takes ``timeout=`` and the message options of
:class:`~scapy_dhcp_ext.packets.MessageOptions` (``hostname``, ``client_id``,
``vendor_class``, ``param_req_list``, ``lease_time``, ``broadcast``,
``giaddr``, ``circuit_id``, ``remote_id``, ``options``), and returns a
:class:`~scapy_dhcp_ext.results.Result`. No reply raises ``DhcpTimeout``
(its ``.result`` has what was sent); Ctrl-C raises ``Interrupted`` with the
partial result; a NAK is a result, not an error. The state machine follows
RFC 2131 (4.4) but does not forbid anything: a test tool sends what it is told.
"""

from __future__ import annotations

import socket
import time
from typing import Any, Callable

from .errors import DhcpError, DhcpTimeout, Interrupted, StateError, UsageError
from .frames import Frame, parse_frame
from .history import History
from .interrupts import defer_sigint, interruptible
from .packets import MessageOptions, build_message
from .results import Lease, Offer, Result
from .store import Store
from .transport import Backoff, Exchange, Transport, interface_mac
from .wire import (
    ACK,
    BROADCAST_IP,
    BROADCAST_MAC,
    DECLINE,
    DISCOVER,
    FRAME_GIADDR,
    INFORM,
    NAK,
    OFFER,
    RELEASE,
    REQUEST,
    mac_bytes,
    mac_str,
    new_xid,
    random_mac,
)

STATES = ("INIT", "SELECTING", "REQUESTING", "BOUND", "RENEWING", "REBINDING", "INIT-REBOOT",
          "REBOOTING")


class DhcpSession:
    """Interface, MAC, client state, lease, offers, history; one open socket.

    ``state_file=False`` keeps nothing on disk (tests, scripts); ``None`` uses
    the default (``$XDG_STATE_HOME/scapy-dhcp/state.json``)."""

    def __init__(self, iface: str | None = None, *, mac: str | None = None,
                 state_file: str | bool | None = None, timeout: float = 3.0, window: float = 0.3,
                 backoff: Backoff | None = None, options: MessageOptions | None = None,
                 transport: Transport | None = None, history_limit: int = 10000) -> None:
        self.store: Store | None = None if state_file is False else Store(
            None if state_file in (None, True) else str(state_file))
        saved = self.store.load() if self.store is not None else {}
        self.messages: list[str] = list(self.store.messages) if self.store else []
        self.timeout = timeout
        self.window = window
        self.backoff = backoff or Backoff()
        self.options = options or MessageOptions()
        self.history = History(self.store, history_limit)
        self.state = "INIT"
        self.lease: Lease | None = None
        self.offers: list[Offer] = []
        self.xid: int | None = None
        self.last: Any = None   # the last result: Result, SweepReport or LoadResult
        self.next_packet: Any = None   # the last edited packet, sent by send_packet() by default
        self.sweep_state: dict[str, Any] | None = None   # the last sweep: id, kind, params, done
        self.sweep_params: dict[str, Any] = {}
        self._transport = transport
        self._hold_saves = False
        self.save_error: str | None = None
        self._mac: str | None = mac
        self.iface: str | None = iface or (transport.iface if transport else None)
        self.saved_iface: str | None = saved.get("iface") if isinstance(saved.get("iface"), str) else None
        self._restore(saved, iface_given=iface is not None)

    # -- identity ---------------------------------------------------------

    @property
    def mac(self) -> str:
        if self._mac is None:
            self._mac = interface_mac(self._need_iface())
        return self._mac

    @mac.setter
    def mac(self, value: str) -> None:
        self._mac = mac_str(mac_bytes(value))
        self._forget_lease("INIT")

    def new_mac(self) -> str:
        """Switches to a fresh random locally administered MAC (a new client)."""
        self.mac = random_mac()
        self._save()
        return self.mac

    def use(self, iface: str, mac: str | None = None) -> None:
        """Moves the session to another interface (its MAC, unless given)."""
        if iface != self.iface:
            self.close()
            self.iface = iface
            self._transport = None
            self._mac = mac
            self._forget_lease("INIT")
        elif mac:
            self.mac = mac
        self._save()

    def _need_iface(self) -> str:
        if not self.iface:
            raise UsageError("no interface: pass --iface NAME (or dhcp.use('eth1'))")
        return self.iface

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            self._transport = Transport(self._need_iface())
        return self._transport

    def reset(self) -> None:
        """Back to INIT: no lease, no offers, no transaction. History stays."""
        self._forget_lease("INIT")
        self._save()

    def _forget_lease(self, state: str) -> None:
        if self._transport is not None:
            self._transport.forget_arp()
        self.lease, self.offers, self.xid, self.state = None, [], None, state

    # -- operations -------------------------------------------------------

    @interruptible("DISCOVER")
    def discover(self, *, timeout: float | None = None, window: float | None = None,
                 **options: Any) -> Result:
        """Broadcasts a DISCOVER and collects every OFFER that arrives up to
        ``window`` seconds after the first (two servers on a link both show)."""
        opts = self.options.merged(**options)
        self.xid = new_xid()
        self.state = "SELECTING"
        frame = build_message(DISCOVER, mac=self.mac, xid=self.xid, opts=opts)
        ex = self._exchange("DISCOVER", frame, timeout, self.window if window is None else window,
                            lambda f: f.message_type == OFFER)
        self.offers = [Offer(f) for f in ex.replies if f.message_type == OFFER and not f.malformed] or \
                      [Offer(f) for f in ex.replies if f.message_type == OFFER]
        result = self._result("DISCOVER", ex, "offered" if self.offers else "timeout")
        result.offers = list(self.offers)
        if not self.offers:
            self.state = "INIT"
        return self._finish(result, ex, "OFFER")

    @interruptible("REQUEST")
    def request(self, address: str | None = None, *, offer: Offer | int | None = None,
                server_id: str | None = None, timeout: float | None = None, **options: Any) -> Result:
        """REQUESTs an offer (SELECTING), or, with ``address`` and no offer in
        hand, the INIT-REBOOT request for that address (no server id)."""
        opts = self.options.merged(**options)
        chosen = self._choose_offer(address, offer)
        if chosen is not None:
            address, server_id = chosen.address, server_id or chosen.server_id
            self.state = "REQUESTING"
        elif address is not None and server_id is not None:
            self.xid = new_xid()
            self.state = "REQUESTING"
        elif address is not None:
            self.xid = new_xid()
            self.state = "REBOOTING"
        else:
            raise UsageError("nothing to request: run discover() first, or request(address='10.0.0.5')")
        assert self.xid is not None
        frame = build_message(REQUEST, mac=self.mac, xid=self.xid, opts=opts, requested=address,
                              server_id=server_id)
        return self._ack_exchange("REQUEST", frame, timeout, server_id)

    @interruptible("DORA")
    def dora(self, *, timeout: float | None = None, window: float = 0.0, **options: Any) -> Result:
        """DISCOVER, then REQUEST the first offer. Returns one result holding both."""
        start = time.monotonic()
        steps: list[Result] = []
        self._hold_saves = True  # one save for the pair, not one per step
        try:
            steps.append(self.discover(timeout=timeout, window=window, **options))
            steps.append(self.request(offer=0, timeout=timeout, **options))
        except KeyboardInterrupt as exc:  # Interrupted too
            done = steps + ([exc.result] if isinstance(exc, Interrupted) and exc.result is not None else [])
            partial = Result("DORA", "interrupted", xid=self.xid, steps=done,
                             sent=[x for r in done for x in r.sent], received=[x for r in done for x in r.received],
                             offers=done[0].offers if done else [], elapsed=time.monotonic() - start,
                             note=f"Ctrl-C after {' and '.join(r.operation for r in steps) or 'nothing'} completed")
            self.last = partial
            self._hold_saves = False
            self._save()
            raise Interrupted("DORA interrupted; the partial result is in dhcp.last", partial) from None
        except BaseException:
            self._hold_saves = False
            self._save()
            raise
        self._hold_saves = False
        first, second = steps
        result = Result("DORA", second.status, xid=second.xid, sent=first.sent + second.sent,
                        received=first.received + second.received,
                        ignored=first.ignored + second.ignored, offers=first.offers,
                        reply=second.reply, lease=second.lease, elapsed=time.monotonic() - start,
                        steps=[first, second], note=second.note)
        self.last = result
        self._save()
        return result

    @interruptible("RENEW")
    def renew(self, *, timeout: float | None = None, **options: Any) -> Result:
        """RENEWING: a REQUEST with ciaddr, unicast to the server that gave the lease."""
        lease = self._need_lease("renew")
        self.state, self.xid = "RENEWING", new_xid()
        dst_mac = mac_bytes(lease.server_mac) if lease.server_mac else BROADCAST_MAC
        frame = build_message(REQUEST, mac=self.mac, xid=self.xid, opts=self.options.merged(**options),
                              ciaddr=lease.address, dst_ip=lease.server_id or BROADCAST_IP,
                              dst_mac=dst_mac)
        return self._ack_exchange("RENEW", frame, timeout)

    @interruptible("REBIND")
    def rebind(self, *, timeout: float | None = None, **options: Any) -> Result:
        """REBINDING: a REQUEST with ciaddr, broadcast to any server."""
        lease = self._need_lease("rebind")
        self.state, self.xid = "REBINDING", new_xid()
        frame = build_message(REQUEST, mac=self.mac, xid=self.xid, opts=self.options.merged(**options),
                              ciaddr=lease.address)
        return self._ack_exchange("REBIND", frame, timeout)

    @interruptible("RELEASE")
    def release(self, address: str | None = None, server_id: str | None = None,
                **options: Any) -> Result:
        """Sends a RELEASE (unicast to the server) and forgets the lease. No reply comes."""
        address, server_id, dst_mac = self._target(address, server_id, "release")
        self.xid = new_xid()
        opts = self.options.merged(**options)
        frame = build_message(RELEASE, mac=self.mac, xid=self.xid,
                              opts=MessageOptions(**{**opts.__dict__, "param_req_list": None}),
                              ciaddr=address, server_id=server_id,
                              dst_ip=server_id or BROADCAST_IP, dst_mac=dst_mac)
        return self._send_only("RELEASE", frame)

    @interruptible("DECLINE")
    def decline(self, address: str | None = None, server_id: str | None = None,
                message: str | None = None, **options: Any) -> Result:
        """Sends a DECLINE for an address (by default the lease's) and goes back to INIT."""
        address, server_id, _ = self._target(address, server_id, "decline")
        self.xid = new_xid()
        opts = self.options.merged(**options)
        frame = build_message(DECLINE, mac=self.mac, xid=self.xid,
                              opts=MessageOptions(**{**opts.__dict__, "param_req_list": None}),
                              requested=address, server_id=server_id, message=message)
        return self._send_only("DECLINE", frame)

    @interruptible("INFORM")
    def inform(self, address: str | None = None, *, timeout: float | None = None,
               **options: Any) -> Result:
        """Asks for configuration only (INFORM, ciaddr set); the ACK carries
        options and no lease, and the session's lease is left as it is."""
        address = address or (self.lease.address if self.lease else None)
        if address is None:
            raise UsageError("inform needs the client's address: inform(address='10.0.0.5')")
        self.xid = new_xid()
        frame = build_message(INFORM, mac=self.mac, xid=self.xid, opts=self.options.merged(**options),
                              ciaddr=address)
        temporary = self.lease is None or self.lease.address != address
        self.transport.answer_arp(address, mac_bytes(self.mac))
        try:
            ex = self._exchange("INFORM", frame, timeout, 0.0, lambda f: f.message_type in (ACK, NAK))
        finally:
            if temporary:
                self.transport.forget_arp(address)
        reply = ex.replies[-1] if ex.replies else None
        status = "ack" if reply is not None and reply.message_type == ACK else (
            "nak" if reply is not None else "timeout")
        result = self._result("INFORM", ex, status)
        result.reply = reply
        return self._finish(result, ex, "ACK")

    @interruptible("SEND")
    def send_packet(self, pkt: Any = None, *, count: int = 1, wait: float | None = None,
                    window: float = 0.2) -> Result:
        """Sends a packet as it is (a Scapy packet or bytes; by default the last
        edited one, else the last sent) ``count`` times on the session's socket,
        then collects the replies that match its xid and chaddr: until ``window``
        seconds after the first, or ``wait`` seconds. No reply is a result too."""
        raw = self._packet_bytes(pkt)
        frame = parse_frame(raw)
        saved_xid = self.xid
        self.xid = frame.xid if frame.xid is not None else 0
        sent = []
        try:
            for _ in range(max(1, count)):
                t = self.transport.send(raw)
                sent.append((t, raw))
                self._record("out", raw, "SEND")
            ex = self._exchange("SEND", None, self.timeout if wait is None else wait, window, lambda f: True,
                                chaddr=frame.chaddr) if frame.xid is not None else Exchange()
        finally:
            self.xid = saved_xid
        ex.sent = sent
        status = "replied" if ex.replies else ("interrupted" if ex.interrupted else "no reply")
        result = self._result("SEND", ex, status)
        result.xid = frame.xid
        result.reply = ex.replies[-1] if ex.replies else None
        self.last = result
        if ex.interrupted:
            raise Interrupted("SEND interrupted; the partial result is in dhcp.last", result)
        return result

    def sweep_lengths(self, *args: Any, **kwargs: Any) -> Any:
        """Every packet length the device might choke on; see :func:`scapy_dhcp_ext.sweep.sweep_lengths`."""
        from .sweep import sweep_lengths

        return sweep_lengths(self, *args, **kwargs)

    def sweep_malformed(self, *args: Any, **kwargs: Any) -> Any:
        """The catalog of malformed fields; see :func:`scapy_dhcp_ext.sweep.sweep_malformed`."""
        from .sweep import sweep_malformed

        return sweep_malformed(self, *args, **kwargs)

    def load(self, *, clients: int = 1000, duration: float = 5.0, rate: float | None = None, window: int = 16,
             release: bool = False, timeout: float = 1.0, progress: bool = True) -> Any:
        """Many clients doing DORA at once, like perfdhcp: ``rate`` per second, or
        closed loop with ``window`` exchanges in flight. Returns ``.rate``,
        ``.drops`` and latency percentiles; see :mod:`scapy_dhcp_ext.load`."""
        from .load import run_load

        result = run_load(self, clients=clients, duration=duration, rate=rate, window=window, release=release,
                          timeout=timeout, progress=progress)
        self.last = result
        return result

    def note_sweep(self, report: Any) -> None:
        """Keeps where a sweep got to, so that it can resume after a restart."""
        self.sweep_state = {"id": report.sweep_id, "kind": report.kind, "params": self.sweep_params,
                            "sent": len(report.rows), "complete": report.complete}
        self.last = report
        self._save()

    def journal_frame(self, direction: str, raw: bytes, operation: str) -> None:
        """Adds a frame to the journal only (a sweep's probes)."""
        self.history.journal(direction, raw, operation, self.iface, self.xid)

    def record_frame(self, direction: str, raw: bytes, operation: str) -> None:
        """Adds a frame to the history and the journal ("out", "in" or "ignored")."""
        self.history.record(direction, raw, operation, self.iface, self.xid)

    def _packet_bytes(self, pkt: Any) -> bytes:
        if pkt is None:
            pkt = self.next_packet if self.next_packet is not None else self.last_sent()
        if pkt is None:
            raise UsageError("nothing to send yet: give a packet, or discover() first")
        if isinstance(pkt, (bytes, bytearray)):
            return bytes(pkt)
        from .pktools import to_packet

        try:
            return bytes(to_packet(pkt))
        except Exception as exc:
            raise UsageError(f"that packet does not build: {exc}") from None

    def last_sent(self) -> Any:
        """The last frame sent, as a Scapy packet (None before the first)."""
        entry = self.history.last("out")
        return entry.packet if entry is not None else None

    def last_frame(self) -> Any:
        """The last frame sent or received, as a Scapy packet (None before the first)."""
        entry = self.history.last()
        return entry.packet if entry is not None else None

    # -- plumbing ---------------------------------------------------------

    def _choose_offer(self, address: str | None, offer: Offer | int | None) -> Offer | None:
        if isinstance(offer, Offer):
            return offer
        if isinstance(offer, int):
            if not self.offers:
                raise UsageError("no offer in hand: run discover() first")
            try:
                return self.offers[offer]
            except IndexError:
                raise UsageError(f"there are {len(self.offers)} offers; pick 0..{len(self.offers) - 1}") from None
        if address is None:
            return self.offers[0] if self.offers else None
        return next((o for o in self.offers if o.address == address), None)

    def _need_lease(self, what: str) -> Lease:
        if self.lease is None:
            raise UsageError(f"no lease to {what}: run dora() first")
        return self.lease

    def _target(self, address: str | None, server_id: str | None, what: str) -> tuple[str, str | None, bytes]:
        lease = self.lease
        if address is None:
            if lease is None:
                raise UsageError(f"no lease to {what}: run dora() first, or {what}(address=..., server_id=...)")
            address = lease.address
        if lease is not None and lease.address == address:
            server_id = server_id or lease.server_id
            mac = mac_bytes(lease.server_mac) if lease.server_mac else BROADCAST_MAC
        else:
            mac = BROADCAST_MAC
        return address, server_id, mac

    def _partial(self, operation: str, mark: int) -> Result:
        """A result from the frames recorded since ``mark``: what an interrupted operation did."""
        entries = self.history.since(mark)
        return Result(operation, "interrupted", xid=self.xid,
                      sent=[(e.time, e.raw) for e in entries if e.direction == "out"],
                      received=[e.frame for e in entries if e.direction == "in"],
                      note="Ctrl-C before it finished")

    def _record(self, direction: str, raw: bytes, operation: str) -> None:
        self.history.record(direction, raw, operation, self.iface, self.xid)

    def _exchange(self, operation: str, frame: bytes | None, timeout: float | None, window: float,
                  done: Callable[[Frame], bool], chaddr: bytes | None = None) -> Exchange:
        assert self.xid is not None
        giaddr = frame[FRAME_GIADDR:FRAME_GIADDR + 4] if frame is not None else b""
        if giaddr.strip(b"\0"):
            # As a relay agent, answer ARP for giaddr: the server unicasts to it.
            self.transport.answer_arp(socket.inet_ntoa(giaddr), mac_bytes(self.mac))
        return self.transport.exchange(
            frame, xid=self.xid, chaddr=chaddr if chaddr is not None else mac_bytes(self.mac),
            timeout=self.timeout if timeout is None else timeout, backoff=self.backoff,
            window=window, done=done,
            on_send=lambda _t, raw: self._record("out", raw, operation),
            on_receive=lambda f, ours: self._record("in" if ours else "ignored", f.raw, operation))

    def _result(self, operation: str, ex: Exchange, status: str) -> Result:
        start = ex.sent[0][0] if ex.sent else time.monotonic()
        end = ex.replies[-1].time if ex.replies else self.transport.clock()
        return Result(operation, "interrupted" if ex.interrupted else status, xid=self.xid,
                      sent=ex.sent, received=ex.replies, ignored=ex.ignored,
                      elapsed=max(0.0, end - start))

    def _ack_exchange(self, operation: str, frame: bytes, timeout: float | None,
                      server_id: str | None = None) -> Result:
        """Waits for the ACK or NAK of the chosen server (any server's, when the
        request names none); another server's reply is kept, and used only when
        the chosen one stays silent."""
        def answers(f: Frame) -> bool:
            return f.message_type in (ACK, NAK) and (server_id is None or f.server == server_id)

        ex = self._exchange(operation, frame, timeout, 0.0, answers)
        reply = next((f for f in ex.replies if answers(f)), None) or next(
            (f for f in ex.replies if f.message_type in (ACK, NAK)), None)
        status = "timeout" if reply is None else ("ack" if reply.message_type == ACK else "nak")
        result = self._result(operation, ex, status)
        result.reply = reply
        if reply is not None and reply.message_type == ACK:
            self.lease = Lease.from_ack(reply, iface=self.iface)
            self.state, self.offers = "BOUND", []
            self.transport.forget_arp()
            self.transport.answer_arp(self.lease.address, mac_bytes(self.mac))
            result.lease = self.lease
        elif reply is not None:
            self._forget_lease("INIT")
        elif self.state in ("REQUESTING", "REBOOTING") and not ex.interrupted:
            self.state = "INIT" if self.lease is None else "BOUND"
        elif self.state in ("RENEWING", "REBINDING"):
            self.state = "BOUND"
        return self._finish(result, ex, "ACK or NAK")

    def _send_only(self, operation: str, frame: bytes) -> Result:
        t = self.transport.send(frame)
        self._record("out", frame, operation)
        result = Result(operation, "sent", xid=self.xid, sent=[(t, frame)])
        self._forget_lease("INIT")
        self.last = result
        self._save()
        return result

    def _finish(self, result: Result, ex: Exchange, expected: str) -> Result:
        self.last = result
        if ex.overflow:
            result.note = f"{ex.overflow} more copies dropped (a flood)"
        self._save()
        if self.save_error:
            result.note = (result.note + "; " if result.note else "") + f"state not saved: {self.save_error}"
        if ex.interrupted:
            raise Interrupted(f"{result.operation} interrupted; the partial result is in dhcp.last", result)
        if result.status == "timeout":
            raise DhcpTimeout(self._timeout_message(result, expected), result)
        return result

    def _timeout_message(self, result: Result, expected: str) -> str:
        tries = len(result.sent)
        heard = f"; {len(result.received)} other replies" if result.received else ""
        foreign = f"; {len(result.ignored)} replies for other clients ignored" if result.ignored else ""
        return (f"no {expected} on {self.iface} for {result.operation} xid {result.xid:#010x} "
                f"({tries} sent{heard}{foreign}); raise timeout= or check the server")

    # -- persistence ------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {"iface": self.iface, "mac": self._mac, "state": self.state, "xid": self.xid,
                "lease": self.lease.to_dict() if self.lease else None,
                "offers": [{"hex": o.frame.raw.hex()} for o in self.offers], "sweep": self.sweep_state}

    def _restore(self, saved: dict[str, Any], iface_given: bool) -> None:
        if not saved:
            return
        same_iface = not iface_given or saved.get("iface") == self.iface
        if not self.iface and isinstance(saved.get("iface"), str):
            self.iface = saved["iface"]
        if not same_iface:
            return
        try:
            if self._mac is None and isinstance(saved.get("mac"), str):
                self._mac = mac_str(mac_bytes(saved["mac"]))
            if saved.get("state") in STATES:
                self.state = saved["state"]
            if isinstance(saved.get("xid"), int):
                self.xid = saved["xid"]
            if isinstance(saved.get("lease"), dict):
                self.lease = Lease.from_dict(saved["lease"])
            self.offers = [Offer(parse_frame(bytes.fromhex(o["hex"]))) for o in saved.get("offers") or []]
            if isinstance(saved.get("sweep"), dict):
                self.sweep_state = saved["sweep"]
        except (TypeError, ValueError, KeyError) as exc:
            self.messages.append(f"part of the saved state was unusable ({exc}); starting from INIT")
            self._forget_lease("INIT")
        self.history.load()

    def _save(self) -> None:
        """Saves the state; a failure (a full disk) is a message, never a lost operation."""
        if self.store is None or self._hold_saves:
            return
        try:
            with defer_sigint():
                self.store.save(self.to_dict())
            self.save_error = None
        except StateError as exc:
            self.save_error = str(exc)
            if self.save_error not in self.messages:
                self.messages.append(self.save_error)

    def save(self) -> str:
        """Saves now; returns the state file's path."""
        if self.store is None:
            raise UsageError("this session keeps no state file")
        self._save()
        if self.save_error:
            raise StateError(self.save_error)
        return str(self.store.path)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
        if self.store is not None:
            self.store.close()

    def __enter__(self) -> DhcpSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- display ----------------------------------------------------------

    def summary_lines(self) -> list[str]:
        mac = self._mac or "(the interface's)"
        if self._mac is None and self.iface:
            try:
                mac = interface_mac(self.iface) + " (the interface's)"
            except (OSError, DhcpError):
                pass  # a gone interface: the repr still works
        lines = [f"iface {self.iface or '-'}  mac {mac}  state {self.state}"
                 + (f"  xid {self.xid:#010x}" if self.xid is not None else "")]
        lines.append(f"lease {self.lease!r}" if self.lease else "lease none")
        if self.offers:
            lines.append("offers " + ", ".join(f"{o.address} from {o.server_id}" for o in self.offers))
        lines.append(f"history {len(self.history)} frames; state file "
                     + (str(self.store.path) if self.store else "none"))
        return lines

    def __repr__(self) -> str:
        return "<DhcpSession\n  " + "\n  ".join(self.summary_lines()) + ">"

    def _repr_html_(self) -> str:
        import html

        return "<pre>" + html.escape("\n".join(self.summary_lines())) + "</pre>"

