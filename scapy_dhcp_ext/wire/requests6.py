"""A DHCPv6 server's fast read of a client's message: ``serve6()`` reads every request
here first, the v6 twin of :func:`~.replies4.read_request`.

:func:`read_request6` takes a frame with nothing odd about it (a client's own
message, not relayed, its UDP checksum right, each option whole and of its
size, IAs holding only whole addresses or prefixes) in one pass, and gives the
very :class:`~.msg6.Frame6` that :func:`~.frames6.parse_frame6` would; anything
else gives None, and the careful reader says what is wrong. A test holds the
two to that on clean and on damaged frames.
"""

from __future__ import annotations

import struct

from .dhcp6 import (
    CLIENTID,
    DHCP6_AT,
    DNS_SERVERS,
    ETHERTYPE_IPV6,
    FIXED_SIZES6,
    IA_NA,
    IA_PD,
    IA_TA,
    IAADDR,
    IAPREFIX,
    IP6_NH,
    IP6_SRC,
    IPPROTO_UDP,
    MAX_DUID,
    MAX_ITEMS6,
    MIN_SIZES6,
    ORO,
    RELAY_FORW,
    SERVERID,
    STATUS_CODE,
    UDP6_AT,
    ip6_str,
)
from .frames6 import CLIENT_TYPES6, ONCE6
from .layout import ETH_TYPE, word_sum
from .msg6 import IA, Address6, Frame6, Message6

__all__ = ["read_request6"]

_UDP = struct.Struct("!HHHH")
_OPTION = struct.Struct("!HH")
# the least and the most size of the options that have them; what the careful reader looks into
# further (a status, DNS servers, IA_TA) can have no size here (least above most)
_SIZES = {**{code: (least, 0xFFFF) for code, least in MIN_SIZES6.items()},
          **{code: (size, size) for code, size in FIXED_SIZES6.items()},
          CLIENTID: (MIN_SIZES6[CLIENTID], MAX_DUID), SERVERID: (MIN_SIZES6[SERVERID], MAX_DUID),
          **{code: (1, 0) for code in (STATUS_CODE, DNS_SERVERS, IA_TA)}}
_IA = struct.Struct("!III")
_LIFETIMES = struct.Struct("!II")
_PREFIX = struct.Struct("!IIB")
_TYPES = CLIENT_TYPES6 - {RELAY_FORW}   # a client's own message: a relayed one is read carefully
_ONCE = frozenset(ONCE6)


def read_request6(raw: bytes, now: float = 0.0, pending: bool = False) -> Frame6 | None:
    """A client's DHCPv6 message with nothing odd about it, read in one pass; None for
    anything else (see the module's docstring). ``raw`` is a whole frame; ``pending``:
    its UDP checksum is a local sender's partial sum (the socket said so), computed here
    into the frame instead of checked, as :func:`~.dhcp6.finish_udp6_checksum` would."""
    n = len(raw)
    if n < DHCP6_AT + 4 or raw[ETH_TYPE:ETH_TYPE + 2] != ETHERTYPE_IPV6 or raw[IP6_NH] != IPPROTO_UDP:
        return None
    sport, dport, ulen, csum = _UDP.unpack_from(raw, UDP6_AT)
    if dport != 547 or UDP6_AT + ulen != n or (raw[18] << 8 | raw[19]) != ulen or not (csum or pending):
        return None
    # addresses and UDP segment as one number: modulo 0xFFFF every 16-bit word weighs 1, and a
    # right checksum makes the whole sum, with the pseudo-header's protocol and length, 0
    value = word_sum(raw[IP6_SRC:n])
    if pending:   # the checksum is the rest of the sum without the field, put in its place
        total = (value - csum + IPPROTO_UDP + ulen) % 0xFFFF
        raw = b"".join((raw[:UDP6_AT + 6], (0xFFFF - total if total else 0xFFFF).to_bytes(2, "big"),
                        raw[UDP6_AT + 8:]))
    elif value != (-(IPPROTO_UDP + ulen)) % 0xFFFF:
        return None
    kind = raw[DHCP6_AT]
    if kind not in _TYPES:
        return None
    options: list[tuple[int, bytes]] = []
    index: dict[int, bytes] = {}
    ia_na: list[IA] = []
    ia_pd: list[IA] = []
    at = DHCP6_AT + 4
    while at < n:
        if n - at < 4 or len(options) >= MAX_ITEMS6:
            return None
        code, size = _OPTION.unpack_from(raw, at)
        end = at + 4 + size
        rule = _SIZES.get(code)
        if end > n or rule is not None and not rule[0] <= size <= rule[1]:
            return None
        payload = raw[at + 4:end]
        if code in index:
            if code in _ONCE:
                return None
        else:
            index[code] = payload
        if code == IA_NA or code == IA_PD:
            ia = _ia(code, payload)
            if ia is None:
                return None
            (ia_na if code == IA_NA else ia_pd).append(ia)
        elif code == ORO and size % 2:
            return None
        options.append((code, payload))
        at = end
    msg = Message6(kind, int.from_bytes(raw[DHCP6_AT + 1:DHCP6_AT + 4], "big"), options, index=index)
    return Frame6(raw, now, [], raw[6:12], raw[0:6], ip6_str(raw[IP6_SRC:IP6_SRC + 16]),
                  ip6_str(raw[IP6_SRC + 16:UDP6_AT]), sport, dport, msg, ia_na, ia_pd)


def _ia(code: int, payload: bytes) -> IA | None:
    """An IA_NA or IA_PD that holds whole addresses (prefixes) and nothing the careful reader
    would remark on; None otherwise."""
    iaid, t1, t2 = _IA.unpack_from(payload)
    if t2 and t1 > t2:
        return None
    ia = IA("NA" if code == IA_NA else "PD", iaid, t1, t2)
    want, whole = (IAADDR, 24) if code == IA_NA else (IAPREFIX, 25)
    n, at, count = len(payload), 12, 0
    while at < n:
        count += 1
        if n - at < 4 or count > MAX_ITEMS6:
            return None
        sub, size = _OPTION.unpack_from(payload, at)
        end = at + 4 + size
        if end > n or sub == STATUS_CODE or (sub == want and size != whole):
            return None   # options inside the address, a status: read carefully
        if sub == want:
            if code == IA_NA:
                preferred, valid = _LIFETIMES.unpack_from(payload, at + 20)
                a = Address6(ip6_str(payload[at + 4:at + 20]), preferred, valid)
            else:
                preferred, valid, plen = _PREFIX.unpack_from(payload, at + 4)
                if plen > 128:
                    return None
                a = Address6(ip6_str(payload[at + 13:at + 29]), preferred, valid, plen)
            if preferred > valid:
                return None
            ia.addresses.append(a)
        at = end
    return ia
