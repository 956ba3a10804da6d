r"""What a DHCPv6 frame holds once read: :class:`Frame6` (Ethernet, IPv6, UDP and
the message, relays unwrapped), its :class:`Message6` layers, :class:`IA`\ s and
:class:`Address6`\ es. :mod:`.frames6` reads bytes into them, never raising.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .dhcp6 import (
    CLIENTID,
    DNS_SERVERS,
    DOMAIN_LIST,
    ETHERTYPE_IPV6,
    MAX_DEPTH6,
    MESSAGE_TYPES6,
    PREFERENCE,
    RAPID_COMMIT,
    RELAY_FORW,
    RELAY_REPL,
    SERVERID,
    STATUS6,
    describe_duid,
    ip6_str,
    read_dns_names,
)
from .layout import ETH_TYPE


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
    # each code's first payload, when the reader that made it kept them (the server's fast read)
    index: dict[int, bytes] | None = field(default=None, compare=False, repr=False)

    def first(self, code: int) -> bytes | None:
        if self.index is not None:
            return self.index.get(code)
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
        if m is None or m.inner is None:   # a client's own message: most of what a server reads
            return m
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
    return raw[ETH_TYPE:ETH_TYPE + 2] == ETHERTYPE_IPV6
