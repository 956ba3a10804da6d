"""Server checks, part two: a lease's life (RENEWING, REBINDING, INFORM), how
addresses and options are chosen, relays, what a server ignores, the checks
that change its state (``destructive=True``) and robustness. Registered, in
order, after :mod:`.server_checks4_replies`."""

from __future__ import annotations

import ipaddress
import struct
import time
from typing import Any

from ..wire import (
    ACK,
    BOOTP_AT,
    BROADCAST_IP,
    DECLINE,
    DISCOVER,
    INFORM,
    NAK,
    OFFER,
    REQUEST,
    mac_str,
    new_xid,
    patch_checksums,
)
from ..wire.frames4 import Frame, parse_frame
from ..wire.messages4 import MessageOptions
from .checks import MUST, SHOULD, broken, met, not_applicable, unsure
from .server_probe4 import (
    EVERY_OPTION,
    NOT_PARAMETERS,
    Ask,
    ServerProbe,
    kind_name,
    need,
    server_catalog,
)

CHECKS, server_check = server_catalog()   # this part of the catalog, in the order it runs


# -- RENEWING, REBINDING, INFORM ---------------------------------------------

def _renew(t: ServerProbe) -> Ask:
    def make() -> Ask:
        c = t.bound("a")
        ack = need(c.ack, "ACK")
        return t.ask(REQUEST, c, ciaddr=ack.yiaddr, dst_ip=ack.server_id or ack.ip_src or BROADCAST_IP,
                     dst_mac=ack.eth_src, opts=MessageOptions(), done=lambda f: f.message_type in (ACK, NAK))
    return t.once("renew", make)


@server_check("renew-ack", "2131 4.3.2", MUST, "a RENEWING REQUEST (ciaddr, unicast) for a valid lease gets an ACK")
def renew_ack(t: ServerProbe) -> Any:
    got = _renew(t).reply
    return met(f"ACK for {got.yiaddr}") if got is not None and got.message_type == ACK else broken(
        f"got {kind_name(got)}")


@server_check("reply-to-ciaddr", "2131 4.1", MUST, "with ciaddr set (giaddr 0), the ACK is unicast to ciaddr")
def reply_to_ciaddr(t: ServerProbe) -> Any:
    got = need(_renew(t).reply, "ACK to the renewal")
    ciaddr = t.bound("a").address
    return met(f"the ACK went to {got.ip_dst}") if got.ip_dst == ciaddr else broken(
        f"the ACK went to {got.ip_dst}, not {ciaddr}")


@server_check("rebind-ack", "2131 4.3.2", MUST, "a REBINDING REQUEST (ciaddr, broadcast) for a valid lease gets an ACK")
def rebind_ack(t: ServerProbe) -> Any:
    c = t.bound("a")
    ack = need(c.ack, "ACK")
    got = t.ask(REQUEST, c, ciaddr=ack.yiaddr, opts=MessageOptions(),
                done=lambda f: f.message_type in (ACK, NAK)).reply
    return met(f"ACK for {got.yiaddr}") if got is not None and got.message_type == ACK else broken(
        f"got {kind_name(got)}")


@server_check("inform-ack-no-lease-time", "2131 4.3.5", MUST, "an INFORM gets an ACK without a lease time")
def inform_ack_no_lease_time(t: ServerProbe) -> Any:
    c = t.bound("a")
    ack = need(c.ack, "ACK")
    got = need(t.ask(INFORM, c, ciaddr=ack.yiaddr, opts=MessageOptions()).reply, "reply to the INFORM")
    if got.message_type != ACK:
        return broken(f"the INFORM got a {got.type_name}")
    return met("ACK without option 51") if got.lease_time is None else broken(
        f"the ACK carries lease time {got.lease_time}")


# -- choosing addresses (4.3.1) ----------------------------------------------

@server_check("same-client-same-address", "2131 4.3.1", SHOULD,
              "a bound client that DISCOVERs again is offered its address")
def same_client_same_address(t: ServerProbe) -> Any:
    c = t.bound("a")
    ack = need(c.ack, "ACK")
    again = t.offered(c)
    return met(f"offered {again.yiaddr} again") if again.yiaddr == ack.yiaddr else broken(
        f"bound to {ack.yiaddr}, offered {again.yiaddr}")


@server_check("two-clients-two-addresses", "2131 2", MUST, "two bound clients hold two different addresses")
def two_clients_two_addresses(t: ServerProbe) -> Any:
    a, b = need(t.bound("a").ack, "ACK"), need(t.bound("b").ack, "ACK for a second client")
    return met(f"{a.yiaddr} and {b.yiaddr}") if a.yiaddr != b.yiaddr else broken(
        f"both clients were given {a.yiaddr}")


@server_check("requested-address-honoured", "2131 4.3.1", SHOULD,
              "a DISCOVER's requested address (option 50), free and valid, is the one offered")
def requested_address_honoured(t: ServerProbe) -> Any:
    c = t.client("r")
    default = t.offered(c).yiaddr
    taken = {x.address for x in t.clients.values() if x.address} | {default}
    net = t.network()
    base = ipaddress.IPv4Address(default)
    tried = []
    for step in (1, 2, -1):
        want = base + step
        if str(want) in taken or (net is not None and (want not in net or want in (net.network_address,
                                                                                   net.broadcast_address))):
            continue
        tried.append(str(want))
        got = t.ask(DISCOVER, c, requested=str(want), done=lambda f: f.message_type == OFFER).reply
        if got is not None and got.yiaddr == str(want):
            return met(f"asked for {want}, offered {want}")
    return broken(f"asked for {', '.join(tried) or 'nothing'}, offered {default} each time") if tried else unsure(
        "found no free address next to the offered one to ask for")


# -- options (4.3.1, RFC 2132) -------------------------------------------------

def everything(t: ServerProbe) -> Frame:
    def make() -> Frame | None:
        c = t.client("o")
        return t.ask(DISCOVER, c, opts=MessageOptions(broadcast=True, param_req_list=EVERY_OPTION),
                     done=lambda f: f.message_type == OFFER).reply
    return need(t.once("everything", make), "OFFER to a DISCOVER asking for every option")


@server_check("param-request-list-honoured", "2131 4.3.1", MUST,
              "the parameters a client asks for (option 55) that the server has are in the reply")
def param_request_list_honoured(t: ServerProbe) -> Any:
    known = [code for code in everything(t).option_order if code not in NOT_PARAMETERS]
    if not known:
        return not_applicable("the server sent no parameter options even when asked for all")
    wanted = list(reversed(known))[:4]
    c = t.client("o")
    got = need(t.ask(DISCOVER, c, opts=MessageOptions(broadcast=True, param_req_list=wanted),
                      done=lambda f: f.message_type == OFFER).reply, "OFFER")
    missing = [code for code in wanted if code not in got.options]
    return broken(f"asked for {wanted}, options {missing} missing") if missing else met(
        f"asked for {wanted} (of the {len(known)} it has), all present")


@server_check("max-message-size-honoured", "2132 9.10", SHOULD,
              "a reply fits the client's maximum DHCP message size (option 57 = 576)")
def max_message_size_honoured(t: ServerProbe) -> Any:
    c = t.client("o")
    opts = MessageOptions(broadcast=True, param_req_list=EVERY_OPTION, options=[(57, struct.pack("!H", 576))])
    got = need(t.ask(DISCOVER, c, opts=opts, done=lambda f: f.message_type == OFFER).reply, "OFFER")
    size = len(got.raw) - BOOTP_AT + 28
    return met(f"the OFFER is {size} bytes of IP") if size <= 576 else broken(
        f"the OFFER is {size} bytes of IP (> 576)")


# -- relays (4.1, RFC 3046) -----------------------------------------------------

def _relayed(t: ServerProbe) -> Ask:
    def make() -> Ask:
        # The relay's address is one the checks hold and answer ARP for: a lease of their own.
        giaddr = need(t.bound("a").ack, "ACK").yiaddr
        c = t.client("relay")
        opts = MessageOptions(giaddr=giaddr, circuit_id=b"scapy-dhcp", remote_id=b"check")
        return t.ask(DISCOVER, c, opts=opts, done=lambda f: f.message_type == OFFER)
    return t.once("relay", make)


@server_check("relay-reply-to-giaddr", "2131 4.1", MUST, "a relayed request is answered to giaddr, port 67")
def relay_reply_to_giaddr(t: ServerProbe) -> Any:
    got = need(_relayed(t).reply, "OFFER to the relayed DISCOVER")
    giaddr = t.bound("a").address
    return met(f"the OFFER went to {giaddr}:67") if (got.ip_dst, got.dport) == (giaddr, 67) else broken(
        f"the OFFER went to {got.ip_dst}:{got.dport}, not {giaddr}:67")


@server_check("relay-agent-info-echoed", "3046 2.2", MUST, "option 82 from the relay is echoed whole in the reply")
def relay_agent_info_echoed(t: ServerProbe) -> Any:
    ask = _relayed(t)
    got = need(ask.reply, "OFFER to the relayed DISCOVER")
    sent = parse_frame(ask.sent[0][1]).options.get(82)
    echoed = got.options.get(82)
    if echoed is None:
        return broken("the OFFER has no option 82")
    return met("option 82 echoed byte for byte") if echoed == sent else broken(
        f"option 82 came back as {echoed.hex()}, sent {sent.hex() if sent else '-'}")


# -- what a server ignores -----------------------------------------------------

@server_check("bootreply-ignored", "951 7.3", SHOULD, "a BOOTREPLY (op 2) sent to port 67 gets no answer")
def bootreply_ignored(t: ServerProbe) -> Any:
    c = t.client("op2")
    xid = new_xid()
    raw = bytearray(t.message(DISCOVER, c, xid))
    raw[BOOTP_AT] = 2
    patch_checksums(raw)
    got = t.silent(DISCOVER, c, xid=xid, frame=bytes(raw)).reply
    return met(f"silent for {t.quiet:g} s") if got is None else broken(
        f"it answered a BOOTREPLY with a {got.type_name}")


# -- changing the server's state (destructive) ----------------------------------

@server_check("release-frees-address", "2131 4.3.4", MUST,
              "after a RELEASE, the address can be given to another client", destructive=True)
def release_frees_address(t: ServerProbe) -> Any:
    holder, other = t.bound("rel"), t.client("rel-other")
    address = need(holder.ack, "ACK").yiaddr
    before = t.offered(other, address)
    if before.yiaddr == address:
        return unsure(f"{address} was offered to another client while still bound")
    t.release(holder, address, need(holder.ack, "ACK").server_id)
    holder.ack = None
    after = t.offered(other, address)
    if after.yiaddr != address:
        # A lease released this second may still count as held by a server that keeps whole
        # seconds (Kea 2.6 does, now and then): ask once more in the next second.
        time.sleep(1.05)
        after = t.offered(other, address)
    return met(f"{address} offered to another client once released") if after.yiaddr == address else broken(
        f"{address} still not offered after the RELEASE (offered {after.yiaddr})")


@server_check("release-wrong-chaddr-ignored", "2131 4.3.4", MUST,
              "a RELEASE from another chaddr does not free a client's address", destructive=True)
def release_wrong_chaddr_ignored(t: ServerProbe) -> Any:
    if t.transport.single_mac:
        return not_applicable(f"{t.transport.iface} passes unicast only to its own MAC (a labgrid remote place's "
                              "macvtap): every client of the checks has that chaddr")
    holder, other = t.bound("keep"), t.client("keep-other")
    address = need(holder.ack, "ACK").yiaddr
    t.release(other, address, need(holder.ack, "ACK").server_id)   # forged: not the holder's chaddr
    after = t.offered(other, address)
    return met(f"{address} stays with its client") if after.yiaddr != address else broken(
        f"a RELEASE from {mac_str(other.mac)} freed {address}: it was offered to that client")


@server_check("decline-marks-address", "2131 4.3.3", MUST,
              "after a DECLINE, the address is not offered again", destructive=True)
def decline_marks_address(t: ServerProbe) -> Any:
    c = t.bound("dec")
    address = need(c.ack, "ACK").yiaddr
    t.ask(DECLINE, c, wait=0.2, requested=address, server_id=need(c.ack, "ACK").server_id or t.server_id,
          opts=MessageOptions(param_req_list=None))
    c.ack = None   # the address stays answered for on ARP: in use, which is why a client declines
    again = t.offered(c, address)
    return met(f"offered {again.yiaddr}, not the declined {address}") if again.yiaddr != address else broken(
        f"the declined {address} was offered again")


# -- robustness ----------------------------------------------------------------

@server_check("survives-malformed", "1122 1.2.2", MUST,
              "after the sweep_malformed() catalog, the server still gives a lease")
def survives_malformed(t: ServerProbe) -> Any:
    from .sweep4 import sweep_malformed

    report = sweep_malformed(t.session, progress=False, timeout=t.wait)
    if report.interrupted:
        raise KeyboardInterrupt
    if report.killer is not None:
        t.recorder.cite(("out", raw, report.killer.sent_at) for raw in report.killer.frames)
        return broken(f"it stopped answering after case {report.killer.name}: {report.killer.description}")
    c = t.bound("after-sweep")
    return met(f"{len(report.rows)} malformed requests, then a lease of {c.address}") if c.ack else broken(
        f"no lease after the {len(report.rows)} malformed requests")
