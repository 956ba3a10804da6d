"""Server checks, part three: the client identifier (RFC 6842, RFC 4361), relay
agent sub-options (RFC 3046, 3527, 5107), what a server owes a client it knows
or does not (a retransmitted REQUEST, the address back after a RELEASE,
INIT-REBOOT from a stranger, BOOTP), option 55's order and RFC 8925's option
108, leasequery (RFC 4388); and the server side of the CVE record, each request
followed by a check that the server still OFFERs to a new client.
Registered after :mod:`.server_checks4_fields`.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import Any, Callable

from ..wire import (
    ACK,
    BOOTP_AT,
    DISCOVER,
    FRAME_OPTIONS,
    NAK,
    OFFER,
    REQUEST,
    Bootp,
    ip_udp_frame,
    iter_options,
    mac_bytes,
    new_xid,
    patch_checksums,
    random_mac,
    walk_options,
)
from ..wire.frames4 import Frame, parse_frame
from ..wire.messages4 import MessageOptions
from .checks import MUST, SHOULD, Outcome, broken, met, not_applicable
from .server_checks4_life import everything
from .server_probe4 import WRONG_NETWORK, Client, ServerProbe, kind_name, nak_of, need, server_catalog

CHECKS, server_check = server_catalog()
ROBUST, robust_check = server_catalog()   # run late, before the destructive checks (server_checks4)
LEASEQUERY, LEASEUNASSIGNED, LEASEUNKNOWN, LEASEACTIVE = 10, 11, 12, 13


def _node_id(mac: bytes, interface: int = 0) -> bytes:
    """RFC 4361 6.1: type 255, an IAID, then a DUID (DUID-LL of the MAC); the node's
    ``interface``-th interface has its own IAID, so its own identifier, whatever the MAC."""
    iaid = (int.from_bytes(mac[2:6], "big") ^ interface).to_bytes(4, "big")
    return b"\xff" + iaid + b"\x00\x03\x00\x01" + mac


def _with_id(t: ServerProbe, name: str) -> Client:
    """A client of the checks' own that sends an RFC 4361 identifier (type 255) as option 61."""
    c = t.client(name)
    if c.client_id is None or c.client_id[:1] != b"\xff":
        c.client_id = _node_id(mac_bytes(random_mac()))
    return c


# -- the client identifier ------------------------------------------------------------------------

@server_check("client-id-echoed", "6842 3", MUST, "OFFER and ACK echo the client identifier (option 61) unchanged")
def client_id_echoed(t: ServerProbe) -> Any:
    _with_id(t, "cid")
    c = t.bound("cid")
    bad = [f for f in (need(c.offer, "OFFER"), need(c.ack, "ACK")) if f.options.get(61) != c.client_id]
    if bad:
        got = bad[0].options.get(61)
        return broken(f"the {bad[0].type_name} carries {'no option 61' if got is None else 'option 61 ' + got.hex()}")
    return met(f"option 61 ({len(c.client_id or b'')} bytes, RFC 4361's type 255) echoed in the OFFER and the ACK")


@server_check("client-id-echoed-in-nak", "6842 3", MUST, "a NAK echoes the client identifier unchanged")
def client_id_echoed_in_nak(t: ServerProbe) -> Any:
    c = _with_id(t, "cid")
    got = nak_of(t.ask(REQUEST, c, requested=WRONG_NETWORK, opts=MessageOptions(),
                       done=lambda f: f.message_type == NAK))
    if got is None:
        return not_applicable(f"no NAK to an INIT-REBOOT for {WRONG_NETWORK}")
    return met("option 61 echoed in the NAK") if got.options.get(61) == c.client_id else broken(
        "the NAK does not echo option 61")


@server_check("client-id-identifies-client", "2131 4.2", MUST,
              "two clients with one chaddr and two client identifiers get two addresses (RFC 4361: one per interface)")
def client_id_identifies_client(t: ServerProbe) -> Any:
    # On a link that passes unicast only to its own MAC (a labgrid remote place), that MAC is the chaddr.
    mac = t.endpoint.mac_bytes if t.transport.single_mac else mac_bytes(random_mac())
    one, two = Client(mac, client_id=_node_id(mac)), Client(mac, client_id=_node_id(mac, interface=1))
    t.transport.local_macs.add(mac)
    t.clients["cid-1"], t.clients["cid-2"] = one, two
    first, second = need(t.bound("cid-1").ack, "ACK"), need(t.bound("cid-2").ack, "ACK for the second identifier")
    return met(f"{first.yiaddr} and {second.yiaddr}") if first.yiaddr != second.yiaddr else broken(
        f"both identifiers on {mac.hex(':')} were given {first.yiaddr}: the server keys on chaddr")


# -- relay agent information ----------------------------------------------------------------------

def _suboptions(t: ServerProbe) -> tuple[bytes, str]:
    relay = need(t.bound("a").ack, "ACK").yiaddr   # an address the checks hold and answer ARP for
    net = t.network()
    link = bytes(ipaddress.IPv4Address(str(net.network_address) if net else relay).packed)
    subs = (b"\x01\x0aport-7/1/3" + b"\x02\x06scapy!" + b"\x05\x04" + link
            + b"\x0b\x04" + ipaddress.IPv4Address(relay).packed)
    return subs, relay


def _relayed_subs(t: ServerProbe) -> Frame | None:
    def make() -> Frame | None:
        subs, relay = _suboptions(t)
        c = t.client("relay-subs")
        return t.ask(DISCOVER, c, opts=MessageOptions(giaddr=relay, options=[(82, subs)]),
                     done=lambda f: f.message_type == OFFER).reply
    return t.once("relay-subs", make)


@server_check("relay-suboptions-echoed", "3046 2.2", MUST,
              "option 82 with sub-options 1, 2, 5 (RFC 3527) and 11 (RFC 5107) comes back byte for byte")
def relay_suboptions_echoed(t: ServerProbe) -> Any:
    got = need(_relayed_subs(t), "OFFER to the relayed DISCOVER")
    sent = _suboptions(t)[0]
    echoed = got.options.get(82)
    return met("option 82 echoed with its 4 sub-options") if echoed == sent else broken(
        f"option 82 came back as {echoed.hex() if echoed else 'nothing'}, sent {sent.hex()}")


@server_check("relay-server-id-override", "5107 4", MUST,
              "a server that honours sub-option 11 puts its address in option 54 (else it ignores it)")
def relay_server_id_override(t: ServerProbe) -> Any:
    got = need(_relayed_subs(t), "OFFER to the relayed DISCOVER")
    override = _suboptions(t)[1]
    if got.server_id is None:
        return not_applicable("the OFFER has no option 54 (offer-has-server-id judges that)")
    if got.server_id == override:
        return met(f"option 54 is {override}, the override")
    if got.server_id == t.server_id:
        return not_applicable("it does not implement RFC 5107: option 54 is its own address")
    return broken(f"option 54 is {got.server_id}: neither its own ({t.server_id}) nor the override ({override})")


# -- a client it knows, or not ----------------------------------------------------------------------

@server_check("retransmitted-request-same-answer", "2131 4.4.1", SHOULD,
              "a REQUEST retransmitted with the same xid gets the same ACK")
def retransmitted_request_same_answer(t: ServerProbe) -> Any:
    c = t.bound("a")
    offer, ack = need(c.offer, "OFFER"), need(c.ack, "ACK")
    again = t.ask(REQUEST, c, xid=offer.xid, requested=offer.yiaddr, server_id=offer.server_id or t.server_id,
                  done=lambda f: f.message_type in (ACK, NAK)).reply
    if again is not None and again.message_type == ACK and again.yiaddr == ack.yiaddr:
        return met(f"ACK for {again.yiaddr} again")
    return broken(f"the retransmission got {kind_name(again)}" + (f" for {again.yiaddr}" if again else ""))


@server_check("same-address-after-release", "2131 4.3.1", SHOULD,
              "a client that RELEASEd its address is offered it again")
def same_address_after_release(t: ServerProbe) -> Any:
    c = t.bound("back")
    ack = need(c.ack, "ACK")
    t.release(c, ack.yiaddr, ack.server_id)
    c.ack = None
    again = t.offered(c)
    return met(f"offered {again.yiaddr} again") if again.yiaddr == ack.yiaddr else broken(
        f"released {ack.yiaddr}, offered {again.yiaddr}")


@server_check("init-reboot-unknown-client-silent", "2131 4.3.2", MUST,
              "an INIT-REBOOT REQUEST from a client it has no record of gets no reply")
def init_reboot_unknown_client_silent(t: ServerProbe) -> Any:
    net = t.network()
    if net is None:
        return not_applicable("no network learnt from the OFFER")
    held = {x.address for x in t.clients.values() if x.address}
    address = next(str(a) for a in reversed(list(net.hosts())[-8:]) if str(a) not in held)
    got = t.silent(REQUEST, t.client("stranger"), requested=address, opts=MessageOptions()).reply
    return met(f"silent for {t.quiet:g} s") if got is None else broken(
        f"it answered a stranger's INIT-REBOOT for {address} with a {got.type_name}")


@server_check("bootp-request-answered-as-bootp", "1534 2", MUST,
              "a BOOTREQUEST with no option 53 is ignored or answered with a BOOTREPLY without option 53")
def bootp_request(t: ServerProbe) -> Any:
    c, xid = t.client("bootp"), new_xid()
    raw = t.message(DISCOVER, c, xid, MessageOptions(broadcast=True, param_req_list=None))
    got = t.ask(DISCOVER, c, xid=xid, wait=t.quiet, frame=_without_53(raw)).reply
    if got is None:
        return met(f"it does not serve BOOTP clients: silent for {t.quiet:g} s")
    if got.message_type is not None:
        return broken(f"it answered BOOTP with a DHCP {got.type_name} (option 53)")
    return met(f"a BOOTREPLY for {got.yiaddr}, no option 53")


def _without_53(raw: bytes) -> bytes:
    frame = bytearray(raw)
    at = next(at for at, code, _p in iter_options(raw, FRAME_OPTIONS) if code == 53)
    frame[at:at + 3] = b"\0\0\0"   # PAD in its place
    patch_checksums(frame)
    return bytes(frame)


# -- options asked for ------------------------------------------------------------------------------

@server_check("param-request-list-order", "2132 9.8", SHOULD,
              "the options asked for come in the order option 55 lists them")
def param_request_list_order(t: ServerProbe) -> Any:
    from .server_probe4 import NOT_PARAMETERS

    known = [code for code in everything(t).option_order if code not in NOT_PARAMETERS][:4]
    if len(known) < 2:
        return not_applicable("the server has fewer than two parameter options")
    wanted = list(reversed(known))
    got = need(t.ask(DISCOVER, t.client("o"), opts=MessageOptions(broadcast=True, param_req_list=wanted),
                     done=lambda f: f.message_type == OFFER).reply, "OFFER")
    order = [code for code in got.option_order if code in wanted]
    return met(f"asked {wanted}, got them in that order") if order == [c for c in wanted if c in order] else broken(
        f"asked {wanted}, got {order}")


@server_check("opt108-only-when-asked", "8925 3.3", MUST,
              "option 108 (IPv6-only preferred) goes only to a client that listed it in option 55")
def opt108_only_when_asked(t: ServerProbe) -> Any:
    offer = need(t.offer("a").offer, "OFFER")
    return met("no option 108 to a client that did not ask") if 108 not in offer.options else broken(
        "option 108 in the OFFER to a client that did not ask for it (an IPv4-only client would turn IPv4 off)")


@server_check("opt108-well-formed", "8925 3.3", MUST, "option 108, to a client that asks for it, is 4 bytes")
def opt108_well_formed(t: ServerProbe) -> Any:
    got = need(t.ask(DISCOVER, t.client("v6only"), opts=MessageOptions(broadcast=True, param_req_list=(1, 3, 108)),
                     done=lambda f: f.message_type == OFFER).reply, "OFFER")
    value = got.options.get(108)
    if value is None:
        return not_applicable("no option 108 configured: it is not sent")
    return met(f"V6ONLY_WAIT {struct.unpack('!I', value)[0]} s") if len(value) == 4 else broken(
        f"option 108 of {len(value)} bytes")


@server_check("leasequery-answered", "4388 6.1", MUST,
              "a DHCPLEASEQUERY by IP for a bound address gets DHCPLEASEACTIVE (or no answer: unsupported)")
def leasequery_answered(t: ServerProbe) -> Any:
    held = t.bound("a")
    ack = need(held.ack, "ACK")
    relay = need(t.bound("b").ack, "ACK for a second client").yiaddr
    xid = new_xid()
    raw = bytearray(t.message(DISCOVER, t.client("lq"), xid, MessageOptions(param_req_list=None, giaddr=relay)))
    raw[BOOTP_AT + Bootp.CIADDR:BOOTP_AT + Bootp.CIADDR + 4] = ipaddress.IPv4Address(ack.yiaddr).packed
    raw[BOOTP_AT + Bootp.CHADDR:BOOTP_AT + Bootp.CHADDR + 16] = bytes(16)   # by IP: no chaddr (RFC 4388 6.1)
    raw[BOOTP_AT + Bootp.HLEN] = 0
    raw[FRAME_OPTIONS + 2] = LEASEQUERY
    patch_checksums(raw)
    replies = [f for f in t.ask(DISCOVER, t.client("lq"), xid=xid, frame=bytes(raw), wait=t.quiet).strays
               if f.xid == xid]
    got = replies[0] if replies else None
    if got is None:
        return not_applicable(f"no answer in {t.quiet:g} s: it does not implement leasequery")
    if got.message_type == LEASEACTIVE:
        return met(f"DHCPLEASEACTIVE for {ack.yiaddr}")
    return broken(f"a bound address got message type {got.message_type}, not DHCPLEASEACTIVE (13)")


# -- the CVE record, server side: an odd request, then a new client must still get an OFFER ---------------

def _spliced(raw: bytes, extra: bytes) -> bytes:
    """``raw`` with ``extra`` option bytes before its END, lengths and checksums made right."""
    at = walk_options(raw, FRAME_OPTIONS).end or len(raw)
    f = parse_frame(raw)
    payload = raw[BOOTP_AT:at] + extra + b"\xff"
    return ip_udp_frame(payload.ljust(300, b"\0"), src_mac=raw[6:12], dst_mac=raw[0:6], src_ip=f.ip_src or "0.0.0.0",
                        dst_ip=f.ip_dst or "255.255.255.255", sport=68, dport=67)


def _hops(raw: bytes) -> bytes:
    frame = bytearray(raw)
    frame[BOOTP_AT + Bootp.HOPS] = 17
    patch_checksums(frame)
    return bytes(frame)


def _split(code: int, data: bytes) -> bytes:
    return b"".join(bytes([code, len(data[i:i + 255])]) + data[i:i + 255] for i in range(0, len(data), 255))


LONG_NAME = (b"\x3f" + b"f" * 63) * 4 + b"\x28" + b"g" * 40 + b"\x00"   # 298 bytes, in DNS wire form
ODD: list[tuple[str, str, Callable[[bytes], bytes]]] = [
    ("client-id-0", "a client identifier (61) of 0 bytes", lambda raw: _spliced(raw, b"\x3d\x00")),
    ("client-id-254", "a client identifier of 254 bytes", lambda raw: _spliced(raw, b"\x3d\xfe\x01" + b"c" * 253)),
    ("hostname-0", "a host name (12) of 0 bytes", lambda raw: _spliced(raw, b"\x0c\x00")),
    ("hostname-300", "a host name of 300 bytes in two instances (RFC 3396)",
     lambda raw: _spliced(raw, _split(12, b"h" * 300))),
    ("fqdn-0", "a client FQDN (81) of 0 bytes", lambda raw: _spliced(raw, b"\x51\x00")),
    ("fqdn-300", "a client FQDN whose name is 300 bytes (RFC 3396)",
     lambda raw: _spliced(raw, _split(81, b"\x05\x00\x00" + LONG_NAME))),
    ("opt92-255", "option 92 claiming 255 bytes, swallowing the rest of the message",
     lambda raw: _spliced(raw, b"\x5c\xff")),
    ("opt57-200", "a maximum message size (57) of 200, below 576", lambda raw: _spliced(raw, b"\x39\x02\x00\xc8")),
    ("opt57-65535", "a maximum message size of 65535", lambda raw: _spliced(raw, b"\x39\x02\xff\xff")),
    ("hops-17", "hops 17 (RFC 1542 4.1.1: a relay discards over 16)", _hops),
]


def _survives(name: str, what: str, make: Callable[[bytes], bytes]) -> Callable[[ServerProbe], Outcome]:
    def run(t: ServerProbe) -> Outcome:
        odd, xid = t.client(f"odd-{name}"), new_xid()
        frame = make(t.message(DISCOVER, odd, xid))
        answer = t.ask(DISCOVER, odd, xid=xid, frame=frame, wait=t.quiet).reply
        fresh = t.ask(DISCOVER, t.client(f"after-{name}"), done=lambda f: f.message_type == OFFER).reply
        said = f"it answered with a {answer.type_name}" if answer is not None else "it did not answer"
        return met(f"{said}; then a new client was offered {fresh.yiaddr}") if fresh is not None else broken(
            f"{said}, and no OFFER to a new client since: the server may be dead")
    return run


for _name, _what, _make in ODD:
    robust_check(f"survives-{_name}", "1122 1.2.2", MUST,
                 f"after a DISCOVER with {_what}, the server still OFFERs")(_survives(_name, _what, _make))
