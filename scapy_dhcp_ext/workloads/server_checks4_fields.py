"""Server checks, part two: every field and option of an OFFER, an ACK and a NAK
against RFC 2131 table 3 (and the wire rules under it: RFC 2131 2 and 3, RFC
2132 3 and 9, RFC 768 and 791), one check per message and rule, judged on the
exchanges part one made (the first client's DORA, the INIT-REBOOT NAK).
Registered after :mod:`.server_checks4_replies`.

A rule is a small function of (request, reply) that returns its outcome; the
catalog is the rules times the messages they apply to, so each check's id says
both: ``offer-hops-zero``, ``nak-siaddr-zero``.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import Any, Callable

from ..wire import (
    ADDRESS_LISTS,
    BOOTP_AT,
    FIXED_SIZES,
    FRAME_OPTIONS,
    IP_AT,
    MAGIC_COOKIE,
    NAK,
    UDP_AT,
    Bootp,
    checksum,
    walk_options,
)
from ..wire.frames4 import Frame, parse_frame
from .checks import MUST, SHOULD, Outcome, broken, met, not_applicable
from .server_probe4 import Ask, ServerProbe, nak_of, need, server_catalog

CHECKS, server_check = server_catalog()

Rule = Callable[[Frame, Frame], Outcome]
NAK_ALLOWED = {53, 54, 56, 60, 61, 82}   # table 3: the rest MUST NOT be in a NAK (61 echoed: RFC 6842)
CLIENT_ONLY = {50: "requested address", 55: "parameter request list", 57: "maximum message size"}


def exchange(t: ServerProbe, kind: str) -> tuple[Frame, Frame] | None:
    """(request, reply) of the exchange a message is judged on; None when the server sent no NAK.
    A reply no client can read as one (op 1, no magic cookie, another xid or chaddr: a stray of
    the ask) is judged too: what is wrong with it is the fault."""
    if kind == "nak":
        ask = t.nak()
        got = nak_of(ask) or next((f for f in ask.strays if f.message_type == NAK), None) or _unreadable(ask)
        return (_sent(ask), got) if got is not None else None
    c = t.bound("a") if kind == "ack" else t.offer("a")
    at = 1 if kind == "ack" else 0
    got = c.ack if kind == "ack" else c.offer
    if got is None and len(c.asks) > at:
        got = _unreadable(c.asks[at])
    return _sent(c.asks[at]), need(got, kind.upper())


def _unreadable(ask: Ask) -> Frame | None:
    xid = _sent(ask).xid
    return next((f for f in ask.replies + ask.strays if f.xid == xid and (f.op != 2 or f.message_type is None)),
                None)


def _sent(ask: Ask) -> Frame:
    return parse_frame(ask.sent[0][1])


def _byte(f: Frame, offset: int) -> int:
    return f.raw[BOOTP_AT + offset]


def _udp_end(f: Frame) -> int:
    return UDP_AT + struct.unpack_from("!H", f.raw, UDP_AT + 4)[0]


# -- the rules ---------------------------------------------------------------------------------

def op_bootreply(_req: Frame, rep: Frame) -> Outcome:
    return met("op 2 (BOOTREPLY)") if rep.op == 2 else broken(f"op {rep.op}")


def htype_hlen_echoed(req: Frame, rep: Frame) -> Outcome:
    sent, got = (_byte(req, Bootp.HTYPE), _byte(req, Bootp.HLEN)), (_byte(rep, Bootp.HTYPE), _byte(rep, Bootp.HLEN))
    return met(f"htype {got[0]}, hlen {got[1]}, as sent") if sent == got else broken(
        f"htype {got[0]}, hlen {got[1]}; the request had {sent[0]}, {sent[1]}")


def hops_zero(_req: Frame, rep: Frame) -> Outcome:
    hops = _byte(rep, Bootp.HOPS)
    return met("hops 0") if hops == 0 else broken(f"hops {hops}")


def secs_zero(_req: Frame, rep: Frame) -> Outcome:
    secs = struct.unpack_from("!H", rep.raw, BOOTP_AT + Bootp.SECS)[0]
    return met("secs 0") if secs == 0 else broken(f"secs {secs}")


def giaddr_echoed(req: Frame, rep: Frame) -> Outcome:
    return met(f"giaddr {rep.giaddr}, as sent") if rep.giaddr == req.giaddr else broken(
        f"giaddr {rep.giaddr}; the request had {req.giaddr}")


def magic_cookie(_req: Frame, rep: Frame) -> Outcome:
    cookie = rep.raw[FRAME_OPTIONS - 4:FRAME_OPTIONS]
    return met("the magic cookie 99.130.83.99") if cookie == MAGIC_COOKIE else broken(
        f"the magic cookie is {'.'.join(map(str, cookie))}")


def options_end(_req: Frame, rep: Frame) -> Outcome:
    area = walk_options(rep.raw[:_udp_end(rep)], FRAME_OPTIONS)
    if area.end is None:
        return broken(f"the options end with no END (255): {area.problem}")
    return met(f"END at byte {area.end - FRAME_OPTIONS} of the option area")


def udp_ports(req: Frame, rep: Frame) -> Outcome:
    want = 67 if req.giaddr != "0.0.0.0" else 68
    return met(f"from port 67 to port {want}") if (rep.sport, rep.dport) == (67, want) else broken(
        f"from port {rep.sport} to port {rep.dport}; expected 67 to {want}")


def checksums_right(_req: Frame, rep: Frame) -> Outcome:
    raw = rep.raw
    ihl = (raw[IP_AT] & 0x0F) * 4
    if checksum(raw[IP_AT:IP_AT + ihl]) not in (0, 0xFFFF):
        return broken("the IP header checksum is wrong")
    bad = [p for p in rep.problems if "UDP checksum" in p]   # parse_frame checks it (0: none sent)
    return broken(bad[0]) if bad else met("IP header checksum right; UDP checksum right, or 0 (none)")


def no_client_options(_req: Frame, rep: Frame) -> Outcome:
    found = [f"{code} ({name})" for code, name in CLIENT_ONLY.items() if code in rep.options]
    return broken(f"it carries option {', '.join(found)}") if found else met("no option 50, 55 or 57")


def fits_576(req: Frame, rep: Frame) -> Outcome:
    size = _udp_end(rep) - IP_AT
    if 57 in req.options:
        return not_applicable("the request gave a maximum message size")
    return met(f"{size} bytes of IP") if size <= 576 else broken(
        f"{size} bytes of IP to a client that gave no option 57 (576 is all it must take)")


def sname_file_terminated(_req: Frame, rep: Frame) -> Outcome:
    overload = rep.options.get(52, b"\0")[:1]
    bad = [name for name, at, size, bit in (("sname", Bootp.SNAME, 64, 2), ("file", Bootp.FILE, 128, 1))
           if not overload[0] & bit and 0 not in rep.raw[BOOTP_AT + at:BOOTP_AT + at + size]]
    return broken(f"{' and '.join(bad)} not NUL-terminated (and not overloaded)") if bad else met(
        "sname and file NUL-terminated or carrying options (52)")


def server_id_is_source(_req: Frame, rep: Frame) -> Outcome:
    if rep.server_id is None:
        return not_applicable("no option 54")
    return met(f"from {rep.ip_src}, its server identifier") if rep.ip_src == rep.server_id else broken(
        f"from {rep.ip_src}, but option 54 says {rep.server_id}")


def _network(rep: Frame) -> ipaddress.IPv4Network | None:
    anchor = rep.server_id or rep.ip_src
    try:
        return ipaddress.IPv4Network(f"{anchor}/{rep.subnet_mask or '255.255.255.0'}", strict=False)
    except ValueError:
        return None


def yiaddr_usable(_req: Frame, rep: Frame) -> Outcome:
    net = _network(rep)
    if net is None:
        return not_applicable("no usable server identifier and mask to place yiaddr")
    address = ipaddress.IPv4Address(rep.yiaddr)
    if address not in net:
        return broken(f"yiaddr {address} is not on {net}, the server's network")
    if net.prefixlen < 31 and address in (net.network_address, net.broadcast_address):
        return broken(f"yiaddr {address} is {net}'s {'network' if address == net.network_address else 'broadcast'} "
                      "address")
    if str(address) == rep.server_id:
        return broken(f"yiaddr {address} is the server's own address")
    return met(f"yiaddr {address}, a host address of {net}")


def t1_t2_order(_req: Frame, rep: Frame) -> Outcome:
    lease, t1, t2 = rep.lease_time, rep.t1, rep.t2
    if lease is None or lease == 0xFFFFFFFF:
        return not_applicable("no finite lease time")
    t1 = lease // 2 if t1 is None else t1
    t2 = lease * 7 // 8 if t2 is None else t2
    return met(f"T1 {t1} <= T2 {t2} <= lease {lease} s") if t1 <= t2 <= lease else broken(
        f"T1 {t1}, T2 {t2}, lease {lease} s: not T1 <= T2 <= lease")


def option_sizes(_req: Frame, rep: Frame) -> Outcome:
    wrong = [f"{code} ({len(value)} bytes)" for code, value in rep.options.items()
             if (code in FIXED_SIZES and len(value) != FIXED_SIZES[code])
             or (code in ADDRESS_LISTS and (not value or len(value) % 4))]
    return broken(f"option {', '.join(wrong)}: not its size") if wrong else met(
        "every fixed-size option and address list of its size")


def mask_contiguous(_req: Frame, rep: Frame) -> Outcome:
    mask = rep.subnet_mask
    if mask is None:
        return not_applicable("no option 1")
    bits = int(ipaddress.IPv4Address(mask))
    inverted = ~bits & 0xFFFFFFFF
    return met(f"mask {mask}") if inverted & (inverted + 1) == 0 else broken(f"mask {mask} is not contiguous")


def routers_on_subnet(_req: Frame, rep: Frame) -> Outcome:
    net, routers = _network(rep), rep.routers
    if not routers or net is None:
        return not_applicable("no option 3")
    off = [r for r in routers if ipaddress.IPv4Address(r) not in net]
    return broken(f"router {', '.join(off)} is not on {net}") if off else met(f"routers {', '.join(routers)} on {net}")


def ciaddr_echoed(req: Frame, rep: Frame) -> Outcome:
    return met(f"ciaddr {rep.ciaddr}, as the REQUEST's") if rep.ciaddr == req.ciaddr else broken(
        f"ciaddr {rep.ciaddr}; the REQUEST had {req.ciaddr}")


def zero_field(name: str) -> Rule:
    def rule(_req: Frame, rep: Frame) -> Outcome:
        value = getattr(rep, name)
        return met(f"{name} 0.0.0.0") if value == "0.0.0.0" else broken(f"{name} {value}")
    return rule


def nak_options(_req: Frame, rep: Frame) -> Outcome:
    extra = sorted(set(rep.options) - NAK_ALLOWED)
    return broken(f"it carries option {', '.join(map(str, extra))}") if extra else met(
        f"options {', '.join(map(str, rep.option_order))} only")


def nak_message(_req: Frame, rep: Frame) -> Outcome:
    return met(f"message {rep.message!r}") if rep.message else broken("no option 56 saying why")


def nak_sname_file_unused(_req: Frame, rep: Frame) -> Outcome:
    sname = rep.raw[BOOTP_AT + Bootp.SNAME:BOOTP_AT + Bootp.SNAME + 64]
    file = rep.raw[BOOTP_AT + Bootp.FILE:BOOTP_AT + Bootp.FILE + 128]
    if 52 in rep.options:
        return broken("option 52 (overload) in a NAK")
    return met("sname and file empty") if not sname[:1].strip(b"\0") and not file[:1].strip(b"\0") else broken(
        "sname or file holds something")


def echoed(name: str) -> Rule:
    def rule(req: Frame, rep: Frame) -> Outcome:
        sent, got = getattr(req, name), getattr(rep, name)
        show = (lambda v: v.hex(":")) if name == "chaddr" else (lambda v: f"{v:#010x}")
        return met(f"{name} {show(got)}, as sent") if got == sent else broken(f"{name} {show(got)}; sent {show(sent)}")
    return rule


# -- the catalog: rules times messages ----------------------------------------------------------

TABLE3 = "2131 table 3"
RULES: list[tuple[str, tuple[str, ...], str, str, str, Rule]] = [
    # An OFFER no client can read (op 1, no cookie) leaves check_server() nothing to learn the server from:
    # it says so and stops (ServerProbe.learn), so these two are judged on the ACK and the NAK.
    ("op-bootreply", ("ack", "nak"), TABLE3, MUST, "op is 2 (BOOTREPLY)", op_bootreply),
    ("htype-hlen-echoed", ("offer", "ack", "nak"), TABLE3, MUST, "htype and hlen are the request's",
     htype_hlen_echoed),
    ("hops-zero", ("offer", "ack", "nak"), TABLE3, MUST, "hops is 0", hops_zero),
    ("secs-zero", ("offer", "ack", "nak"), TABLE3, MUST, "secs is 0", secs_zero),
    ("giaddr-echoed", ("offer", "ack", "nak"), TABLE3, MUST, "giaddr is the request's", giaddr_echoed),
    ("magic-cookie", ("ack", "nak"), "2131 3", MUST, "the options start with the magic cookie",
     magic_cookie),
    ("options-end", ("offer", "ack", "nak"), "2132 3.2", MUST, "the option area ends with END (255)", options_end),
    ("udp-ports", ("offer", "ack", "nak"), "2131 4.1", MUST,
     "it goes from port 67 to the client's port 68 (a relay's 67)", udp_ports),
    ("checksums-right", ("offer", "ack", "nak"), "768", MUST, "its IP header and UDP checksums are right (791, 768)",
     checksums_right),
    ("no-client-options", ("offer", "ack", "nak"), TABLE3, MUST, "it carries no option 50, 55 or 57",
     no_client_options),
    ("fits-576", ("offer", "ack", "nak"), "2131 2", SHOULD,
     "to a client that gave no option 57, it is at most 576 bytes of IP", fits_576),
    ("sname-file-terminated", ("offer", "ack"), "2131 2", MUST,
     "sname and file are NUL-terminated strings unless option 52 puts options there", sname_file_terminated),
    ("server-id-is-source", ("offer", "ack"), "2132 9.7", SHOULD,
     "it comes from the address its server identifier names", server_id_is_source),
    ("yiaddr-usable", ("offer", "ack"), "2131 4.3.1", MUST,
     "yiaddr is a host address on the server's network, not its network, broadcast or own address", yiaddr_usable),
    ("t1-t2-order", ("offer", "ack"), "2131 4.4.5", MUST, "T1 <= T2 <= the lease time (options 58, 59, 51)",
     t1_t2_order),
    ("option-sizes", ("offer", "ack"), "2132 3", MUST,
     "every fixed-size option has its size and every address list a multiple of 4", option_sizes),
    ("mask-contiguous", ("offer",), "2132 3.3", MUST, "the subnet mask (option 1) is contiguous (RFC 950)",
     mask_contiguous),
    ("routers-on-subnet", ("offer",), "2132 3.5", SHOULD, "the routers (option 3) are on the client's subnet",
     routers_on_subnet),
    ("ciaddr-echoed", ("ack",), TABLE3, MUST, "ciaddr is the REQUEST's (0 in SELECTING)", ciaddr_echoed),
    ("xid-echoed", ("nak",), TABLE3, MUST, "xid is the REQUEST's", echoed("xid")),
    ("chaddr-echoed", ("nak",), TABLE3, MUST, "chaddr is the REQUEST's", echoed("chaddr")),
    ("ciaddr-zero", ("nak",), TABLE3, MUST, "ciaddr is 0", zero_field("ciaddr")),
    ("siaddr-zero", ("nak",), TABLE3, MUST, "siaddr is 0", zero_field("siaddr")),
    ("only-allowed-options", ("nak",), TABLE3, MUST,
     "it carries only options 53, 54, 56, 60, 61 and 82 (all others MUST NOT)", nak_options),
    ("sname-file-unused", ("nak",), TABLE3, MUST, "sname and file are unused (no option 52)", nak_sname_file_unused),
    ("has-message", ("nak",), TABLE3, SHOULD, "it says why in option 56", nak_message),
]


def _judge(kind: str, rule: Rule) -> Callable[[ServerProbe], Any]:
    def run(t: ServerProbe) -> Any:
        pair = exchange(t, kind)
        if pair is None:
            return not_applicable("the server sent no NAK to examine")
        return rule(*pair)
    return run


for _suffix, _kinds, _rfc, _level, _rule, _fn in RULES:
    for _kind in _kinds:
        server_check(f"{_kind}-{_suffix}", _rfc, _level, f"{_kind.upper()}: {_rule}")(_judge(_kind, _fn))
