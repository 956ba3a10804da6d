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
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..wire.dhcp6 import (
    CLIENTID,
    DHCP6_AT,
    DNS_SERVERS,
    DOMAIN_LIST,
    ELAPSED_TIME,
    ETHERTYPE_IPV6,
    FIXED_SIZES6,
    IA_NA,
    IA_PD,
    IA_TA,
    IAADDR,
    IAPREFIX,
    IP6_AT,
    IP6_HLEN,
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
    RELAY_FORW,
    RELAY_MSG,
    RELAY_REPL,
    SERVERID,
    STATUS6,
    STATUS_CODE,
    UDP6_AT,
    describe_duid,
    ip6_str,
    read_dns_names,
    udp_checksum,
    walk6,
)


@dataclass
class Address6:
    """An IAADDR (``prefix_len`` 128) or an IAPREFIX, with its lifetimes."""

    address: str
    preferred: int
    valid: int
    prefix_len: int = 128
    status: tuple[int, str] | None = None

    @property
    def prefix(self) -> str:
        return f"{self.address}/{self.prefix_len}"

    def __str__(self) -> str:
        text = self.address if self.prefix_len == 128 else self.prefix
        return f"{text} ({self.preferred}/{self.valid} s)"


@dataclass
class IA:
    """An IA_NA, IA_TA or IA_PD as read: its id, T1, T2, addresses or prefixes, status."""

    kind: str          # "NA", "TA" or "PD"
    iaid: int
    t1: int = 0
    t2: int = 0
    addresses: list[Address6] = field(default_factory=list)
    status: tuple[int, str] | None = None

    def __str__(self) -> str:
        got = ", ".join(str(a) for a in self.addresses) or "nothing"
        status = f" status {STATUS6.get(self.status[0], self.status[0])}" if self.status and self.status[0] else ""
        return f"IA_{self.kind} {self.iaid:#x} T1 {self.t1} T2 {self.t2}: {got}{status}"


@dataclass
class Message6:
    """One DHCPv6 message (or a relay message and what it carries)."""

    msg_type: int | None = None
    txid: int | None = None
    options: list[tuple[int, bytes]] = field(default_factory=list)
    hop_count: int = 0
    link_address: str | None = None
    peer_address: str | None = None
    inner: Message6 | None = None     # a relay message's RELAY_MSG

    def first(self, code: int) -> bytes | None:
        return next((p for c, p in self.options if c == code), None)


@dataclass
class Frame6:
    """A DHCPv6 frame, read defensively. ``outer`` is the outermost DHCPv6
    message; ``msg`` the one inside every relay layer (the client's or server's
    own). ``problems`` lists what is malformed, in words; ``message`` is the
    server's status text."""

    raw: bytes
    time: float = 0.0
    problems: list[str] = field(default_factory=list)
    eth_src: bytes = b""
    eth_dst: bytes = b""
    ip_src: str | None = None
    ip_dst: str | None = None
    sport: int | None = None
    dport: int | None = None
    outer: Message6 | None = None    # as it came: a relay message, or the message itself
    ia_na: list[IA] = field(default_factory=list)
    ia_pd: list[IA] = field(default_factory=list)
    ia_ta: list[IA] = field(default_factory=list)
    status: tuple[int, str] | None = None

    version = 6

    @property
    def msg(self) -> Message6 | None:
        m = self.outer
        depth = 0
        while m is not None and m.inner is not None and depth <= 2 * MAX_DEPTH6:
            m, depth = m.inner, depth + 1
        return m

    @property
    def malformed(self) -> bool:
        return bool(self.problems)

    @property
    def msg_type(self) -> int | None:
        m = self.msg
        return m.msg_type if m is not None else None

    message_type = msg_type

    @property
    def type_name(self) -> str:
        t = self.msg_type
        return MESSAGE_TYPES6.get(t, f"type {t}") if t is not None else "not DHCPv6"

    @property
    def txid(self) -> int | None:
        m = self.msg
        return m.txid if m is not None else None

    xid = txid

    @property
    def relayed(self) -> bool:
        return self.outer is not None and self.outer.msg_type in (RELAY_FORW, RELAY_REPL)

    @property
    def client_id(self) -> bytes | None:
        m = self.msg
        return m.first(CLIENTID) if m is not None else None

    @property
    def server_id(self) -> bytes | None:
        m = self.msg
        return m.first(SERVERID) if m is not None else None

    @property
    def server(self) -> str | None:
        sid = self.server_id
        return describe_duid(sid) if sid is not None else None

    @property
    def message(self) -> str | None:
        """The status code's text (of the message, else of its first IA), as a NAK's message in v4."""
        for status in [self.status] + [i.status for i in self.ia_na + self.ia_pd]:
            if status is not None and (status[1] or status[0]):
                return status[1] or STATUS6.get(status[0], str(status[0]))
        return None

    @property
    def preference(self) -> int:
        m = self.msg
        p = m.first(PREFERENCE) if m is not None else None
        return p[0] if p else 0

    @property
    def rapid_commit(self) -> bool:
        m = self.msg
        return m is not None and m.first(RAPID_COMMIT) is not None

    @property
    def dns_servers(self) -> list[str]:
        m = self.msg
        p = (m.first(DNS_SERVERS) if m is not None else None) or b""
        return [ip6_str(p[i:i + 16]) for i in range(0, len(p) - len(p) % 16, 16)]

    @property
    def domains(self) -> list[str]:
        m = self.msg
        return read_dns_names((m.first(DOMAIN_LIST) if m is not None else None) or b"")

    @property
    def addresses(self) -> list[Address6]:
        return [a for i in self.ia_na for a in i.addresses if a.valid]

    @property
    def prefixes(self) -> list[Address6]:
        return [a for i in self.ia_pd for a in i.addresses if a.valid]

    @cached_property
    def packet(self) -> Any:
        from scapy.layers.l2 import Ether

        return Ether(self.raw)

    def summary(self) -> str:
        if self.outer is None:
            return f"not a DHCPv6 frame ({'; '.join(self.problems) or 'no UDP'})"
        parts = [self.type_name]
        if self.relayed:
            parts.insert(0, f"{MESSAGE_TYPES6[self.outer.msg_type or 0]}[")
            parts.append("]")
        if self.txid is not None:
            parts.append(f"txid {self.txid:#08x}")
        if self.server_id is not None and self.msg_type not in (1, 3, 4, 5, 6, 8, 9, 11):
            parts.append(f"from {self.server}")
        got = [a.address for a in self.addresses] + [a.prefix for a in self.prefixes]
        if got:
            parts.append(" ".join(got))
        if self.status and self.status[0]:
            parts.append(f"status {STATUS6.get(self.status[0], self.status[0])} {self.status[1]!r}")
        for i in self.ia_na + self.ia_pd:
            if i.status and i.status[0]:
                parts.append(f"IA_{i.kind} {STATUS6.get(i.status[0], i.status[0])}")
        if self.preference:
            parts.append(f"pref {self.preference}")
        if self.problems:
            parts.append(f"[malformed: {'; '.join(self.problems[:3])}]")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"<Frame6 {self.summary()}>"


def is_ipv6(raw: bytes) -> bool:
    return raw[12:14] == ETHERTYPE_IPV6


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
    for code in (CLIENTID, SERVERID, ELAPSED_TIME, PREFERENCE, RAPID_COMMIT):
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

