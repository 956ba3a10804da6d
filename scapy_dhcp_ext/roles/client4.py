"""DhcpSession: one DHCP client's state and its exchanges over one socket.

Usage::

    >>> dhcp = DhcpSession("eth1")            # the interface's MAC by default
    >>> r = dhcp.dora(hostname="probe")       # DISCOVER, OFFER, REQUEST, ACK
    >>> r.lease.address, dhcp.state
    ('10.77.0.120', 'BOUND')
    >>> dhcp.renew(); dhcp.release()

Every operation takes ``timeout=`` and the message options of
:class:`~scapy_dhcp_ext.wire.messages4.MessageOptions` (``hostname``, ``client_id``,
``vendor_class``, ``param_req_list``, ``lease_time``, ``broadcast``,
``giaddr``, ``circuit_id``, ``remote_id``, ``options``), and returns a
:class:`~scapy_dhcp_ext.roles.results4.Result`. No reply raises ``DhcpTimeout``
(its ``.result`` has what was sent); Ctrl-C raises ``Interrupted`` with the
partial result; a NAK is a result, not an error. The state machine follows
RFC 2131 (4.4) but does not forbid anything: a test tool sends what it is told.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from ..errors import DhcpTimeout, StateError, UsageError
from ..link.exchange import Backoff, Exchange
from ..link.transport import Transport
from ..state.endpoint import Endpoint, Role
from ..wire import (
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
    ip_str,
    mac_bytes,
    new_xid,
    random_mac,
)
from ..wire.frames4 import Frame, parse_frame
from ..wire.messages4 import MessageOptions, build_message
from .client4_rules import ClientState, choose_offer, next_state, target, timeout_message
from .interrupts import interruptible
from .results4 import Lease, Offer, Result


class Client4(Role):
    """The client role: state, lease, offers and the operations, on an endpoint
    (interface, MAC, socket, history, state file) that other roles share.

    ``state_file=False`` keeps nothing on disk (tests, scripts); ``None`` uses
    the default (``$XDG_STATE_HOME/scapy-dhcp/state.json``). ``endpoint`` puts
    the role on an endpoint that exists already."""

    def __init__(self, iface: str | None = None, *, mac: str | None = None,
                 state_file: str | bool | None = None, timeout: float = 3.0, window: float = 0.3,
                 backoff: Backoff | None = None, options: MessageOptions | None = None,
                 transport: Transport | None = None, history_limit: int = 10000,
                 endpoint: Endpoint | None = None) -> None:
        self.endpoint = endpoint or Endpoint(iface, mac=mac, state_file=state_file, transport=transport,
                                             history_limit=history_limit)
        self.timeout = timeout
        self.window = window
        self.backoff = backoff or Backoff()
        self.options = options or MessageOptions()
        self.state = ClientState.INIT
        self.lease: Lease | None = None
        self.offers: list[Offer] = []
        self.xid: int | None = None
        self.last: Any = None   # the last result: Result, SweepReport or LoadResult
        self._depth = 0                     # operations under way (dora runs two)
        self._finished: list[Result] = []   # results completed inside the outermost one
        self.endpoint.sections["client"] = self.to_dict
        self.endpoint.on_change.append(lambda: self._forget_lease("reset"))
        if self.endpoint.same_link:
            self._restore(self.endpoint.saved)

    def new_mac(self) -> str:
        """Switches to a fresh random locally administered MAC (a new client)."""
        self.mac = random_mac()
        self.endpoint.save()
        return self.mac

    def reset(self) -> None:
        """Back to INIT: no lease, no offers, no transaction. History stays."""
        self._forget_lease("reset")
        self.endpoint.save()

    def _forget_lease(self, event: str) -> None:
        if self.endpoint.has_socket:
            self.transport.forget_arp()
        self.lease, self.offers, self.xid = None, [], None
        self.state = next_state(self.state, event)

    # -- operations -------------------------------------------------------

    @interruptible("DISCOVER")
    def discover(self, *, timeout: float | None = None, window: float | None = None,
                 **options: Any) -> Result:
        """Broadcasts a DISCOVER and collects every OFFER that arrives up to
        ``window`` seconds after the first (two servers on a link both show)."""
        opts = self.options.merged(**options)
        self.xid = new_xid()
        self.state = next_state(self.state, "discover")
        frame = build_message(DISCOVER, mac=self.mac, xid=self.xid, opts=opts)
        ex = self._exchange("DISCOVER", frame, timeout, self.window if window is None else window,
                            lambda f: f.message_type == OFFER)
        offers = [f for f in ex.replies if f.message_type == OFFER]
        self.offers = [Offer(f) for f in offers if not f.malformed] or [Offer(f) for f in offers]
        result = self._result("DISCOVER", ex, "offered" if self.offers else "timeout")
        result.offers = list(self.offers)
        if not self.offers:
            self.state = next_state(self.state, "no-offer")
        return self._finish(result, ex, "OFFER")

    @interruptible("REQUEST")
    def request(self, address: str | None = None, *, offer: Offer | int | None = None,
                server_id: str | None = None, timeout: float | None = None, **options: Any) -> Result:
        """REQUESTs an offer (SELECTING), or, with ``address`` and no offer in
        hand, the INIT-REBOOT request for that address (no server id)."""
        opts = self.options.merged(**options)
        chosen = choose_offer(self.offers, address, offer)
        if chosen is not None:
            address, server_id = chosen.address, server_id or chosen.server_id
            event = "request-offer"
        elif address is not None:
            self.xid = new_xid()
            event = "request-offer" if server_id is not None else "request-address"
        else:
            raise UsageError("nothing to request: run discover() first, or request(address='10.0.0.5')")
        self.state = next_state(self.state, event)
        assert self.xid is not None
        frame = build_message(REQUEST, mac=self.mac, xid=self.xid, opts=opts, requested=address,
                              server_id=server_id)
        return self._ack_exchange("REQUEST", frame, timeout, server_id)

    @interruptible("DORA")
    def dora(self, *, timeout: float | None = None, window: float = 0.0, **options: Any) -> Result:
        """DISCOVER, then REQUEST the first offer. Returns one result holding both."""
        start = time.monotonic()
        first = self.discover(timeout=timeout, window=window, **options)
        second = self.request(offer=0, timeout=timeout, **options)
        result = Result("DORA", second.status, xid=second.xid, sent=first.sent + second.sent,
                        received=first.received + second.received,
                        ignored=first.ignored + second.ignored, offers=first.offers,
                        reply=second.reply, lease=second.lease, elapsed=time.monotonic() - start,
                        steps=[first, second], note=second.note)
        self.last = result
        return result

    @interruptible("RENEW")
    def renew(self, *, timeout: float | None = None, **options: Any) -> Result:
        """RENEWING: a REQUEST with ciaddr, unicast to the server that gave the lease."""
        lease = self._need_lease("renew")
        self.state, self.xid = next_state(self.state, "renew"), new_xid()
        dst_mac = mac_bytes(lease.server_mac) if lease.server_mac else BROADCAST_MAC
        frame = build_message(REQUEST, mac=self.mac, xid=self.xid, opts=self.options.merged(**options),
                              ciaddr=lease.address, dst_ip=lease.server_id or BROADCAST_IP,
                              dst_mac=dst_mac)
        return self._ack_exchange("RENEW", frame, timeout)

    @interruptible("REBIND")
    def rebind(self, *, timeout: float | None = None, **options: Any) -> Result:
        """REBINDING: a REQUEST with ciaddr, broadcast to any server."""
        lease = self._need_lease("rebind")
        self.state, self.xid = next_state(self.state, "rebind"), new_xid()
        frame = build_message(REQUEST, mac=self.mac, xid=self.xid, opts=self.options.merged(**options),
                              ciaddr=lease.address)
        return self._ack_exchange("REBIND", frame, timeout)

    @interruptible("RELEASE")
    def release(self, address: str | None = None, server_id: str | None = None,
                **options: Any) -> Result:
        """Sends a RELEASE (unicast to the server) and forgets the lease. No reply comes."""
        address, server_id, dst_mac = target(self.lease, address, server_id, "release")
        self.xid = new_xid()
        opts = self.options.merged(**options)
        frame = build_message(RELEASE, mac=self.mac, xid=self.xid,
                              opts=MessageOptions(**{**opts.__dict__, "param_req_list": None}),
                              ciaddr=address, server_id=server_id,
                              dst_ip=server_id or BROADCAST_IP, dst_mac=dst_mac)
        return self._send_only("RELEASE", frame, "release")

    @interruptible("DECLINE")
    def decline(self, address: str | None = None, server_id: str | None = None,
                message: str | None = None, **options: Any) -> Result:
        """Sends a DECLINE for an address (by default the lease's) and goes back to INIT."""
        address, server_id, _ = target(self.lease, address, server_id, "decline")
        self.xid = new_xid()
        opts = self.options.merged(**options)
        frame = build_message(DECLINE, mac=self.mac, xid=self.xid,
                              opts=MessageOptions(**{**opts.__dict__, "param_req_list": None}),
                              requested=address, server_id=server_id, message=message)
        return self._send_only("DECLINE", frame, "decline")

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
        self.transport.answer_arp(address, self.endpoint.mac_bytes)
        try:
            ex = self._exchange("INFORM", frame, timeout, 0.0, lambda f: f.message_type in (ACK, NAK))
        finally:
            if temporary:
                self.transport.forget_arp(address)
        reply = ex.replies[-1] if ex.replies else None
        status = "answered" if reply is not None and reply.message_type == ACK else (
            "refused" if reply is not None else "timeout")
        result = self._result("INFORM", ex, status)
        result.reply = reply
        return self._finish(result, ex, "ACK")

    def last_sent(self) -> Any:
        """The last frame sent, as a Scapy packet (None before the first)."""
        entry = self.history.last("out")
        return entry.packet if entry is not None else None

    def last_frame(self) -> Any:
        """The last frame sent or received, as a Scapy packet (None before the first)."""
        entry = self.history.last()
        return entry.packet if entry is not None else None

    # -- plumbing ---------------------------------------------------------

    def _need_lease(self, what: str) -> Lease:
        if self.lease is None:
            raise UsageError(f"no lease to {what}: run dora() first")
        return self.lease

    def _partial(self, operation: str, mark: int, steps: list[Result]) -> Result:
        """What an interrupted operation did: the frames recorded since ``mark``
        and the steps (of a DORA) that completed or were cut short."""
        entries = self.history.since(mark)
        done = [r.operation for r in steps if r.status != "interrupted"]
        return Result(operation, "interrupted", xid=self.xid,
                      sent=[(e.time, e.raw) for e in entries if e.direction == "out"],
                      received=[e.frame for e in entries if e.direction == "in"],
                      offers=steps[0].offers if steps else [], steps=steps,
                      note=f"Ctrl-C after {' and '.join(done) or 'nothing'} completed" if steps
                      else "Ctrl-C before it finished")

    def _exchange(self, operation: str, frame: bytes, timeout: float | None, window: float,
                  done: Callable[[Frame], bool]) -> Exchange:
        assert self.xid is not None
        giaddr = frame[FRAME_GIADDR:FRAME_GIADDR + 4]
        if giaddr.strip(b"\0"):
            # As a relay agent, answer ARP for giaddr: the server unicasts to it.
            self.transport.answer_arp(ip_str(giaddr), self.endpoint.mac_bytes)
        return self.endpoint.exchange(frame, operation, xid=self.xid, chaddr=self.endpoint.mac_bytes,
                                      timeout=self.timeout if timeout is None else timeout,
                                      backoff=self.backoff, window=window, done=done)

    def _result(self, operation: str, ex: Exchange, status: str) -> Result:
        start = ex.sent[0][0] if ex.sent else time.monotonic()
        end = ex.replies[-1].time if ex.replies else self.transport.clock()
        return Result(operation, status, xid=self.xid, sent=ex.sent, received=ex.replies, ignored=ex.ignored,
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
        status = "timeout" if reply is None else ("bound" if reply.message_type == ACK else "refused")
        if status == "bound" and reply is not None and reply.malformed:
            status = "malformed"  # a bogus ACK binds no lease: the frame is kept, with why
        result = self._result(operation, ex, status)
        result.reply = reply
        if status == "malformed" and reply is not None:
            result.note = f"the ACK is malformed ({'; '.join(reply.problems)}): no lease bound"
            self.state = next_state(self.state, "timeout", has_lease=self.lease is not None)
        elif reply is not None and reply.message_type == ACK:
            self.lease = Lease.from_ack(reply, iface=self.iface)
            self.state, self.offers = next_state(self.state, "ack"), []
            self.transport.forget_arp()
            self.transport.answer_arp(self.lease.address, self.endpoint.mac_bytes)
            result.lease = self.lease
        elif reply is not None:
            self._forget_lease("nak")
        else:
            self.state = next_state(self.state, "timeout", has_lease=self.lease is not None)
        return self._finish(result, ex, "ACK or NAK")

    def _send_only(self, operation: str, frame: bytes, event: str) -> Result:
        t = self.endpoint.send(frame, operation, self.xid)
        result = Result(operation, "sent", xid=self.xid, sent=[(t, frame)])
        self._forget_lease(event)
        return self._finish(result, None, "")

    def _finish(self, result: Result, ex: Exchange | None, expected: str) -> Result:
        self.last = result
        self._finished.append(result)
        if ex is not None and ex.overflow:
            result.note = f"{ex.overflow} more copies dropped (a flood)"
        if result.status == "timeout":
            raise DhcpTimeout(timeout_message(result, expected, self.iface), result)
        return result

    # -- persistence ------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The client's part of the state file."""
        return {"state": self.state.value, "xid": self.xid,
                "lease": self.lease.to_dict() if self.lease else None,
                "offers": [{"hex": o.frame.raw.hex()} for o in self.offers]}

    def _restore(self, saved: dict[str, Any]) -> None:
        try:
            if saved.get("state") in ClientState._value2member_map_:
                self.state = ClientState(saved["state"])
            if isinstance(saved.get("xid"), int):
                self.xid = saved["xid"]
            if isinstance(saved.get("lease"), dict):
                self.lease = Lease.from_dict(saved["lease"])
            self.offers = [Offer(parse_frame(bytes.fromhex(o["hex"]))) for o in saved.get("offers") or []]
        except (TypeError, ValueError, KeyError) as exc:
            self.messages.append(f"part of the saved state was unusable ({exc}); starting from INIT")
            self.lease, self.offers, self.xid, self.state = None, [], None, ClientState.INIT

    def _save_noting(self, result: Result | None) -> None:
        """Saves (see :func:`.interrupts.interruptible`: once an operation); a
        failure is a note on the result, never a lost operation."""
        self.endpoint.save()
        if self.save_error and isinstance(result, Result):
            result.note = (result.note + "; " if result.note else "") + f"state not saved: {self.save_error}"

    def save(self) -> str:
        """Saves now; returns the state file's path."""
        if self.store is None:
            raise UsageError("this session keeps no state file")
        self.endpoint.save(now=True)
        if self.save_error:
            raise StateError(self.save_error)
        return str(self.store.path)

    # -- display ----------------------------------------------------------

    def summary_lines(self) -> list[str]:
        lines = [f"iface {self.iface or '-'}  mac {self.endpoint.describe_mac()}  state {self.state.value}"
                 + (f"  xid {self.xid:#010x}" if self.xid is not None else "")]
        lines.append(f"lease {self.lease!r}" if self.lease else "lease none")
        if self.offers:
            lines.append("offers " + ", ".join(f"{o.address} from {o.server_id}" for o in self.offers))
        lines.append(f"history {len(self.history)} frames; state file "
                     + (str(self.store.path) if self.store else "none"))
        return lines

    def __repr__(self) -> str:
        return f"<{type(self).__name__}\n  " + "\n  ".join(self.summary_lines()) + ">"

    def _repr_html_(self) -> str:
        import html

        return "<pre>" + html.escape("\n".join(self.summary_lines())) + "</pre>"
