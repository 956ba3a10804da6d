"""Server checks, part one: what an OFFER, an ACK and a NAK must carry and where
they must go (RFC 2131 4.1, 4.3.1, 4.3.2 and table 3). Registered, in order, in
:data:`CHECKS`, which :mod:`.server_checks4` runs first."""

from __future__ import annotations

from typing import Any

from ..wire import (
    ACK,
    BROADCAST_FLAG,
    BROADCAST_IP,
    BROADCAST_MAC,
    DISCOVER,
    NAK,
    OFFER,
    REQUEST,
    ZERO_IP,
    mac_str,
)
from ..wire.messages4 import MessageOptions
from .checks import MUST, SHOULD, broken, met, not_applicable
from .server_probe4 import (
    FOREIGN_SERVER,
    WRONG_NETWORK,
    ServerProbe,
    kind_name,
    nak_of,
    need,
    server_catalog,
)

CHECKS, server_check = server_catalog()   # this part of the catalog, in the order it runs


@server_check("offer-has-server-id", "2131 4.3.1", MUST, "an OFFER carries option 54, the server identifier")
def offer_has_server_id(t: ServerProbe) -> Any:
    offer = need(t.offer("a").offer, "OFFER")
    return met(f"option 54 is {offer.server_id}") if offer.server_id else broken("the OFFER has no option 54")


@server_check("offer-has-lease-time", "2131 4.3.1", MUST, "an OFFER carries option 51, the lease time")
def offer_has_lease_time(t: ServerProbe) -> Any:
    offer = need(t.offer("a").offer, "OFFER")
    return met(f"lease time {offer.lease_time} s") if offer.lease_time is not None else broken(
        "the OFFER has no option 51")


@server_check("offer-ciaddr-zero", "2131 4.3.1", MUST, "an OFFER's ciaddr is 0 (table 3)")
def offer_ciaddr_zero(t: ServerProbe) -> Any:
    offer = need(t.offer("a").offer, "OFFER")
    return met("ciaddr is 0.0.0.0") if offer.ciaddr == ZERO_IP else broken(f"ciaddr is {offer.ciaddr}")


@server_check("offer-yiaddr-set", "2131 4.3.1", MUST, "an OFFER's yiaddr is the address offered, not 0")
def offer_yiaddr_set(t: ServerProbe) -> Any:
    offer = need(t.offer("a").offer, "OFFER")
    return met(f"yiaddr {offer.yiaddr}") if offer.yiaddr != ZERO_IP else broken("yiaddr is 0.0.0.0")


@server_check("xid-echoed", "2131 4.3.1", MUST, "a reply carries the request's xid (table 3)")
def xid_echoed(t: ServerProbe) -> Any:
    c = t.bound("a")
    wrong = [f for a in c.asks for f in a.strays if f.chaddr == c.mac]
    if wrong:
        return broken(f"a {wrong[0].type_name} came with xid {wrong[0].xid:#010x}, not the request's")
    need(c.ack, "ACK")
    return met("the OFFER and the ACK carry the xids of the DISCOVER and the REQUEST")


@server_check("chaddr-echoed", "2131 4.3.1", MUST, "a reply carries the request's chaddr (table 3)")
def chaddr_echoed(t: ServerProbe) -> Any:
    c = t.bound("a")
    wrong = [f for a in c.asks for f in a.strays if f.chaddr != c.mac]
    if wrong:
        return broken(f"a {wrong[0].type_name} came with chaddr {wrong[0].chaddr.hex(':')}, not the request's")
    need(c.ack, "ACK")
    return met(f"the OFFER and the ACK carry chaddr {mac_str(c.mac)}")


@server_check("flags-echoed", "2131 4.3.1", MUST, "a reply carries the request's flags (table 3)")
def flags_echoed(t: ServerProbe) -> Any:
    c = t.bound("a")
    ack = need(c.ack, "ACK")
    offer = need(c.offer, "OFFER")
    bad = [f for f in (offer, ack) if f.flags != BROADCAST_FLAG]
    return broken(f"the {bad[0].type_name} has flags {bad[0].flags:#06x}; the request had 0x8000") if bad else met(
        "the OFFER and the ACK carry flags 0x8000, as sent")


@server_check("broadcast-when-flag-set", "2131 4.1", MUST,
              "with the broadcast bit set (giaddr, ciaddr 0), OFFER and ACK go to 255.255.255.255")
def broadcast_when_flag_set(t: ServerProbe) -> Any:
    c = t.bound("a")
    sent = (need(c.offer, "OFFER"), need(c.ack, "ACK"))
    bad = [f for f in sent if f.ip_dst != BROADCAST_IP]
    if bad:
        return broken(f"the {bad[0].type_name} went to {bad[0].ip_dst}")
    # 4.1 names the IP destination; the Ethernet one may be chaddr (Kea's), which reaches the client too.
    eth = "ff:ff:ff:ff:ff:ff" if all(f.eth_dst == BROADCAST_MAC for f in sent) else "chaddr"
    return met(f"the OFFER and the ACK went to 255.255.255.255 (Ethernet: {eth})")


@server_check("unicast-when-flag-clear", "2131 4.1", SHOULD,
              "with the broadcast bit clear (giaddr, ciaddr 0), OFFER and ACK go to chaddr and yiaddr")
def unicast_when_flag_clear(t: ServerProbe) -> Any:
    c = t.client("u")
    # A server that sends through its kernel ARPs for yiaddr first: learn it, and answer.
    first = t.ask(DISCOVER, c, done=lambda f: f.message_type == OFFER)
    offered = need(first.reply, "OFFER").yiaddr
    t.transport.answer_arp(offered, c.mac)
    t.arp.append(offered)
    clear = MessageOptions(broadcast=False)
    offer = need(t.ask(DISCOVER, c, opts=clear, done=lambda f: f.message_type == OFFER).reply, "OFFER")
    ack = need(t.ask(REQUEST, c, xid=offer.xid, opts=clear, requested=offer.yiaddr,
                      server_id=offer.server_id or t.server_id).reply, "ACK")
    c.ack = ack if ack.message_type == ACK else None
    bad = [f for f in (offer, ack) if f.ip_dst != f.yiaddr or f.eth_dst != c.mac]
    return broken(f"the {bad[0].type_name} went to {bad[0].ip_dst} ({bad[0].eth_dst.hex(':')}), "
                  f"not {bad[0].yiaddr} ({mac_str(c.mac)})") if bad else met(
        f"the OFFER and the ACK went to {offer.yiaddr} at {mac_str(c.mac)}")


# -- the ACK -----------------------------------------------------------------

@server_check("ack-has-server-id", "2131 4.3.1", MUST, "an ACK carries option 54 (table 3)")
def ack_has_server_id(t: ServerProbe) -> Any:
    ack = need(t.bound("a").ack, "ACK")
    return met(f"option 54 is {ack.server_id}") if ack.server_id else broken("the ACK has no option 54")


@server_check("ack-has-lease-time", "2131 4.3.1", MUST, "an ACK to a REQUEST carries option 51 (table 3)")
def ack_has_lease_time(t: ServerProbe) -> Any:
    ack = need(t.bound("a").ack, "ACK")
    return met(f"lease time {ack.lease_time} s") if ack.lease_time is not None else broken("the ACK has no option 51")


@server_check("ack-yiaddr-is-requested", "2131 4.3.2", MUST,
              "in SELECTING, the ACK gives the address the REQUEST asked for")
def ack_yiaddr_is_requested(t: ServerProbe) -> Any:
    c = t.bound("a")
    offer, ack = need(c.offer, "OFFER"), need(c.ack, "ACK")
    return met(f"{ack.yiaddr} as requested") if ack.yiaddr == offer.yiaddr else broken(
        f"requested {offer.yiaddr}, ACKed {ack.yiaddr}")


# -- the NAK -----------------------------------------------------------------

@server_check("init-reboot-wrong-network-nak", "2131 4.3.2", SHOULD,
              "an INIT-REBOOT REQUEST for an address on another network gets a NAK")
def init_reboot_wrong_network_nak(t: ServerProbe) -> Any:
    need(t.bound("a").ack, "ACK")
    ask = t.nak()
    got = ask.reply
    if got is not None and got.message_type == NAK:
        return met(f"NAK for {WRONG_NETWORK}" + (f" ({got.message!r})" if got.message else ""))
    return broken(f"got {kind_name(got)} for {WRONG_NETWORK} from a client the server knows")


@server_check("nak-has-server-id", "2131 4.3.1", MUST, "a NAK carries option 54 (table 3)")
def nak_has_server_id(t: ServerProbe) -> Any:
    got = nak_of(t.nak())
    if got is None:
        return not_applicable("the server sent no NAK to examine")
    return met(f"option 54 is {got.server_id}") if got.server_id else broken("the NAK has no option 54")


@server_check("nak-no-lease-time", "2131 4.3.1", MUST, "a NAK has no lease time and yiaddr 0 (table 3)")
def nak_no_lease_time(t: ServerProbe) -> Any:
    got = nak_of(t.nak())
    if got is None:
        return not_applicable("the server sent no NAK to examine")
    if got.lease_time is not None:
        return broken(f"the NAK carries lease time {got.lease_time}")
    return met("no option 51, yiaddr 0") if got.yiaddr == ZERO_IP else broken(f"the NAK's yiaddr is {got.yiaddr}")


@server_check("nak-broadcast", "2131 4.1", MUST, "with giaddr 0, a NAK is broadcast")
def nak_broadcast(t: ServerProbe) -> Any:
    got = nak_of(t.nak())
    if got is None:
        return not_applicable("the server sent no NAK to examine")
    return met("the NAK went to 255.255.255.255") if got.ip_dst == BROADCAST_IP else broken(
        f"the NAK went to {got.ip_dst}")


@server_check("selecting-other-server-silent", "2131 4.3.2", MUST,
              "a REQUEST that names another server's identifier gets no reply (3.1, step 4)")
def selecting_other_server_silent(t: ServerProbe) -> Any:
    c = t.offer("s")
    offer = need(c.offer, "OFFER")
    got = t.silent(REQUEST, c, xid=offer.xid, requested=offer.yiaddr, server_id=FOREIGN_SERVER).reply
    return met(f"silent for {t.quiet:g} s") if got is None else broken(
        f"it answered a REQUEST for server {FOREIGN_SERVER} with a {got.type_name}")
