"""Read DHCPv6 frames defensively: Ethernet, IPv6, UDP, and a DHCPv6 message
that may sit inside relay messages.

``parse_frame6`` never raises on bad bytes: whatever is wrong goes into
``Frame6.problems`` in words ("IA_NA 1: IAADDR says 24 bytes, 10 remain",
"T1 7200 > T2 3600"). Work is bounded (options per area, relay depth), and
Scapy dissects only when ``.packet`` is asked for.

RFCs: 8415 (messages 8 and 9, options 21, T1/T2 21.4 and 21.21, lifetimes
21.6 and 21.22, DUIDs 11), 8200 (IPv6), 768 (UDP).
"""

from __future__ import annotations

import struct

from .dhcp6 import (
    CLIENTID,
    CONFIRM,
    DECLINE,
    DHCP6_AT,
    DNS_SERVERS,
    ELAPSED_TIME,
    ETHERTYPE_IPV6,
    FIXED_SIZES6,
    IA_NA,
    IA_PD,
    IA_TA,
    IAADDR,
    IAPREFIX,
    INFORMATION_REQUEST,
    IP6_AT,
    IP6_DST,
    IP6_HLEN,
    IP6_NH,
    IP6_SRC,
    IPPROTO_UDP,
    MAX_DEPTH6,
    MAX_DUID,
    MESSAGE_TYPES6,
    MIN_SIZES6,
    NESTED6,
    OPTION_NAMES6,
    ORO,
    PREFERENCE,
    RAPID_COMMIT,
    REBIND,
    RELAY_FORW,
    RELAY_MSG,
    RELAY_REPL,
    RELEASE,
    RENEW,
    REQUEST,
    SERVERID,
    SOLICIT,
    STATUS_CODE,
    UDP6_AT,
    ip6_str,
    udp_checksum,
    walk6,
)
from .layout import ETH_TYPE
from .msg6 import IA, Address6, Frame6, Message6, is_ipv6

__all__ = ["IA", "Address6", "Frame6", "Message6", "is_ipv6", "is_reply6_to", "is_request6", "parse_frame6",
           "udp6_checksum_ok"]


ONCE6 = (CLIENTID, SERVERID, ELAPSED_TIME, PREFERENCE, RAPID_COMMIT)   # a message holds each at most once


def parse_frame6(raw: bytes, t: float = 0.0) -> Frame6:
    """Reads an Ethernet frame that may hold a DHCPv6 message. Never raises."""
    f = Frame6(bytes(raw), t)
    try:
        _read(f)
    except Exception as exc:  # a reader bug must not take a session down: say it
        f.problems.append(f"unreadable ({type(exc).__name__}: {exc})")
    return f


def _read(f: Frame6) -> None:
    raw = f.raw
    if len(raw) < 14:
        f.problems.append(f"{len(raw)} bytes: shorter than an Ethernet header")
        return
    f.eth_dst, f.eth_src = raw[0:6], raw[6:12]
    if not is_ipv6(raw):
        f.problems.append("not IPv6")
        return
    if len(raw) < UDP6_AT:
        f.problems.append(f"{len(raw)} bytes: the IPv6 header is cut short")
        return
    payload_len = struct.unpack_from("!H", raw, IP6_AT + 4)[0]
    f.ip_src, f.ip_dst = ip6_str(raw[IP6_AT + 8:IP6_AT + 24]), ip6_str(raw[IP6_AT + 24:IP6_AT + 40])
    if raw[IP6_AT + 6] != IPPROTO_UDP:
        f.problems.append(f"next header {raw[IP6_AT + 6]}, not UDP")
        return
    if IP6_AT + IP6_HLEN + payload_len > len(raw):
        f.problems.append(f"IPv6 payload length {payload_len} runs past the frame "
                          f"({len(raw) - UDP6_AT} bytes)")
    if len(raw) < DHCP6_AT:
        f.problems.append("the UDP header is cut short")
        return
    f.sport, f.dport, ulen, csum = struct.unpack_from("!HHHH", raw, UDP6_AT)
    end = len(raw)
    if ulen < 8 or UDP6_AT + ulen > len(raw):
        f.problems.append(f"UDP length {ulen} does not fit the frame ({len(raw) - UDP6_AT} bytes)")
    else:
        end = UDP6_AT + ulen
        if ulen != payload_len and IP6_AT + IP6_HLEN + payload_len <= len(raw):
            f.problems.append(f"UDP length {ulen} differs from the IPv6 payload length {payload_len}")
        if csum == 0:
            f.problems.append("UDP checksum 0: IPv6 forbids it (RFC 8200 8.1)")
        elif udp_checksum(raw[IP6_AT + 8:IP6_AT + 24], raw[IP6_AT + 24:IP6_AT + 40], raw[UDP6_AT:end]) != csum:
            f.problems.append(f"UDP checksum {csum:#06x} is wrong")
    if end - DHCP6_AT < 1:
        f.problems.append("no DHCPv6 message")
        return
    f.outer = _message(f, raw[DHCP6_AT:end], 0)
    m = f.msg
    if m is not None:
        _read_options(f, m)


def _message(f: Frame6, data: bytes, depth: int) -> Message6 | None:
    if not data:
        f.problems.append("empty relay message")
        return None
    t = data[0]
    m = Message6(msg_type=t)
    if t not in MESSAGE_TYPES6:
        f.problems.append(f"unknown message type {t}")
    if t in (RELAY_FORW, RELAY_REPL):
        if len(data) < 34:
            f.problems.append(f"relay message of {len(data)} bytes: its header is 34")
            return m
        m.hop_count = data[1]
        m.link_address, m.peer_address = ip6_str(data[2:18]), ip6_str(data[18:34])
        items, problems = walk6(data, 34)
        f.problems.extend(f"relay level {depth}: {p}" for p in problems)
        m.options = [(c, p) for _o, c, p in items]
        relayed = m.first(RELAY_MSG)
        if depth + 1 == MAX_DEPTH6 + 1:
            f.problems.append(f"relays nested deeper than {MAX_DEPTH6} (RFC 8415 HOP_COUNT_LIMIT)")
        if relayed is None:
            f.problems.append(f"relay level {depth}: no RELAY_MSG option")
        elif depth + 1 > 2 * MAX_DEPTH6:
            f.problems.append(f"relays nested deeper than {2 * MAX_DEPTH6}: not read further")
        else:
            m.inner = _message(f, relayed, depth + 1)
        return m
    if len(data) < 4:
        f.problems.append(f"DHCPv6 message of {len(data)} bytes: shorter than its 4-byte header")
        return m
    m.txid = int.from_bytes(data[1:4], "big")
    items, problems = walk6(data, 4)
    f.problems.extend(problems)
    m.options = [(c, p) for _o, c, p in items]
    return m


def _status(f: Frame6, payload: bytes, where: str) -> tuple[int, str]:
    if len(payload) < 2:
        f.problems.append(f"{where}status code of {len(payload)} bytes (at least 2)")
        return (-1, "")
    code = struct.unpack_from("!H", payload)[0]
    try:
        text = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        f.problems.append(f"{where}status message is not UTF-8 (RFC 8415 21.13)")
        text = payload[2:].decode("utf-8", "replace")
    return (code, text)


def _read_options(f: Frame6, m: Message6) -> None:
    seen: dict[int, int] = {}
    for code, payload in m.options:
        name = OPTION_NAMES6.get(code, str(code))
        seen[code] = seen.get(code, 0) + 1
        want = FIXED_SIZES6.get(code)
        if want is not None and len(payload) != want:
            f.problems.append(f"{name} has {len(payload)} bytes (expected {want})")
        least = MIN_SIZES6.get(code)
        if least is not None and len(payload) < least:
            f.problems.append(f"{name} has {len(payload)} bytes (at least {least})")
            continue
        if code in (CLIENTID, SERVERID) and len(payload) > MAX_DUID:
            f.problems.append(f"{name} DUID of {len(payload)} bytes (at most {MAX_DUID})")
        if code == ORO and len(payload) % 2:
            f.problems.append(f"ORO of odd length {len(payload)}")
        if code == STATUS_CODE:
            f.status = _status(f, payload, "")
        if code == DNS_SERVERS and len(payload) % 16:
            f.problems.append(f"dns_servers of {len(payload)} bytes: not a multiple of 16")
        if code in (IA_NA, IA_PD, IA_TA):
            ia = _read_ia(f, code, payload)
            {IA_NA: f.ia_na, IA_PD: f.ia_pd, IA_TA: f.ia_ta}[code].append(ia)
    for code in ONCE6:
        if seen.get(code, 0) > 1:
            f.problems.append(f"{OPTION_NAMES6[code]} appears {seen[code]} times")


def _read_ia(f: Frame6, code: int, payload: bytes) -> IA:
    kind = {IA_NA: "NA", IA_PD: "PD", IA_TA: "TA"}[code]
    fixed = NESTED6[code]
    iaid = struct.unpack_from("!I", payload)[0]
    ia = IA(kind, iaid)
    where = f"IA_{kind} {iaid:#x}: "
    if code != IA_TA:
        ia.t1, ia.t2 = struct.unpack_from("!II", payload, 4)
        if ia.t2 and ia.t1 > ia.t2:
            f.problems.append(f"{where}T1 {ia.t1} > T2 {ia.t2} (RFC 8415 21.{4 if code == IA_NA else 21})")
    items, problems = walk6(payload, fixed)
    f.problems.extend(where + p for p in problems)
    want = IAADDR if code != IA_PD else IAPREFIX
    for _o, sub, data in items:
        if sub == STATUS_CODE:
            ia.status = _status(f, data, where)
        elif sub == want:
            least = MIN_SIZES6[sub]
            if len(data) < least:
                f.problems.append(f"{where}{OPTION_NAMES6[sub].upper()} has {len(data)} bytes (at least {least})")
                continue
            if sub == IAADDR:
                a = Address6(ip6_str(data[0:16]), *struct.unpack_from("!II", data, 16))
                inner_at = 24
            else:
                preferred, valid, plen = struct.unpack_from("!IIB", data)
                if plen > 128:
                    f.problems.append(f"{where}prefix length {plen} (at most 128)")
                a = Address6(ip6_str(data[9:25]), preferred, valid, min(plen, 128))
                inner_at = 25
            if a.preferred > a.valid:
                f.problems.append(f"{where}{a.prefix}: preferred lifetime {a.preferred} > valid {a.valid}")
            sub_items, sub_problems = walk6(data, inner_at)
            f.problems.extend(where + p for p in sub_problems)
            for _o2, c2, d2 in sub_items:
                if c2 == STATUS_CODE:
                    a.status = _status(f, d2, where)
            ia.addresses.append(a)
    return ia


# -- what a server's reader takes (the link's v6 part asks) ------------------------------

CLIENT_TYPES6 = frozenset((SOLICIT, REQUEST, CONFIRM, RENEW, REBIND, RELEASE, DECLINE, INFORMATION_REQUEST,
                           RELAY_FORW))


def is_request6(raw: bytes) -> bool:
    """A frame a DHCPv6 server answers: IPv6 UDP to port 547 holding a client's or a relay's message."""
    return (len(raw) > DHCP6_AT and raw[ETH_TYPE:ETH_TYPE + 2] == ETHERTYPE_IPV6 and raw[IP6_NH] == IPPROTO_UDP
            and raw[UDP6_AT + 2:UDP6_AT + 4] == b"\x02\x23" and raw[DHCP6_AT] in CLIENT_TYPES6)


def is_reply6_to(raw: bytes, mac: bytes, also: set[bytes]) -> bool:
    """A frame our own server sent to one of our own clients (UDP to port 546) or to our own relay
    (a RELAY-REPL to port 547), to its MAC."""
    if not (len(raw) > DHCP6_AT and raw[ETH_TYPE:ETH_TYPE + 2] == ETHERTYPE_IPV6 and raw[IP6_NH] == IPPROTO_UDP
            and (raw[0:6] == mac or raw[0:6] in also)):
        return False
    port = raw[UDP6_AT + 2:UDP6_AT + 4]
    return port == b"\x02\x22" or (port == b"\x02\x23" and raw[DHCP6_AT] == RELAY_REPL)


def udp6_checksum_ok(raw: bytes) -> bool:
    """Whether an IPv6 UDP frame's checksum is right (zero is never right in IPv6: RFC 8200 8.1)."""
    if len(raw) < DHCP6_AT:
        return False
    ulen = struct.unpack_from("!H", raw, UDP6_AT + 4)[0]
    if ulen < 8 or UDP6_AT + ulen > len(raw):
        return False
    return udp_checksum(raw[IP6_SRC:IP6_SRC + 16], raw[IP6_DST:IP6_DST + 16],
                        raw[UDP6_AT:UDP6_AT + ulen]) == \
        struct.unpack_from("!H", raw, UDP6_AT + 6)[0]
