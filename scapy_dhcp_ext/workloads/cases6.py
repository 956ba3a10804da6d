"""DHCPv6 sweep cases: every length of a SOLICIT, lying IPv6 and UDP lengths,
frames cut inside their headers, and a catalog of malformed messages. Pure
code: nothing here sends. Each case is a :class:`~scapy_dhcp_ext.workloads.cases4.Case`,
its ``xid`` the 24-bit transaction id.

The catalog is the record of v6 client and server parsers: a truncated option
header inside an IA (CVE-2018-15688), T1 > T2 in IA_PD (CVE-2019-18903),
out-of-bounds option reads (dhcpcd, CVE-2019-11577), messages over 512 bytes,
DUIDs of 0 and over 128 bytes, relays nested past HOP_COUNT_LIMIT.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable, Iterable

from ..wire import mac_bytes
from ..wire.dhcp6 import (
    ADVERTISE,
    CLIENTID,
    DHCP6_AT,
    ELAPSED_TIME,
    IA_NA,
    IA_PD,
    IAADDR,
    IAPREFIX,
    IP6_AT,
    ORO,
    RAPID_COMMIT,
    RELAY_FORW,
    RELAY_MSG,
    SOLICIT,
    STATUS_CODE,
    UDP6_AT,
    USER_CLASS,
    VENDOR_CLASS,
    ia,
    iaaddr,
    iaprefix,
    link_local,
    option6,
    patch_checksum6,
    status_option,
)
from ..wire.fragments6 import fragment6
from ..wire.messages6 import elapsed, frame6, message6, oro
from .cases4 import Case

PAD_OPTION = 0xFFFE   # an unassigned code: a length sweep grows the message with it


def _patch_txid(payload: bytes, txid: int) -> bytes:
    if len(payload) >= 4:
        return payload[:1] + (txid & 0xFFFFFF).to_bytes(3, "big") + payload[4:]
    return payload


def resize6(payload: bytes, length: int) -> bytes:
    """The message cut to ``length``, or grown with one option of an unassigned
    code (zeros when fewer than 4 bytes are missing)."""
    if length <= len(payload):
        return payload[:length]
    missing = length - len(payload)
    if missing < 4:
        return payload + bytes(missing)
    return payload + option6(PAD_OPTION, bytes(missing - 4))


def _frame(payload: bytes, mac: bytes) -> bytes:
    return frame6(payload, mac=mac)


def length_cases6(base: bytes, mac: str, lengths: Iterable[int], *, mtu: int = 1500,
                  new_txid: Callable[[], int]) -> list[Case]:
    """One case per DHCPv6 message length (``base`` is the message); past the MTU as IPv6 fragments."""
    mac_b = mac_bytes(mac)
    cases = []
    for length in lengths:
        txid = new_txid()
        frame = _frame(_patch_txid(resize6(base, length), txid), mac_b)
        frames = fragment6(frame, mtu, ident=0x4D44)
        kind = "fragmented" if len(frames) > 1 else "length"
        cases.append(Case(f"len6-{length:05d}", f"DHCPv6 message of {length} bytes"
                          + (f" in {len(frames)} IPv6 fragments" if len(frames) > 1 else ""), frames, txid,
                          length, kind))
    return cases


def header_cut_cases6(base: bytes, mac: str, *, new_txid: Callable[[], int]) -> list[Case]:
    """Frames of 14 to 61 bytes: cut inside the IPv6 or UDP header."""
    frame = _frame(_patch_txid(base, new_txid()), mac_bytes(mac))
    return [Case(f"frame6-{n:04d}", f"frame cut to {n} bytes (inside the {'IPv6' if n < UDP6_AT else 'UDP'} header)",
                 [frame[:n]], 0, None, "header-cut") for n in range(14, DHCP6_AT)]


def lie_cases6(base: bytes, mac: str, *, new_txid: Callable[[], int]) -> list[Case]:
    """IPv6 payload length and UDP length larger and smaller than the packet."""
    mac_b = mac_bytes(mac)
    cases = []
    for layer, offset, deltas in (("ip6", IP6_AT + 4, (1, 100, -1, -100, "zero")),
                                  ("udp", UDP6_AT + 4, (1, 100, -1, -100, "min", "zero"))):
        for delta in deltas:
            txid = new_txid()
            frame = bytearray(_frame(_patch_txid(base, txid), mac_b))
            true = struct.unpack_from("!H", frame, offset)[0]
            value = {"zero": 0, "min": 8}.get(str(delta), true + (delta if isinstance(delta, int) else 0))
            struct.pack_into("!H", frame, offset, value & 0xFFFF)
            if layer == "udp":
                patch_checksum6(frame)   # over what the length claims: the length is the anomaly
            sign = str(delta) if isinstance(delta, str) else f"{'plus' if delta > 0 else 'minus'}{abs(delta)}"
            cases.append(Case(f"{layer}-len-{sign}", f"{layer.upper()} length {value} (true {true})",
                              [bytes(frame)], txid, None, "lie"))
    return cases


# --- malformed messages -----------------------------------------------------------

@dataclass(frozen=True)
class Spec6:
    """One malformed message: its type, options as raw bytes, or a whole message."""

    name: str
    description: str
    options: bytes = b""
    msg_type: int = SOLICIT
    relay_depth: int = 0          # wrap in this many RELAY-FORW
    raw: bytes | None = None      # the message after the 4-byte header, overriding ``options``
    relay: str = ""               # "empty": a RELAY-FORW with no relay-msg; "cut": one whose relay-msg runs past it


def _ia_na(iaid: int = 1, t1: int = 0, t2: int = 0, inner: bytes = b"") -> bytes:
    return ia(IA_NA, iaid, t1, t2, inner)


def malformed_specs6(duid: bytes) -> list[Spec6]:
    """The v6 catalog, in a stable order with stable names. ``duid`` is the
    client's, so a server that survives a case can still answer its barrier."""
    cid = option6(CLIENTID, duid)
    good = cid + elapsed(0) + oro((23, 24))
    na = _ia_na()
    specs = [
        Spec6("opt-len-past-end", "the last option says 4 bytes more than follow", good + na[:2]
              + struct.pack("!H", 16) + na[4:]),
        Spec6("opt-len-ffff", "an option of length 65535 at the end", good + struct.pack("!HH", USER_CLASS, 0xFFFF)
              + b"lab"),
        Spec6("opt-header-cut", "two stray bytes after the last option", good + na + b"\x00\x03"),
        Spec6("ia-na-iaaddr-cut", "IA_NA holding an IAADDR header that says 24 bytes, 10 follow (CVE-2018-15688)",
              good + option6(IA_NA, struct.pack("!III", 1, 0, 0) + struct.pack("!HH", IAADDR, 24) + bytes(10))),
        Spec6("ia-pd-iaprefix-cut", "IA_PD holding an IAPREFIX header that says 25 bytes, 5 follow",
              good + option6(IA_PD, struct.pack("!III", 2, 0, 0) + struct.pack("!HH", IAPREFIX, 25) + bytes(5))),
        Spec6("ia-na-sub-header-cut", "IA_NA ending in 2 bytes of an option header",
              good + option6(IA_NA, struct.pack("!III", 1, 0, 0) + b"\x00\x05")),
        Spec6("ia-na-short", "IA_NA of 8 bytes (at least 12)", good + option6(IA_NA, bytes(8))),
        Spec6("ia-pd-short", "IA_PD of 4 bytes (at least 12)", good + option6(IA_PD, bytes(4))),
        Spec6("ia-na-t1-gt-t2", "IA_NA with T1 7200 > T2 3600", good + _ia_na(1, 7200, 3600)),
        Spec6("ia-pd-t1-gt-t2", "IA_PD with T1 7200 > T2 3600 (CVE-2019-18903)", good + ia(IA_PD, 2, 7200, 3600)),
        Spec6("iaaddr-preferred-gt-valid", "an IAADDR hint with preferred 900 > valid 100",
              good + _ia_na(1, 0, 0, iaaddr("fd77:1::99", 900, 100))),
        Spec6("iaprefix-len-129", "an IAPREFIX hint of length 129",
              good + ia(IA_PD, 2, 0, 0, option6(IAPREFIX, struct.pack("!IIB", 0, 0, 129) + bytes(16)))),
        Spec6("iaprefix-len-0", "an IAPREFIX hint of ::/0", good + ia(IA_PD, 2, 0, 0, iaprefix("::/0"))),
        Spec6("ia-na-40-addresses", "IA_NA holding 40 IAADDR hints",
              good + _ia_na(1, 0, 0, b"".join(iaaddr(f"fd77:1::{i + 1:x}") for i in range(40)))),
        Spec6("duid-empty", "client-id of 0 bytes", option6(CLIENTID, b"") + elapsed(0) + na),
        Spec6("duid-1-byte", "client-id of 1 byte", option6(CLIENTID, b"\x00") + elapsed(0) + na),
        Spec6("duid-130", "client-id of 130 bytes, the most RFC 8415 allows",
              option6(CLIENTID, b"\x00\x02" + bytes(128)) + elapsed(0) + na),
        Spec6("duid-131", "client-id of 131 bytes, one past the limit",
              option6(CLIENTID, b"\x00\x02" + bytes(129)) + elapsed(0) + na),
        Spec6("duid-type-ffff", "a DUID of type 65535", option6(CLIENTID, b"\xff\xff" + duid[2:]) + elapsed(0) + na),
        Spec6("duid-ll-cut", "a DUID-LL with no link-layer address", option6(CLIENTID, b"\x00\x03\x00\x01")
              + elapsed(0) + na),
        Spec6("client-id-twice", "client-id twice", good + cid + na),
        Spec6("no-client-id", "a SOLICIT without client-id (RFC 8415 16.2: discard)", elapsed(0) + na),
        Spec6("server-id-in-solicit", "a SOLICIT that names a server (16.2: discard)",
              good + option6(2, b"\x00\x03\x00\x01" + bytes(6)) + na),
        Spec6("oro-odd", "ORO of odd length 3", cid + elapsed(0) + option6(ORO, b"\x00\x17\x00") + na),
        Spec6("oro-empty", "ORO of length 0", cid + elapsed(0) + option6(ORO, b"") + na),
        Spec6("oro-600", "ORO asking for 600 options", cid + elapsed(0)
              + option6(ORO, b"".join(struct.pack("!H", i) for i in range(1, 601))) + na),
        Spec6("elapsed-1-byte", "elapsed-time of 1 byte", cid + option6(ELAPSED_TIME, b"\x00") + na),
        Spec6("elapsed-3-bytes", "elapsed-time of 3 bytes", cid + option6(ELAPSED_TIME, b"\x00\x00\x00") + na),
        Spec6("elapsed-ffff", "elapsed-time 0xffff", cid + option6(ELAPSED_TIME, b"\xff\xff") + na),
        Spec6("rapid-commit-payload", "rapid-commit with a payload byte", good + na + option6(RAPID_COMMIT, b"\x01")),
        Spec6("status-non-utf8", "a status-code option with text that is not UTF-8",
              good + na + status_option(0, b"\xff\xfe\xc3")),
        Spec6("status-1-byte", "a status-code option of 1 byte", good + na + option6(STATUS_CODE, b"\x00")),
        Spec6("user-class-lie", "user-class whose inner length runs past it",
              good + na + option6(USER_CLASS, b"\x00\x20lab")),
        Spec6("vendor-class-short", "vendor-class of 3 bytes (an enterprise number is 4)",
              good + na + option6(VENDOR_CLASS, b"\x00\x00\x01")),
        Spec6("fqdn-label-past-end", "client FQDN with a label longer than the option",
              good + na + option6(39, b"\x01\x3fabc")),
        Spec6("zero-options-300", "300 options of code 0 and length 0", good + bytes(4 * 300) + na),
        Spec6("msg-type-0", "message type 0", good + na, msg_type=0),
        Spec6("msg-type-255", "message type 255", good + na, msg_type=255),
        Spec6("msg-type-advertise", "an ADVERTISE sent to the server", good + na, msg_type=ADVERTISE),
        Spec6("header-only", "a SOLICIT of its 4-byte header alone", raw=b""),
        Spec6("relay-nest-33", "a SOLICIT inside 33 RELAY-FORW (HOP_COUNT_LIMIT is 32)", good + na, relay_depth=33),
        Spec6("relay-nest-32", "a SOLICIT inside 32 RELAY-FORW, the limit", good + na, relay_depth=32),
        Spec6("relay-no-relay-msg", "a RELAY-FORW without a relay-msg option", relay="empty"),
        Spec6("relay-msg-past-end", "a RELAY-FORW whose relay-msg says 200 bytes, fewer follow", relay="cut"),
    ]
    return specs


def _relay_wrap(message: bytes, depth: int, peer: str) -> bytes:
    from ..wire.dhcp6 import ip6_bytes

    for hop in range(depth):
        message = (bytes([RELAY_FORW, hop & 0xFF]) + bytes(16) + ip6_bytes(peer)
                   + option6(RELAY_MSG, message))
    return message


def build_spec6(spec: Spec6, txid: int, peer: str) -> tuple[bytes, bool]:
    """The DHCPv6 payload of one case, and whether it goes out as a relay (from port 547)."""
    from ..wire.dhcp6 import ip6_bytes

    head = bytes([RELAY_FORW, 0]) + bytes(16) + ip6_bytes(peer)
    if spec.relay == "empty":
        return head, True
    if spec.relay == "cut":
        return head + struct.pack("!HH", RELAY_MSG, 200) + message6(SOLICIT, txid, []), True
    body = spec.raw if spec.raw is not None else spec.options
    message = message6(spec.msg_type, txid, [body])
    if spec.relay_depth:
        return _relay_wrap(message, spec.relay_depth, peer), True
    return message, False


def malformed_cases6(mac: str, duid: bytes, *, new_txid: Callable[[], int],
                     names: Iterable[str] | None = None) -> list[Case]:
    """One case per anomaly of the v6 catalog."""
    mac_b = mac_bytes(mac)
    peer = link_local(mac_b)
    wanted = set(names) if names is not None else None
    cases = []
    for spec in malformed_specs6(duid):
        if wanted is not None and spec.name not in wanted:
            continue
        txid = new_txid()
        payload, relayed = build_spec6(spec, txid, peer)
        cases.append(Case(spec.name, spec.description, [frame6(payload, mac=mac_b, relay=relayed)], txid,
                          len(payload), "malformed"))
    return cases

