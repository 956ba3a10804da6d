"""The client side of ``check_server()``: clients of the checks' own on the
endpoint's socket, one message at a time, and the exchanges several checks
judge, made once. The checks themselves are in :mod:`.server_checks`."""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable

from ..errors import DhcpError, DhcpTimeout
from ..link.exchange import Backoff
from ..wire import ACK, BROADCAST_IP, DISCOVER, NAK, OFFER, RELEASE, REQUEST, mac_bytes, mac_str, new_xid, random_mac
from ..wire.frames4 import Frame
from ..wire.messages4 import MessageOptions, build_message
from .checks import Check, NoEvidence, Recorder, catalog

if TYPE_CHECKING:
    from .host import Host

WRONG_NETWORK = "192.0.2.77"   # TEST-NET-1 (RFC 5737): on no network a server serves


@dataclass
class Ask:
    """One message sent and what the server under test sent back: ``replies``
    carry our xid and chaddr; ``strays`` are its replies that match only one."""

    sent: list[tuple[float, bytes]] = field(default_factory=list)
    replies: list[Frame] = field(default_factory=list)
    strays: list[Frame] = field(default_factory=list)
    offset: float = 0.0   # the socket's clock to the wall's, for the evidence's timestamps (pcapng)

    @property
    def reply(self) -> Frame | None:
        return self.replies[0] if self.replies else None

    @property
    def frames(self) -> list[tuple[str, bytes, float]]:
        return ([("out", raw, t + self.offset) for t, raw in self.sent]
                + [("in", f.raw, f.time + self.offset)
                   for f in sorted(self.replies + self.strays, key=lambda f: f.time)])


@dataclass
class Client:
    """A client of the checks' own: its chaddr, and its OFFER and ACK once it has
    them. On a link that passes unicast only to its own MAC, every client's chaddr
    is that MAC and ``client_id`` (option 61, RFC 2132 9.14) tells them apart."""

    mac: bytes
    client_id: bytes | None = None
    asks: list[Ask] = field(default_factory=list)
    offer: Frame | None = None
    ack: Frame | None = None

    @property
    def address(self) -> str | None:
        return self.ack.yiaddr if self.ack is not None else None

    @property
    def frames(self) -> list[tuple[str, bytes, float]]:
        return [f for a in self.asks for f in a.frames]


class ServerProbe:
    """What a server check works with: the endpoint's socket, the server under
    test (the first to OFFER, or ``server``), clients of its own, and a
    recorder for the current check's evidence."""

    def __init__(self, session: Host, *, wait: float = 4.0, quiet: float = 1.0,
                 server: str | None = None) -> None:
        self.session = session
        self.endpoint = session.endpoint
        self.transport = session.endpoint.transport
        self.wait, self.quiet = wait, quiet
        self.recorder = Recorder()
        self.server_id = server
        self.server_mac: bytes | None = None
        self.clients: dict[str, Client] = {}
        self.memo: dict[str, Any] = {}
        self.arp: list[str] = []

    # -- sending -------------------------------------------------------------

    def ask(self, msg_type: int, who: Client, *, xid: int | None = None, wait: float | None = None,
            done: Callable[[Frame], bool] | None = None, frame: bytes | None = None,
            opts: MessageOptions | None = None, **build: Any) -> Ask:
        """Sends one message from ``who`` (``frame`` as given, or built from the
        arguments) and collects the server's replies until one is ``done``
        (default: any) or ``wait`` runs out. Every frame goes to the current
        check's evidence."""
        xid = new_xid() if xid is None else xid
        mac = who.mac
        if frame is None:
            frame = self.message(msg_type, who, xid, opts, **build)
        ask = Ask(offset=time.time() - self.transport.clock())
        done = done or (lambda f: True)
        finished: list[Frame] = []
        end_at = [self.transport.clock() + (self.wait if wait is None else wait)]

        def on_receive(f: Frame, ours: bool) -> None:
            self.endpoint.record("in" if ours else "ignored", f.raw, "CHECK", xid)
            if not self._from_server(f):
                return
            if ours:
                ask.replies.append(f)
                if done(f):
                    finished.append(f)
            elif f.xid == xid or (f.chaddr == mac and who.client_id in (None, f.options.get(61))):
                ask.strays.append(f)

        def on_send(t: float, raw: bytes) -> None:
            ask.sent.append((t, raw))
            self.endpoint.record("out", raw, "CHECK", xid)

        # One send (no retransmission: a device that needs one fails the wait), then read until done.
        self.transport.exchange(frame, xid=xid, chaddr=mac, timeout=end_at[0] - self.transport.clock(),
                                backoff=_ONCE, done=lambda f: self._from_server(f) and done(f),
                                on_send=on_send, on_receive=on_receive)
        self.recorder.cite(ask.frames)
        return ask

    @staticmethod
    def message(msg_type: int, who: Client, xid: int, opts: MessageOptions | None = None, **build: Any) -> bytes:
        """A message from ``who``, as :meth:`ask` sends it (the broadcast flag set
        unless ``opts`` says otherwise; option 61 when the client has one)."""
        opts = opts or MessageOptions(broadcast=True)
        if who.client_id is not None:
            opts = replace(opts, client_id=who.client_id)
        return build_message(msg_type, mac=who.mac, xid=xid, opts=opts, **build)

    def _from_server(self, f: Frame) -> bool:
        if self.server_mac is not None:
            return f.eth_src == self.server_mac
        return self.server_id is None or f.server == self.server_id

    def offered(self, who: Client, requested: str | None = None, **kw: Any) -> Frame:
        """The OFFER to a DISCOVER from ``who`` (asking for ``requested``); none is no evidence."""
        got = self.ask(DISCOVER, who, requested=requested, done=lambda f: f.message_type == OFFER, **kw).reply
        return need(got, "OFFER")

    def silent(self, msg_type: int, who: Client, **kw: Any) -> Ask:
        """Sends a message that should get no reply and listens ``quiet`` seconds."""
        return self.ask(msg_type, who, wait=self.quiet, **kw)

    # -- clients of our own ---------------------------------------------------

    def client(self, name: str) -> Client:
        """A fresh client by name (the same one each time it is asked for)."""
        if name not in self.clients:
            own = mac_bytes(random_mac())
            if self.transport.single_mac:   # the link's MAC, told apart by option 61 (type 1, the MAC)
                self.clients[name] = Client(self.endpoint.mac_bytes, client_id=b"\x01" + own)
            else:
                self.clients[name] = Client(own)
            self.transport.local_macs.add(self.clients[name].mac)   # our own serve()'s replies reach it
        return self.clients[name]

    def offer(self, name: str, **build: Any) -> Client:
        """The client ``name`` after a DISCOVER (broadcast flag set) and the OFFER."""
        c = self.client(name)
        if c.offer is None:
            ask = self.ask(DISCOVER, c, done=lambda f: f.message_type == OFFER, **build)
            c.asks.append(ask)
            c.offer = next((f for f in ask.replies if f.message_type == OFFER), None)
        else:
            self.recorder.cite(c.frames)
        return c

    def bound(self, name: str) -> Client:
        """The client ``name`` after a whole DORA; it answers ARP for its address from then on."""
        c = self.offer(name)
        if c.ack is None and c.offer is not None:
            ask = self.ask(REQUEST, c, xid=c.offer.xid, requested=c.offer.yiaddr,
                           server_id=c.offer.server_id or self.server_id,
                           done=lambda f: f.message_type in (ACK, NAK))
            c.asks.append(ask)
            c.ack = next((f for f in ask.replies if f.message_type == ACK), None)
            if c.ack is not None:
                self.transport.answer_arp(c.ack.yiaddr, c.mac)
                self.arp.append(c.ack.yiaddr)
        else:
            self.recorder.cite(c.frames)
        return c

    def once(self, key: str, make: Callable[[], Any]) -> Any:
        """An exchange several checks judge: made once, its frames cited by each."""
        if key not in self.memo:
            mark = len(self.recorder.frames)
            value = make()
            self.memo[key] = (value, self.recorder.frames[mark:])
        else:
            self.recorder.cite(self.memo[key][1])
        return self.memo[key][0]

    def learn(self) -> Client:
        """The server under test: the first to OFFER (or the one named). No OFFER at all is an error."""
        first = self.offer("a")
        odd = [f for a in first.asks for f in a.replies + a.strays if f.op != 2 or f.message_type is None]
        if first.offer is None and odd:
            what = f"op {odd[0].op}" if odd[0].op != 2 else "no DHCP message type (no magic cookie, or no option 53)"
            raise DhcpError(f"a server ({mac_str(odd[0].eth_src)}) answered the DISCOVER with a reply no client "
                            f"can read ({what}): no server to check")
        if first.offer is None:
            raise DhcpTimeout(f"no DHCP server answered a DISCOVER on {self.endpoint.iface} within "
                              f"{self.wait:g} s; check the link, or raise wait=")
        self.server_mac = first.offer.eth_src
        self.server_id = self.server_id or first.offer.server
        return first

    def release(self, who: Client, address: str, server_id: str | None, *, wait: float = 0.2) -> Ask:
        """A RELEASE of ``address`` from ``who`` (no reply comes; ``wait`` listens for one anyway)."""
        sid = server_id or self.server_id
        return self.ask(RELEASE, who, wait=wait, ciaddr=address, server_id=sid,
                        opts=MessageOptions(param_req_list=None), dst_ip=sid or BROADCAST_IP)

    def cleanup(self) -> None:
        """Releases the leases the checks took, and stops answering ARP for them."""
        for c in self.clients.values():
            if c.ack is not None:
                try:
                    self.release(c, c.ack.yiaddr, c.ack.server_id, wait=0.0)
                except DhcpError:
                    pass   # the link went: the leases expire on their own
        for address in self.arp:
            self.transport.forget_arp(address)
        for c in self.clients.values():
            self.transport.local_macs.discard(c.mac)

    # -- helpers for the checks ---------------------------------------------

    def nak(self) -> Ask:
        """INIT-REBOOT for an address on another network, by a client the server knows."""
        def make() -> Ask:
            c = self.bound("a")
            # The broadcast bit clear: a NAK is broadcast all the same (4.1).
            return self.ask(REQUEST, c, requested=WRONG_NETWORK, opts=MessageOptions(),
                            done=lambda f: f.message_type == NAK)
        return self.once("nak", make)

    def network(self) -> ipaddress.IPv4Network | None:
        offer = self.offer("a").offer
        if offer is None:
            return None
        mask = offer.subnet_mask or "255.255.255.0"
        try:
            return ipaddress.IPv4Network(f"{offer.yiaddr}/{mask}", strict=False)
        except ValueError:
            return None


_ONCE = Backoff(first=1e9)   # one send: a device that needs a retransmission fails the wait


def nak_of(ask: Ask) -> Frame | None:
    return next((f for f in ask.replies if f.message_type == NAK), None)


def kind_name(f: Frame | None) -> str:
    return f.type_name if f is not None else "nothing"


def need(f: Frame | None, what: str) -> Frame:
    if f is None:
        raise NoEvidence(f"no {what} came within the wait, so this cannot be judged")
    return f


FOREIGN_SERVER = "192.0.2.1"     # TEST-NET-1 (RFC 5737): a server that is not on any link
EVERY_OPTION = tuple(range(1, 255))
NOT_PARAMETERS = {0, 50, 51, 52, 53, 54, 55, 57, 58, 59, 61, 82, 255}


def server_catalog() -> tuple[list[Check], Any]:
    """A part of the server catalog and the decorator that adds a check to it
    (``server_checks4`` joins the parts, in the order they run)."""
    checks: list[Check] = []
    return checks, catalog(checks)
